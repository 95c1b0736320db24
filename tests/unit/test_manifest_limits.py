"""Typed sandbox limits of lab.yaml and the catalog's lab-specific validation."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from pydantic import ValidationError

from harness import catalog
from harness.errors import BreakfixError
from harness.manifest import SandboxLimits

LABS = Path(__file__).resolve().parents[2] / "labs"


def test_limits_accept_the_strings_lab_yaml_uses() -> None:
    limits = SandboxLimits.model_validate({"memory": "512m", "cpus": "1.5", "pids": "64", "seconds": "90"})
    assert (limits.memory, limits.cpus, limits.pids, limits.seconds) == ("512m", 1.5, 64, 90.0)


@pytest.mark.parametrize("bad", [{"memory": "lots"}, {"pids": 2}, {"seconds": 0}, {"swap": "1g"}])
def test_limits_refuse_nonsense(bad: dict) -> None:
    with pytest.raises(ValidationError):
        SandboxLimits.model_validate(bad)


def copy_lab(tmp_path: Path, lab: str = "deploy-order") -> Path:
    target = tmp_path / "labs" / lab
    shutil.copytree(LABS / lab, target)
    return target


def test_a_lab_must_require_docker(tmp_path: Path) -> None:
    lab = copy_lab(tmp_path)
    manifest = lab / "lab.yaml"
    manifest.write_text(manifest.read_text().replace("requires: [docker]", "requires: []"))
    with pytest.raises(BreakfixError, match="must include docker"):
        catalog.load_entry(lab)


def test_a_lab_needs_a_reference_of_its_entry_file(tmp_path: Path) -> None:
    lab = copy_lab(tmp_path)
    (lab / "solution" / "deploy_order.py").unlink()
    with pytest.raises(BreakfixError, match="reference implementation"):
        catalog.load_entry(lab)


def test_a_lab_file_may_not_lead_out_of_the_lab(tmp_path: Path) -> None:
    lab = copy_lab(tmp_path)
    outside = tmp_path / "elsewhere.py"
    outside.write_text("print('not the lab')\n")
    (lab / "solution" / "deploy_order.py").unlink()
    (lab / "solution" / "deploy_order.py").symlink_to(outside)
    with pytest.raises(BreakfixError, match=r"lab.yaml: entry: solution/deploy_order.py leads outside the entry directory"):
        catalog.load_entry(lab)


@pytest.mark.parametrize(("value", "problem"), [("/etc/passwd", "not absolute"), ("../../x.py", "no '..'"), (True, "valid string")])
def test_the_entry_file_is_a_path_inside_starter(tmp_path: Path, value: object, problem: str) -> None:
    lab = copy_lab(tmp_path)
    manifest = lab / "lab.yaml"
    manifest.write_text(manifest.read_text().replace("entry: deploy_order.py", f"entry: {value}"))
    with pytest.raises(BreakfixError, match=rf"lab.yaml: entry: .*{re.escape(problem)}"):
        catalog.load_entry(lab)


def test_limits_refuse_true_for_a_number(tmp_path: Path) -> None:
    lab = copy_lab(tmp_path)
    manifest = lab / "lab.yaml"
    manifest.write_text(manifest.read_text().replace("pids: 32", "pids: true"))
    with pytest.raises(BreakfixError, match=r"lab.yaml: limits.pids: true is not a number"):
        catalog.load_entry(lab)
