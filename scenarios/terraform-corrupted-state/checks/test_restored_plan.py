"""Terraform works on prod again, and there is nothing to change."""


def test_plan_is_clean(terraform):
    """`terraform plan -detailed-exitcode` on prod exits 0"""
    problem = terraform.plan_problem("prod")
    assert problem is None, problem
