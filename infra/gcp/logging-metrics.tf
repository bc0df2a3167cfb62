# Log-based metrics from the worker's one structured line per result. The worker logs it with pino
# (shared/logging.ts) on stdout; Cloud Run parses the JSON line into a LogEntry: `severity` becomes
# the entry's severity (INFO, WARNING for failed), `logging.googleapis.com/trace` its trace, and
# every other field stays under jsonPayload: message ("result"), name (the logger, "worker"),
# resultStatus, errorCode, modelMd5, modelName, engine, pixels, latencyMs, timingsMs.
# Names are literal so the dashboard template, the alert filters and the checks can name them.
locals {
  # A gen2 function's logs are its Cloud Run service's: resource cloud_run_revision, same name.
  # One condition per line (lines are ANDed); the heredoc ends in a newline, so more can follow.
  result_log_filter = <<-EOT
    resource.type="cloud_run_revision"
    resource.labels.service_name="${google_cloudfunctions2_function.worker.name}"
    jsonPayload.name="worker"
    jsonPayload.message="result"
  EOT
}

# Results by status (succeeded, failed, duplicate, superseded), error code, engine and model.
resource "google_logging_metric" "results" {
  name        = "cloudseg_results"
  description = "cloudseg results (one per image and delivery), by status, error code, engine and model md5."
  filter      = local.result_log_filter

  metric_descriptor {
    metric_kind  = "DELTA"
    value_type   = "INT64"
    unit         = "1"
    display_name = "cloudseg results"
    labels {
      key         = "status"
      description = "succeeded, failed, duplicate or superseded"
    }
    labels {
      key         = "error_code"
      description = "The error code of a failed result (empty otherwise), e.g. UNSUPPORTED_FORMAT."
    }
    labels {
      key         = "engine"
      description = "The inference engine: onnxruntime, wasm, tfjs-wasm, tfjs-node or cpu."
    }
    labels {
      key         = "model_md5"
      description = "md5 of the model that made the result."
    }
    labels {
      key         = "model_name"
      description = "Name of the model that made the result."
    }
  }

  label_extractors = {
    status     = "EXTRACT(jsonPayload.resultStatus)"
    error_code = "EXTRACT(jsonPayload.errorCode)"
    engine     = "EXTRACT(jsonPayload.engine)"
    model_md5  = "EXTRACT(jsonPayload.modelMd5)"
    model_name = "EXTRACT(jsonPayload.modelName)"
  }
}

# Upload finalized -> result published, in ms (results without a known upload time are left out).
resource "google_logging_metric" "result_latency" {
  name        = "cloudseg_result_latency"
  description = "cloudseg end-to-end latency: upload finalized to result published (ms), by status and engine."
  filter      = "${local.result_log_filter}jsonPayload.latencyMs>=0"

  metric_descriptor {
    metric_kind  = "DELTA"
    value_type   = "DISTRIBUTION"
    unit         = "ms"
    display_name = "cloudseg result latency"
    labels {
      key         = "status"
      description = "succeeded, failed, duplicate or superseded"
    }
    labels {
      key         = "engine"
      description = "The inference engine."
    }
  }

  value_extractor = "EXTRACT(jsonPayload.latencyMs)"
  label_extractors = {
    status = "EXTRACT(jsonPayload.resultStatus)"
    engine = "EXTRACT(jsonPayload.engine)"
  }

  # 100 ms x 1.3^n: the last finite bucket starts at ~1 h, past any upload's flush wait and retries.
  bucket_options {
    exponential_buckets {
      num_finite_buckets = 40
      growth_factor      = 1.3
      scale              = 100
    }
  }
}

# Pixels per result (width x height), so charts can sum megapixels processed.
resource "google_logging_metric" "result_pixels" {
  name        = "cloudseg_result_pixels"
  description = "cloudseg pixels per result (width x height), by status and engine; its sum is the pixels processed."
  filter      = "${local.result_log_filter}jsonPayload.pixels>0"

  metric_descriptor {
    metric_kind  = "DELTA"
    value_type   = "DISTRIBUTION"
    unit         = "1"
    display_name = "cloudseg result pixels"
    labels {
      key         = "status"
      description = "succeeded, failed, duplicate or superseded"
    }
    labels {
      key         = "engine"
      description = "The inference engine."
    }
  }

  value_extractor = "EXTRACT(jsonPayload.pixels)"
  label_extractors = {
    status = "EXTRACT(jsonPayload.resultStatus)"
    engine = "EXTRACT(jsonPayload.engine)"
  }

  # 64 Kpx (256x256) x 2^n up to ~4 Gpx.
  bucket_options {
    exponential_buckets {
      num_finite_buckets = 16
      growth_factor      = 2
      scale              = 65536
    }
  }
}
