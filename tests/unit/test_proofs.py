"""Baseline proofs: keyed by everything the baseline's outcome depends on, and short-lived."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from harness import catalog, proofs


@pytest.fixture
def entry_dir(tmp_path: Path) -> Path:
    return Path(shutil.copytree(catalog.find("502-storm").directory, tmp_path / "502-storm"))


def test_the_key_changes_with_the_entry_files_the_images_and_the_boot(entry_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key = proofs.key(entry_dir, ["sha256:aa"])
    assert proofs.key(entry_dir, ["sha256:aa"]) == key
    assert proofs.key(entry_dir, ["sha256:bb"]) != key, "a rebuilt image needs a new baseline"
    conf = entry_dir / "stack" / "lb" / "default.conf"
    conf.write_text(conf.read_text().replace("16k", "8k"))
    assert proofs.key(entry_dir, ["sha256:aa"]) != key, "edited scenario files need a new baseline"
    conf.write_text(conf.read_text().replace("8k", "16k"))
    assert proofs.key(entry_dir, ["sha256:aa"]) == key
    boot = tmp_path / "boot_id"
    boot.write_text("another boot\n")
    monkeypatch.setattr(proofs, "BOOT_ID", boot)
    assert proofs.key(entry_dir, ["sha256:aa"]) != key, "a reboot needs a new baseline"


def test_a_recorded_proof_holds_for_a_day(monkeypatch: pytest.MonkeyPatch) -> None:
    assert proofs.proven_at("k1") is None
    proofs.record("k1")
    recorded = proofs.proven_at("k1")
    assert recorded is not None and proofs.proven_at("k2") is None
    monkeypatch.setattr(proofs.time, "time", lambda: recorded + proofs.VALID_FOR + 1)
    assert proofs.proven_at("k1") is None


def test_recording_drops_lapsed_proofs(monkeypatch: pytest.MonkeyPatch, isolated_state: Path) -> None:
    proofs.record("old")
    later = proofs.time.time() + proofs.VALID_FOR + 1
    monkeypatch.setattr(proofs.time, "time", lambda: later)
    proofs.record("new")
    assert set(json.loads((isolated_state / proofs.PROOFS_FILE).read_text())) == {"new"}


def test_an_unreadable_proofs_file_means_no_proof(isolated_state: Path) -> None:
    (isolated_state / proofs.PROOFS_FILE).write_text("{not json")
    assert proofs.proven_at("k1") is None
    proofs.record("k1")
    assert proofs.proven_at("k1") is not None
