"""`breakfix doctor` reports each image breakfix builds: the base and the derived ones (postgres, ...)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from docker.errors import ImageNotFound

from harness import doctor, images
from harness.runtime import docker as docker_runtime


class Engine:
    """An engine holding the images named in `present`, each labelled with the recipe's digest."""

    def __init__(self, present: set[str]) -> None:
        self.images = self
        self.present = present

    def version(self) -> dict[str, str]:
        return {"Version": "test"}

    def get(self, name: str) -> SimpleNamespace:
        if name not in self.present:
            raise ImageNotFound(name)
        return SimpleNamespace(labels={images.HASH_LABEL: images.content_hash()})


@pytest.fixture
def engine(monkeypatch: pytest.MonkeyPatch):
    def use(present: set[str]) -> dict[str, doctor.Finding]:
        monkeypatch.setattr(doctor, "_version", lambda command: "Docker version test")
        monkeypatch.setattr(docker_runtime, "connect", lambda timeout=5: Engine(present))
        return {finding.item: finding for finding in doctor.docker_findings()}

    return use


def test_a_missing_postgres_image_is_reported(engine) -> None:
    found = engine({images.BASE_IMAGE})
    postgres = found[f"image {images.DERIVED_IMAGES['postgres']}"]
    assert not postgres.ok and postgres.detail == "missing: run `breakfix images build`"
    assert found[f"image {images.BASE_IMAGE}"].ok


def test_every_built_image_is_ok(engine) -> None:
    found = engine({images.BASE_IMAGE, *images.DERIVED_IMAGES.values()})
    assert [item for item in found if item.startswith("image ")] == [
        f"image {name}" for name in (images.BASE_IMAGE, *images.DERIVED_IMAGES.values())]
    assert all(finding.ok for finding in found.values())
