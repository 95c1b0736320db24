"""The system is the one the brief describes: PostgreSQL, the producer, the dispatcher, five customers' endpoints."""

import hashlib

SERVICES = ("db", "producer", "dispatcher", "acme", "initech", "globex", "hooli", "umbrella")


def test_the_stack_runs(instance, receiver_codes):
    """PostgreSQL, the producer, the dispatcher and the five customers' endpoints are running, the endpoints as shipped"""
    for service in SERVICES:
        status = instance.stopped(service)
        assert status is None, f"{service} is not running ({status})"
    shipped = hashlib.sha256((instance.entry.directory / "stack" / "receivers" / "receiver.py").read_bytes()).hexdigest()
    changed = sorted(endpoint for endpoint, code in receiver_codes.items() if code != shipped)
    assert not changed, f"{', '.join(changed)} do not run the receiver.py breakfix ships (the customers' endpoints are not yours to change)"
