"""The grader's S3 (runs in a sandbox service container): moto's S3 behind a WSGI middleware that
records every request it actually received, so the grader counts uploads and deletes exactly.

GET /__grader/requests -> [{"op", "bucket", "key", "bytes", "keys", "part", "payload"}...] for every request NOT signed with
the grader's own access key (its setup and read-back are not the learner's traffic).
"""

from __future__ import annotations

import argparse
import html
import io
import json
import re
import threading
from typing import Any
from urllib.parse import parse_qs

GRADER_ACCESS_KEY = "GRADERKEY"
RECORDS: list[dict[str, Any]] = []
LOCK = threading.Lock()


def operation(method: str, key: str, query: dict[str, list[str]], headers: dict[str, str]) -> str:
    """The S3 API operation a path-style request is (the subset a sync tool uses)."""
    if method == "PUT":
        if not key:
            return "CreateBucket"
        if "uploadId" in query:
            return "UploadPartCopy" if "x-amz-copy-source" in headers else "UploadPart"
        return "CopyObject" if "x-amz-copy-source" in headers else "PutObject"
    if method == "POST":
        if "uploads" in query:
            return "CreateMultipartUpload"
        if "uploadId" in query:
            return "CompleteMultipartUpload"
        if "delete" in query:
            return "DeleteObjects"
        return "Post"
    if method == "DELETE":
        if "uploadId" in query:
            return "AbortMultipartUpload"
        return "DeleteObject" if key else "DeleteBucket"
    if method == "HEAD":
        return "HeadObject" if key else "HeadBucket"
    return "GetObject" if key else "ListObjects"


def counting(app: Any) -> Any:
    def wrapped(environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        if path == "/__grader/requests":
            with LOCK:
                body = json.dumps(RECORDS).encode()
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        auth = environ.get("HTTP_AUTHORIZATION", "")
        if f"Credential={GRADER_ACCESS_KEY}/" in auth:
            return app(environ, start_response)
        query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        headers = {name[5:].lower().replace("_", "-"): value for name, value in environ.items() if name.startswith("HTTP_")}
        # WSGI hands PATH_INFO over already percent-decoded, as latin-1: undo that to get the UTF-8 key
        bucket, _, key = path.encode("latin-1").decode("utf-8", "replace").lstrip("/").partition("/")
        record: dict[str, Any] = {
            "op": operation(environ["REQUEST_METHOD"], key, query, headers),
            "bucket": bucket,
            "key": key,
            "bytes": int(environ.get("CONTENT_LENGTH") or 0),
        }
        # an aws-chunked body is longer than its payload: the part's size is the decoded length
        payload = headers.get("x-amz-decoded-content-length") or environ.get("CONTENT_LENGTH") or 0
        if record["op"] == "UploadPart":
            record["part"] = int(query.get("partNumber", ["0"])[0])
            record["payload"] = int(payload)
        if record["op"] == "DeleteObjects":
            # the keys are in the XML body: read it, count them, hand the same bytes to moto
            body = environ["wsgi.input"].read(record["bytes"])
            environ["wsgi.input"] = io.BytesIO(body)
            record["keys"] = [html.unescape(k) for k in re.findall(r"<Key>(.*?)</Key>", body.decode(errors="replace"))]
        with LOCK:
            RECORDS.append(record)
        return app(environ, start_response)

    return wrapped


def main() -> None:
    from moto.server import create_backend_app  # from the mounted moto site-packages
    from werkzeug.serving import run_simple

    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=4566)
    port = parser.parse_args().port
    run_simple("0.0.0.0", port, counting(create_backend_app("s3")), threaded=True)


if __name__ == "__main__":
    main()
