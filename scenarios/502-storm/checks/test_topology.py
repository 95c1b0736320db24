"""The load balancer is real, valid and in the path."""


def test_lb_config_is_valid(host):
    """nginx accepts its configuration (nginx -t)"""
    result = host("lb").run("nginx -t")
    # nginx -t ends with the generic "test failed": the [emerg] line before it names the directive
    lines = result.stderr.strip().splitlines()
    reason = next((line.split("]", 1)[1].split(": ", 1)[-1] for line in lines if "[emerg]" in line), lines[-1] if lines else f"exit {result.rc}")
    assert result.rc == 0, f"nginx -t fails: {reason}"


def test_load_balancer_is_in_the_path(instance, backends):
    """127.0.0.1:8080 is served by the nginx load balancer, with both backends running"""
    problem = instance.load_balancer_problem("lb")
    assert problem is None, problem
    assert "nginx" in instance.processes("lb"), "no nginx process in the load balancer container"
    for backend in backends:
        status = instance.stopped(backend)
        assert status is None, f"backend {backend} is not running ({status})"
