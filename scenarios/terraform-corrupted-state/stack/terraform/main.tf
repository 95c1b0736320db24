# The card-payments ingestion pipeline: events land in a queue, workers write them to the data
# lake, a nightly job archives them. Modelled with terraform_data (no cloud credentials needed):
# the inputs and dependencies follow the real topology.

terraform {
  required_version = ">= 1.6"
}

locals {
  stages  = ["raw", "curated", "archive"]
  workers = { authorize = 512, capture = 512, refund = 256, chargeback = 256 }
}

resource "terraform_data" "kms_key" {
  input = { alias = "alias/payments-pipeline", rotation = true }
}

resource "terraform_data" "bucket" {
  for_each = toset(local.stages)
  input = {
    name       = "payments-lake-${each.key}"
    encryption = terraform_data.kms_key.id
    versioning = each.key != "raw"
  }
}

resource "terraform_data" "lifecycle_rule" {
  input = {
    bucket        = terraform_data.bucket["archive"].id
    glacier_after = 30
    expire_after  = 2555
  }
}

resource "terraform_data" "dead_letter_queue" {
  input = { name = "payments-events-dlq", retention_days = 14, kms = terraform_data.kms_key.id }
}

resource "terraform_data" "queue" {
  for_each = local.workers
  input = {
    name        = "payments-${each.key}"
    kms         = terraform_data.kms_key.id
    dead_letter = terraform_data.dead_letter_queue.id
    max_receive = 5
  }
}

resource "terraform_data" "worker_role" {
  for_each = local.workers
  input = {
    name     = "payments-${each.key}-worker"
    reads    = terraform_data.queue[each.key].id
    writes   = terraform_data.bucket["raw"].id
    kms_keys = [terraform_data.kms_key.id]
  }
}

resource "terraform_data" "worker" {
  for_each = local.workers
  input = {
    function  = "payments-${each.key}"
    memory_mb = each.value
    role      = terraform_data.worker_role[each.key].id
    source    = terraform_data.queue[each.key].id
    sink      = terraform_data.bucket["raw"].id
  }
}

resource "terraform_data" "curate_job" {
  input = {
    schedule = "cron(15 2 * * ? *)"
    reads    = terraform_data.bucket["raw"].id
    writes   = terraform_data.bucket["curated"].id
    archive  = terraform_data.bucket["archive"].id
  }
}

resource "terraform_data" "dlq_alarm" {
  input = { queue = terraform_data.dead_letter_queue.id, threshold = 1, page = "payments-oncall" }
}
