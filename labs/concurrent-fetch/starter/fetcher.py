"""Fetch every object of several payments-API list endpoints concurrently. See README.md."""

from __future__ import annotations


class FetchError(Exception):
    """A resource could not be fetched: `status` is the last HTTP status (None: no response)."""

    def __init__(self, resource: str, status: int | None, message: str) -> None:
        super().__init__(f"{resource}: {message}")
        self.resource = resource
        self.status = status


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
    raise NotImplementedError("fetch_all: fetch the resources concurrently, with retries and backoff")
