"""The base image every scenario runs on: `breakfix/base:bookworm`, built from infra/images/.

One package list (infra/images/packages.txt), two ways to build it:

- dockerfile:  `docker build` FROM debian:bookworm-slim, where a registry is reachable;
- debootstrap: infra/images/base/rootfs.sh builds a root filesystem from the host's Debian
  mirror, and `tar | docker import` turns it into an image -- no registry needed.

The image carries a label with a hash of infra/images/, so a rebuild happens exactly when the
recipe changed, and asking for the image when it is current costs one API call.

Images too big for every scenario to carry (the PostgreSQL server) are built FROM the base right
after it, from their own `[section]` of the same package list (DERIVED_IMAGES).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from docker.errors import APIError, DockerException, ImageNotFound
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress as RichProgress
from rich.progress import SpinnerColumn, TextColumn, TimeElapsedColumn

from harness import procs
from harness.errors import BreakfixError
from harness.hashing import hash_tree
from harness.paths import content_root
from harness.runtime import Progress

BASE_IMAGE = "breakfix/base:bookworm"
HASH_LABEL = "breakfix.image.hash"
PARENT_IMAGE = "debian:bookworm-slim"
DOCKERFILE = "base/Dockerfile"  # relative to image_dir(), which is the build context
ROOTFS_SCRIPT = "base/rootfs.sh"
PACKAGES_FILE = "packages.txt"
# packages.txt section -> the image built FROM the base with it: DERIVED_DOCKERFILE's target of that
# name, which adds <section>/setup.sh
DERIVED_IMAGES = {"postgres": "breakfix/postgres:bookworm", "dns": "breakfix/dns:bookworm"}
DERIVED_DOCKERFILE = "derived/Dockerfile"
BUILD_LOG = Path("/var/tmp/breakfix-base-build.log")
BUILD_LOCK = Path("/var/tmp/breakfix-base-build.lock")
# A registry that answers at all answers a manifest lookup in well under this.
REGISTRY_PROBE_SECONDS = 10.0
# Dockerfile instructions that `docker import --change` accepts.
IMPORT_INSTRUCTIONS = frozenset(
    {"CMD", "ENTRYPOINT", "ENV", "EXPOSE", "LABEL", "ONBUILD", "USER", "VOLUME", "WORKDIR"}
)

Method = Literal["auto", "dockerfile", "debootstrap"]
BuildMethod = Literal["dockerfile", "debootstrap"]
ImageStatus = Literal["current", "stale", "missing"]


@dataclass(frozen=True)
class BuildResult:
    image: str
    status: Literal["current", "built"]
    method: BuildMethod | None  # None when nothing was built
    image_id: str
    size_bytes: int
    seconds: float
    content_hash: str

    def summary(self) -> str:
        size = f"{self.size_bytes / 1e6:.0f} MB"
        if self.status == "current":
            return f"{self.image} is current ({size}, checked in {self.seconds:.1f}s)"
        return f"built {self.image} with {self.method} in {self.seconds:.0f}s ({size})"


# ---------------------------------------------------------------------------- the recipe


def image_dir() -> Path:
    return content_root() / "infra" / "images"


def parse_packages(text: str, section: str = "") -> list[str]:
    """Package names from packages.txt text: `#` starts a comment, blank lines are ignored.

    The base image's are those before the first `[name]` line; `section` names a derived image's.
    """
    names: list[str] = []
    current = ""
    for line in text.splitlines():
        content = line.split("#", 1)[0].strip()
        if content.startswith("[") and content.endswith("]"):
            current = content[1:-1].strip()
        elif current == section:
            names.extend(content.split())
    return names


def read_packages(root: Path | None = None, section: str = "") -> list[str]:
    return parse_packages(((root or image_dir()) / PACKAGES_FILE).read_text(), section)


def content_hash(root: Path | None = None) -> str:
    """sha256 of every file under infra/images (harness.hashing.hash_tree)."""
    root = root or image_dir()
    if not root.is_dir():
        raise BreakfixError(f"image recipe not found at {root}: reinstall breakfix or set BREAKFIX_CONTENT")
    return str(hash_tree(root).hexdigest())


def import_changes(dockerfile_text: str, digest: str) -> list[str]:
    """The Dockerfile's config instructions (ENV, LABEL, CMD, ...) as `docker import --change`s.

    Read from the Dockerfile rather than repeated here, so both build paths get the same
    config from one place.
    """
    logical: list[str] = []
    pending = ""
    for raw in dockerfile_text.splitlines():
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue  # comments may sit inside a continued instruction
        if stripped.endswith("\\"):
            pending += stripped[:-1].rstrip() + " "
            continue
        logical.append(pending + stripped)
        pending = ""
    if pending:
        logical.append(pending.rstrip())
    changes = [line for line in logical if line.split(None, 1)[0].upper() in IMPORT_INSTRUCTIONS]
    return [*changes, f"LABEL {HASH_LABEL}={digest}"]


# ---------------------------------------------------------------------------- decisions


def choose_method(requested: str, *, parent_available: bool) -> BuildMethod:
    """auto prefers the Dockerfile (it is what users with a registry expect), else offline."""
    if requested == "dockerfile":
        return "dockerfile"
    if requested == "debootstrap":
        return "debootstrap"
    if requested != "auto":
        raise BreakfixError(f"unknown image build method {requested!r}: use auto, dockerfile or debootstrap")
    return "dockerfile" if parent_available else "debootstrap"


def debootstrap_problem(*, euid: int, debootstrap: str | None) -> str | None:
    """Why the offline path can't run here, as a one-line fix; None when it can."""
    if debootstrap is None:
        return "debootstrap not found: apt-get install debootstrap (or build with method='dockerfile' where a registry is reachable)"
    if euid != 0:
        return "the offline base image build needs root (debootstrap, chroot): run it as root or with sudo"
    return None


def mounts_under(path: Path, mounts_text: str) -> list[str]:
    """Mount points at or below `path`, from /proc/self/mounts text (octal escapes decoded)."""
    prefix = str(path).rstrip("/")
    found = []
    for line in mounts_text.splitlines():
        fields = line.split()
        if len(fields) < 2:
            continue
        point = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), fields[1])
        if point == prefix or point.startswith(prefix + "/"):
            found.append(point)
    return found


# ---------------------------------------------------------------------------- engine state


def _get_image(client: Any, name: str = BASE_IMAGE) -> Any | None:
    try:
        return client.images.get(name)
    except ImageNotFound:
        return None


def image_status(client: Any, name: str = BASE_IMAGE) -> ImageStatus:
    """The base image's status, or a derived image's (built from the same recipe digest)."""
    image = _get_image(client, name)
    if image is None:
        return "missing"
    labels = image.labels or {}
    return "current" if labels.get(HASH_LABEL) == content_hash() else "stale"


def _parent_available(client: Any, timeout: float = REGISTRY_PROBE_SECONDS) -> bool:
    """debian:bookworm-slim is local, or a registry serves it (docker build will pull it)."""
    try:
        client.images.get(PARENT_IMAGE)
        return True
    except ImageNotFound:
        pass
    answer: list[bool] = []

    def probe() -> None:
        try:
            client.images.get_registry_data(PARENT_IMAGE)
            answer.append(True)
        except DockerException:
            answer.append(False)

    # A firewalled registry can hang far past any useful wait; a daemon thread is abandoned.
    worker = threading.Thread(target=probe, daemon=True)
    worker.start()
    worker.join(timeout)
    return bool(answer and answer[0])


# ---------------------------------------------------------------------------- progress


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class _Reporter:
    """Phase + detail lines, to a caller's callback or to a rich display with elapsed times."""

    def __init__(self, callback: Progress | None, progress: Any | None) -> None:
        self._callback = callback
        self._progress = progress
        self._task: Any | None = None
        self._phase = ""

    def phase(self, name: str) -> None:
        self._close_task()
        self._phase = name
        if self._callback is not None:
            self._callback(name)
        elif self._progress is not None:
            self._task = self._progress.add_task(name, total=None)

    def detail(self, text: str) -> None:
        # docker build sends several lines per chunk, and colours its RUN steps' stderr.
        for line in _ANSI.sub("", text).splitlines():
            line = line.strip()
            if not line:
                continue
            if self._callback is not None:
                self._callback(f"{self._phase}: {line}")
            elif self._progress is not None and self._task is not None:
                shown = escape(line[:70])  # `[...]` in a package line is not rich markup
                self._progress.update(self._task, description=f"{self._phase}: {shown}")

    def close(self, *, failed: bool = False) -> None:
        self._close_task(failed=failed)

    def _close_task(self, *, failed: bool = False) -> None:
        if self._progress is not None and self._task is not None:
            mark = "[red]✗[/]" if failed else "[green]✓[/]"
            # Completing the task freezes its elapsed column at this phase's duration.
            self._progress.update(self._task, description=f"{mark} {self._phase}", total=1, completed=1)
            self._task = None


@contextmanager
def _reporter(callback: Progress | None) -> Iterator[_Reporter]:
    if callback is not None:
        yield _Reporter(callback, None)
        return
    with RichProgress(
        SpinnerColumn(finished_text=""),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
    ) as display:
        reporter = _Reporter(None, display)
        try:
            yield reporter
        except BaseException:
            reporter.close(failed=True)
            raise
        reporter.close()


# ---------------------------------------------------------------------------- build paths


def _build_with_dockerfile(client: Any, digest: str, report: _Reporter, dockerfile: str = DOCKERFILE,
                           tag: str = BASE_IMAGE, parent: str = PARENT_IMAGE, section: str | None = None) -> None:
    """section: the build target of DERIVED_DOCKERFILE, and its SECTION argument."""
    report.phase(f"docker build {tag} ({parent})")
    stream = client.api.build(
        path=str(image_dir()),
        dockerfile=dockerfile,
        tag=tag,
        target=section,
        buildargs={"SECTION": section} if section else None,
        labels={HASH_LABEL: digest},
        rm=True,
        forcerm=True,
        decode=True,
    )
    for chunk in stream:
        if "error" in chunk:
            hint = "(no registry access? build offline with method='debootstrap')" if parent == PARENT_IMAGE else "(is the Debian mirror reachable from containers?)"
            raise BreakfixError(f"docker build of {tag} failed: {chunk['error'].strip()} {hint}")
        report.detail(chunk.get("stream") or chunk.get("status") or "")


def _stale_derived(client: Any, digest: str) -> list[str]:
    return [section for section, name in DERIVED_IMAGES.items() if not _is_current(_get_image(client, name), digest)]


def _build_derived(client: Any, digest: str, report: _Reporter, sections: list[str]) -> None:
    """FROM the local base (never pulled, so no registry is needed on either path)."""
    for section in sections:
        name = DERIVED_IMAGES[section]
        old = _get_image(client, name)
        _build_with_dockerfile(client, digest, report, DERIVED_DOCKERFILE, name, BASE_IMAGE, section)
        new = _get_image(client, name)
        if new is not None:
            _remove_replaced(client, old.id if old is not None else None, new.id)


def _run_rootfs(rootfs: Path, report: _Reporter) -> None:
    """rootfs.sh into `rootfs`, its `I:` lines as progress, its full output in BUILD_LOG."""
    script = image_dir() / ROOTFS_SCRIPT
    tail: deque[str] = deque(maxlen=30)
    with BUILD_LOG.open("w") as log:
        proc = subprocess.Popen(
            ["bash", str(script), str(rootfs)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            errors="replace",
            # Its own process group, so stopping it reaches debootstrap and dpkg too, not only
            # bash (which would leave them writing into a directory we are about to delete).
            start_new_session=True,
        )
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                log.write(line)
                tail.append(line.rstrip())
                if line.startswith("I: "):
                    report.detail(line[3:])
            proc.wait()
        except BaseException:
            # SIGTERM lets debootstrap's exit trap unmount /proc and /sys in the target before
            # the caller deletes the directory.
            _stop(proc, group=True)
            raise
    if proc.returncode != 0:
        errors = [line for line in tail if line.startswith("E: ")]
        reason = errors[-1][3:] if errors else (tail[-1] if tail else f"exit {proc.returncode}")
        raise BreakfixError(f"offline base image build failed: {reason} (full log: {BUILD_LOG})")


def _stop(proc: subprocess.Popen[Any], *, group: bool = False) -> None:
    """TERM, then KILL after a grace period; `group` signals the whole process group."""
    if proc.poll() is not None and not group:
        return
    # bash dies at once; wait for the group (debootstrap's unmounting exit trap) to be gone too.
    procs.terminate(proc.pid, lambda: proc.poll() is not None and not (group and procs.exists(proc.pid, group=True)),
                    group=group, grace=30, timeout=10)
    proc.wait()


def _import_rootfs(client: Any, rootfs: Path, changes: list[str], report: _Reporter) -> None:
    """`tar -C rootfs -c . | docker import`, streamed in chunks (the tar is ~300 MB)."""
    report.phase("docker import")
    repository, tag = BASE_IMAGE.rsplit(":", 1)
    tar = subprocess.Popen(
        # numeric owners: the host's user names must not remap the image's files;
        # security.capability: keeps file capabilities that postinst scripts set.
        ["tar", "-C", str(rootfs), "--numeric-owner", "--xattrs",
         "--xattrs-include=security.capability", "-cf", "-", "."],
        stdout=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
    )
    assert tar.stdout is not None
    stdout = tar.stdout

    def chunks() -> Iterator[bytes]:
        sent = 0
        while block := stdout.read(1 << 20):
            sent += len(block)
            report.detail(f"{sent / 1e6:.0f} MB sent")
            yield block

    try:
        # import_image_from_data sends with no HTTP timeout: committing the layer can take a
        # while after the last byte, longer than the client's default read timeout on slow disks.
        output = client.api.import_image_from_data(
            chunks(), repository=repository, tag=tag, changes=changes
        )
    except BaseException as exc:
        _stop(tar)
        if isinstance(exc, APIError):
            raise BreakfixError(f"docker import of {BASE_IMAGE} failed: {exc.explanation or exc}") from None
        raise
    finally:
        stdout.close()  # an engine that stopped reading early must not leave tar blocked
    # The engine's verdict first: if it gave up mid-stream, tar's broken pipe is only a symptom.
    for line in str(output).splitlines():
        message = json.loads(line) if line.strip().startswith("{") else {}
        if "error" in message:
            _stop(tar)
            raise BreakfixError(f"docker import of {BASE_IMAGE} failed: {message['error']}")
    if tar.wait() != 0:
        raise BreakfixError(f"tar of the root filesystem failed (exit {tar.returncode}); see {BUILD_LOG}")


def _remove_tree(path: Path) -> None:
    """Delete a bootstrap dir, never following a leftover /proc, /sys or /dev mount into the host."""
    def mounted() -> list[str]:
        return mounts_under(path, Path("/proc/self/mounts").read_text())

    for point in sorted(mounted(), key=len, reverse=True):
        subprocess.run(["umount", "-l", point], check=False, capture_output=True)
    if mounted():
        raise BreakfixError(f"{path} still has mounts inside; umount them, then rm -rf {path}")
    shutil.rmtree(path, ignore_errors=True)


def _build_with_debootstrap(client: Any, digest: str, report: _Reporter) -> None:
    problem = debootstrap_problem(euid=os.geteuid(), debootstrap=_which_debootstrap())
    if problem:
        raise BreakfixError(problem)
    changes = import_changes((image_dir() / DOCKERFILE).read_text(), digest)
    # /var/tmp, not /tmp: /tmp is often a small tmpfs, or noexec, which breaks the chroot.
    workdir = Path(tempfile.mkdtemp(prefix="breakfix-rootfs-", dir="/var/tmp"))
    try:
        report.phase("debootstrap")
        _run_rootfs(workdir / "rootfs", report)
        _import_rootfs(client, workdir / "rootfs", changes, report)
    finally:
        _remove_tree(workdir)


def _which_debootstrap() -> str | None:
    # /usr/sbin is often not on a non-root user's PATH, and the error should still say "root".
    return shutil.which("debootstrap") or shutil.which("debootstrap", path="/usr/sbin:/sbin")


def _remove_replaced(client: Any, old_id: str | None, new_id: str) -> None:
    """Drop the image a rebuild replaced, so stale 300 MB layers don't pile up."""
    if old_id and old_id != new_id:
        with contextlib.suppress(APIError):  # still used by a container: the engine keeps it, which is right
            client.images.remove(old_id)


def _is_current(image: Any | None, digest: str) -> bool:
    return image is not None and (image.labels or {}).get(HASH_LABEL) == digest


def _result(image: Any, status: Literal["current", "built"], method: BuildMethod | None,
            started: float, digest: str) -> BuildResult:
    return BuildResult(BASE_IMAGE, status, method, image.id, image.attrs.get("Size", 0),
                       time.monotonic() - started, digest)


@contextmanager
def _build_lock(report: _Reporter) -> Iterator[None]:
    """One base image build per machine at a time (two CLIs, parallel tests share one engine)."""
    try:
        fd = os.open(BUILD_LOCK, os.O_RDONLY | os.O_CREAT, 0o666)
    except OSError:
        yield  # can't share the lock file (another user made it): build unserialized
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            report.phase("waiting for another base image build")
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def build_base_image(
    client: Any,
    *,
    force: bool = False,
    method: Method = "auto",
    progress: Progress | None = None,
) -> BuildResult:
    """Make `breakfix/base:bookworm` (and DERIVED_IMAGES) match infra/images; a no-op when they already do.

    `progress` receives one line per phase and per step; None shows a rich display instead.
    """
    started = time.monotonic()
    digest = content_hash()
    existing = _get_image(client)
    if not force and _is_current(existing, digest) and not _stale_derived(client, digest):
        return _result(existing, "current", None, started, digest)

    with _reporter(progress) as report, _build_lock(report):
        # Whoever held the lock may just have built this very recipe.
        existing = _get_image(client)
        if not force and _is_current(existing, digest):
            _build_derived(client, digest, report, _stale_derived(client, digest))
            return _result(existing, "current", None, started, digest)
        report.phase("choose build method")
        parent = method == "auto" and _parent_available(client)
        chosen = choose_method(method, parent_available=parent)
        if chosen == "dockerfile":
            _build_with_dockerfile(client, digest, report)
        else:
            _build_with_debootstrap(client, digest, report)
        _build_derived(client, digest, report, list(DERIVED_IMAGES))

    built = _get_image(client)
    if built is None or not _is_current(built, digest):
        raise BreakfixError(f"{BASE_IMAGE} missing or unlabelled after the build; rerun with force=True")
    _remove_replaced(client, existing.id if existing is not None else None, built.id)
    return _result(built, "built", chosen, started, digest)
