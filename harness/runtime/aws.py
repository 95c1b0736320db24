"""AWS runtime: one emulator endpoint on 127.0.0.1:4566, shared by every scenario that needs AWS.

By default the harness runs moto's server there (LocalStack's port) as a managed background
process: started once, reused by later scenarios, stopped by `breakfix stop`. A LocalStack the
user already runs on that port, or any endpoint named by BREAKFIX_AWS_ENDPOINT, is used instead.
An instance owns only the buckets and tables named `bf-<instance>-*`; teardown deletes them and
then proves none is left, so two scenarios can share one emulator.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness import procs
from harness.errors import BreakfixError
from harness.paths import state_dir
from harness.runtime import Progress
from harness.runtime.common import port_is_free
from harness.timing import wait_until

if TYPE_CHECKING:
    from harness.settle import Readiness

PORT = 4566
DEFAULT_ENDPOINT = f"http://127.0.0.1:{PORT}"
ENDPOINT_VARIABLE = "BREAKFIX_AWS_ENDPOINT"
REGION = "us-east-1"
# emulators accept any credentials; fixed ones keep the learner's real profile out of the lab
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}
START_TIMEOUT = 15.0
COMPOSE_LABEL = ("breakfix.shared", "aws-emulator")  # on the emulator of the repository's docker-compose.yml


def endpoint_url() -> str:
    return os.environ.get(ENDPOINT_VARIABLE, DEFAULT_ENDPOINT).rstrip("/")


def client_env() -> dict[str, str]:
    """What the aws CLI, boto3 and terraform need to reach the emulator instead of AWS."""
    return {"AWS_ENDPOINT_URL": endpoint_url(), "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION, **CREDENTIALS}


def client(service: str) -> Any:
    """A boto3 client bound to the active endpoint, whatever the caller's own AWS config says."""
    return _client(service, endpoint_url())


@functools.cache  # building a client loads botocore's service model: ~0.1 s each time otherwise
def _client(service: str, url: str, timeout: float = 10) -> Any:
    import boto3
    from botocore.config import Config

    session = boto3.session.Session(
        aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        region_name=REGION,
    )
    config = Config(connect_timeout=min(timeout, 3), read_timeout=timeout, retries={"max_attempts": 2, "mode": "standard"})
    return session.client(service, endpoint_url=url, config=config)


def identify(url: str, timeout: float = 1.0) -> str | None:
    """What answers at `url`: "localstack", "aws" (moto or another emulator), or None (not an AWS endpoint)."""
    try:
        with urllib.request.urlopen(f"{url}/_localstack/health", timeout=timeout) as response:
            if "services" in json.loads(response.read() or b"{}"):
                return "localstack"
    except (OSError, ValueError):
        pass
    request = urllib.request.Request(
        f"{url}/",
        data=b"Action=GetCallerIdentity&Version=2011-06-15",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            # a minimal SigV4-shaped header: emulators route on the credential scope's service name
            "Authorization": f"AWS4-HMAC-SHA256 Credential=test/20240101/{REGION}/sts/aws4_request, SignedHeaders=host, Signature=0",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
    except (OSError, ValueError):
        return None
    return "aws" if b"GetCallerIdentityResponse" in body else None


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=0.5) as response:
            return bool(response.status == 200)
    except (OSError, ValueError):
        return False


@dataclass(frozen=True)
class Status:
    """Which endpoint is active (for doctor), without starting anything."""

    url: str
    kind: str  # "moto (managed by breakfix)", "localstack", "external endpoint", "not running"
    ok: bool
    detail: str


def runtime_dir() -> Path:
    """Per user and machine, not per state dir: the port is machine-wide, so is the emulator's pid file."""
    return Path(os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir()) / f"breakfix-{os.getuid()}" / "aws"


class Emulator:
    """The managed moto server: one per user and machine, its pid and log in runtime_dir()."""

    def __init__(self, directory: Path | None = None, port: int = PORT, environment: dict[str, str] | None = None) -> None:
        self.directory = directory or runtime_dir()
        self.port = port  # another port and environment: a dedicated emulator (harness.runtime.aws_account)
        self.environment = environment or {}

    @property
    def url(self) -> str:
        return endpoint_url() if self.port == PORT else f"http://127.0.0.1:{self.port}"

    def answers(self) -> bool:
        """moto's own page answers: needs no credentials, so it works with IAM enforced too."""
        return _answers(f"{self.url}/moto-api/")

    @property
    def pid_file(self) -> Path:
        return self.directory / "moto.pid"

    @property
    def log_file(self) -> Path:
        return self.directory / "moto.log"

    def pid(self) -> int | None:
        """Our moto server's pid while it runs; a stale or reused pid counts as not running."""
        try:
            pid = int(self.pid_file.read_text())
        except (OSError, ValueError):
            return None
        return pid if b"moto.server" in (procs.cmdline(pid) or b"") and not procs.is_zombie(pid) else None

    def status(self) -> Status:
        url = endpoint_url()
        if ENDPOINT_VARIABLE in os.environ:
            kind = identify(url)
            return Status(url, "external endpoint", kind is not None, f"{ENDPOINT_VARIABLE}={url}" + ("" if kind else ": not answering as an AWS endpoint"))
        if self.pid():
            return Status(url, "moto (managed by breakfix)", True, f"pid {self.pid()}, log {self.log_file}")
        if port_is_free(PORT):
            return Status(url, "not running", True, "moto starts on demand on 127.0.0.1:4566")
        kind = identify(url)
        if kind == "localstack":
            return Status(url, "localstack", True, "your LocalStack on 127.0.0.1:4566 is used")
        if kind == "aws":
            container = compose_emulator()
            if container:
                return Status(url, "moto (docker-compose.yml)", True, f"container {container} of docker-compose.yml is used (`docker-compose down` stops it)")
            return Status(url, "external endpoint", True, "an AWS emulator already serves 127.0.0.1:4566 and is used")
        return Status(url, "blocked", False, port_taken_message())

    def ensure(self, progress: Progress | None = None) -> str:
        """The active endpoint's URL, starting moto when nothing serves it; one-line errors otherwise."""
        url = endpoint_url()
        if ENDPOINT_VARIABLE in os.environ:
            if identify(url) is None:
                raise BreakfixError(f"{ENDPOINT_VARIABLE}={url} does not answer as an AWS endpoint: start your emulator or unset it")
            return url
        if self.pid() and identify(url):
            return url
        if not port_is_free(PORT):
            if identify(url):
                return url  # the user's LocalStack (or another moto): shared, never stopped by us
            raise BreakfixError(port_taken_message())
        self.start(progress)
        return url

    def start(self, progress: Progress | None) -> None:
        if progress:
            progress(f"starting the AWS emulator (moto) on 127.0.0.1:{self.port}")
        self.directory.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as log:
            # its own session: it outlives this CLI call and a Ctrl-C in the learner's terminal
            process = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True, env={**os.environ, **self.environment},
            )
        self.pid_file.write_text(str(process.pid))

        def answering() -> bool:
            if process.poll() is not None:
                tail = self.log_file.read_text(errors="replace").strip().splitlines()[-1:] or ["no output"]
                raise BreakfixError(f"the AWS emulator (moto) exited at start ({tail[0]}); is `moto[server]` installed? `breakfix doctor`")
            return self.answers()  # moto's own page: needs no service backend loaded

        if wait_until(answering, START_TIMEOUT, every=0.03):
            return
        self.stop()
        raise BreakfixError(f"the AWS emulator (moto) did not answer within {START_TIMEOUT:.0f}s; see {self.log_file}")

    # Leases: one file per instance using the emulator, from any state dir, so that a `breakfix stop`
    # elsewhere (another shell, a test run with its own state dir) never kills it under a running scenario.

    def lease(self, holder: str) -> None:
        (self.directory / "leases").mkdir(parents=True, exist_ok=True)
        (self.directory / "leases" / holder).touch()

    def release(self, holder: str) -> None:
        (self.directory / "leases" / holder).unlink(missing_ok=True)

    def holders(self) -> list[str]:
        leases = self.directory / "leases"
        return sorted(path.name for path in leases.iterdir()) if leases.is_dir() else []

    def stop(self) -> bool:
        """Stop our moto server (never the user's LocalStack); True if one was running."""
        pid = self.pid()
        self.pid_file.unlink(missing_ok=True)
        if pid is None:
            return False
        _kill_and_wait(pid)
        return True


def compose_emulator() -> str | None:
    """The name of the running container of docker-compose.yml's aws-emulator service, if there is one."""
    import docker
    from docker.errors import DockerException
    from requests.exceptions import RequestException

    try:
        engine = docker.from_env(timeout=5)
        try:
            running = engine.containers.list(filters={"label": "=".join(COMPOSE_LABEL), "status": "running"})
        finally:
            engine.close()
    except (DockerException, RequestException):  # no engine: then no container serves the port either
        return None
    return str(running[0].name) if running else None


def port_taken_message() -> str:
    return (
        f"port {PORT} on 127.0.0.1 is taken by something that is not an AWS endpoint; stop it "
        f"(`ss -ltnp 'sport = :{PORT}'` shows which process) or set {ENDPOINT_VARIABLE} to your emulator's URL"
    )


def _kill_and_wait(pid: int, grace: float = 3.0) -> None:
    """SIGTERM, then SIGKILL after `grace` seconds; reaps it when it is our child."""

    def gone() -> bool:
        # reap after seeing it exit, not before: a child that died between the two would stay a zombie
        if not procs.is_zombie(pid):
            return False
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        return True

    if not procs.terminate(pid, gone, grace=grace, timeout=5.0):
        raise BreakfixError(f"the AWS emulator (pid {pid}) did not stop; kill it by hand")


class AwsRuntime:
    """One instance's view of the emulator: its buckets and tables, all named bf-<instance>-*."""

    name = "aws"

    def __init__(self, instance: str, emulator: Emulator | None = None) -> None:
        self.instance = instance
        self.emulator = emulator or Emulator()

    @property
    def prefix(self) -> str:
        return f"bf-{self.instance}-"

    def bucket(self, suffix: str) -> str:
        return f"{self.prefix}{suffix}"

    def preflight(self) -> list[str]:
        problems = []
        # found, not imported: importing boto3 and moto's server costs a third of a second per call
        wanted = [("boto3", "boto3")] + ([] if ENDPOINT_VARIABLE in os.environ else [("moto", "moto[server]"), ("flask", "moto[server]")])
        for package in dict.fromkeys(package for module, package in wanted if importlib.util.find_spec(module) is None):
            problems.append(f"python package {package} is missing: pip install '{package}'")
        status = self.emulator.status()
        if not status.ok:
            problems.append(status.detail)
        return problems

    @property
    def holder(self) -> str:
        """This instance in this state dir: the name of its lease on the shared emulator."""
        return f"{hashlib.sha256(str(state_dir()).encode()).hexdigest()[:12]}-{self.instance}"

    def provision(self, progress: Progress) -> None:
        # leased before it starts: a `breakfix stop` anywhere else in between would stop an unleased emulator
        self.emulator.lease(self.holder)
        self.emulator.ensure(progress)

    def alive(self) -> bool:
        return identify(endpoint_url()) is not None

    def require_alive(self) -> None:
        if not self.alive():
            raise BreakfixError(
                f"the AWS emulator at {endpoint_url()} is not answering (it may have died): "
                "`breakfix reset` restarts it and rebuilds the scenario"
            )

    def settle(self) -> list[Readiness]:
        """The emulator answers: one restarted a moment ago (`breakfix reset`, a learner's own) takes a
        fraction of a second to serve again."""
        from harness.settle import Readiness

        return [Readiness("the AWS emulator to answer", lambda: None if self.alive() else f"nothing answers at {endpoint_url()}", timeout=5)]

    def leftovers(self) -> list[str]:
        buckets = [b["Name"] for b in client("s3").list_buckets().get("Buckets", []) if b["Name"].startswith(self.prefix)]
        tables = [t for t in client("dynamodb").list_tables().get("TableNames", []) if t.startswith(self.prefix)]
        return [f"bucket {name}" for name in buckets] + [f"table {name}" for name in tables]

    def teardown(self) -> None:
        # the lease goes only once our buckets are gone: a `breakfix stop` elsewhere must not stop the
        # emulator while this teardown still talks to it
        try:
            self._remove_leftovers()
        finally:
            self.emulator.release(self.holder)

    def _remove_leftovers(self) -> None:
        if not self.alive():
            if ENDPOINT_VARIABLE not in os.environ:
                return  # no emulator answers on 4566: whatever held our buckets died with its memory
            raise BreakfixError(f"cannot clean up: the AWS endpoint {endpoint_url()} is not answering")
        for item in self.leftovers():
            kind, name = item.split(" ", 1)
            if kind == "bucket":
                delete_bucket(name)
            else:
                client("dynamodb").delete_table(TableName=name)
        left = self.leftovers()
        if left:
            raise BreakfixError(f"left behind in the AWS emulator: {', '.join(left)}")

    def env(self) -> dict[str, str]:
        return {**client_env(), **tools_path()}


def tools_path() -> dict[str, str]:
    """PATH with the aws CLI installed beside breakfix (its virtualenv) on it, when it is not already."""
    tools = str(Path(sys.executable).parent)
    path = os.environ.get("PATH", "")
    return {} if tools in path.split(os.pathsep) else {"PATH": os.pathsep.join([tools, path]) if path else tools}


def create_versioned_bucket(name: str) -> None:
    s3 = client("s3")
    s3.create_bucket(Bucket=name)
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})


def delete_bucket(name: str) -> None:
    """Every version and delete marker first: S3 refuses to delete a bucket that is not empty."""
    s3 = client("s3")
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=name):
        items = [{"Key": v["Key"], "VersionId": v["VersionId"]} for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
        if items:
            s3.delete_objects(Bucket=name, Delete={"Objects": items, "Quiet": True})
    s3.delete_bucket(Bucket=name)


def stop_emulator_if_unused() -> bool:
    """`breakfix stop`: the managed emulator goes when no instance holds a lease on it; True if stopped."""
    emulator = Emulator()
    return False if emulator.holders() else emulator.stop()
