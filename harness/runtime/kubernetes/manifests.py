"""A stack's Kubernetes manifests: loading, offline schema validation, the images they run."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from harness.errors import BreakfixError

KUBERNETES_SCHEMA_VERSION = "1.32"  # the newest schemas kubernetes-validate ships; our clusters are >= 1.32


def load_manifests(directory: Path) -> list[dict[str, Any]]:
    """Every document of every *.yaml under `directory`, in file-name order (numbered files apply in order)."""
    documents: list[dict[str, Any]] = []
    for path in sorted(directory.glob("*.yaml")):
        try:
            loaded = list(yaml.safe_load_all(path.read_text()))
        except yaml.YAMLError as exc:
            raise BreakfixError(f"{path}: invalid YAML: {exc}") from None
        for index, document in enumerate(loaded):
            if document is None:
                continue
            if not isinstance(document, dict) or "kind" not in document or "apiVersion" not in document:
                raise BreakfixError(f"{path}: document {index + 1} is not a Kubernetes object (no kind/apiVersion)")
            documents.append(document)
    if not documents:
        raise BreakfixError(f"{directory}: no Kubernetes manifests (*.yaml)")
    return documents


@cache
def _validator(kind: str, api_version: str, version: str) -> Any:
    """One compiled validator per object type: loading the shared definitions is the slow part."""
    import jsonschema
    import kubernetes_validate
    from kubernetes_validate.utils import schema_contents
    from referencing import Registry, Resource

    group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)  # apps/v1 -> apps-v1, as the package names files
    folder = f"kubernetes-json-schema/v{version}.0-local-strict"
    try:
        schema = schema_contents(f"{folder}/{kind.lower()}-{group_version}.json", version)
    except FileNotFoundError:
        raise kubernetes_validate.SchemaNotFoundError(kind=kind, version=version, api_version=api_version) from None
    registry = Resource.from_contents(schema) @ (Resource.from_contents(_definitions(folder, version)) @ Registry())
    return jsonschema.Draft202012Validator(schema, registry=registry)


@cache
def _definitions(folder: str, version: str) -> Any:
    from kubernetes_validate.utils import schema_contents

    return schema_contents(f"{folder}/_definitions.json", version)


def schema_problems(documents: Iterable[dict[str, Any]], where: str, version: str = KUBERNETES_SCHEMA_VERSION) -> list[str]:
    """Validate against the Kubernetes OpenAPI schemas shipped by kubernetes-validate: no cluster, no network.

    Strict schemas: an unknown field (a typo such as `requets`) is an error, as `kubectl apply` makes it.
    """
    import kubernetes_validate

    problems = []
    for document in documents:
        name = f"{document.get('kind')}/{(document.get('metadata') or {}).get('name', '?')}"
        try:
            validator = _validator(str(document.get("kind")), str(document.get("apiVersion")), version)
        except kubernetes_validate.SchemaNotFoundError as exc:
            problems.append(f"{where}: {name}: {exc.message}")
            continue
        for error in sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.path))):
            path = ".".join(str(part) for part in error.path) or "(top level)"
            problems.append(f"{where}: {name}: {path}: {error.message}")
        if (document.get("metadata") or {}).get("namespace"):
            problems.append(f"{where}: {name}: metadata.namespace must be left out: each instance gets its own namespace")
    return problems


def validate_stack(directory: Path) -> None:
    """The catalog's check of a manifests stack: loads, and every object matches its schema."""
    problems = schema_problems(load_manifests(directory), str(directory))
    if problems:
        raise BreakfixError("invalid Kubernetes manifests:\n  - " + "\n  - ".join(problems))


def images_of(documents: Iterable[dict[str, Any]]) -> set[str]:
    """Every container image a set of manifests runs: these are loaded into the nodes, never pulled."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key in ("containers", "initContainers"):
                for container in node.get(key) or []:
                    if isinstance(container, dict) and container.get("image"):
                        found.add(container["image"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    for document in documents:
        walk(document)
    return found

