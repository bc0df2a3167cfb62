# Cloud Scheduler POSTs to flush on a schedule with an OIDC token of its own account, which holds
# only run.invoker on flush. A missed or failed tick needs no retry: the next one drains the buffer.
resource "google_cloud_scheduler_job" "flush" {
  name             = "${var.flush_function_name}-tick"
  description      = "Releases buffered uploads to the worker in batches."
  region           = var.region
  schedule         = var.flush_schedule
  time_zone        = "Etc/UTC"
  attempt_deadline = "${var.flush_timeout_seconds}s"

  retry_config {
    retry_count = 0
  }

  http_target {
    http_method = "POST"
    # The run.app URL: only there is Cloud Scheduler's request "internal" for ALLOW_INTERNAL_ONLY.
    uri = google_cloudfunctions2_function.flush.service_config[0].uri

    oidc_token {
      service_account_email = google_service_account.scheduler.email
      audience              = google_cloudfunctions2_function.flush.service_config[0].uri
    }
  }

  depends_on = [google_cloud_run_service_iam_member.scheduler_invokes_flush]
}
