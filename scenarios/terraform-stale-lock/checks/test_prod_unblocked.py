"""prod is usable again: nobody holds its lock, and its state matches the configuration."""


def test_prod_is_not_locked(terraform):
    """prod's state is not locked"""
    lock = terraform.lock("prod")
    assert lock is None, (
        f"prod is still locked (lock ID {lock.get('ID')}, {lock.get('Operation')} by {lock.get('Who')} since {lock.get('Created')}): "
        "every terraform command on prod fails with 'Error acquiring the state lock'"
    )


def test_prod_plan_is_clean(terraform):
    """`terraform plan -detailed-exitcode` on prod exits 0: state and configuration agree"""
    problem = terraform.plan_problem("prod")
    assert problem is None, problem
