"""One sync story per grading run: the grader's S3 (moto behind a request counter) as a service,
a source tree on the host bind-mounted into the sandbox, and the learner's s3sync.py run after
each change the grader makes to the tree. Every run's requests are read from the emulator."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import boto3
import pytest

HERE = Path(__file__).parent
PORT = 4566
BUCKET = "lab-sync"
PREFIX = "backups"
ROOT_BUCKET = "lab-sync-root"  # synced with no prefix: keys are the relative paths themselves
ROOT_STALE = "stale/old.txt"  # in ROOT_BUCKET before its first sync; only --delete may remove it
MiB = 1024 * 1024
LEARNER_ENV = {"AWS_ACCESS_KEY_ID": "learner", "AWS_SECRET_ACCESS_KEY": "learner-secret", "AWS_DEFAULT_REGION": "us-east-1"}
GRADER_KEY = "GRADERKEY"  # s3_emulator.py leaves requests signed with it out of its record
# objects the learner's --delete must never touch: a sibling prefix sharing the string, another prefix
BYSTANDERS = {"backups-old/keep.txt": b"sibling prefix\n", "unrelated/keep.txt": b"another prefix\n"}
UPLOAD_OPS = {"PutObject", "CreateMultipartUpload", "CopyObject"}
OLD_MTIME = 1_600_000_000  # 2020: older than any object the learner uploads


def initial_tree() -> dict[str, bytes]:
    big = b"".join(i.to_bytes(4, "big") * 256 for i in range(20 * MiB // 1024))  # 20 MiB, every 1 KiB different
    return {
        "README.md": b"# nightly backup\n",
        "docs/guide/intro.md": b"Welcome to the guide.\n" * 40,
        "docs/guide/setup.md": b"step 1: install\nstep 2: configure\n",
        "data/empty.bin": b"",
        "reports/q3 summary \u00fc.csv": b"region,total\neu,12\n",
        "big/archive.bin": big,
        "big/exactly-8mib.bin": big[:8 * MiB],  # the threshold itself: multipart, one part
    }


# symlinks the tree holds (name -> target, relative to the link): none of them is synced
SYMLINKS = {"links/readme-link.md": "../README.md", "links/docs-link": "../docs", "links/dangling": "../no-such-file"}


@dataclass
class Step:
    name: str
    argv: list[str]
    result: object  # RunResult
    ops: list[dict]

    @property
    def ok(self) -> bool:
        return self.result.verdict == "ok" and self.result.exit_code == 0  # type: ignore[attr-defined]

    def uploads(self) -> list[str]:
        return [op["key"] for op in self.ops if op["op"] in UPLOAD_OPS]

    def part_sizes(self, key: str) -> list[int]:
        """The payload of each UploadPart of `key`, in part-number order."""
        parts = sorted((op["part"], op["payload"]) for op in self.ops if op["op"] == "UploadPart" and op["key"] == key)
        return [size for _, size in parts]

    def deleted(self) -> list[str]:
        return [op["key"] for op in self.ops if op["op"] == "DeleteObject"] + [
            key for op in self.ops if op["op"] == "DeleteObjects" for key in op.get("keys", [])
        ]

    def count(self, op_name: str, key: str) -> int:
        return sum(1 for op in self.ops if op["op"] == op_name and op["key"] == key)

    def describe(self) -> str:
        return f"`{' '.join(self.argv)}` {self.result.describe()}"  # type: ignore[attr-defined]


@dataclass
class Story:
    source: Path
    s3: object  # the grader's boto3 client (host side)
    steps: dict[str, Step] = field(default_factory=dict)
    stopped: str = ""  # why later steps did not run

    def step(self, name: str) -> Step:
        assert name in self.steps, f"not run: {self.stopped}"
        return self.steps[name]

    def succeeded(self, name: str) -> Step:
        step = self.step(name)
        assert step.ok, f"{step.describe()}"
        return step

    @cached_property
    def objects(self) -> dict[str, bytes]:
        """Every object in the bucket after the story, read back through the grader's own client."""
        return self.read_bucket(BUCKET)

    def read_bucket(self, bucket: str) -> dict[str, bytes]:
        found = {}
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):  # type: ignore[attr-defined]
            for item in page.get("Contents", []):
                found[item["Key"]] = self.s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()  # type: ignore[attr-defined]
        return found

    def local_files(self) -> dict[str, bytes]:
        """The tree as the tool should see it now: regular files only, no symlink followed."""
        return {path.relative_to(self.source).as_posix(): path.read_bytes() for path in self.source.rglob("*")
                if path.is_file() and not path.is_symlink()}


def _sibling(name: str):  # type: ignore[no-untyped-def]
    """A module beside this conftest (the grader is loaded in importlib mode: no sys.path entry)."""
    spec = importlib.util.spec_from_file_location(f"breakfix_s3sync_{name}", HERE / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _requests(url: str) -> list[dict]:
    with urllib.request.urlopen(url + "/__grader/requests", timeout=10) as response:
        return json.loads(response.read())


def _write(root: Path, relative: str, content: bytes, mtime: float | None = None) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    if mtime is not None:
        os.utime(path, (mtime, mtime))


CHANGES = [
    # (step, what the grader does to the tree first, extra arguments)
    ("first", "nothing: the bucket holds no object under the prefix", []),
    ("unchanged", "nothing", []),
    ("touched", "touch every file (new mtime, same content)", []),
    ("edited", "rewrite docs/guide/setup.md: same size, new content, mtime set back to 2020", []),
    ("added-and-removed", "add docs/new.txt and delete README.md locally", []),
    ("removed-with-delete", "nothing", ["--delete"]),
]


def _change(root: Path, step: str) -> None:
    if step == "touched":
        later = time.time() + 120
        for path in root.rglob("*"):
            if path.is_file():
                os.utime(path, (later, later))
    elif step == "edited":
        _write(root, "docs/guide/setup.md", b"step 1: INSTALL\nstep 2: CONFIGURE\n", OLD_MTIME)
    elif step == "added-and-removed":
        _write(root, "docs/new.txt", b"a new file\n")
        (root / "README.md").unlink()


@pytest.fixture(scope="session")
def story(sandbox):
    moto_site = _sibling("emulator_site").moto_site
    workdir = Path(tempfile.mkdtemp(prefix="breakfix-s3sync-"))
    workdir.chmod(0o755)  # the sandbox reads it as an unprivileged user
    source = workdir / "src"
    for relative, content in initial_tree().items():
        _write(source, relative, content, OLD_MTIME)
    for link, target in SYMLINKS.items():
        (source / link).parent.mkdir(parents=True, exist_ok=True)
        (source / link).symlink_to(target)
    network = sandbox.network()
    files = {"s3_emulator.py": HERE / "s3_emulator.py", "moto-site": moto_site()}
    env = {"PYTHONPATH": "/grader/moto-site", "MOTO_S3_DEFAULT_KEY_BUFFER_SIZE": str(64 * MiB)}
    try:
        with sandbox.service(["python3", "/grader/s3_emulator.py", "--port", str(PORT)], name="s3", network=network, port=PORT,
                             files=files, env=env, ready_path="/__grader/requests", memory="768m", timeout=600) as emulator:
            s3 = boto3.client("s3", endpoint_url=emulator.url, aws_access_key_id=GRADER_KEY, aws_secret_access_key="grader",
                              region_name="us-east-1")
            s3.create_bucket(Bucket=BUCKET)
            for key, body in BYSTANDERS.items():
                s3.put_object(Bucket=BUCKET, Key=key, Body=body)
            s3.create_bucket(Bucket=ROOT_BUCKET)
            s3.put_object(Bucket=ROOT_BUCKET, Key=ROOT_STALE, Body=b"left by an older backup\n")
            story = Story(source, s3)

            def run(name: str, argv: list[str], timeout: float = 60) -> Step:
                seen = len(_requests(emulator.url))
                result = sandbox.run(argv, network=network, files={"src": source}, env=LEARNER_ENV, timeout=timeout)
                step = Step(name, argv, result, _requests(emulator.url)[seen:])
                story.steps[name] = step
                return step

            for name, what, extra in CHANGES:
                _change(source, name)
                step = run(name, ["python3", "s3sync.py", "/grader/src", f"s3://{BUCKET}/{PREFIX}", *extra, "--endpoint-url", f"http://s3:{PORT}"])
                if not step.ok:
                    story.stopped = f"an earlier sync failed (the grader had changed: {what}): {step.describe()}"
                    break
            for name, extra in (("root-first", []), ("root-delete", ["--delete"])):
                run(name, ["python3", "s3sync.py", "/grader/src", f"s3://{ROOT_BUCKET}", *extra, "--endpoint-url", f"http://s3:{PORT}"])
            for name, source_arg, destination in (("missing-source", "/grader/src/no-such-dir", f"s3://{BUCKET}/{PREFIX}"),
                                                   ("bad-destination", "/grader/src", f"{BUCKET}/{PREFIX}")):
                run(name, ["python3", "s3sync.py", source_arg, destination, "--delete", "--endpoint-url", f"http://s3:{PORT}"], timeout=20)
            yield story
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
