"""What the store answers: CRUD, exact expiry against the controllable clock, TTL rules, incr."""


def test_crud(functional) -> None:
    """set, get (with a default), overwrite, delete and len behave as specified"""
    problem = functional.problem("crud")
    assert problem is None, problem


def test_expiry_is_exact(functional) -> None:
    """A key set at t with ttl is live before t + ttl and expired at exactly t + ttl"""
    problem = functional.problem("expiry_exact")
    assert problem is None, problem


def test_ttl_rules(functional) -> None:
    """ttl() reports the remaining time, set without ttl clears it, bad ttls (bools included) are refused"""
    problem = functional.problem("ttl_rules")
    assert problem is None, problem


def test_incr(functional) -> None:
    """incr counts from 0, keeps the key's ttl, restarts after expiry, refuses non-int values and deltas (floats, bools)"""
    problem = functional.problem("incr")
    assert problem is None, problem
