"""The manifest schemas and docs/authoring.md are generated from the code: stale ones fail here."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from harness import authoring, catalog, cli
from harness.faults import REGISTRY
from harness.grading import plugin
from harness.manifest import load_yaml

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("path", sorted(authoring.generated(ROOT)), ids=lambda path: str(path.relative_to(ROOT)))
def test_generated_files_are_current(path: Path) -> None:
    expected = authoring.generated(ROOT)[path]
    assert path.is_file() and path.read_text(encoding="utf-8") == expected, (
        f"{path.relative_to(ROOT)} is stale: run `.venv/bin/python -m harness.authoring` in the checkout and commit the result")


def test_every_shipped_manifest_validates_against_its_schema() -> None:
    schemas = {kind: authoring.manifest_schema(kind) for kind in authoring.MODELS}
    entries = catalog.discover()
    assert entries
    for entry in entries:
        jsonschema.validate(load_yaml(entry.manifest_file), schemas[entry.kind])


def test_fault_kinds_are_a_discriminated_union() -> None:
    schema = authoring.manifest_schema("scenario")
    items = schema["properties"]["faults"]["items"]
    assert set(items["discriminator"]["mapping"]) == set(REGISTRY)
    bad = load_yaml(catalog.find("502-storm").manifest_file)
    bad["faults"][0]["params"]["relaod"] = ["nginx"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)
    bad["faults"][0] = {"kind": "no-such-fault", "params": {}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)


def test_doc_names_every_fault_kind_parameter_and_fixture() -> None:
    doc = authoring.authoring_markdown()
    for kind, cls in REGISTRY.items():
        assert f"### `{kind}`" in doc
        for name in cls.Params.model_fields:
            assert f"| `{name}` |" in doc
    for name in ("instance", "host", "inspect", "http_load", "sandbox", "aws", "terraform", "kube", "pod_host"):
        assert hasattr(getattr(plugin, name), "_fixture_function_marker")
        assert f"| `{name}` |" in doc
    assert "waiting for nginx to finish reloading | 10" in doc


def test_schema_command() -> None:
    result = CliRunner().invoke(cli.app, ["schema", "lab"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["title"] == "lab.yaml"
    assert CliRunner().invoke(cli.app, ["schema", "nope"]).exit_code == 2
