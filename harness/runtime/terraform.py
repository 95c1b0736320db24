"""Terraform runtime: the real `terraform` binary on a scenario's workspace, state in the AWS emulator.

Provisioning creates a versioned state bucket `bf-<instance>-tfstate`, writes `backend.tf`
(the `s3` backend with `use_lockfile`, pointed at the emulator) into the learner's copy of the
stack, runs `terraform init` and applies every declared CLI workspace. No provider is downloaded:
scenarios use the built-in `terraform_data`, so all of it works offline.

Besides the learner's copy, the runtime keeps two kinds of directories under the instance dir:
- `grader/`: a pristine copy of the scenario's configuration that checks plan against, so a
  learner's edit to the configuration cannot make `plan` look clean;
- `runs/<name>/`: other operators' checkouts (a CI runner, a colleague) where faults start real
  `terraform apply` processes, each in its own process group so teardown can kill all of it.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness import procs
from harness.errors import BreakfixError
from harness.runtime import Progress
from harness.runtime.aws import REGION, AwsRuntime, client, create_versioned_bucket, endpoint_url
from harness.timing import wait_until

if TYPE_CHECKING:
    from harness.settle import Readiness

MIN_VERSION = (1, 6)
INSTALL_HELP = (
    "install Terraform >= 1.6 (https://developer.hashicorp.com/terraform/install: unzip the release "
    "into /usr/local/bin, or `apt-get install terraform` from HashiCorp's apt repository)"
)
BUCKET_SUFFIX = "tfstate"
COMMAND_TIMEOUT = 180.0


def installed_version() -> tuple[int, ...] | None:
    """The terraform binary's version, or None when it is missing or does not run."""
    if shutil.which("terraform") is None:
        return None
    try:
        result = subprocess.run(["terraform", "version", "-json"], capture_output=True, text=True, timeout=20, check=False)
        text = json.loads(result.stdout)["terraform_version"]
    except (OSError, subprocess.TimeoutExpired, ValueError, KeyError):
        return None
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])


def version_problem(version: tuple[int, ...] | None) -> str | None:
    if version is None:
        return f"terraform is not installed or does not run: {INSTALL_HELP}"
    if version < MIN_VERSION:
        found = ".".join(map(str, version))
        return f"terraform {found} is too old (the s3 backend's use_lockfile needs >= 1.6): {INSTALL_HELP}"
    return None


@dataclass(frozen=True)
class Backend:
    """Where a project's states live: one object per CLI workspace, with a `.tflock` beside it while locked."""

    bucket: str
    key: str

    def state_key(self, workspace: str) -> str:
        return self.key if workspace == "default" else f"env:/{workspace}/{self.key}"

    def lock_key(self, workspace: str) -> str:
        return self.state_key(workspace) + ".tflock"

    def render(self) -> str:
        return f"""# Written by breakfix: the team's remote state, in the AWS emulator at {endpoint_url()}.
terraform {{
  backend "s3" {{
    bucket       = "{self.bucket}"
    key          = "{self.key}"
    region       = "{REGION}"
    use_lockfile = true

    endpoints                   = {{ s3 = "{endpoint_url()}" }}
    use_path_style              = true
    skip_credentials_validation = true
    skip_requesting_account_id  = true
    skip_metadata_api_check     = true
    skip_region_validation      = true
  }}
}}
"""


@dataclass(frozen=True)
class StateRead:
    """One state object as stored: parsed when it is a valid state, with why not otherwise."""

    raw: bytes | None
    data: dict[str, Any] | None
    error: str | None
    version_id: str | None = None


def parse_state(raw: bytes | None, version_id: str | None = None) -> StateRead:
    if raw is None:
        return StateRead(None, None, "the state object does not exist", version_id)
    try:
        data = json.loads(raw)
    except ValueError as exc:
        return StateRead(raw, None, f"not valid JSON ({exc})", version_id)
    if not isinstance(data, dict) or data.get("version") != 4 or "lineage" not in data:
        return StateRead(raw, None, "valid JSON but not a Terraform state (no version 4 / lineage)", version_id)
    return StateRead(raw, data, None, version_id)


def resource_instances(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """address -> attributes of every managed resource instance, e.g. terraform_data.service["api"]."""
    found: dict[str, dict[str, Any]] = {}
    for resource in data.get("resources", []):
        if resource.get("mode") != "managed":
            continue
        base = ".".join(part for part in (resource.get("module"), f"{resource['type']}.{resource['name']}") if part)
        for instance in resource.get("instances", []):
            key = instance.get("index_key")
            address = base if key is None else f"{base}[{json.dumps(key)}]"
            found[address] = instance.get("attributes", {})
    return found


class Run:
    """A terraform process a fault started in `runs/<name>/`: its log, pid and exit code live on disk,
    so a later CLI call (`check`, `stop`) finds it even though another process started it."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    @property
    def name(self) -> str:
        return self.directory.name

    @property
    def checkout(self) -> Path:
        return self.directory / "checkout"

    @property
    def log(self) -> Path:
        return self.directory / "terraform.log"

    @property
    def exit_file(self) -> Path:
        return self.directory / "exit-code"

    def _record(self) -> tuple[int, str] | None:
        try:
            pid, started = (self.directory / "pid").read_text().split()
        except (OSError, ValueError):
            return None
        return int(pid), started

    def pid(self) -> int | None:
        record = self._record()
        return record[0] if record else None

    def alive(self) -> bool:
        record = self._record()
        if record is None:
            return False
        with contextlib.suppress(ChildProcessError):  # reap it when this process started it
            os.waitpid(record[0], os.WNOHANG)
        return procs.start_time(record[0]) == record[1] or bool(procs.group_members(record[0]))

    def exit_code(self) -> int | None:
        """Terraform's exit code once it finished on its own; None while running or when killed."""
        try:
            return int(self.exit_file.read_text())
        except (OSError, ValueError):
            return None

    def events(self) -> list[dict[str, Any]]:
        """The `-json` UI messages written so far (a half-written last line is skipped)."""
        messages = []
        for line in self.log.read_text(errors="replace").splitlines() if self.log.exists() else []:
            try:
                messages.append(json.loads(line))
            except ValueError:
                continue
        return messages

    def tail(self, lines: int = 8) -> str:
        texts = [m.get("@message", "") for m in self.events() if m.get("@level") == "error" or m.get("type") == "diagnostic"]
        return " | ".join(texts[-lines:]) or "no error message in its log"

    def wait_for(self, kind: str, address: str, timeout: float) -> None:
        """Block until the log shows a `kind` message (e.g. provision_start) for `address`."""

        def shown() -> bool:
            for message in self.events():
                if message.get("type") == kind and message.get("hook", {}).get("resource", {}).get("addr") == address:
                    return True
            if not self.alive():
                raise BreakfixError(f"terraform run {self.name} ended before {kind} of {address}: {self.tail()}")
            return False

        wait_until(shown, timeout, every=0.05, error=f"terraform run {self.name} showed no {kind} of {address} within {timeout:.0f}s")

    def finishing(self) -> bool:
        """Alive with every resource it started applying complete: between two steps, or past its last
        one -- releasing its lock and exiting. A check in that moment sees a lock gone under a live
        apply; settle waits until it starts its next step or exits."""
        if not self.alive():
            return False
        # counted, not collected: a -replace applies the same address twice (destroy, then create)
        started = in_flight = 0
        for message in self.events():
            if message.get("type") == "apply_start":
                started += 1
                in_flight += 1
            elif message.get("type") in ("apply_complete", "apply_errored"):
                in_flight -= 1
        return started > 0 and in_flight <= 0

    def kill(self) -> None:
        """SIGKILL the whole process group (terraform and its provisioners), as a preempted runner dies."""
        pid = self.pid()
        if pid is None:
            return
        if not procs.terminate(pid, lambda: not self.alive(), group=True, timeout=10):
            raise BreakfixError(f"terraform run {self.name} (process group {pid}) survived SIGKILL")


class TerraformRuntime:
    """One instance's Terraform project: its state bucket, the learner's working copy, graders and runs."""

    name = "terraform"

    def __init__(self, instance: str, stack_dir: Path, pristine_dir: Path, workspaces: list[str], state_key: str, home: Path) -> None:
        self.instance = instance
        self.home = home  # the runtime's own directory in the instance's: grader/, runs/, baseline.json
        self.stack_dir = stack_dir
        self.pristine_dir = pristine_dir
        self.workspaces = workspaces
        self.aws = AwsRuntime(instance)
        self.backend = Backend(self.aws.bucket(BUCKET_SUFFIX), state_key)

    @property
    def grader_dir(self) -> Path:
        return self.home / "grader"

    @property
    def baseline_file(self) -> Path:
        return self.home / "baseline.json"

    # -- running terraform -----------------------------------------------------------------------

    def process_env(self, workspace: str | None = None) -> dict[str, str]:
        variables = {**os.environ, **self.env()}
        if workspace is not None:
            variables["TF_WORKSPACE"] = workspace
        return variables

    def terraform(self, directory: Path, *args: str, workspace: str | None = None, timeout: float = COMMAND_TIMEOUT) -> subprocess.CompletedProcess[str]:
        try:
            return subprocess.run(
                ["terraform", *args], cwd=directory, env=self.process_env(workspace),
                capture_output=True, text=True, timeout=timeout, check=False,
            )
        except subprocess.TimeoutExpired:
            raise BreakfixError(f"terraform {' '.join(args)} in {directory} took over {timeout:.0f}s") from None

    def must(self, directory: Path, *args: str, workspace: str | None = None) -> str:
        result = self.terraform(directory, *args, workspace=workspace)
        if result.returncode != 0:
            raise BreakfixError(f"terraform {' '.join(args)} failed (workspace {workspace or 'selected'}): {last_error(result)}")
        return result.stdout

    def plan(self, workspace: str) -> subprocess.CompletedProcess[str]:
        """`plan -detailed-exitcode` of the pristine configuration: 0 clean, 2 changes, 1 error.

        -lock=false: a plan writes no state, and a check must never take a lock that would make the
        learner's own command (or a colleague's running apply) fail with "Error acquiring the state lock".
        """
        return self.terraform(self.grader_dir, "plan", "-lock=false", "-detailed-exitcode", "-input=false", "-no-color", workspace=workspace)

    def plan_problem(self, workspace: str) -> str | None:
        """None when the plan of `workspace` is clean; otherwise what the learner should read."""
        result = self.plan(workspace)
        if result.returncode == 0:
            return None
        if result.returncode == 2:
            return f"terraform plan on {workspace} wants changes: {plan_summary(result)}"
        return f"terraform plan on {workspace} fails: {last_error(result)}"

    def background_run(self, name: str) -> Run:
        """The record (pid, log, exit code) of the background apply started as `name`, whether or not it ran."""
        return Run(self.home / "runs" / name)

    def runs(self) -> list[Run]:
        root = self.home / "runs"
        return [Run(path) for path in sorted(root.iterdir())] if root.is_dir() else []

    def start_apply(self, name: str, workspace: str, args: list[str]) -> Run:
        """`terraform apply -json <args>` from a fresh checkout of the learner's project, in the background."""
        run = self.background_run(name)
        run.kill()
        if run.directory.exists():
            shutil.rmtree(run.directory)
        shutil.copytree(self.stack_dir, run.checkout)
        environment = self.process_env(workspace)
        environment["BREAKFIX_EXIT_FILE"] = str(run.exit_file)
        with run.log.open("wb") as log:
            process = subprocess.Popen(
                ["bash", "-c", 'terraform "$@"; echo $? > "$BREAKFIX_EXIT_FILE"', "terraform",
                 "apply", "-auto-approve", "-input=false", "-json", *args],
                cwd=run.checkout, env=environment, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: one killpg takes terraform and its provisioners
            )
        (run.directory / "pid").write_text(f"{process.pid} {procs.start_time(process.pid)}")
        return run

    # -- reading the remote state ----------------------------------------------------------------

    def _get(self, key: str, version_id: str | None = None) -> bytes | None:
        s3 = client("s3")
        extra = {"VersionId": version_id} if version_id else {}
        try:
            return bytes(s3.get_object(Bucket=self.backend.bucket, Key=key, **extra)["Body"].read())
        except s3.exceptions.NoSuchKey:
            return None
        except s3.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "NoSuchBucket", "404", "NoSuchVersion"):
                return None
            raise

    def state(self, workspace: str, version_id: str | None = None) -> StateRead:
        return parse_state(self._get(self.backend.state_key(workspace), version_id), version_id)

    def lock(self, workspace: str) -> dict[str, Any] | None:
        """The lock file's content (ID, Operation, Who, Created) while `workspace` is locked."""
        raw = self._get(self.backend.lock_key(workspace))
        if raw is None:
            return None
        try:
            return dict(json.loads(raw))
        except ValueError:
            return {"ID": "?", "Info": raw.decode(errors="replace")}

    def history(self, workspace: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """(versions oldest first, delete markers) of a workspace's state object."""
        key = self.backend.state_key(workspace)
        versions: list[dict[str, Any]] = []
        markers: list[dict[str, Any]] = []
        for page in client("s3").get_paginator("list_object_versions").paginate(Bucket=self.backend.bucket, Prefix=key):
            versions += [v for v in page.get("Versions", []) if v["Key"] == key]
            markers += [m for m in page.get("DeleteMarkers", []) if m["Key"] == key]
        versions.reverse()  # S3 lists a key's versions newest first; timestamps alone tie within a second
        return versions, markers

    def baseline(self) -> dict[str, Any]:
        """What each workspace's state was right after provisioning (lineage, serial, version, resources)."""
        return dict(json.loads(self.baseline_file.read_text()))

    # -- the Runtime protocol --------------------------------------------------------------------

    def settle(self) -> list[Readiness]:
        """A background run the scenario started is live when it is mid-step or has exited; a killed
        one stays dead (the fault meant it)."""
        from harness.settle import Readiness

        def finishing() -> str | None:
            names = [run.name for run in self.runs() if run.finishing()]
            return f"{', '.join(names)} between steps or exiting" if names else None

        return [Readiness("terraform runs to finish their current step", finishing, timeout=15)]


    def preflight(self) -> list[str]:
        problems = [p for p in [version_problem(installed_version())] if p]
        if not list(self.pristine_dir.glob("*.tf")):
            problems.append(f"{self.pristine_dir}: no *.tf files -- nothing for the Terraform runtime to apply")
        return problems

    def provision(self, progress: Progress) -> None:
        self.aws.require_alive()
        if self.home.exists():
            shutil.rmtree(self.home)
        self.home.mkdir(parents=True)
        create_versioned_bucket(self.backend.bucket)
        for directory in (self.stack_dir, self._fresh_grader()):
            (directory / "backend.tf").write_text(self.backend.render())
            self.must(directory, "init", "-input=false", "-no-color")
        baseline = {}
        for workspace in self.workspaces:
            progress(f"terraform apply (workspace {workspace})")
            if workspace != "default":
                self.must(self.stack_dir, "workspace", "new", "-no-color", workspace)
            self.must(self.stack_dir, "apply", "-auto-approve", "-input=false", "-no-color", workspace=workspace)
            baseline[workspace] = self._snapshot(workspace)
        self.must(self.stack_dir, "workspace", "select", "-no-color", self.workspaces[0])
        self.baseline_file.write_text(json.dumps(baseline))

    def _fresh_grader(self) -> Path:
        shutil.copytree(self.pristine_dir, self.grader_dir, ignore=shutil.ignore_patterns(".terraform*", "backend.tf", "*.tfstate*"))
        return self.grader_dir

    def _snapshot(self, workspace: str) -> dict[str, Any]:
        versions, _ = self.history(workspace)
        current = self.state(workspace)
        if current.data is None:
            raise BreakfixError(f"terraform apply left no readable state for workspace {workspace}: {current.error}")
        return {
            "lineage": current.data["lineage"],
            "serial": current.data["serial"],
            "version_id": versions[-1]["VersionId"],
            "resources": resource_instances(current.data),
        }

    def teardown(self) -> None:
        """Kill every terraform this instance started, then drop its directories; the AWS runtime
        deletes the bucket (the lifecycle tears runtimes down in reverse, so no apply can still write)."""
        survivors = []
        for run in self.runs():
            try:
                run.kill()
            except BreakfixError as exc:
                survivors.append(str(exc))
        if survivors:
            raise BreakfixError("; ".join(survivors))
        if self.home.exists():
            shutil.rmtree(self.home)

    def env(self) -> dict[str, str]:
        cache = self.home / "plugin-cache"
        cache.mkdir(parents=True, exist_ok=True)
        return {
            **self.aws.env(),
            "TF_IN_AUTOMATION": "1",
            "TF_PLUGIN_CACHE_DIR": str(cache),  # per instance: nothing shared with the user's own projects
            "BREAKFIX_TF_DIR": str(self.stack_dir),
            "BREAKFIX_TF_BUCKET": self.backend.bucket,
        }


def last_error(result: subprocess.CompletedProcess[str]) -> str:
    """The line of terraform's output a human reads first: its last `Error: ...`."""
    lines = [line.strip(" │╷╵") for line in (result.stderr or result.stdout).splitlines()]
    errors = [line for line in lines if line.startswith("Error")]
    return (errors or [line for line in lines if line] or [f"exit {result.returncode}"])[-1]


def plan_summary(result: subprocess.CompletedProcess[str], limit: int = 4) -> str:
    """`Plan: N to add, ...` and the first few `# address will be ...` lines of a plan."""
    lines = [line.strip() for line in result.stdout.splitlines()]
    changes = [line.lstrip("# ") for line in lines if line.startswith("# ") and (" will be " in line or " must be " in line)]
    totals = [line for line in lines if line.startswith("Plan:")]
    more = f" (+{len(changes) - limit} more)" if len(changes) > limit else ""
    return "; ".join(totals + changes[:limit]) + more
