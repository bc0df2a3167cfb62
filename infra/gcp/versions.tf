# Terraform and provider versions, and the remote state: a GCS bucket given at init time
# (terraform init -backend-config="bucket=..." -backend-config="prefix=cloudseg").
terraform {
  required_version = ">= 1.5"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "~> 6.50.0"
    }
  }

  # Partial configuration on purpose: the state bucket differs per project and is created once by
  # hand (see README), so it is passed to `terraform init`, never committed.
  backend "gcs" {}
}

provider "google" {
  project = var.project_id
  region  = var.region
}

data "google_project" "this" {
  project_id = var.project_id
}
