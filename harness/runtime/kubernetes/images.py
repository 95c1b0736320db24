"""Images the scenarios run: built locally FROM breakfix's base image, loaded into the nodes, never pulled."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from harness.errors import BreakfixError
from harness.hashing import hash_tree
from harness.runtime.kubernetes.common import Progress, infra_dir

WORKLOAD_IMAGE = "breakfix/kind-workloads:1"
IMAGE_HASH_LABEL = "breakfix.image.hash"


def recipe_hash(directory: Path) -> str:
    return str(hash_tree(directory).hexdigest())[:16]


def ensure_workload_image(progress: Progress) -> None:
    """Build the workloads image FROM the local base image when its recipe changed (never pulls)."""
    from docker.errors import BuildError, ImageNotFound

    from harness.runtime.docker import connect

    client, recipe = connect(), infra_dir() / "workloads"
    wanted = recipe_hash(recipe)
    try:
        if client.images.get(WORKLOAD_IMAGE).labels.get(IMAGE_HASH_LABEL) == wanted:
            return
    except ImageNotFound:
        pass
    progress(f"building {WORKLOAD_IMAGE}")
    try:
        client.images.build(path=str(recipe), tag=WORKLOAD_IMAGE, pull=False, rm=True, labels={IMAGE_HASH_LABEL: wanted})
    except BuildError as exc:
        raise BreakfixError(f"building {WORKLOAD_IMAGE} failed: {exc.msg}") from None


def image_problems(images: Iterable[str]) -> list[str]:
    from docker.errors import ImageNotFound

    from harness.images import BASE_IMAGE
    from harness.runtime.docker import connect

    client = connect(timeout=5)
    problems = []
    for image in sorted(set(images) - {WORKLOAD_IMAGE} | ({BASE_IMAGE} if WORKLOAD_IMAGE in images else set())):
        try:
            client.images.get(image)
        except ImageNotFound:
            problems.append(f"image {image} is missing: run `breakfix images build` (the nodes get local images, never pulls)")
    return problems
