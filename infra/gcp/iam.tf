# Least privilege, every grant on one resource (no project-wide roles). The table in
# test/unit/infra-terraform.test.ts lists each account's grants; a new one must be added there too.

# --- flush: drain the buffer, read headers, publish batches --------------------------------------------------
resource "google_pubsub_subscription_iam_member" "flush_uploads_buffer_subscriber" {
  subscription = google_pubsub_subscription.uploads_buffer.name
  role         = "roles/pubsub.subscriber"
  member       = "serviceAccount:${google_service_account.flush.email}"
}

resource "google_pubsub_topic_iam_member" "flush_work_publisher" {
  topic  = google_pubsub_topic.work.id
  role   = "roles/pubsub.publisher"
  member = "serviceAccount:${google_service_account.flush.email}"
}

# Flush reads a few KB of each upload's header (its pixel count, to plan batches by work).
resource "google_storage_bucket_iam_member" "flush_input_viewer" {
  bucket = google_storage_bucket.input.name
  role   = "roles/storage.objectViewer"
  member = "serviceAccount:${google_service_account.flush.email}"
}

# --- worker: read inputs and models, write masks, publish results ------------------------------
resource "google_storage_bucket_iam_member" "worker_input_viewer" {
  bucket = google_storage_bucket.input.name
  role   = "roles/storage.objectViewer"
  member = "serviceAccount:${google_service_account.worker.email}"
}

# Only storage.objects.delete, and only when deletion is on: the input bucket stays read-only else.
resource "google_project_iam_custom_role" "input_deleter" {
  count = var.delete_input ? 1 : 0

  role_id     = "cloudsegInputDeleter"
  title       = "cloudseg input deleter"
  description = "Delete processed input objects (granted on the input bucket only)."
  permissions = ["storage.objects.delete"]
}

resource "google_storage_bucket_iam_member" "worker_input_deleter" {
  count = var.delete_input ? 1 : 0

  bucket = google_storage_bucket.input.name
  role   = google_project_iam_custom_role.input_deleter[0].id
  member = "serviceAccount:${google_service_account.worker.email}"
}

# Masks are written with generation preconditions and may replace an older mask: that is create,
# get and delete on objects, which objectUser holds (and no IAM rights).
resource "google_storage_bucket_iam_member" "worker_output_user" {
  bucket = google_storage_bucket.output.name
  role   = "roles/storage.objectUser"
  member = "serviceAccount:${google_service_account.worker.email}"
}

resource "google_storage_bucket_iam_member" "worker_models_viewer" {
  bucket = google_storage_bucket.models.name
  role   = "roles/storage.objectViewer"
  member = "serviceAccount:${google_service_account.worker.email}"
}

# Only that one secret, and only when a private registry is configured.
resource "google_secret_manager_secret_iam_member" "worker_repo_token" {
  count     = var.model_repo_token_secret == "" ? 0 : 1
  project   = var.project_id
  secret_id = var.model_repo_token_secret
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.worker.email}"
}

resource "google_pubsub_topic_iam_member" "worker_results_publisher" {
  topic  = google_pubsub_topic.results.id
  role   = "roles/pubsub.publisher"
  member = "serviceAccount:${google_service_account.worker.email}"
}

# --- invokers: Cloud Scheduler may call flush, the Eventarc push may call the worker -----------
resource "google_cloud_run_service_iam_member" "scheduler_invokes_flush" {
  location = google_cloudfunctions2_function.flush.location
  service  = google_cloudfunctions2_function.flush.name
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.scheduler.email}"
}

resource "google_cloud_run_service_iam_member" "trigger_invokes_worker" {
  location = google_cloudfunctions2_function.worker.location
  service  = google_cloudfunctions2_function.worker.name
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.worker_trigger.email}"
}

# --- Google's service agents --------------------------------------------------------------------
# Pub/Sub moves a batch that failed worker_max_delivery_attempts times to the dead-letter topic
# as its own service agent (its subscriber grant on Eventarc's subscription is made with the
# dead-letter policy, in functions.tf, because Terraform does not own that subscription).
resource "google_pubsub_topic_iam_member" "dead_letter_pubsub_agent_publisher" {
  topic  = google_pubsub_topic.dead_letter.id
  role   = "roles/pubsub.publisher"
  member = local.pubsub_service_agent
}

# Pub/Sub mints the push's OIDC token for the trigger account (projects made before April 2021
# lack this by default; granting it on the one account is harmless elsewhere).
resource "google_service_account_iam_member" "pubsub_agent_tokens_for_worker_trigger" {
  service_account_id = google_service_account.worker_trigger.name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = local.pubsub_service_agent
}
