# Derived names and the functions' environment. The env maps are literal so a test can read them:
# every key must be a variable shared/config reads, every name must come from its variable.
locals {
  bucket_prefix   = var.bucket_name_prefix == null ? "${var.project_id}-" : var.bucket_name_prefix
  bucket_location = var.bucket_location == null ? upper(var.region) : var.bucket_location
  source_zip      = var.function_source_zip == null ? "${path.module}/../../out/function-source.zip" : var.function_source_zip

  # Google-managed identities that act on our resources.
  pubsub_service_agent = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-pubsub.iam.gserviceaccount.com"

  # What both functions read: names (one source of truth: shared/config/resource-names.ts) and logging.
  common_env = {
    GOOGLE_CLOUD_PROJECT          = var.project_id
    LOG_LEVEL                     = var.log_level
    CLOUDSEG_INPUT_BUCKET         = google_storage_bucket.input.name
    CLOUDSEG_OUTPUT_BUCKET        = google_storage_bucket.output.name
    CLOUDSEG_UPLOADS_TOPIC        = google_pubsub_topic.uploads.name
    CLOUDSEG_UPLOADS_SUBSCRIPTION = google_pubsub_subscription.uploads_buffer.name
    CLOUDSEG_WORK_TOPIC           = google_pubsub_topic.work.name
    CLOUDSEG_RESULTS_TOPIC        = google_pubsub_topic.results.name
    CLOUDSEG_DEAD_LETTER_TOPIC    = google_pubsub_topic.dead_letter.name
    CLOUDSEG_OUTPUT_PREFIX        = var.output_prefix
  }

  # No CLOUDSEG_FLUSH_TOKEN: in production only Cloud Scheduler's OIDC token (checked by Cloud Run
  # IAM, run.invoker on flush) gets a request through.
  flush_env = {
    CLOUDSEG_FLUSH_MAX_BATCH_ITEMS = tostring(var.flush_max_batch_items)
    CLOUDSEG_FLUSH_MAX_BATCH_BYTES = tostring(var.flush_max_batch_bytes)
    CLOUDSEG_FLUSH_MAX_MESSAGES    = tostring(var.flush_max_messages)
    CLOUDSEG_FLUSH_MAX_BATCHES     = tostring(var.flush_max_batches)
    CLOUDSEG_FLUSH_PULL_SIZE       = tostring(var.flush_pull_size)
    CLOUDSEG_FLUSH_EMPTY_PULLS     = tostring(var.flush_empty_pulls)
    CLOUDSEG_FLUSH_TIME_BUDGET_MS  = tostring(var.flush_time_budget_ms)

    # Flush plans batches by expected worker seconds (pixels from each upload's header).
    CLOUDSEG_FLUSH_MAX_BATCH_SECONDS = tostring(var.flush_max_batch_seconds)
    CLOUDSEG_WORKER_SECONDS_PER_MPX  = tostring(var.worker_seconds_per_mpx)
  }

  # Cloud Build's environment for `npm run gcp-build`: scripts/prune-runtime.mjs drops the engines a
  # function does not use (flush uses none) and the files no engine loads, then the build's npm prune.
  flush_build_env  = { CLOUDSEG_PRUNE_RUNTIME = "1", CLOUDSEG_ENGINES = "none" }
  worker_build_env = { CLOUDSEG_PRUNE_RUNTIME = "1", CLOUDSEG_ENGINES = join(",", var.worker_engines) }

  # The model comes from the DVC registry: the git repository (https) at a GTO stage or a rev, its
  # objects from this deployment's models bucket (the `gcs` remote of .dvc/config, url overridden).
  # An empty value means "not set" to shared/config, so exactly one of rev and stage is in effect.
  model_env = {
    CLOUDSEG_MODEL_REPO            = var.model_repo
    CLOUDSEG_MODEL_ARTIFACT        = var.model_artifact
    CLOUDSEG_MODEL_STAGE           = var.model_stage
    CLOUDSEG_MODEL_REV             = var.model_stage == "" ? var.model_rev : ""
    CLOUDSEG_MODEL_REMOTE          = "gcs"
    CLOUDSEG_MODEL_REMOTE_CONFIG   = jsonencode({ url = "gs://${google_storage_bucket.models.name}/dvcstore" })
    CLOUDSEG_MODEL_REFRESH_SECONDS = tostring(var.model_refresh_seconds)
    CLOUDSEG_MODEL_CACHE_DIR       = "/tmp/cloudseg-registry-cache"
  }

  # One engine in the set: the worker loads that one, nothing else; several: inference_backend picks.
  worker_env = {
    CLOUDSEG_INFERENCE_BACKEND           = length(var.worker_engines) == 1 && var.inference_backend == "auto" ? var.worker_engines[0] : var.inference_backend
    CLOUDSEG_INFERENCE_THREADS           = var.worker_cpu
    CLOUDSEG_WORKER_CONCURRENCY          = var.worker_concurrency == null ? "" : tostring(var.worker_concurrency)
    CLOUDSEG_INFER_BATCH_TILES           = tostring(var.infer_batch_tiles)
    CLOUDSEG_MEMORY_BUDGET_MB            = tostring(var.memory_budget_mb)
    CLOUDSEG_DELETE_INPUT                = tostring(var.delete_input)
    CLOUDSEG_WRITE_GEOTIFF               = tostring(var.write_geotiff)
    CLOUDSEG_SCENE_BAND_BUCKETS          = join(",", var.scene_band_buckets)
    CLOUDSEG_SCENE_ARRIVAL_GRACE_SECONDS = tostring(var.scene_arrival_grace_seconds)
  }
}
