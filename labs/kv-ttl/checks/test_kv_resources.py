"""What the store costs: expired keys really released, bounded bookkeeping, thread safety, speed."""


def test_expired_keys_are_reclaimed(functional) -> None:
    """Expired entries are released by the next call, not only hidden"""
    problem = functional.problem("reclaim_expired")
    assert problem is None, problem


def test_memory_follows_live_keys(functional) -> None:
    """Overwrites and deletes leave no garbage behind"""
    problem = functional.problem("memory_bounded")
    assert problem is None, problem


def test_concurrent_incr_loses_nothing(functional) -> None:
    """incr from many threads at once loses no update, even when threads switch inside the call"""
    problem = functional.problem("concurrent_incr")
    assert problem is None, problem


def test_concurrent_delete_removes_once(functional) -> None:
    """delete of one key from 16 threads at once returns True exactly once"""
    problem = functional.problem("concurrent_delete")
    assert problem is None, problem


def test_concurrent_mixed_calls(functional) -> None:
    """Mixed calls from 8 threads while the clock moves raise nothing and stay consistent"""
    problem = functional.problem("concurrent_mixed")
    assert problem is None, problem


def test_one_million_operations_in_time(performance) -> None:
    """1,000,000 mixed calls give the reference's answers within 3x its time + 2 s"""
    problem = performance.problem("performance")
    assert problem is None, problem
