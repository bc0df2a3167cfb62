# What a user (or the model registry work) needs after `terraform apply`.
output "input_bucket" {
  description = "Upload images here: gs://<input_bucket>/..."
  value       = google_storage_bucket.input.name
}

output "output_bucket" {
  description = "Masks appear here."
  value       = google_storage_bucket.output.name
}

output "models_bucket" {
  description = "The DVC remote of the model registry (versioned)."
  value       = google_storage_bucket.models.name
}

output "function_source_bucket" {
  description = "Where the function source zips go."
  value       = google_storage_bucket.function_source.name
}

output "topics" {
  description = "Pub/Sub topic names."
  value = {
    uploads     = google_pubsub_topic.uploads.name
    work        = google_pubsub_topic.work.name
    results     = google_pubsub_topic.results.name
    dead_letter = google_pubsub_topic.dead_letter.name
  }
}

output "subscriptions" {
  description = "Pull subscriptions Terraform manages."
  value = {
    uploads_buffer = google_pubsub_subscription.uploads_buffer.name
    dead_letter    = google_pubsub_subscription.dead_letter.name
    results        = [for s in google_pubsub_subscription.results : s.name]
  }
}

output "flush_url" {
  description = "The flush function's run.app URL (internal ingress, OIDC callers with run.invoker only)."
  value       = google_cloudfunctions2_function.flush.service_config[0].uri
}

output "worker_trigger" {
  description = "The worker's Eventarc trigger (its Pub/Sub subscription carries the dead-letter policy)."
  value       = google_cloudfunctions2_function.worker.event_trigger[0].trigger
}

output "service_accounts" {
  description = "The identities the pipeline runs as."
  value = {
    flush          = google_service_account.flush.email
    worker         = google_service_account.worker.email
    scheduler      = google_service_account.scheduler.email
    worker_trigger = google_service_account.worker_trigger.email
  }
}

output "dashboard_url" {
  description = "The cloudseg pipeline dashboard in the Cloud console."
  value       = "https://console.cloud.google.com/monitoring/dashboards/custom/${basename(google_monitoring_dashboard.pipeline.id)}?project=${var.project_id}"
}

output "alert_policies" {
  description = "The alert policies (runbooks: infra/gcp/README.md, Monitoring and alerts), by name."
  value = {
    dead_letter     = google_monitoring_alert_policy.dead_letter.name
    buffer_age      = google_monitoring_alert_policy.buffer_age.name
    failed_share    = google_monitoring_alert_policy.failed_share.name
    no_results      = google_monitoring_alert_policy.no_results.name
    function_errors = google_monitoring_alert_policy.function_errors.name
  }
}

output "log_metrics" {
  description = "The log-based metrics made from the worker's result lines (logging.googleapis.com/user/<name>)."
  value       = [google_logging_metric.results.name, google_logging_metric.result_latency.name, google_logging_metric.result_pixels.name]
}
