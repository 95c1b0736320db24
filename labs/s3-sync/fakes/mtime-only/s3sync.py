"""WRONG on purpose (a fake the grader must reject): decides by size and mtime, not content.

A touched file is uploaded again; an edit that keeps the size and the old mtime is missed.
"""

import argparse
import os
import sys

import boto3


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("source")
    parser.add_argument("destination")
    parser.add_argument("--delete", action="store_true")
    parser.add_argument("--endpoint-url")
    args = parser.parse_args()
    if not os.path.isdir(args.source) or not args.destination.startswith("s3://"):
        print("s3sync: bad arguments", file=sys.stderr)
        return 2
    bucket, _, prefix = args.destination[5:].partition("/")
    prefix = prefix.strip("/")
    s3 = boto3.client("s3", endpoint_url=args.endpoint_url)
    remote = {}
    base = f"{prefix}/" if prefix else ""
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=base):
        for item in page.get("Contents", []):
            remote[item["Key"]] = (item["Size"], item["LastModified"].timestamp())
    seen = set()
    for directory, _, files in os.walk(args.source):
        for name in files:
            path = os.path.join(directory, name)
            if os.path.islink(path):
                continue
            key = base + os.path.relpath(path, args.source)
            seen.add(key)
            size, modified = remote.get(key, (None, 0.0))
            if size != os.path.getsize(path) or os.path.getmtime(path) > modified:
                s3.upload_file(path, bucket, key)
    if args.delete:
        for key in sorted(set(remote) - seen):
            s3.delete_object(Bucket=bucket, Key=key)
    return 0


if __name__ == "__main__":
    sys.exit(main())
