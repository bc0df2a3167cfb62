# The four buckets: input (users upload), output (masks), models (the DVC remote, versioned) and
# function source (zips Cloud Build builds). Uniform bucket-level access everywhere: IAM only, no ACLs.
resource "google_storage_bucket" "input" {
  name                        = "${local.bucket_prefix}${var.input_bucket}"
  location                    = local.bucket_location
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = var.force_destroy_buckets
  labels                      = var.labels

  # When the worker does not delete processed inputs, age them out instead (an image waits in the
  # buffer for minutes, never days, so everything this old has been processed).
  dynamic "lifecycle_rule" {
    for_each = !var.delete_input && var.input_retention_days > 0 ? [var.input_retention_days] : []
    content {
      condition {
        age = lifecycle_rule.value
      }
      action {
        type = "Delete"
      }
    }
  }

  depends_on = [google_project_service.required]
}

resource "google_storage_bucket" "output" {
  name                        = "${local.bucket_prefix}${var.output_bucket}"
  location                    = local.bucket_location
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = var.force_destroy_buckets
  labels                      = var.labels

  dynamic "lifecycle_rule" {
    for_each = var.output_retention_days > 0 ? [var.output_retention_days] : []
    content {
      condition {
        age = lifecycle_rule.value
      }
      action {
        type = "Delete"
      }
    }
  }

  depends_on = [google_project_service.required]
}

resource "google_storage_bucket" "models" {
  name                        = "${local.bucket_prefix}${var.models_bucket}"
  location                    = local.bucket_location
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = var.force_destroy_buckets
  labels                      = var.labels

  # A registered model must stay restorable: an overwritten or deleted object becomes noncurrent
  # and is kept this long.
  versioning {
    enabled = true
  }

  lifecycle_rule {
    condition {
      days_since_noncurrent_time = var.model_noncurrent_retention_days
    }
    action {
      type = "Delete"
    }
  }

  depends_on = [google_project_service.required]
}

resource "google_storage_bucket" "function_source" {
  name                        = "${local.bucket_prefix}${var.function_source_bucket}"
  location                    = local.bucket_location
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = true # only build inputs live here; they are reproducible from git
  labels                      = var.labels

  # Old source zips are only needed to rebuild old revisions.
  lifecycle_rule {
    condition {
      age = 90
    }
    action {
      type = "Delete"
    }
  }

  depends_on = [google_project_service.required]
}

# The deployable: named by its content, so a new zip is a new object and both functions rebuild,
# and an unchanged one changes nothing.
resource "google_storage_bucket_object" "function_source" {
  name   = "cloudseg-functions-${filemd5(local.source_zip)}.zip"
  bucket = google_storage_bucket.function_source.name
  source = local.source_zip
}
