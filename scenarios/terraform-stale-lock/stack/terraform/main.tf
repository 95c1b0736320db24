# The shop platform: one configuration, one CLI workspace per environment (prod, staging).
# Resources are modelled with terraform_data so the project runs without cloud credentials;
# their inputs and dependencies mirror the real stack (network -> data -> services -> edge).

terraform {
  required_version = ">= 1.6"
}

variable "migration_seconds" {
  description = "How long the schema migration job runs before services roll (0: no pending migration)."
  type        = number
  default     = 0
}

variable "bake_seconds" {
  description = "How long a rollout bakes on the canary before it is promoted (0: promote at once)."
  type        = number
  default     = 0
}

locals {
  env = terraform.workspace
  sizing = {
    prod    = { cidr = "10.10.0.0/16", replicas = 6, db_class = "db.r6g.xlarge", cache_nodes = 3 }
    staging = { cidr = "10.20.0.0/16", replicas = 2, db_class = "db.t4g.medium", cache_nodes = 1 }
  }
  size     = lookup(local.sizing, local.env, local.sizing["staging"])
  zones    = { a = 0, b = 1, c = 2 }
  services = toset(["accounts", "cart", "catalog", "checkout", "payments", "search"])
}
