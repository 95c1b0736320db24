"""The system is the one the brief describes: nginx in front of two replicas, PostgreSQL, the card network."""

SERVICES = ("lb", "api-1", "api-2", "db", "card-network")


def test_payments_api_is_served_through_the_lb(instance):
    """127.0.0.1:8090 is served by the nginx load balancer, with both API replicas, PostgreSQL and the card network running"""
    problem = instance.load_balancer_problem("lb")
    assert problem is None, problem
    assert "nginx" in instance.processes("lb"), "no nginx process in the load balancer container"
    for service in SERVICES:
        status = instance.stopped(service)
        assert status is None, f"{service} is not running ({status})"
