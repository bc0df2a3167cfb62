# Alert policies and the pipeline dashboard. Every threshold is a variable (variables.tf, "monitoring")
# and every policy's runbook is a paragraph of infra/gcp/README.md, "Monitoring and alerts", under a
# heading equal to the policy's display_name. test/unit/infra-monitoring.test.ts checks the metric
# names, filters and labels used here against the log-based metrics and the system metrics.
resource "google_project_service" "monitoring" {
  for_each = toset(["logging.googleapis.com", "monitoring.googleapis.com"])

  project            = var.project_id
  service            = each.value
  disable_on_destroy = false
}

locals {
  # flush_schedule as seconds between ticks: "* * * * *" is 60, "*/N * * * *" N x 60; any other
  # schedule needs flush_interval_seconds set (a precondition below says so).
  flush_cron_fields = split(" ", trimspace(var.flush_schedule))
  flush_cron_minute = local.flush_cron_fields[0]
  flush_cron_every_minutes = (
    join(" ", slice(local.flush_cron_fields, 1, length(local.flush_cron_fields))) != "* * * *" ? null :
    local.flush_cron_minute == "*" ? 1 :
    can(regex("^\\*/[0-9]+$", local.flush_cron_minute)) ? tonumber(trimprefix(local.flush_cron_minute, "*/")) : null
  )
  flush_interval_seconds = var.flush_interval_seconds != null ? var.flush_interval_seconds : (
    local.flush_cron_every_minutes == null ? null : local.flush_cron_every_minutes * 60
  )

  # The longest an upload waits for its result when nothing is wrong: one flush tick plus one worker call.
  expected_result_lag_seconds = coalesce(local.flush_interval_seconds, 60) + var.worker_timeout_seconds

  function_services = "one_of(\"${google_cloudfunctions2_function.flush.name}\", \"${google_cloudfunctions2_function.worker.name}\")"

  # Eventarc names the worker trigger's push subscription eventarc-REGION-TRIGGER-sub-NNN.
  work_subscription_prefix = "eventarc-${var.region}-${basename(google_cloudfunctions2_function.worker.event_trigger[0].trigger)}-sub-"

  # What the dashboard template (dashboards/pipeline.json.tftpl) is rendered with.
  dashboard_vars = {
    results_metric           = google_logging_metric.results.name
    latency_metric           = google_logging_metric.result_latency.name
    pixels_metric            = google_logging_metric.result_pixels.name
    flush_service            = google_cloudfunctions2_function.flush.name
    worker_service           = google_cloudfunctions2_function.worker.name
    uploads_subscription     = google_pubsub_subscription.uploads_buffer.name
    dead_letter_subscription = google_pubsub_subscription.dead_letter.name
    work_subscription_prefix = local.work_subscription_prefix
  }
}

resource "google_monitoring_alert_policy" "dead_letter" {
  display_name          = "cloudseg: dead-letter subscription not empty"
  combiner              = "OR"
  enabled               = var.alerts_enabled
  severity              = "ERROR"
  notification_channels = var.alert_notification_channels
  user_labels           = var.labels

  conditions {
    display_name = "undelivered messages in ${google_pubsub_subscription.dead_letter.name}"
    condition_threshold {
      filter          = "resource.type=\"pubsub_subscription\" AND resource.label.subscription_id=\"${google_pubsub_subscription.dead_letter.name}\" AND metric.type=\"pubsub.googleapis.com/subscription/num_undelivered_messages\""
      comparison      = "COMPARISON_GT"
      threshold_value = var.alert_dead_letter_max_messages
      duration        = "0s"
      aggregations {
        alignment_period   = "300s"
        per_series_aligner = "ALIGN_MAX"
      }
      trigger {
        count = 1
      }
    }
  }

  documentation {
    mime_type = "text/markdown"
    subject   = "cloudseg: work batches in dead-letter"
    content   = "Work batches failed every delivery and wait in ${google_pubsub_subscription.dead_letter.name}. Runbook: infra/gcp/README.md, Monitoring and alerts, \"cloudseg: dead-letter subscription not empty\"."
  }

  depends_on = [google_project_service.monitoring]
}

resource "google_monitoring_alert_policy" "buffer_age" {
  display_name          = "cloudseg: uploads wait in the buffer"
  combiner              = "OR"
  enabled               = var.alerts_enabled
  severity              = "WARNING"
  notification_channels = var.alert_notification_channels
  user_labels           = var.labels

  conditions {
    display_name = "oldest unacked upload in ${google_pubsub_subscription.uploads_buffer.name}"
    condition_threshold {
      filter          = "resource.type=\"pubsub_subscription\" AND resource.label.subscription_id=\"${google_pubsub_subscription.uploads_buffer.name}\" AND metric.type=\"pubsub.googleapis.com/subscription/oldest_unacked_message_age\""
      comparison      = "COMPARISON_GT"
      threshold_value = var.alert_buffer_age_flush_intervals * coalesce(local.flush_interval_seconds, 60) # null: the precondition says why
      duration        = "0s"
      aggregations {
        alignment_period   = "60s"
        per_series_aligner = "ALIGN_MAX"
      }
      trigger {
        count = 1
      }
    }
  }

  documentation {
    mime_type = "text/markdown"
    subject   = "cloudseg: flush not running or not keeping up"
    content   = "The oldest upload in ${google_pubsub_subscription.uploads_buffer.name} is older than ${var.alert_buffer_age_flush_intervals} flush intervals. Runbook: infra/gcp/README.md, Monitoring and alerts, \"cloudseg: uploads wait in the buffer\"."
  }

  lifecycle {
    precondition {
      condition     = local.flush_interval_seconds != null
      error_message = "flush_schedule is not \"* * * * *\" or \"*/N * * * *\": set flush_interval_seconds to the seconds between its ticks."
    }
  }

  depends_on = [google_project_service.monitoring]
}

resource "google_monitoring_alert_policy" "failed_share" {
  display_name          = "cloudseg: failed share of results"
  combiner              = "OR"
  enabled               = var.alerts_enabled
  severity              = "WARNING"
  notification_channels = var.alert_notification_channels
  user_labels           = var.labels

  # failed / (succeeded + failed) over 15 minutes; duplicates and superseded results are not work done.
  conditions {
    display_name = "failed / (succeeded + failed) over 15 min"
    condition_threshold {
      filter             = "resource.type=\"cloud_run_revision\" AND metric.type=\"logging.googleapis.com/user/${google_logging_metric.results.name}\" AND metric.label.status=\"failed\""
      denominator_filter = "resource.type=\"cloud_run_revision\" AND metric.type=\"logging.googleapis.com/user/${google_logging_metric.results.name}\" AND metric.label.status=one_of(\"succeeded\", \"failed\")"
      comparison         = "COMPARISON_GT"
      threshold_value    = var.alert_failed_ratio
      duration           = "0s"
      aggregations {
        alignment_period     = "900s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
      }
      denominator_aggregations {
        alignment_period     = "900s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
      }
      trigger {
        count = 1
      }
    }
  }

  documentation {
    mime_type = "text/markdown"
    subject   = "cloudseg: many failed results"
    content   = "More than ${var.alert_failed_ratio * 100} % of the results of the last 15 minutes failed. Runbook: infra/gcp/README.md, Monitoring and alerts, \"cloudseg: failed share of results\"."
  }

  depends_on = [google_project_service.monitoring]
}

resource "google_monitoring_alert_policy" "no_results" {
  display_name          = "cloudseg: uploads but no results"
  combiner              = "OR"
  enabled               = var.alerts_enabled
  severity              = "ERROR"
  notification_channels = var.alert_notification_channels
  user_labels           = var.labels

  # Uploads published in a window that ended one expected lag ago (so their results are due), and no
  # result at all in the last alert_no_results_minutes. `unless` drops the left side when the right
  # side has a sample; no result series at all leaves it standing, which is the point.
  conditions {
    display_name = "uploads arrived, no result for ${var.alert_no_results_minutes} min"
    condition_prometheus_query_language {
      query               = <<-EOT
        (sum(increase(pubsub_googleapis_com:topic_send_request_count{monitored_resource="pubsub_topic",topic_id="${google_pubsub_topic.uploads.name}"}[${var.alert_no_results_minutes}m] offset ${local.expected_result_lag_seconds}s)) > 0)
        unless
        (sum(increase(logging_googleapis_com:user_${google_logging_metric.results.name}{monitored_resource="cloud_run_revision",service_name="${google_cloudfunctions2_function.worker.name}"}[${var.alert_no_results_minutes}m])) > 0)
      EOT
      duration            = "0s"
      evaluation_interval = "60s"
    }
  }

  documentation {
    mime_type = "text/markdown"
    subject   = "cloudseg: uploads arrive but no results come out"
    content   = "Uploads reached ${google_pubsub_topic.uploads.name} but the worker logged no result for ${var.alert_no_results_minutes} minutes. Runbook: infra/gcp/README.md, Monitoring and alerts, \"cloudseg: uploads but no results\"."
  }

  depends_on = [google_project_service.monitoring]
}

resource "google_monitoring_alert_policy" "function_errors" {
  display_name          = "cloudseg: function errors"
  combiner              = "OR"
  enabled               = var.alerts_enabled
  severity              = "ERROR"
  notification_channels = var.alert_notification_channels
  user_labels           = var.labels

  # 5xx answers: a thrown (retryable) error in the worker, a crashed or timed-out call, a failed flush.
  conditions {
    display_name = "5xx responses per function over 10 min"
    condition_threshold {
      filter          = "resource.type=\"cloud_run_revision\" AND resource.label.service_name=${local.function_services} AND metric.type=\"run.googleapis.com/request_count\" AND metric.label.response_code_class=\"5xx\""
      comparison      = "COMPARISON_GT"
      threshold_value = var.alert_function_errors
      duration        = "0s"
      aggregations {
        alignment_period     = "600s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["resource.label.service_name"]
      }
      trigger {
        count = 1
      }
    }
  }

  # ERROR and worse log lines: uncaught exceptions, out-of-memory kills, start-up failures.
  conditions {
    display_name = "ERROR log entries per function over 10 min"
    condition_threshold {
      filter          = "resource.type=\"cloud_run_revision\" AND resource.label.service_name=${local.function_services} AND metric.type=\"logging.googleapis.com/log_entry_count\" AND metric.label.severity=one_of(\"ERROR\", \"CRITICAL\", \"ALERT\", \"EMERGENCY\")"
      comparison      = "COMPARISON_GT"
      threshold_value = var.alert_function_errors
      duration        = "0s"
      aggregations {
        alignment_period     = "600s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["resource.label.service_name"]
      }
      trigger {
        count = 1
      }
    }
  }

  documentation {
    mime_type = "text/markdown"
    subject   = "cloudseg: a function fails or crashes"
    content   = "A cloudseg function answered 5xx or logged ERROR more than ${var.alert_function_errors} times in 10 minutes. Runbook: infra/gcp/README.md, Monitoring and alerts, \"cloudseg: function errors\"."
  }

  depends_on = [google_project_service.monitoring]
}

resource "google_monitoring_dashboard" "pipeline" {
  dashboard_json = templatefile("${path.module}/dashboards/pipeline.json.tftpl", local.dashboard_vars)

  depends_on = [google_project_service.monitoring]
}
