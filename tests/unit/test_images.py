"""The base image recipe: package list parsing, the content hash, and the pure decisions."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest
from docker.errors import ImageNotFound

from harness import images
from harness.errors import BreakfixError

REQUIRED = {
    "nginx", "python3", "gunicorn", "python3-uvicorn", "curl", "procps", "iproute2",
    "ca-certificates", "tini", "lsof", "strace", "jq", "less", "vim-tiny", "netcat-openbsd",
    "python3-psutil",
}


# ---------------------------------------------------------------- package list


def test_parse_packages_drops_comments_and_blank_lines() -> None:
    text = "# header\n\nnginx\n  python3   # the interpreter\n#curl\n\tjq\n\n"
    assert images.parse_packages(text) == ["nginx", "python3", "jq"]


def test_parse_packages_of_only_comments_is_empty() -> None:
    assert images.parse_packages("# nothing\n\n   \n# here\n") == []


def test_parse_packages_reads_one_image_section() -> None:
    text = "nginx\n[postgres]  # derived\npostgresql-15\n[other]\nx\n"
    assert images.parse_packages(text) == ["nginx"]
    assert images.parse_packages(text, "postgres") == ["postgresql-15"]
    assert images.read_packages(section="postgres") == ["postgresql-15"]
    assert "postgresql-15" not in images.read_packages()  # +330 MB: never in the base


def test_shipped_package_list_has_every_required_package_once() -> None:
    packages = images.read_packages()
    assert set(packages) >= REQUIRED, f"missing: {sorted(REQUIRED - set(packages))}"
    assert len(packages) == len(set(packages)), "a package is listed twice"
    assert "python3-pip" not in packages


def test_both_build_paths_read_the_one_package_list() -> None:
    root = images.image_dir()
    dockerfile = (root / images.DOCKERFILE).read_text()
    rootfs = (root / images.ROOTFS_SCRIPT).read_text()
    assert "COPY packages.txt" in dockerfile and "--no-install-recommends" in dockerfile
    assert "../packages.txt" in rootfs and "--include=" in rootfs
    # the shared post-install steps live in finalize.sh, run by both
    assert "finalize.sh" in dockerfile and "finalize.sh" in rootfs


def test_no_mirror_hostname_is_hard_coded() -> None:
    for path in images.image_dir().rglob("*"):
        if path.is_file():
            text = path.read_text()
            assert "deb.debian.org" not in text and "ftp.debian.org" not in text, path


# ---------------------------------------------------------------- content hash


@pytest.fixture
def recipe(tmp_path: Path) -> Path:
    copy = tmp_path / "images"
    shutil.copytree(images.image_dir(), copy)
    return copy


def test_content_hash_is_stable(recipe: Path, tmp_path: Path) -> None:
    second = tmp_path / "again"
    shutil.copytree(recipe, second)
    assert images.content_hash(recipe) == images.content_hash(recipe) == images.content_hash(second)
    assert len(images.content_hash(recipe)) == 64


def test_content_hash_matches_the_shipped_recipe(recipe: Path) -> None:
    assert images.content_hash(recipe) == images.content_hash()


def test_content_hash_changes_when_a_package_is_added(recipe: Path) -> None:
    before = images.content_hash(recipe)
    with (recipe / "packages.txt").open("a") as f:
        f.write("htop\n")
    assert images.content_hash(recipe) != before


def test_content_hash_changes_when_a_file_is_renamed_or_added(recipe: Path) -> None:
    before = images.content_hash(recipe)
    (recipe / "base" / "finalize.sh").rename(recipe / "base" / "finalize2.sh")
    renamed = images.content_hash(recipe)
    assert renamed != before
    (recipe / "base" / "extra.conf").write_text("")
    assert images.content_hash(recipe) != renamed


def test_content_hash_tells_apart_bytes_moved_between_files(tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    for root, (a, b) in ((one, ("ab", "c")), (two, ("a", "bc"))):
        root.mkdir()
        (root / "a").write_text(a)
        (root / "b").write_text(b)
    assert images.content_hash(one) != images.content_hash(two)


def test_content_hash_of_a_missing_recipe_says_how_to_fix(tmp_path: Path) -> None:
    with pytest.raises(BreakfixError, match="reinstall"):
        images.content_hash(tmp_path / "nope")


# ---------------------------------------------------------------- import config


def test_import_changes_come_from_the_dockerfile_config_lines() -> None:
    dockerfile = (
        "FROM debian:bookworm-slim\n"
        "ARG DEBIAN_FRONTEND=noninteractive\n"
        "# a comment\n"
        "ENV A=1 \\\n"
        "    # comment inside a continuation\n"
        "    B=2\n"
        "RUN apt-get update\n"
        'CMD ["bash"]\n'
    )
    assert images.import_changes(dockerfile, "f00") == [
        "ENV A=1 B=2",
        'CMD ["bash"]',
        f"LABEL {images.HASH_LABEL}=f00",
    ]


def test_import_changes_of_the_shipped_dockerfile_set_env_and_cmd() -> None:
    changes = images.import_changes((images.image_dir() / images.DOCKERFILE).read_text(), "x")
    env = " ".join(c for c in changes if c.startswith("ENV "))
    assert "PYTHONUNBUFFERED=1" in env and "LANG=C.UTF-8" in env and "PATH=" in env
    assert 'CMD ["bash"]' in changes
    assert not any(c.split()[0] in {"RUN", "COPY", "FROM", "ARG", "ENTRYPOINT"} for c in changes)


# ---------------------------------------------------------------- decisions


@pytest.mark.parametrize(
    ("requested", "parent", "expected"),
    [
        ("auto", True, "dockerfile"),
        ("auto", False, "debootstrap"),
        ("dockerfile", False, "dockerfile"),
        ("debootstrap", True, "debootstrap"),
    ],
)
def test_choose_method(requested: str, parent: bool, expected: str) -> None:
    assert images.choose_method(requested, parent_available=parent) == expected


def test_choose_method_rejects_unknown_names() -> None:
    with pytest.raises(BreakfixError, match="auto, dockerfile or debootstrap"):
        images.choose_method("buildah", parent_available=True)


def test_debootstrap_problem() -> None:
    assert images.debootstrap_problem(euid=0, debootstrap="/usr/sbin/debootstrap") is None
    missing = images.debootstrap_problem(euid=0, debootstrap=None)
    assert missing and "apt-get install debootstrap" in missing
    not_root = images.debootstrap_problem(euid=1000, debootstrap="/usr/sbin/debootstrap")
    assert not_root and "root" in not_root


def test_mounts_under_finds_only_mounts_inside_the_tree() -> None:
    mounts = (
        "proc /proc proc rw 0 0\n"
        "proc /var/tmp/bf-x/rootfs/proc proc rw 0 0\n"
        "sysfs /var/tmp/bf-x/rootfs/sys sysfs rw 0 0\n"
        "tmpfs /var/tmp/bf-xy tmpfs rw 0 0\n"
        "tmpfs /var/tmp/bf-x/with\\040space tmpfs rw 0 0\n"
    )
    assert images.mounts_under(Path("/var/tmp/bf-x"), mounts) == [
        "/var/tmp/bf-x/rootfs/proc",
        "/var/tmp/bf-x/rootfs/sys",
        "/var/tmp/bf-x/with space",
    ]


# ---------------------------------------------------------------- image status


class FakeImages:
    def __init__(self, labels: dict[str, str] | None) -> None:
        self._labels = labels

    def get(self, name: str) -> SimpleNamespace:
        assert name in {images.BASE_IMAGE, *images.DERIVED_IMAGES.values()}
        if self._labels is None:
            raise ImageNotFound(name)
        return SimpleNamespace(labels=self._labels, id="sha256:feed", attrs={"Size": 1})


def fake_client(labels: dict[str, str] | None) -> SimpleNamespace:
    return SimpleNamespace(images=FakeImages(labels))


def test_image_status_missing() -> None:
    assert images.image_status(fake_client(None)) == "missing"


def test_image_status_current() -> None:
    assert images.image_status(fake_client({images.HASH_LABEL: images.content_hash()})) == "current"


def test_image_status_stale_on_other_hash_or_no_label() -> None:
    assert images.image_status(fake_client({images.HASH_LABEL: "0" * 64})) == "stale"
    assert images.image_status(fake_client({})) == "stale"


def test_build_is_a_no_op_when_current() -> None:
    client = fake_client({images.HASH_LABEL: images.content_hash()})
    result = images.build_base_image(client, progress=lambda line: pytest.fail(line))
    assert result.status == "current" and result.method is None
    assert "current" in result.summary()


def test_every_derived_image_is_a_target_of_the_one_derived_dockerfile() -> None:
    """One recipe for every image FROM the base: a build target per packages.txt section, and the
    section's own directory (its setup.sh) beside it in the build context."""
    text = (images.image_dir() / images.DERIVED_DOCKERFILE).read_text()
    targets = re.findall(r"^FROM \S+ AS (\S+)$", text, re.MULTILINE)
    assert targets[0] == "section" and set(targets[1:]) == set(images.DERIVED_IMAGES)
    for section in images.DERIVED_IMAGES:
        assert (images.image_dir() / section).is_dir() and images.read_packages(section=section)
