"""Sync a local directory to S3, uploading only new or changed files. See README.md.

Usage: python3 s3sync.py SOURCE_DIR s3://BUCKET[/PREFIX] [--delete] [--endpoint-url URL]
"""

from __future__ import annotations

import argparse
import os
import sys


def sync(source: str, destination: str, *, delete: bool, endpoint_url: str | None) -> None:
    # TODO: list what is in the bucket, decide what to upload (by content) and what to delete.
    raise NotImplementedError("sync is not implemented yet")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Sync a local directory to s3://BUCKET[/PREFIX].")
    parser.add_argument("source")
    parser.add_argument("destination")
    parser.add_argument("--delete", action="store_true", help="delete objects under the prefix that have no local file")
    parser.add_argument("--endpoint-url", default=os.environ.get("AWS_ENDPOINT_URL"))
    args = parser.parse_args(argv)
    sync(args.source, args.destination, delete=args.delete, endpoint_url=args.endpoint_url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
