# One identity per job, so each holds only its own grants (iam.tf): flush and worker run as their
# own accounts; the scheduler and the worker's Eventarc trigger each get one that may only invoke.
resource "google_service_account" "flush" {
  account_id   = "cloudseg-flush"
  display_name = "cloudseg flush function"
  description  = "Runs flush: pulls/acks uploads-buffer, publishes to the work topic."

  depends_on = [google_project_service.required]
}

resource "google_service_account" "worker" {
  account_id   = "cloudseg-worker"
  display_name = "cloudseg worker function"
  description  = "Runs the worker: reads inputs and models, writes masks, publishes results."

  depends_on = [google_project_service.required]
}

resource "google_service_account" "scheduler" {
  account_id   = "cloudseg-scheduler"
  display_name = "cloudseg flush scheduler"
  description  = "Identity of Cloud Scheduler's OIDC token: may only invoke flush."

  depends_on = [google_project_service.required]
}

resource "google_service_account" "worker_trigger" {
  account_id   = "cloudseg-worker-trigger"
  display_name = "cloudseg worker Eventarc trigger"
  description  = "Identity of the Eventarc push to the worker: may only invoke the worker."

  depends_on = [google_project_service.required]
}
