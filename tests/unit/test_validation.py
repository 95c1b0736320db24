"""harness.validation: the one-line messages, and RelativePathInside, the path check every model shares."""

import pytest
from pydantic import BaseModel, ValidationError

from harness.validation import RelativePathInside, outside_problem, problems


class Folder(BaseModel):
    folder: RelativePathInside


@pytest.mark.parametrize("value", ["certs", "stack/pki", "a/b/c.yaml", "./certs", "certs/", "a..b", "..hidden", "~not-home"])
def test_a_relative_path_inside_its_folder_is_kept_as_written(value: str) -> None:
    assert outside_problem(value) is None
    assert Folder(folder=value).folder == value  # a str as written: schemas and saved state read as before


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("..", "no '..'"),
        ("../outside", "no '..'"),
        ("a/../../b", "no '..'"),
        ("a/../b", "no '..'"),  # one that comes back is refused too: no author needs it
        ("/etc", "not absolute"),
        ("//host/share", "not absolute"),
        ("", "names nothing"),
        (".", "names nothing"),
        ("./", "names nothing"),
    ],
)
def test_a_path_that_leads_out_or_nowhere_is_refused(value: str, problem: str) -> None:
    found = outside_problem(value)
    assert found is not None and problem in found
    with pytest.raises(ValidationError) as caught:
        Folder(folder=value)
    assert problems(caught.value).startswith("folder: ") and problem in problems(caught.value)


def test_the_models_that_join_a_folder_share_the_check() -> None:
    from harness.faults.certificates import CertificateParams
    from harness.runtime.pki import PkiSpec

    for model, field in ((CertificateParams, "directory"), (PkiSpec, "out")):
        assert model.model_fields[field].metadata == Folder.model_fields["folder"].metadata, model


def test_the_schema_is_a_plain_string() -> None:
    assert Folder.model_json_schema()["properties"]["folder"] == {"title": "Folder", "type": "string"}
