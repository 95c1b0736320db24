"""The runtime registry: a runtime is its module plus one registration, and every part picks it up."""

import shutil
import sys
import textwrap
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from harness import catalog, doctor, registry
from harness.catalog import Entry
from harness.lifecycle import Lifecycle
from harness.manifest import ScenarioManifest
from harness.paths import content_root

# A whole runtime, as a new one would be written: a factory, findings and a stack check. It records
# what the lifecycle asks of it in CALLS, so the test sees the order the registry gives.
DUMMY = textwrap.dedent(
    '''
    from harness.registry import Finding

    CALLS = []


    class Dummy:
        def __init__(self, name, setup):
            self.name, self.setup = name, setup

        def preflight(self):
            return []

        def provision(self, progress):
            CALLS.append(("provision", self.name))

        def teardown(self):
            CALLS.append(("teardown", self.name))

        def env(self):
            return {f"DUMMY_{self.name.upper()}": self.setup.instance}


    def base(setup):
        return Dummy("base", setup)


    def top(setup):
        return Dummy("top", setup)


    def findings():
        return [Finding("dummy-top", "the dummy tool", True, "version 1")]


    def check_stack(check):
        CALLS.append(("stack", check.stack.name))
    '''
)


@pytest.fixture()
def dummy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    """Two dummy requirements: `dummy-top` (provisions the stack, brings `dummy-base` along) after docker."""
    (tmp_path / "dummy_runtime.py").write_text(DUMMY)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "dummy_runtime", raising=False)
    for registration in (
        registry.Registration("dummy-base", 1, {"scenario": "dummy_runtime:base"}, "dummy_runtime:findings"),
        registry.Registration(
            "dummy-top", 50, {"scenario": "dummy_runtime:top"}, "dummy_runtime:findings",
            fixtures=("dummy",), stack="dummy_runtime:check_stack", implies=("dummy-base",),
        ),
    ):
        monkeypatch.setitem(registry.REGISTRY, registration.name, registration)
    import dummy_runtime

    return dummy_runtime


def manifest_with(requires: list[str]) -> ScenarioManifest:
    data = yaml.safe_load((content_root() / "scenarios/502-storm/scenario.yaml").read_text())
    return ScenarioManifest.model_validate({**data, "requires": requires})


def test_the_manifest_knows_exactly_the_registered_requirements(dummy: object, monkeypatch: pytest.MonkeyPatch) -> None:
    assert manifest_with(["docker", "dummy-top"]).requires == ["docker", "dummy-top"]
    monkeypatch.delitem(registry.REGISTRY, "dummy-top")
    with pytest.raises(ValidationError, match=r"Input should be 'dummy-base', 'pki', 'docker', 'kind', 'aws', 'aws-iam' or 'terraform' "):
        manifest_with(["docker", "dummy-top"])


def test_the_lifecycle_provisions_in_registry_order_and_tears_down_in_reverse(dummy: object) -> None:
    entry = Entry(manifest_with(["dummy-top"]), content_root() / "scenarios" / "502-storm")
    lifecycle = Lifecycle(entry)
    assert [runtime.name for runtime in lifecycle.runtimes()] == ["base", "top"]  # implied and ordered
    assert list(lifecycle.context().runtimes) == ["dummy-base", "dummy-top"]  # grading reaches them by requirement
    assert lifecycle.env()["DUMMY_TOP"] == "502-storm"
    lifecycle.require_engine()  # neither dummy needs the Docker engine: nothing is connected
    lifecycle.provision()
    lifecycle.teardown()
    assert dummy.CALLS == [("provision", "base"), ("provision", "top"), ("teardown", "top"), ("teardown", "base")]  # type: ignore[attr-defined]
    assert registry.fixtures(entry.manifest.requires) == {"dummy"}


def test_the_doctor_reports_a_registered_requirement(dummy: object) -> None:
    found = doctor.by_requirement(["dummy-top", "podman"])
    assert found["dummy-top"] == [doctor.Finding("dummy-top", "the dummy tool", True, "version 1")]
    assert not found["podman"][0].ok and "not supported" in found["podman"][0].detail


def test_the_catalog_asks_the_registered_runtime_to_check_the_stack(dummy: object, tmp_path: Path) -> None:
    shutil.copytree(content_root() / "scenarios" / "502-storm", tmp_path / "content" / "scenarios" / "502-storm")
    manifest = tmp_path / "content" / "scenarios" / "502-storm" / "scenario.yaml"
    manifest.write_text(manifest.read_text().replace("requires: [docker]", "requires: [dummy-top]"))
    assert "dummy-top" in manifest.read_text()
    entry = catalog.find("502-storm", tmp_path / "content")
    assert entry.manifest.requires == ["dummy-top"]
    assert dummy.CALLS == [("stack", "compose.yaml")]  # type: ignore[attr-defined]
    assert "dummy-top" in registry.stack_providers()


def test_the_shipped_requirements_and_their_order() -> None:
    assert registry.names() == ["pki", "docker", "kind", "aws", "aws-iam", "terraform"]
    assert [registration.name for registration in registry.ordered(["terraform"])] == ["aws", "terraform"]
    assert registry.needs_engine(["docker"]) and registry.needs_engine(["kind"]) and not registry.needs_engine(["terraform"])


def test_every_registered_fixture_is_one_the_grading_plugin_defines() -> None:
    from harness.grading import plugin

    for registration in registry.REGISTRY.values():
        for fixture in registration.fixtures:
            assert callable(getattr(plugin, fixture, None)), f"{registration.name}: no fixture {fixture!r} in harness.grading.plugin"


def test_every_registered_path_resolves() -> None:
    for registration in registry.REGISTRY.values():
        for path in [*registration.factories.values(), registration.doctor, *([registration.stack] if registration.stack else [])]:
            assert callable(registry.load(path)), path
