"""Fetch every object of several payments-API list endpoints concurrently, with retries,
exponential backoff with jitter, Retry-After on 429, and no retry on other 4xx."""

from __future__ import annotations

import json
import random
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urlencode

MAX_WORKERS = 16
PAGE_LIMIT = 100


class FetchError(Exception):
    """A resource could not be fetched: `status` is the last HTTP status (None: no response)."""

    def __init__(self, resource: str, status: int | None, message: str) -> None:
        super().__init__(f"{resource}: {message}")
        self.resource = resource
        self.status = status


@dataclass(frozen=True)
class Retry:
    max_retries: int
    base_delay: float
    max_delay: float

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Equal jitter: half the exponential delay is certain, half random, so clients that failed
        together spread out but still back off; a server's Retry-After is a floor."""
        nominal = min(self.max_delay, self.base_delay * 2**attempt)
        delay = nominal / 2 + random.uniform(0, nominal / 2)
        return max(delay, retry_after) if retry_after is not None else delay


def fetch_all(
    base_url: str,
    resources: list[str],
    api_key: str,
    *,
    max_retries: int = 4,
    base_delay: float = 0.5,
    max_delay: float = 8.0,
    timeout: float = 10.0,
) -> dict[str, list[dict]]:
    """Return {resource: every object of GET {base_url}/v1/{resource}, all pages, in API order}."""
    wanted = list(dict.fromkeys(resources))
    if not wanted:
        return {}
    retry = Retry(max_retries, base_delay, max_delay)
    # pages of one resource are a cursor chain (sequential); resources are independent (parallel)
    with ThreadPoolExecutor(max_workers=min(MAX_WORKERS, len(wanted))) as pool:
        futures = {name: pool.submit(_fetch_resource, base_url.rstrip("/"), name, api_key, retry, timeout) for name in wanted}
        return {name: future.result() for name, future in futures.items()}


def _fetch_resource(base_url: str, resource: str, api_key: str, retry: Retry, timeout: float) -> list[dict]:
    objects: list[dict] = []
    cursor: str | None = None
    while True:
        query = {"limit": PAGE_LIMIT, **({"starting_after": cursor} if cursor else {})}
        page = _get_json(f"{base_url}/v1/{resource}?{urlencode(query)}", resource, api_key, retry, timeout)
        data = page.get("data") if isinstance(page, dict) else None
        if not isinstance(data, list):
            raise FetchError(resource, 200, f"malformed page: not a list page: {str(page)[:80]}")
        objects.extend(data)
        if not page.get("has_more") or not data:
            return objects
        cursor = data[-1]["id"]


def _get_json(url: str, resource: str, api_key: str, retry: Retry, timeout: float) -> object:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {api_key}", "Accept": "application/json"})
    attempt = 0
    while True:
        retry_after: float | None = None
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            status: int | None = exc.code
            if exc.code != 429 and exc.code < 500:
                raise FetchError(resource, exc.code, f"HTTP {exc.code}: not retryable") from None
            retry_after = _seconds(exc.headers.get("Retry-After"))
            detail = f"HTTP {exc.code}"
        except (urllib.error.URLError, OSError) as exc:
            status, detail = None, f"no response ({exc})"  # refused, reset or timed out: transient
        except json.JSONDecodeError:
            raise FetchError(resource, 200, "response is not JSON") from None
        if attempt == retry.max_retries:
            raise FetchError(resource, status, f"gave up after {attempt + 1} attempts: {detail}")
        time.sleep(retry.delay(attempt, retry_after))
        attempt += 1


def _seconds(value: str | None) -> float | None:
    """Retry-After in delta-seconds; the HTTP-date form is not used by this API."""
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None
