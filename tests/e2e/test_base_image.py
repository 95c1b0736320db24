"""Builds breakfix/base:bookworm for real (offline or from the Dockerfile) and looks inside."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from harness import images

pytestmark = pytest.mark.docker

# Each must succeed inside the image; scenarios and learners rely on all of them.
TOOL_CHECKS = (
    "nginx -v",
    "python3 -c 'import psutil, uvicorn'",
    "gunicorn --version",
    "curl --version",
    "command -v ps",
    "command -v ip",
    "command -v tini",
    "test ! -e /etc/nginx/sites-enabled/default",
    'test "$PYTHONUNBUFFERED" = 1',
    "echo ok",
)


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    docker = pytest.importorskip("docker")
    try:
        engine = docker.from_env(timeout=600)
        engine.ping()
    except docker.errors.DockerException as exc:
        pytest.skip(f"no Docker engine reachable ({type(exc).__name__}); start dockerd or set DOCKER_HOST")
    yield engine
    engine.close()


def test_build_then_second_build_is_a_fast_no_op(client: Any) -> None:
    first = images.build_base_image(client, progress=lambda line: None)
    assert first.status in {"built", "current"}
    assert images.image_status(client) == "current"

    started = time.monotonic()
    second = images.build_base_image(client, progress=lambda line: None)
    elapsed = time.monotonic() - started
    assert second.status == "current", second
    assert second.image_id == first.image_id
    assert elapsed < 5, f"no-op build took {elapsed:.1f}s"
    assert second.size_bytes < 350e6, f"base image is {second.size_bytes / 1e6:.0f} MB, budget 350 MB"


def test_image_has_the_tools_scenarios_rely_on(client: Any) -> None:
    images.build_base_image(client, progress=lambda line: None)
    script = " && ".join(TOOL_CHECKS)
    output = client.containers.run(images.BASE_IMAGE, ["sh", "-c", script], remove=True, stderr=True)
    assert output.decode().strip().endswith("ok"), output.decode()
