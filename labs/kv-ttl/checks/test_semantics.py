"""What the store answers: CRUD, exact expiry against the controllable clock, TTL rules, incr."""


def test_crud(finding) -> None:
    """set, get (with a default), overwrite, delete and len behave as specified"""
    problem = finding("crud")
    assert problem is None, problem


def test_expiry_is_exact(finding) -> None:
    """A key set at t with ttl is live before t + ttl and expired at exactly t + ttl"""
    problem = finding("expiry_exact")
    assert problem is None, problem


def test_ttl_rules(finding) -> None:
    """ttl() reports the remaining time, set without ttl clears it, bad ttls are refused"""
    problem = finding("ttl_rules")
    assert problem is None, problem


def test_incr(finding) -> None:
    """incr counts from 0, keeps the key's ttl, restarts after expiry, refuses non-int values"""
    problem = finding("incr")
    assert problem is None, problem
