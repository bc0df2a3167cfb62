# Every knob of the deployment, with validation. Name defaults equal shared/config/resource-names.ts
# (RESOURCE_NAMES); test/unit/infra-terraform.test.ts fails when the two drift apart.

# --- project ------------------------------------------------------------------------------------

variable "project_id" {
  type        = string
  description = "The Google Cloud project to deploy into."
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a Google Cloud project id (6-30 lowercase letters, digits, hyphens)."
  }
}

variable "region" {
  type        = string
  default     = "us-central1"
  description = "Region of the functions, the Eventarc trigger, Cloud Scheduler and (by default) the buckets."
  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]$", var.region))
    error_message = "region must be a Google Cloud region such as us-central1 or europe-west1."
  }
}

variable "labels" {
  type        = map(string)
  default     = { app = "cloudseg" }
  description = "Labels put on every resource that takes labels (cost reports group by them)."
}

# --- buckets ------------------------------------------------------------------------------------

variable "bucket_name_prefix" {
  type        = string
  default     = null
  description = "Put before every bucket name (bucket names are global). null means \"<project_id>-\"; \"\" uses the names as given."
  validation {
    condition     = var.bucket_name_prefix == null ? true : can(regex("^[a-z0-9._-]*$", var.bucket_name_prefix))
    error_message = "bucket_name_prefix may only hold lowercase letters, digits, dots, hyphens and underscores."
  }
}

variable "bucket_location" {
  type        = string
  default     = null
  description = "Location of the buckets; null means the region (same-region buckets: no egress between the functions and the data)."
}

variable "input_bucket" {
  type        = string
  default     = "cloudseg-input"
  description = "Input bucket (after bucket_name_prefix): users upload images here. Env CLOUDSEG_INPUT_BUCKET."
  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$", var.input_bucket))
    error_message = "input_bucket must be a valid bucket name."
  }
}

variable "output_bucket" {
  type        = string
  default     = "cloudseg-output"
  description = "Output bucket (after bucket_name_prefix): masks land here. Env CLOUDSEG_OUTPUT_BUCKET."
  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$", var.output_bucket))
    error_message = "output_bucket must be a valid bucket name."
  }
}

variable "models_bucket" {
  type        = string
  default     = "cloudseg-models"
  description = "Models bucket (after bucket_name_prefix): the DVC remote of the model registry; versioned."
  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$", var.models_bucket))
    error_message = "models_bucket must be a valid bucket name."
  }
}

variable "function_source_bucket" {
  type        = string
  default     = "cloudseg-function-source"
  description = "Bucket (after bucket_name_prefix) holding the zipped function source that Cloud Build builds."
  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$", var.function_source_bucket))
    error_message = "function_source_bucket must be a valid bucket name."
  }
}

variable "input_retention_days" {
  type        = number
  default     = 30
  description = "When delete_input is false, inputs older than this are deleted by a lifecycle rule (0 keeps them)."
  validation {
    condition     = var.input_retention_days >= 0 && floor(var.input_retention_days) == var.input_retention_days
    error_message = "input_retention_days must be a whole number >= 0."
  }
}

variable "output_retention_days" {
  type        = number
  default     = 0
  description = "Masks older than this are deleted by a lifecycle rule (0 keeps them)."
  validation {
    condition     = var.output_retention_days >= 0 && floor(var.output_retention_days) == var.output_retention_days
    error_message = "output_retention_days must be a whole number >= 0."
  }
}

variable "model_noncurrent_retention_days" {
  type        = number
  default     = 90
  description = "Overwritten or deleted model objects stay restorable this long (models bucket versioning)."
  validation {
    condition     = var.model_noncurrent_retention_days >= 1
    error_message = "model_noncurrent_retention_days must be at least 1."
  }
}

variable "force_destroy_buckets" {
  type        = bool
  default     = false
  description = "Let `terraform destroy` delete non-empty buckets (their objects are lost). Keep false in production."
}

# --- Pub/Sub ------------------------------------------------------------------------------------

variable "uploads_topic" {
  type        = string
  default     = "cloudseg-uploads"
  description = "Topic the input bucket notifies (OBJECT_FINALIZE, JSON_API_V1). Env CLOUDSEG_UPLOADS_TOPIC."
  validation {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9._~%+-]{2,254}$", var.uploads_topic))
    error_message = "uploads_topic must be a valid Pub/Sub topic id."
  }
}

variable "uploads_buffer_subscription" {
  type        = string
  default     = "cloudseg-uploads-buffer"
  description = "Pull subscription on the uploads topic that flush drains. Env CLOUDSEG_UPLOADS_SUBSCRIPTION."
  validation {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9._~%+-]{2,254}$", var.uploads_buffer_subscription))
    error_message = "uploads_buffer_subscription must be a valid Pub/Sub subscription id."
  }
}

variable "work_topic" {
  type        = string
  default     = "cloudseg-work"
  description = "Topic flush publishes batches to; the worker's Eventarc trigger listens on it. Env CLOUDSEG_WORK_TOPIC."
  validation {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9._~%+-]{2,254}$", var.work_topic))
    error_message = "work_topic must be a valid Pub/Sub topic id."
  }
}

variable "results_topic" {
  type        = string
  default     = "cloudseg-results"
  description = "Topic of the cloudseg.result.v1 events users subscribe to. Env CLOUDSEG_RESULTS_TOPIC."
  validation {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9._~%+-]{2,254}$", var.results_topic))
    error_message = "results_topic must be a valid Pub/Sub topic id."
  }
}

variable "dead_letter_topic" {
  type        = string
  default     = "cloudseg-dead-letter"
  description = "Where work batches go after worker_max_delivery_attempts failed deliveries. Env CLOUDSEG_DEAD_LETTER_TOPIC."
  validation {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9._~%+-]{2,254}$", var.dead_letter_topic))
    error_message = "dead_letter_topic must be a valid Pub/Sub topic id."
  }
}

variable "dead_letter_subscription" {
  type        = string
  default     = "cloudseg-dead-letter-pull"
  description = "Pull subscription on the dead-letter topic, to inspect and replay failed batches."
  validation {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9._~%+-]{2,254}$", var.dead_letter_subscription))
    error_message = "dead_letter_subscription must be a valid Pub/Sub subscription id."
  }
}

variable "uploads_buffer_ack_deadline_seconds" {
  type        = number
  default     = 60
  description = "Ack deadline of uploads-buffer. Flush renews its leases every 5 s, so this only bounds how soon the messages of a crashed flush return: one scheduler tick."
  validation {
    condition     = var.uploads_buffer_ack_deadline_seconds >= 10 && var.uploads_buffer_ack_deadline_seconds <= 600
    error_message = "uploads_buffer_ack_deadline_seconds must be between 10 and 600 (Pub/Sub's limits)."
  }
}

variable "message_retention_days" {
  type        = number
  default     = 7
  description = "How long uploads-buffer and the dead-letter subscription keep unacked messages (uploads wait here if flush is down)."
  validation {
    condition     = var.message_retention_days >= 1 && var.message_retention_days <= 7
    error_message = "message_retention_days must be between 1 and 7 (Pub/Sub's limit for subscriptions)."
  }
}

variable "results_subscriptions" {
  type = map(object({
    filter = optional(string, "")
  }))
  default     = {}
  description = "Pull subscriptions on the results topic to create, by name, with an optional filter on the attributes status and model (e.g. attributes.status = \"failed\")."
}

# --- functions ----------------------------------------------------------------------------------

variable "function_source_zip" {
  type        = string
  default     = null
  description = "The zip made by scripts/package-functions.sh; null means out/function-source.zip at the repository root."
}

variable "node_runtime" {
  type        = string
  default     = "nodejs24"
  description = "Cloud Functions (2nd gen) runtime. nodejs24 (Node 24 LTS, what the tests run on; supported until 2028-10-31) or nodejs22 (decommissioned 2027-10-31); package.json engines says what the code needs."
  validation {
    condition     = !contains(["nodejs6", "nodejs8", "nodejs10", "nodejs12", "nodejs14", "nodejs16", "nodejs18", "nodejs20"], var.node_runtime)
    error_message = "node_runtime: Google decommissioned nodejs20 on 2026-10-30, and every older Node runtime before it: functions on them can no longer be built or deployed. Use nodejs24 (supported until 2028-10-31) or nodejs22 (until 2027-10-31)."
  }
  validation {
    condition     = contains(["nodejs22", "nodejs24"], var.node_runtime)
    error_message = "node_runtime must be nodejs24 (the default) or nodejs22: the code and its Google clients (@google-cloud/storage 8, @google-cloud/pubsub 6) need Node >= 22."
  }
}

variable "build_service_account" {
  type        = string
  default     = null
  description = "Full resource name (projects/P/serviceAccounts/EMAIL) of the account Cloud Build uses to build the functions; null uses the project's default build account."
}

variable "flush_function_name" {
  type        = string
  default     = "cloudseg-flush"
  description = "Name of the flush function (and of its Cloud Run service)."
}

variable "worker_function_name" {
  type        = string
  default     = "cloudseg-worker"
  description = "Name of the worker function (and of its Cloud Run service)."
}

variable "log_level" {
  type        = string
  default     = "info"
  description = "LOG_LEVEL of both functions."
  validation {
    condition     = contains(["fatal", "error", "warn", "info", "debug", "trace", "silent"], var.log_level)
    error_message = "log_level must be one of fatal, error, warn, info, debug, trace, silent."
  }
}

variable "output_prefix" {
  type        = string
  default     = ""
  description = "Prefix of mask names in the output bucket. Env CLOUDSEG_OUTPUT_PREFIX."
}

# --- flush --------------------------------------------------------------------------------------

variable "flush_schedule" {
  type        = string
  default     = "* * * * *"
  description = "Cron schedule (UTC) of the Cloud Scheduler job that calls flush: the longest an upload waits for a batch."
  validation {
    condition     = length(split(" ", trimspace(var.flush_schedule))) == 5
    error_message = "flush_schedule must be a five-field cron expression."
  }
}

variable "flush_timeout_seconds" {
  type        = number
  default     = 300
  description = "Timeout of flush and the Scheduler attempt deadline; must exceed the pull budget plus publishing (30 s per batch at most) and acking."
  validation {
    condition     = var.flush_timeout_seconds >= 60 && var.flush_timeout_seconds <= 1800
    error_message = "flush_timeout_seconds must be between 60 and 1800 (Cloud Scheduler's attempt deadline limit)."
  }
}

variable "flush_memory" {
  type        = string
  default     = "512Mi"
  description = "Memory of flush (it holds only message envelopes)."
  validation {
    condition     = can(regex("^[0-9]+(Mi|Gi)$", var.flush_memory))
    error_message = "flush_memory must look like 512Mi or 1Gi."
  }
}

variable "flush_time_budget_ms" {
  type        = number
  default     = 60000
  description = "CLOUDSEG_FLUSH_TIME_BUDGET_MS: how long one flush keeps pulling."
  validation {
    condition     = var.flush_time_budget_ms >= 100
    error_message = "flush_time_budget_ms must be at least 100."
  }
}

variable "flush_max_batch_items" {
  type        = number
  default     = 8
  description = "CLOUDSEG_FLUSH_MAX_BATCH_ITEMS: images per work batch (a batch must finish within worker_timeout_seconds)."
  validation {
    condition     = var.flush_max_batch_items >= 1 && floor(var.flush_max_batch_items) == var.flush_max_batch_items
    error_message = "flush_max_batch_items must be a whole number >= 1."
  }
}

variable "flush_max_batch_bytes" {
  type        = number
  default     = 536870912
  description = "CLOUDSEG_FLUSH_MAX_BATCH_BYTES: input bytes per work batch (a larger image goes alone)."
  validation {
    condition     = var.flush_max_batch_bytes >= 1
    error_message = "flush_max_batch_bytes must be at least 1."
  }
}

variable "flush_max_batch_seconds" {
  type        = number
  default     = 300
  description = "CLOUDSEG_FLUSH_MAX_BATCH_SECONDS: expected worker seconds per work batch (pixels from each upload's header x worker_seconds_per_mpx); well below worker_timeout_seconds, since it is an estimate. A longer image goes alone."
  validation {
    condition     = var.flush_max_batch_seconds > 0
    error_message = "flush_max_batch_seconds must be positive."
  }
}

variable "worker_seconds_per_mpx" {
  type        = number
  default     = 0.6
  description = "CLOUDSEG_WORKER_SECONDS_PER_MPX: the worker's measured seconds per megapixel, for flush's planning. 0.6 = the whole pipeline on ONNX Runtime, 2 vCPU (~1.8 Mpx/s); about 4 on the TF.js wasm fallback."
  validation {
    condition     = var.worker_seconds_per_mpx > 0
    error_message = "worker_seconds_per_mpx must be positive."
  }
}

variable "flush_max_messages" {
  type        = number
  default     = 2000
  description = "CLOUDSEG_FLUSH_MAX_MESSAGES: stop pulling after this many messages in one flush."
  validation {
    condition     = var.flush_max_messages >= 1
    error_message = "flush_max_messages must be at least 1."
  }
}

variable "flush_max_batches" {
  type        = number
  default     = 20
  description = "CLOUDSEG_FLUSH_MAX_BATCHES: batches one flush releases at most (backpressure); about 2 x worker_max_instances, so the workers can start what one tick releases before the next. The rest waits in the buffer."
  validation {
    condition     = var.flush_max_batches >= 1
    error_message = "flush_max_batches must be at least 1."
  }
}

variable "flush_pull_size" {
  type        = number
  default     = 500
  description = "CLOUDSEG_FLUSH_PULL_SIZE: messages asked for per pull."
  validation {
    condition     = var.flush_pull_size >= 1 && var.flush_pull_size <= 1000
    error_message = "flush_pull_size must be between 1 and 1000."
  }
}

variable "flush_empty_pulls" {
  type        = number
  default     = 3
  description = "CLOUDSEG_FLUSH_EMPTY_PULLS: consecutive empty pulls that end a flush."
  validation {
    condition     = var.flush_empty_pulls >= 1
    error_message = "flush_empty_pulls must be at least 1."
  }
}

# --- worker -------------------------------------------------------------------------------------

variable "worker_memory" {
  type        = string
  default     = "6Gi"
  description = "Memory of one worker instance; see the sizing in infra/gcp/README.md (~4.8 GB worst case at the default memory_budget_mb and 2 images in flight)."
  validation {
    condition     = can(regex("^[0-9]+(Mi|Gi)$", var.worker_memory))
    error_message = "worker_memory must look like 4Gi or 4096Mi."
  }
}

variable "worker_cpu" {
  type        = string
  default     = "2"
  description = "vCPUs of one worker instance: onnxruntime (and tfjs-node) use them all, wasm one; Cloud Run needs >= 2 for more than 4 GiB."
  validation {
    condition     = contains(["1", "2", "4", "6", "8"], var.worker_cpu)
    error_message = "worker_cpu must be 1, 2, 4, 6 or 8."
  }
}

variable "worker_timeout_seconds" {
  type        = number
  default     = 540
  description = "Timeout of one worker call (one batch): at most 540 s for event-driven functions, and below the trigger subscription's ack deadline."
  validation {
    condition     = var.worker_timeout_seconds >= 60 && var.worker_timeout_seconds <= 540
    error_message = "worker_timeout_seconds must be between 60 and 540 (the limit for event-driven functions)."
  }
}

variable "worker_ack_deadline_seconds" {
  type        = number
  default     = 600
  description = "Ack deadline set on the Eventarc subscription of the worker: must exceed worker_timeout_seconds so a running batch is never redelivered."
  validation {
    condition     = var.worker_ack_deadline_seconds >= 10 && var.worker_ack_deadline_seconds <= 600
    error_message = "worker_ack_deadline_seconds must be between 10 and 600 (Pub/Sub's limits)."
  }
}

variable "worker_max_delivery_attempts" {
  type        = number
  default     = 10
  description = "Deliveries of one work batch before it goes to the dead-letter topic. Pushes refused while every worker instance is busy count too: with the 10..600 s retry backoff, 10 attempts ride out ~40 minutes of busy workers before a batch is called broken."
  validation {
    condition     = var.worker_max_delivery_attempts >= 5 && var.worker_max_delivery_attempts <= 100
    error_message = "worker_max_delivery_attempts must be between 5 and 100 (Pub/Sub's limits)."
  }
}

variable "worker_max_instances" {
  type        = number
  default     = 10
  description = "Most worker instances at once: caps throughput and cost (each holds one batch)."
  validation {
    condition     = var.worker_max_instances >= 1 && var.worker_max_instances <= 1000 && floor(var.worker_max_instances) == var.worker_max_instances
    error_message = "worker_max_instances must be a whole number between 1 and 1000."
  }
}

variable "worker_min_instances" {
  type        = number
  default     = 0
  description = "Worker instances kept warm (each is billed while idle; 0 scales to zero)."
  validation {
    condition     = var.worker_min_instances >= 0
    error_message = "worker_min_instances must be >= 0."
  }
}

variable "worker_concurrency" {
  type        = number
  default     = null
  description = "CLOUDSEG_WORKER_CONCURRENCY: images in flight per instance; null lets the engine decide (2 on onnxruntime: one infers while the next downloads; 1 on TF.js). Worker memory must grow with it."
  validation {
    condition     = var.worker_concurrency == null ? true : var.worker_concurrency >= 1 && var.worker_concurrency <= 8
    error_message = "worker_concurrency must be null or between 1 and 8."
  }
}

variable "infer_batch_tiles" {
  type        = number
  default     = 1
  description = "CLOUDSEG_INFER_BATCH_TILES: tiles per inference call."
  validation {
    condition     = var.infer_batch_tiles >= 1 && var.infer_batch_tiles <= 16
    error_message = "infer_batch_tiles must be between 1 and 16."
  }
}

variable "memory_budget_mb" {
  type        = number
  default     = 2048
  description = "CLOUDSEG_MEMORY_BUDGET_MB: memory one image may take, estimated from its header; worker_memory is sized from it."
  validation {
    condition     = var.memory_budget_mb >= 64
    error_message = "memory_budget_mb must be at least 64."
  }
}

variable "inference_backend" {
  type        = string
  default     = "auto"
  description = "CLOUDSEG_INFERENCE_BACKEND when worker_engines lists several engines (with one, that one is used): auto picks onnxruntime, then tfjs-node, then wasm (onnxruntime-web), then tfjs-wasm, skipping those the build left out. Anything but auto must be in worker_engines."
  validation {
    condition     = contains(["auto", "onnxruntime", "tfjs-node", "wasm", "tfjs-wasm", "cpu"], var.inference_backend)
    error_message = "inference_backend must be auto, onnxruntime, tfjs-node, wasm, tfjs-wasm or cpu."
  }
}

variable "delete_input" {
  type        = bool
  default     = false
  description = "CLOUDSEG_DELETE_INPUT: delete each input generation after its mask is written. Only then may the worker delete input objects."
}

variable "write_geotiff" {
  type        = bool
  default     = true
  description = "CLOUDSEG_WRITE_GEOTIFF: also write a GeoTIFF mask for georeferenced inputs."
}

variable "scene_band_buckets" {
  type        = list(string)
  default     = []
  description = "CLOUDSEG_SCENE_BAND_BUCKETS: buckets besides the input bucket whose objects an uploaded STAC item may name as bands (e.g. a public mirror such as gcp-public-data-landsat). The worker's service account must be able to read them; nothing is granted here."
}

variable "scene_arrival_grace_seconds" {
  type        = number
  default     = 600
  description = "CLOUDSEG_SCENE_ARRIVAL_GRACE_SECONDS: for this long after a scene descriptor (STAC item, MTL, SAFE product XML) lands, a band or companion object not there yet is waited for by redelivery instead of failing the scene (a folder copy lands in any order). Keep it within the redelivery window of worker_max_delivery_attempts."
  validation {
    condition     = var.scene_arrival_grace_seconds >= 0 && var.scene_arrival_grace_seconds <= 3600
    error_message = "scene_arrival_grace_seconds must be between 0 and 3600."
  }
}

variable "model_repo" {
  type        = string
  description = "CLOUDSEG_MODEL_REPO: the git repository that is the model registry (https URL, readable by the worker), e.g. this project's own repository."
  validation {
    condition     = can(regex("^https://", var.model_repo))
    error_message = "model_repo must be an https:// git URL."
  }
}

variable "model_artifact" {
  type        = string
  default     = "cloudseg-rgbi"
  description = "CLOUDSEG_MODEL_ARTIFACT: the model's artifact name in the registry's dvc.yaml (cloudseg-rgbi: 4 bands; cloudseg-rgbiswir: 6 bands); also its GTO name for stages."
}

variable "model_stage" {
  type        = string
  default     = "prod"
  description = "CLOUDSEG_MODEL_STAGE: the GTO stage to serve (cloudseg registry promote NAME --stage S). Empty to pin model_rev instead."
}

variable "model_rev" {
  type        = string
  default     = "main"
  description = "CLOUDSEG_MODEL_REV: the branch, tag or commit to serve when model_stage is empty."
}

variable "model_refresh_seconds" {
  type        = number
  default     = 60
  description = "CLOUDSEG_MODEL_REFRESH_SECONDS: how often a worker instance re-resolves the stage/rev and hot-swaps a changed model."
  validation {
    condition     = var.model_refresh_seconds >= 0
    error_message = "model_refresh_seconds must be >= 0."
  }
}

variable "model_repo_token_secret" {
  type        = string
  default     = ""
  description = "Secret Manager secret id (in this project) holding a token for a private https model registry repo (HTTP basic password; username CLOUDSEG_MODEL_REPO_USERNAME, default x-access-token). The worker gets it as CLOUDSEG_MODEL_REPO_TOKEN and may read only that secret. Empty: the registry needs no credentials."
}

# Anything else of the model's (CLOUDSEG_MODEL_*), merged last so it wins.
variable "model_env" {
  type        = map(string)
  default     = {}
  description = "Extra CLOUDSEG_MODEL_* environment of the worker (model registry settings); merged over the worker's environment."
  validation {
    condition     = alltrue([for k in keys(var.model_env) : can(regex("^CLOUDSEG_MODEL_[A-Z0-9_]+$", k))])
    error_message = "model_env keys must be CLOUDSEG_MODEL_* variables."
  }
}

# --- monitoring ---------------------------------------------------------------------------------
# Alert thresholds (monitoring.tf); each alert's runbook is in infra/gcp/README.md, "Monitoring and alerts".

variable "alert_notification_channels" {
  type        = list(string)
  default     = []
  description = "Cloud Monitoring notification channels every alert policy notifies, as ids projects/PROJECT/notificationChannels/NUMBER (`gcloud beta monitoring channels list`). Empty: alerts open incidents in the console only."
  validation {
    condition     = alltrue([for c in var.alert_notification_channels : can(regex("^projects/[^/]+/notificationChannels/[0-9]+$", c))])
    error_message = "alert_notification_channels must be notification channel ids: projects/PROJECT/notificationChannels/NUMBER."
  }
}

variable "alerts_enabled" {
  type        = bool
  default     = true
  description = "Whether the alert policies evaluate (false keeps them, switched off, e.g. in a test project)."
}

variable "alert_dead_letter_max_messages" {
  type        = number
  default     = 0
  description = "Alert \"dead-letter subscription not empty\": fires when the dead-letter pull subscription holds more than this many undelivered work batches (0: any)."
  validation {
    condition     = var.alert_dead_letter_max_messages >= 0 && floor(var.alert_dead_letter_max_messages) == var.alert_dead_letter_max_messages
    error_message = "alert_dead_letter_max_messages must be a whole number >= 0."
  }
}

variable "flush_interval_seconds" {
  type        = number
  default     = null
  description = "Seconds between flush ticks, for the buffer-age alert. null derives it from flush_schedule (\"* * * * *\" = 60, \"*/N * * * *\" = N x 60); set it for any other schedule."
  validation {
    condition     = var.flush_interval_seconds == null ? true : var.flush_interval_seconds >= 60
    error_message = "flush_interval_seconds must be null or at least 60 (Cloud Scheduler's finest schedule is once a minute)."
  }
}

variable "alert_buffer_age_flush_intervals" {
  type        = number
  default     = 3
  description = "Alert \"uploads wait in the buffer\": fires when the oldest unacked upload in uploads-buffer is older than this many flush intervals (flush not running, failing, or not keeping up)."
  validation {
    condition     = var.alert_buffer_age_flush_intervals >= 2
    error_message = "alert_buffer_age_flush_intervals must be at least 2: an upload normally waits up to one interval plus one flush run."
  }
}

variable "alert_failed_ratio" {
  type        = number
  default     = 0.1
  description = "Alert \"failed share of results\": fires when failed / (succeeded + failed) results over 15 minutes exceeds this fraction."
  validation {
    condition     = var.alert_failed_ratio > 0 && var.alert_failed_ratio < 1
    error_message = "alert_failed_ratio must be a fraction between 0 and 1 (exclusive)."
  }
}

variable "alert_no_results_minutes" {
  type        = number
  default     = 30
  description = "Alert \"uploads but no results\": fires when uploads arrived (in a window of this many minutes, ending one flush interval plus worker_timeout_seconds ago) and the worker logged no result at all in the last this many minutes."
  validation {
    condition     = var.alert_no_results_minutes >= 10 && floor(var.alert_no_results_minutes) == var.alert_no_results_minutes
    error_message = "alert_no_results_minutes must be a whole number >= 10."
  }
}

variable "alert_function_errors" {
  type        = number
  default     = 5
  description = "Alert \"function errors\": fires when flush or the worker answers 5xx, or logs ERROR or worse, more than this many times in 10 minutes (a few retried transient errors are normal)."
  validation {
    condition     = var.alert_function_errors >= 0 && floor(var.alert_function_errors) == var.alert_function_errors
    error_message = "alert_function_errors must be a whole number >= 0."
  }
}

variable "worker_engines" {
  type        = list(string)
  default     = ["onnxruntime"]
  description = "The engine set the worker's build installs and the worker may load: onnxruntime (onnxruntime-node, always installed), wasm (onnxruntime-web), tfjs-node, tfjs-wasm, cpu (TF.js). Cloud Build drops the optional packages of engines not listed (scripts/prune-runtime.mjs). One engine: CLOUDSEG_INFERENCE_BACKEND is that engine; several: inference_backend (auto tries them in its order). A TF.js-only model (a graph the ONNX exporter cannot convert) needs tfjs-wasm or tfjs-node here."
  validation {
    condition     = length(var.worker_engines) > 0 && length(distinct(var.worker_engines)) == length(var.worker_engines) && alltrue([for e in var.worker_engines : contains(["onnxruntime", "wasm", "tfjs-node", "tfjs-wasm", "cpu"], e)])
    error_message = "worker_engines must list distinct engines, at least one, from: onnxruntime, wasm, tfjs-node, tfjs-wasm, cpu."
  }
}
