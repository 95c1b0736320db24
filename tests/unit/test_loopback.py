"""One loopback rule: an entrypoint the manifest accepts is one the probes will send traffic to, and back."""

import pytest
from pydantic import ValidationError

from harness import probes
from harness.errors import BreakfixError
from harness.manifest import Entrypoint

URLS = [
    "http://127.0.0.1:8080", "http://127.0.0.1:8080/", "http://127.0.0.1:8080/api/v1?x=1", "http://127.0.0.1:1",
    "https://127.0.0.1:8443", "http://127.0.0.1", "http://127.0.0.1:0", "http://127.0.0.1:99999", "http://localhost:8080",
    "http://10.0.0.1:80", "http://127.0.0.1:8080 /x", "http://user@127.0.0.1:8080", "ftp://127.0.0.1:21",
]


def manifest_accepts(url: str) -> bool:
    try:
        Entrypoint(service="web", url=url)
    except ValidationError:
        return False
    return True


def probe_accepts(url: str) -> bool:
    try:
        probes._loopback(url)
    except BreakfixError:
        return False
    return True


@pytest.mark.parametrize("url", URLS)
def test_the_manifest_and_the_probes_agree(url: str) -> None:
    assert manifest_accepts(url) == probe_accepts(url)


def test_https_is_refused_by_both_with_the_rule() -> None:
    with pytest.raises(ValidationError, match=r"must be http://127\.0\.0\.1:PORT"):
        Entrypoint(service="web", url="https://127.0.0.1:8443")
    with pytest.raises(BreakfixError, match=r"127\.0\.0\.1 only \(must be http://127\.0\.0\.1:PORT"):
        probes._loopback("https://127.0.0.1:8443")


def test_the_port_is_read_once() -> None:
    assert Entrypoint(service="web", url="http://127.0.0.1:8081/health").port == 8081
    assert probes._loopback("http://127.0.0.1:8081/health") == ("127.0.0.1", 8081)
