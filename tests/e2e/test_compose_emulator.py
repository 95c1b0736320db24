"""The top-level docker-compose.yml, end to end: its AWS emulator comes up on 127.0.0.1:4566 from the
base image, `breakfix doctor` says the endpoint comes from it, a Terraform scenario verifies against
it (breakfix starts no emulator of its own), and `down` leaves the port free.

Holds /tmp/bf-lock-terraform-corrupted-state and /tmp/bf-lock-aws (the locks everyone provisioning that
entry or stopping/starting the emulator takes), so it never pulls the emulator from under a run."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.images import BASE_IMAGE
from harness.runtime.aws import DEFAULT_ENDPOINT, PORT, Emulator, identify
from harness.runtime.common import port_is_free
from harness.runtime.docker import compose_command
from harness.runtime.terraform import installed_version, version_problem
from harness.timing import wait_until

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
ENTRY = "terraform-corrupted-state"
PROJECT = "breakfix-e2e"  # its own compose project: `down` touches nothing of a user's

pytestmark = [
    pytest.mark.slow,
    pytest.mark.docker,
    pytest.mark.skipif(compose_command() is None, reason="no docker compose / docker-compose on this machine"),
    pytest.mark.skipif(version_problem(installed_version()) is not None, reason=str(version_problem(installed_version()))),
    pytest.mark.uses("aws-emulator", "terraform-corrupted-state"),
]


def compose(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    command = compose_command()
    assert command is not None
    # the emulator runs the moto this breakfix installed: the running interpreter's site-packages
    env = {**os.environ, "BREAKFIX_SITE_PACKAGES": sysconfig.get_paths()["purelib"]}
    return subprocess.run([*command, "-f", str(COMPOSE_FILE), "-p", PROJECT, *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout, check=False)


def breakfix(state_dir: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "BREAKFIX_STATE_DIR": str(state_dir), "COLUMNS": "200"}
    env.pop("BREAKFIX_AWS_ENDPOINT", None)
    return subprocess.run([sys.executable, "-m", "harness", *args], env=env, capture_output=True, text=True, timeout=timeout, check=False)


@pytest.fixture
def locks() -> Iterator[None]:
    with open(f"/tmp/bf-lock-{ENTRY}", "a") as entry, open("/tmp/bf-lock-aws", "a") as aws:
        fcntl.flock(entry, fcntl.LOCK_EX)
        fcntl.flock(aws, fcntl.LOCK_EX)
        yield  # released when the files close


@pytest.fixture
def free_port(locks: None) -> None:
    """4566 free for the compose emulator: breakfix's own idle emulator is stopped (it starts again on
    demand); one in use by an instance, or anyone else's, is left alone and the test skips."""
    if port_is_free(PORT):
        return
    emulator = Emulator()
    if emulator.pid() is not None and not emulator.holders() and emulator.stop():
        return
    pytest.skip(f"127.0.0.1:{PORT} is in use by an emulator that is not breakfix's idle one")


def test_the_compose_emulator_serves_a_terraform_scenario(free_port: None, tmp_path: Path) -> None:
    if subprocess.run(["docker", "image", "inspect", BASE_IMAGE], capture_output=True, check=False).returncode != 0:
        pytest.skip(f"{BASE_IMAGE} is missing: `breakfix images build`")
    up = compose("up", "-d", "--build")
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        assert wait_until(lambda: identify(DEFAULT_ENDPOINT) == "aws", 60, every=0.5), compose("logs").stdout[-2000:]

        doctor = breakfix(tmp_path, "doctor", "--json")
        endpoint = next(f for f in json.loads(doctor.stdout)["findings"] if f["requirement"] == "aws" and f["item"].startswith("endpoint"))
        assert endpoint["ok"] and "docker-compose.yml" in endpoint["detail"], endpoint

        verify = breakfix(tmp_path, "verify", ENTRY)
        assert verify.returncode == 0, verify.stdout[-3000:] + verify.stderr[-3000:]
        assert Emulator().pid() is None, "breakfix started an emulator of its own beside the compose one"
    finally:
        down = compose("down", "--remove-orphans")
    assert down.returncode == 0, down.stdout + down.stderr
    assert wait_until(lambda: port_is_free(PORT), 10, every=0.2), f"127.0.0.1:{PORT} still taken after `down`"
