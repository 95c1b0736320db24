"""Sync a local directory to S3: upload only what is new or whose content changed, optionally
delete what is gone. Content is compared by S3 ETag (MD5, or MD5-of-part-MD5s for multipart
uploads), computed locally the way S3 computes it, so one ListObjectsV2 pass decides everything."""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import BotoCoreError, ClientError

MiB = 1024 * 1024
PART_SIZE = 8 * MiB
MULTIPART_THRESHOLD = 8 * MiB
READ_BLOCK = 1 * MiB


class SyncError(Exception):
    """A problem the user can fix: printed as one line, exit code 1."""


@dataclass(frozen=True)
class Plan:
    uploads: list[tuple[Path, str]]
    deletes: list[str]


def parse_destination(url: str) -> tuple[str, str]:
    """s3://bucket[/prefix] -> (bucket, prefix without surrounding slashes)."""
    if not url.startswith("s3://") or not url[5:].split("/", 1)[0]:
        raise SyncError(f"destination must be s3://BUCKET[/PREFIX], got {url!r}")
    bucket, _, prefix = url[5:].partition("/")
    return bucket, prefix.strip("/")


def local_files(root: Path) -> Iterator[tuple[str, Path]]:
    """(relative POSIX path, path) of every regular file under root; symlinks are not followed."""
    for directory, subdirs, files in os.walk(root):
        subdirs.sort()
        for name in sorted(files):
            path = Path(directory, name)
            if path.is_file() and not path.is_symlink():
                yield path.relative_to(root).as_posix(), path


def s3_etag(path: Path) -> str:
    """The ETag S3 gives this file when uploaded with our transfer settings."""
    if path.stat().st_size < MULTIPART_THRESHOLD:
        digest = hashlib.md5(usedforsecurity=False)
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(READ_BLOCK), b""):
                digest.update(block)
        return digest.hexdigest()
    part_digests = []
    with path.open("rb") as handle:
        while True:
            part = hashlib.md5(usedforsecurity=False)
            remaining = PART_SIZE
            while remaining:
                block = handle.read(min(READ_BLOCK, remaining))
                if not block:
                    break
                part.update(block)
                remaining -= len(block)
            if remaining == PART_SIZE:
                break
            part_digests.append(part.digest())
    return f"{hashlib.md5(b''.join(part_digests), usedforsecurity=False).hexdigest()}-{len(part_digests)}"


def remote_etags(s3, bucket: str, prefix: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """key -> ETag of every object under the prefix (the prefix as a directory, not a string prefix)."""
    found = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"{prefix}/" if prefix else ""):
        for item in page.get("Contents", []):
            found[item["Key"]] = item["ETag"].strip('"')
    return found


def plan(root: Path, prefix: str, remote: dict[str, str], delete: bool) -> Plan:
    uploads, wanted = [], set()
    for relative, path in local_files(root):
        key = f"{prefix}/{relative}" if prefix else relative
        wanted.add(key)
        if remote.get(key) != s3_etag(path):
            uploads.append((path, key))
    deletes = sorted(set(remote) - wanted) if delete else []
    return Plan(uploads, deletes)


def sync(source: str, destination: str, *, delete: bool, endpoint_url: str | None) -> Plan:
    root = Path(source)
    if not root.is_dir():
        raise SyncError(f"source {source!r} is not a directory")
    bucket, prefix = parse_destination(destination)
    s3 = boto3.client("s3", endpoint_url=endpoint_url)
    transfer = TransferConfig(multipart_threshold=MULTIPART_THRESHOLD, multipart_chunksize=PART_SIZE)
    todo = plan(root, prefix, remote_etags(s3, bucket, prefix), delete)
    for path, key in todo.uploads:
        s3.upload_file(str(path), bucket, key, Config=transfer)
        print(f"upload: {key}")
    for start in range(0, len(todo.deletes), 1000):  # DeleteObjects takes at most 1000 keys
        batch = todo.deletes[start:start + 1000]
        response = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": key} for key in batch], "Quiet": True})
        if response.get("Errors"):
            raise SyncError(f"could not delete {response['Errors'][0]['Key']}: {response['Errors'][0]['Message']}")
        for key in batch:
            print(f"delete: {key}")
    return todo


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Sync a local directory to s3://BUCKET[/PREFIX].")
    parser.add_argument("source")
    parser.add_argument("destination")
    parser.add_argument("--delete", action="store_true", help="delete objects under the prefix that have no local file")
    parser.add_argument("--endpoint-url", default=os.environ.get("AWS_ENDPOINT_URL"))
    args = parser.parse_args(argv)
    try:
        todo = sync(args.source, args.destination, delete=args.delete, endpoint_url=args.endpoint_url)
    except SyncError as exc:
        print(f"s3sync: {exc}", file=sys.stderr)
        return 1
    except (ClientError, BotoCoreError) as exc:
        print(f"s3sync: S3 error: {exc}", file=sys.stderr)
        return 1
    print(f"{len(todo.uploads)} uploaded, {len(todo.deletes)} deleted")
    return 0


if __name__ == "__main__":
    sys.exit(main())
