# Topics (uploads, work, results, dead-letter) and the subscriptions Terraform owns: the buffer flush
# pulls, the dead-letter pull, and any results subscriptions users ask for. The worker's push
# subscription on the work topic is Eventarc's (see functions.tf).
resource "google_pubsub_topic" "uploads" {
  name   = var.uploads_topic
  labels = var.labels

  depends_on = [google_project_service.required]
}

resource "google_pubsub_topic" "work" {
  name   = var.work_topic
  labels = var.labels

  depends_on = [google_project_service.required]
}

resource "google_pubsub_topic" "results" {
  name   = var.results_topic
  labels = var.labels

  depends_on = [google_project_service.required]
}

resource "google_pubsub_topic" "dead_letter" {
  name   = var.dead_letter_topic
  labels = var.labels

  depends_on = [google_project_service.required]
}

# The buffer: uploads wait here until the next scheduled flush pulls them in batches.
resource "google_pubsub_subscription" "uploads_buffer" {
  name   = var.uploads_buffer_subscription
  topic  = google_pubsub_topic.uploads.id
  labels = var.labels

  ack_deadline_seconds       = var.uploads_buffer_ack_deadline_seconds
  message_retention_duration = "${var.message_retention_days * 86400}s"

  # A pull subscription nobody pulls for 31 days would otherwise be deleted, with its messages.
  expiration_policy {
    ttl = ""
  }
}

# Failed work batches, kept to inspect (`gcloud pubsub subscriptions pull`) and replay.
resource "google_pubsub_subscription" "dead_letter" {
  name   = var.dead_letter_subscription
  topic  = google_pubsub_topic.dead_letter.id
  labels = var.labels

  ack_deadline_seconds       = 60
  message_retention_duration = "${var.message_retention_days * 86400}s"

  expiration_policy {
    ttl = ""
  }
}

# Example consumers of the result events; filters see the attributes `status` and `model`.
resource "google_pubsub_subscription" "results" {
  for_each = var.results_subscriptions

  name   = each.key
  topic  = google_pubsub_topic.results.id
  filter = each.value.filter
  labels = var.labels

  ack_deadline_seconds       = 60
  message_retention_duration = "${var.message_retention_days * 86400}s"
}
