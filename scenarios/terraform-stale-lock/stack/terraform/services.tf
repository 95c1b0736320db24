resource "terraform_data" "service" {
  for_each = local.services
  input = {
    name           = "${each.key}-${local.env}"
    replicas       = local.size.replicas
    subnets        = [for subnet in terraform_data.subnet : subnet.id]
    security_group = terraform_data.security_group["app"].id
    database       = terraform_data.database.id
    cache          = terraform_data.cache.id
  }
  depends_on = [terraform_data.db_migration]
}

resource "terraform_data" "target_group" {
  for_each = local.services
  input = {
    service      = terraform_data.service[each.key].id
    health_check = "/${each.key}/healthz"
  }
}

resource "terraform_data" "load_balancer" {
  input = {
    subnets        = [for subnet in terraform_data.subnet : subnet.id]
    security_group = terraform_data.security_group["edge"].id
    routes         = { for name, group in terraform_data.target_group : "/${name}" => group.id }
  }
}

resource "terraform_data" "dns_record" {
  input = {
    name   = local.env == "prod" ? "shop.example.com" : "${local.env}.shop.example.com"
    target = terraform_data.load_balancer.id
  }
}

# A rollout waits on the canary for bake_seconds before it is promoted; re-bake with -replace.
resource "terraform_data" "canary_bake" {
  triggers_replace = [for service in terraform_data.service : service.id]

  provisioner "local-exec" {
    command = "sleep ${var.bake_seconds}"
  }
}
