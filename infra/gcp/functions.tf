# Both functions (Cloud Functions 2nd gen) built by Cloud Build from one source zip
# (package.json "main" = dist/functions/index.js registers both; entry_point picks one), and the
# dead-letter policy of the worker's Eventarc subscription.

# flush: HTTP, reachable only from inside the project (Cloud Scheduler counts when it calls the
# run.app URL) and only with an identity holding run.invoker: no allUsers anywhere.
resource "google_cloudfunctions2_function" "flush" {
  name        = var.flush_function_name
  location    = var.region
  description = "cloudseg flush: batches buffered uploads onto the work topic."
  labels      = var.labels

  build_config {
    runtime         = var.node_runtime
    entry_point     = "flush"
    service_account = var.build_service_account

    # npm run gcp-build prunes what the function never loads; flush loads no model: no engine.
    environment_variables = local.flush_build_env
    source {
      storage_source {
        bucket = google_storage_bucket.function_source.name
        object = google_storage_bucket_object.function_source.name
      }
    }
  }

  service_config {
    available_memory                 = var.flush_memory
    available_cpu                    = "1"
    timeout_seconds                  = var.flush_timeout_seconds
    min_instance_count               = 0
    max_instance_count               = 1 # one flush at a time; leases make an overlap safe, not useful
    max_instance_request_concurrency = 1
    ingress_settings                 = "ALLOW_INTERNAL_ONLY"
    all_traffic_on_latest_revision   = true
    service_account_email            = google_service_account.flush.email
    environment_variables            = merge(local.common_env, local.flush_env)
  }

  lifecycle {
    precondition {
      # The pull budget ends the pull loop only; publishing (<= 30 s a batch) and acking follow.
      condition     = var.flush_time_budget_ms / 1000 + 60 <= var.flush_timeout_seconds
      error_message = "flush_timeout_seconds must leave at least 60 s after flush_time_budget_ms for publishing and acking."
    }
  }

  depends_on = [google_project_service.required]
}

# worker: a CloudEvent function on Eventarc's messagePublished events of the work topic. Retries
# on: a thrown error (transient failure) makes Pub/Sub redeliver the batch; done items are skipped.
resource "google_cloudfunctions2_function" "worker" {
  name        = var.worker_function_name
  location    = var.region
  description = "cloudseg worker: segments each image of a work batch, writes masks, publishes results."
  labels      = var.labels

  build_config {
    runtime         = var.node_runtime
    entry_point     = "worker"
    service_account = var.build_service_account

    # npm run gcp-build prunes what the function never loads; the engines: var.worker_engines.
    environment_variables = local.worker_build_env
    source {
      storage_source {
        bucket = google_storage_bucket.function_source.name
        object = google_storage_bucket_object.function_source.name
      }
    }
  }

  service_config {
    available_memory                 = var.worker_memory
    available_cpu                    = var.worker_cpu
    timeout_seconds                  = var.worker_timeout_seconds
    min_instance_count               = var.worker_min_instances
    max_instance_count               = var.worker_max_instances
    max_instance_request_concurrency = 1 # one batch per instance: memory is sized for one
    ingress_settings                 = "ALLOW_INTERNAL_ONLY"
    all_traffic_on_latest_revision   = true
    service_account_email            = google_service_account.worker.email
    environment_variables            = merge(local.common_env, local.worker_env, local.model_env, var.model_env)

    # A private https registry's token: from Secret Manager, never plain environment in the plan.
    dynamic "secret_environment_variables" {
      for_each = var.model_repo_token_secret == "" ? [] : [var.model_repo_token_secret]
      content {
        key        = "CLOUDSEG_MODEL_REPO_TOKEN"
        project_id = var.project_id
        secret     = secret_environment_variables.value
        version    = "latest"
      }
    }
  }

  event_trigger {
    trigger_region        = var.region
    event_type            = "google.cloud.pubsub.topic.v1.messagePublished"
    pubsub_topic          = google_pubsub_topic.work.id
    retry_policy          = "RETRY_POLICY_RETRY"
    service_account_email = google_service_account.worker_trigger.email
  }

  lifecycle {
    precondition {
      condition     = var.flush_max_batch_seconds < var.worker_timeout_seconds
      error_message = "flush_max_batch_seconds must be below worker_timeout_seconds, else a planned batch cannot finish in one call."
    }
    precondition {
      condition     = var.inference_backend == "auto" || contains(var.worker_engines, var.inference_backend)
      error_message = "inference_backend must be auto or one of worker_engines: the build leaves out the engines not listed there."
    }
    precondition {
      condition     = var.worker_timeout_seconds < var.worker_ack_deadline_seconds
      error_message = "worker_timeout_seconds must be below worker_ack_deadline_seconds, else a running batch is redelivered."
    }
  }

  depends_on = [google_project_service.required]
}

# Eventarc creates and owns the push subscription behind the trigger, and neither
# google_cloudfunctions2_function nor google_eventarc_trigger can set its dead-letter policy
# (hashicorp/terraform-provider-google#17697, #25069). So gcloud sets it, again whenever the
# trigger (hence its subscription) or the policy changes. The deploying identity needs gcloud.
resource "terraform_data" "worker_dead_letter_policy" {
  triggers_replace = [
    google_cloudfunctions2_function.worker.event_trigger[0].trigger,
    google_pubsub_topic.dead_letter.id,
    var.worker_max_delivery_attempts,
    var.worker_ack_deadline_seconds,
  ]

  provisioner "local-exec" {
    command = "bash ${path.module}/scripts/set-worker-dead-letter.sh"
    environment = {
      PROJECT_ID            = var.project_id
      TRIGGER_REGION        = var.region
      TRIGGER               = basename(google_cloudfunctions2_function.worker.event_trigger[0].trigger)
      DEAD_LETTER_TOPIC     = google_pubsub_topic.dead_letter.id
      MAX_DELIVERY_ATTEMPTS = tostring(var.worker_max_delivery_attempts)
      ACK_DEADLINE_SECONDS  = tostring(var.worker_ack_deadline_seconds)
      PUBSUB_SERVICE_AGENT  = local.pubsub_service_agent
    }
  }

  depends_on = [google_pubsub_topic_iam_member.dead_letter_pubsub_agent_publisher]
}
