resource "terraform_data" "database" {
  input = {
    engine         = "postgres15"
    instance_class = local.size.db_class
    subnets        = [for subnet in terraform_data.subnet : subnet.id]
    security_group = terraform_data.security_group["data"].id
  }
}

resource "terraform_data" "cache" {
  input = {
    engine         = "redis7"
    nodes          = local.size.cache_nodes
    subnets        = [for subnet in terraform_data.subnet : subnet.id]
    security_group = terraform_data.security_group["data"].id
  }
}

# Re-run on every new database (and on demand with -replace): applies pending schema migrations.
resource "terraform_data" "db_migration" {
  triggers_replace = [terraform_data.database.id]

  provisioner "local-exec" {
    command = "sleep ${var.migration_seconds}"
  }
}
