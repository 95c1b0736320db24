"""What an author reads, generated from the code so it cannot drift: the JSON Schema of scenario.yaml
and lab.yaml (fault kinds as a discriminated union of their parameter models) and docs/authoring.md
(every fault kind and its parameters, every fixture, the settle conditions, the fake-fix convention).

Regenerate both with `python -m harness.authoring` from the checkout (a unit test fails when stale).
"""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import pkgutil
import re
import sys
import textwrap
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, Field, create_model
from pydantic.fields import FieldInfo

from harness import registry
from harness.manifest import FakeFix, LabManifest, ScenarioManifest, SettleSpec

SCHEMA_DIR = Path("docs") / "schema"
DOC = Path("docs") / "authoring.md"
MODELS: dict[str, type[BaseModel]] = {"scenario": ScenarioManifest, "lab": LabManifest}
FILES = {"scenario": "scenario.yaml", "lab": "lab.yaml"}


def schema_file(kind: str) -> Path:
    return SCHEMA_DIR / f"{kind}.schema.json"


def fault_classes() -> dict[str, Any]:
    from harness.faults import REGISTRY, _load_families

    _load_families()
    return dict(sorted(REGISTRY.items()))


def _fault_union() -> Any:
    """Each fault kind as `{kind: <literal>, params: <its Params model>}`, told apart by `kind`."""
    variants = []
    for kind, cls in fault_classes().items():
        name = "".join(part.capitalize() for part in kind.split("-")) + "Fault"
        required = any(field.is_required() for field in cls.Params.model_fields.values())
        literal: Any = Literal[kind]  # a type made at run time: typed Any for the checker
        fields: dict[str, Any] = {"kind": (literal, ...), "params": (cls.Params, ...) if required else (cls.Params, Field(default_factory=dict))}
        variants.append(create_model(name, __doc__=_doc(cls), **fields))
    return Annotated[Union[tuple(variants)], Field(discriminator="kind")]  # noqa: UP007 -- built at run time


def manifest_schema(kind: str) -> dict[str, Any]:
    """The JSON Schema an editor validates `scenario.yaml` or `lab.yaml` with."""
    model = MODELS[kind]
    if kind == "scenario":
        faults = model.model_fields["faults"]
        union: Any = _fault_union()
        override: dict[str, Any] = {"faults": (list[union], Field(min_length=1, description=faults.description))}
        model = create_model("ScenarioManifest", __base__=ScenarioManifest, **override)
    schema = model.model_json_schema()
    schema["title"] = FILES[kind]
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["properties"]["requires"]["items"]["enum"] = registry.names()  # the manifest takes them from the registry
    return schema


def _doc(obj: Any) -> str:
    return " ".join(inspect.cleandoc(obj.__doc__ or "").split())


def _type(field: FieldInfo) -> str:
    text = re.sub(r"<class '([\w.]+)'>", r"\1", str(field.annotation)).replace("typing.", "")
    text = re.sub(r"Annotated\[(.*?), (?:AfterValidator|FieldInfo|Strict|MinLen|MaxLen)\(.*\]", r"\1", text)
    return re.sub(r"(?:[a-z_]+\.)+([A-Za-z_]\w*)", r"\1", text)  # harness.faults.network.Toxic -> Toxic


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _default(field: FieldInfo) -> str:
    if field.is_required():
        return "required"
    if field.default_factory is not None:
        return f"`{json.dumps(field.default_factory())}`"  # type: ignore[call-arg]
    return f"`{json.dumps(field.default)}`"


def _fields_table(model: type[BaseModel]) -> list[str]:
    rows = ["| parameter | type | default | meaning |", "|---|---|---|---|"]
    for name, field in model.model_fields.items():
        rows.append(f"| `{name}` | `{_cell(_type(field))}` | {_cell(_default(field))} | {_cell(field.description or '')} |")
    return rows if len(rows) > 2 else ["(no parameters)"]


def _fixtures() -> list[str]:
    from harness.grading import plugin

    providers = {fixture: name for name, row in registry.REGISTRY.items() for fixture in row.fixtures}
    rows = ["| fixture | needs | what it is |", "|---|---|---|"]
    for name, value in sorted(vars(plugin).items()):
        if hasattr(value, "_fixture_function_marker"):
            rows.append(f"| `{name}` | {providers.get(name, 'any entry')} | {_cell(_doc(value))} |")
    return rows


def _settle_conditions() -> list[str]:
    """The runtimes' conditions, read from each `settle()` method: its `Readiness(what, ..., timeout=)` calls."""
    import harness.runtime as runtimes

    rows = ["| runtime | condition | bound (s) |", "|---|---|---|"]
    for module_info in pkgutil.walk_packages(runtimes.__path__, f"{runtimes.__name__}."):
        module = importlib.import_module(module_info.name)
        for name, cls in sorted(vars(module).items()):
            if not inspect.isclass(cls) or cls.__module__ != module.__name__ or "settle" not in vars(cls):
                continue
            tree = ast.parse(textwrap.dedent(inspect.getsource(vars(cls)["settle"])))
            for call in ast.walk(tree):
                if isinstance(call, ast.Call) and getattr(call.func, "id", "") == "Readiness" and call.args and isinstance(call.args[0], ast.Constant):
                    bound = next((ast.literal_eval(keyword.value) for keyword in call.keywords if keyword.arg == "timeout"), "default")
                    rows.append(f"| `{name}` | waiting for {call.args[0].value!s} | {bound} |")
    return rows


FAKE_CONVENTION = """\
A fake fix is a tempting non-fix the checks must reject: a script under `fakes/`, declared in
`fake_fixes:` with an `id` and a one-line `summary`. `breakfix verify <id> --fakes` re-breaks the
system for each one, runs it (for a lab: after the reference solution, so a fake is a wrong variant
of it), grades, and fails the verify when the fake passes. Scripts run with `bash`, `set -euo pipefail`,
and see `BREAKFIX_WORKSPACE` (the learner's copy), `BREAKFIX_PREFIX` (container names) and the runtimes'
variables (`breakfix env`). Each fake should break exactly one condition the others do not: the verify
report names the checks that rejected it. `breakfix lint` requires at least one."""


def authoring_markdown() -> str:
    lines = ["# Authoring reference", "",
             "Generated from the code by `python -m harness.authoring` (a unit test fails when it is stale): do not edit by hand.",
             "Editors validate manifests with `docs/schema/scenario.schema.json` and `docs/schema/lab.schema.json`",
             "(`breakfix schema scenario|lab` prints them); `breakfix new` writes the modeline that points at them.", "",
             "## Fault kinds", "", "A scenario's `faults:` entry is `{kind: <kind>, params: {...}}`; the parameters are validated when the",
             "catalog loads the entry (`breakfix lint` names a wrong one).", ""]
    for kind, cls in fault_classes().items():
        about = _doc(cls) or _doc(cls.Params) or _doc(sys.modules[cls.__module__]).split(". ")[0]
        lines += [f"### `{kind}`", "", about, "", *_fields_table(cls.Params), ""]
    lines += ["## Fixtures of the check API", "",
              "Checks ask for these by name; everything else they import comes from `harness.checks` (its docstring lists the names).", "",
              *_fixtures(), "", "## Settle conditions", "",
              "Before every grading run the engine waits, each condition with its bound, until the system has finished changing;",
              "past a bound it grades anyway and says what was pending. The runtimes' own:", "", *_settle_conditions(), "",
              "A scenario adds its own under `settle:` -- liveness only, never the graded property:", "", *_fields_table(SettleSpec), "",
              "## Fake fixes", "", FAKE_CONVENTION, "", *_fields_table(FakeFix), ""]
    return "\n".join(lines)


def generated(root: Path) -> dict[Path, str]:
    """Every generated file under `root` (the checkout) with its content."""
    files = {root / schema_file(kind): json.dumps(manifest_schema(kind), indent=2) + "\n" for kind in MODELS}
    files[root / DOC] = authoring_markdown()
    return files


def main() -> None:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path.cwd()
    for path, text in generated(root).items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
