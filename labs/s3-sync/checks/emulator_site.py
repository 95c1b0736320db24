"""moto for the grader's S3 container: installed once with pip into a cache directory on the host
(the base image carries no moto), then bind-mounted read-only and put on the container's PYTHONPATH.

The container runs Debian bookworm's Python 3.11, so the wheels are chosen for CPython 3.11 on
manylinux whatever Python the host runs; the directory name carries the versions, so a newer
pin installs beside the old one instead of mixing with it.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

MOTO_VERSION = "5.1.22"
# moto's S3 server needs flask (create_backend_app) on top of moto[s3]
REQUIREMENTS = [f"moto[s3]=={MOTO_VERSION}", "flask>=3", "flask-cors>=4"]
CONTAINER_PYTHON = "3.11"


def cache_root() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "breakfix"


def moto_site() -> Path:
    """The site-packages directory holding moto for the container; installs it on first use."""
    target = cache_root() / f"moto-{MOTO_VERSION}-cp{CONTAINER_PYTHON.replace('.', '')}-{platform.machine()}"
    if (target / "moto" / "server.py").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=target.name + ".", dir=target.parent))
    command = [
        sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-input",
        "--target", str(staging), "--only-binary=:all:", "--implementation", "cp",
        "--python-version", CONTAINER_PYTHON, "--platform", f"manylinux2014_{platform.machine()}",
        *REQUIREMENTS,
    ]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"installing moto for the S3 emulator failed: {' '.join(command)}\n{result.stderr[-1500:]}")
        staging.chmod(0o755)  # the container reads it as an unprivileged user
        try:
            staging.rename(target)  # atomic: a concurrent grader either sees all of it or none
        except OSError:
            if not (target / "moto" / "server.py").is_file():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target
