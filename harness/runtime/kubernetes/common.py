"""What every part of the Kubernetes runtime shares: commands, paths, the harness's kubeconfig."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path

from harness.errors import BreakfixError
from harness.paths import content_root, state_dir
from harness.runtime import Progress as Progress  # re-exported: the providers import it from here
from harness.runtime.common import INSTANCE_LABEL as INSTANCE_LABEL  # re-exported

CLUSTER = "breakfix"
FIELD_MANAGER = "breakfix"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
POOL_LABEL = "breakfix.dev/pool"
PROVIDER_ENV = "BREAKFIX_K8S_PROVIDER"
INSTALL = {
    "kind": "kind not found: install from https://kind.sigs.k8s.io/docs/user/quick-start/#installation "
    "(a single binary: put it on PATH), then `breakfix doctor`",
    "kubectl": "kubectl not found: install from https://kubernetes.io/docs/tasks/tools/ "
    "(the offline provider builds one: scripts/k8s-offline.sh, then it is in its cache's bin/)",
    "docker": "docker CLI not found: `apt-get install docker.io` (kind runs its nodes as containers)",
}


def infra_dir() -> Path:
    """The cluster's shape and kubelet settings, shared by every provider."""
    return content_root() / "infra" / "kind"


def kubeconfig_path() -> Path:
    """The harness's own kubeconfig, one context, current: no provider may rewrite the user's ~/.kube/config."""
    return state_dir() / "kubernetes" / "kubeconfig"


def namespace_for(instance: str) -> str:
    return f"bf-{instance}"


def cache_root() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "breakfix" / "k8s"


def run(command: list[str], *, timeout: float = 60, stdin: str | None = None, env: dict[str, str] | None = None) -> str:
    """A command's stdout; any failure is a BreakfixError naming the command and the end of its output."""
    try:
        result = subprocess.run(command, check=False, capture_output=True, text=True, timeout=timeout, input=stdin,
                                env=None if env is None else {**os.environ, **env})
    except FileNotFoundError:
        raise BreakfixError(INSTALL.get(Path(command[0]).name, f"{command[0]} not found")) from None
    except subprocess.TimeoutExpired:
        raise BreakfixError(f"`{shlex.join(command)}` did not finish within {timeout:.0f}s") from None
    if result.returncode != 0:
        raise BreakfixError(f"`{shlex.join(command)}` failed: {(result.stderr or result.stdout).strip()[-800:]}")
    return result.stdout


def stream(command: list[str], progress: Progress, *, env: dict[str, str] | None = None) -> None:
    """Run a long command, passing each of its output lines on as progress."""
    try:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                   env=None if env is None else {**os.environ, **env})
    except FileNotFoundError:
        raise BreakfixError(INSTALL.get(Path(command[0]).name, f"{command[0]} not found")) from None
    assert process.stdout is not None
    tail: list[str] = []
    for line in process.stdout:
        line = line.strip()
        if line:
            tail = [*tail[-20:], line]
            progress(line)
    if process.wait() != 0:
        raise BreakfixError(f"`{shlex.join(command)}` failed:\n" + "\n".join(tail))


def version_tuple(text: str) -> tuple[int, ...]:
    match = re.search(r"v?(\d+)\.(\d+)(?:\.(\d+))?", text)
    return tuple(int(part) for part in match.groups(default="0")) if match else ()


def current_context() -> str:
    """The context the harness's kubeconfig makes current (each provider writes one); "" before any cluster."""
    import yaml

    try:
        return str((yaml.safe_load(kubeconfig_path().read_text()) or {}).get("current-context") or "")
    except (OSError, yaml.YAMLError):
        return ""
