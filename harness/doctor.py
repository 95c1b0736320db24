"""What is installed, what is missing, and how to get it -- per requirement a scenario can declare.

The registry (harness.registry) names each requirement's findings function; the ones of the runtimes
breakfix ships are here."""

from __future__ import annotations

import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor

from harness import registry
from harness.registry import Finding as Finding  # the doctor's findings, as the CLI reads them


def _version(command: list[str]) -> str | None:
    if not shutil.which(command[0]):
        return None
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = (result.stdout or result.stderr).strip().splitlines()
    return lines[0] if lines else ""


def docker_findings() -> list[Finding]:
    from harness.errors import BreakfixError
    from harness.runtime.docker import connect

    findings = []
    client_version = _version(["docker", "--version"])
    findings.append(Finding("docker", "docker CLI", client_version is not None, client_version or "apt-get install docker.io"))
    try:
        client = connect(timeout=5)
        engine = client.version().get("Version", "?")
        findings.append(Finding("docker", "engine", True, f"reachable, version {engine}"))
    except BreakfixError as exc:
        return [*findings, Finding("docker", "engine", False, str(exc))]
    from harness.images import BASE_IMAGE, DERIVED_IMAGES, image_status

    # the derived images (postgres, ...) are built by the same command as the base, from the same recipe
    for name in (BASE_IMAGE, *DERIVED_IMAGES.values()):
        status = image_status(client, name)
        findings.append(Finding("docker", f"image {name}", status == "current", status if status == "current" else f"{status}: run `breakfix images build`"))
    return findings


def aws_findings() -> list[Finding]:
    from harness.runtime.aws import AwsRuntime

    runtime = AwsRuntime("doctor")
    status = runtime.emulator.status()
    problems = runtime.preflight()
    findings = [Finding("aws", f"endpoint {status.url}", status.ok, f"{status.kind}: {status.detail}")]
    return findings + [Finding("aws", "python packages", False, problem) for problem in problems if problem != status.detail]


def terraform_findings() -> list[Finding]:
    from harness.runtime.terraform import installed_version, version_problem

    version = installed_version()
    problem = version_problem(version)
    return [Finding("terraform", "terraform binary", problem is None, problem or f"version {'.'.join(map(str, version or ()))}")]


def by_requirement(requirements: list[str] | None = None) -> dict[str, list[Finding]]:
    """Findings per requirement, probed side by side: each mostly waits on a tool or the engine."""
    wanted = list(dict.fromkeys(registry.names() if requirements is None else requirements))

    def probe(requirement: str) -> list[Finding]:
        registration = registry.REGISTRY.get(requirement)
        if registration is None:
            return [Finding(requirement, requirement, False, "not supported on this version of breakfix")]
        found: list[Finding] = registry.load(registration.doctor)()
        return found

    with ThreadPoolExecutor(max_workers=len(wanted) or 1) as pool:
        return dict(zip(wanted, pool.map(probe, wanted), strict=True))


def findings(requirements: list[str] | None = None) -> list[Finding]:
    return [finding for found in by_requirement(requirements).values() for finding in found]


def unmet(requirements: list[str], found: dict[str, list[Finding]]) -> list[str]:
    """Names of requirements with a failing finding in `found` (from `by_requirement`)."""
    return [requirement for requirement in requirements if not all(finding.ok for finding in found[requirement])]
