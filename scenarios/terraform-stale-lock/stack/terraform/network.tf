resource "terraform_data" "vpc" {
  input = {
    name = "shop-${local.env}"
    cidr = local.size.cidr
  }
}

resource "terraform_data" "subnet" {
  for_each = local.zones
  input = {
    vpc  = terraform_data.vpc.id
    zone = "us-east-1${each.key}"
    cidr = cidrsubnet(local.size.cidr, 4, each.value)
  }
}

resource "terraform_data" "security_group" {
  for_each = toset(["edge", "app", "data"])
  input = {
    vpc     = terraform_data.vpc.id
    name    = "shop-${local.env}-${each.key}"
    ingress = each.key == "edge" ? "0.0.0.0/0:443" : local.size.cidr
  }
}
