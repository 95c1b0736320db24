"""The system is the one the brief describes: nginx in front of two replicas, PostgreSQL, the card network."""

from urllib.parse import urlsplit

SERVICES = ("lb", "api-1", "api-2", "db", "card-network")


def test_payments_api_is_served_through_the_lb(instance):
    """127.0.0.1:8090 is served by the nginx load balancer, with both API replicas, PostgreSQL and the card network running"""
    port = urlsplit(instance.entrypoint_url).port
    publisher = instance.publisher_of(port)
    expected = instance.container_name("lb")
    assert publisher is not None, f"nothing publishes 127.0.0.1:{port}: is the load balancer running?"
    assert publisher.name == expected, f"127.0.0.1:{port} is published by {publisher.name}, not the load balancer {expected}"
    assert "nginx" in instance.processes("lb"), "no nginx process in the load balancer container"
    for service in SERVICES:
        state = instance.container(service).attrs["State"]
        assert state["Running"] and not state["Paused"], f"{service} is not running ({state['Status']})"
