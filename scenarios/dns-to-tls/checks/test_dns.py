"""The name resolves, through the company resolver, to the load balancer."""

NAME = "api.payments.test"


def dig(client, server, *options):
    code, output = client(f"dig {'@' + server if server else ''} {NAME} A +short +time=2 +tries=2 {' '.join(options)}")
    return code, sorted(line for line in output.split() if line.count(".") == 3)


def test_authoritative_server_points_at_the_load_balancer(client, address):
    """payments.test's authoritative server answers api.payments.test with the load balancer's address"""
    lb, api = address("lb"), address("api")
    code, answers = dig(client, address("auth"), "+norec")
    assert code == 0 and answers, f"the authoritative server ({address('auth')}) gives no address for {NAME}"
    named = {lb: "the load balancer", api: "the API service itself, behind no TLS load balancer"}
    assert answers == [lb], f"the authoritative server says {NAME} is {', '.join(answers)} ({named.get(answers[0], 'no service of this stack')}); the load balancer is {lb}"


def test_resolver_gives_the_current_answer(client, address):
    """The recursive resolver gives clients the load balancer's address for api.payments.test"""
    lb = address("lb")
    code, answers = dig(client, address("resolver"))
    assert code == 0 and answers, f"the resolver ({address('resolver')}) gives no address for {NAME}"
    _, ttl_line = client(f"dig @{address('resolver')} {NAME} A +noall +answer")
    assert answers == [lb], f"the resolver answers {NAME} with {', '.join(answers)} ({ttl_line.strip()}), but the load balancer is {lb}"


def test_client_resolves_through_the_resolver(client, address):
    """The client looks the name up through the company resolver, with no local override, and gets the load balancer"""
    resolver, lb = address("resolver"), address("lb")
    _, resolv_conf = client("cat /etc/resolv.conf")
    servers = [line.split()[1] for line in resolv_conf.splitlines() if line.startswith("nameserver") and len(line.split()) > 1]
    assert servers == [resolver], f"the client's /etc/resolv.conf names {', '.join(servers) or 'no server'}, not the company resolver ({resolver})"
    _, hosts = client("cat /etc/hosts")
    overrides = [line.strip() for line in hosts.splitlines() if NAME in line.split("#", 1)[0].split()]
    assert not overrides, f"the client's /etc/hosts pins {NAME} ({overrides[0]}): the name must come from DNS"
    _, system = client(f"getent ahostsv4 {NAME}")
    addresses = sorted({line.split()[0] for line in system.splitlines() if line.strip()})
    assert addresses == [lb], f"the client's system lookup of {NAME} gives {', '.join(addresses) or 'nothing'}, not the load balancer ({lb})"
