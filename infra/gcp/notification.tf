# The input bucket announces every finished upload (OBJECT_FINALIZE, JSON_API_V1 payload) on the
# uploads topic. The bucket's Cloud Storage service agent publishes, so it needs publisher there.
data "google_storage_project_service_account" "gcs_agent" {
  project = var.project_id
}

resource "google_pubsub_topic_iam_member" "uploads_gcs_agent_publisher" {
  topic  = google_pubsub_topic.uploads.id
  role   = "roles/pubsub.publisher"
  member = "serviceAccount:${data.google_storage_project_service_account.gcs_agent.email_address}"
}

resource "google_storage_notification" "input_uploads" {
  bucket         = google_storage_bucket.input.name
  topic          = google_pubsub_topic.uploads.id
  payload_format = "JSON_API_V1"
  event_types    = ["OBJECT_FINALIZE"]

  # Creating the notification fails unless the agent may already publish.
  depends_on = [google_pubsub_topic_iam_member.uploads_gcs_agent_publisher]
}
