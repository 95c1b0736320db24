"""The manifest schema of scenarios (scenario.yaml) and labs (lab.yaml): the single source of truth.

Everything the lifecycle does is driven by what is declared here; a manifest that does not
validate never reaches the lifecycle, and the error names the file, the field and the problem.
"""

from __future__ import annotations

import re
import types
import unicodedata
from pathlib import Path, PurePosixPath
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from harness import registry
from harness.errors import BreakfixError
from harness.loopback import loopback_port
from harness.sizes import SIZE, size_bytes
from harness.validation import problems, relative_inside

Difficulty = Literal["easy", "medium", "hard"]
QUESTION_ID = re.compile(r"^[BCDT]\d{1,2}$")
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,40}$")


# Bounds on what an author's files may be: a manifest or compose file is a few KB and a handful of
# levels deep; anything far beyond is a mistake (or an attack) to refuse with a clear line, not a
# RecursionError, a MemoryError or ENAMETOOLONG from deep inside a library.
MAX_FILE_BYTES = 1 << 20
MAX_DEPTH = 32
MAX_NODES = 100_000  # YAML nodes once aliases are expanded: refuses "billion laughs" documents
MAX_PATH = 200


def read_text(path: Path, limit: int = MAX_FILE_BYTES) -> str:
    """A file's UTF-8 text, at most `limit` bytes; any problem is a BreakfixError naming the file."""
    try:
        with path.open("rb") as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        raise BreakfixError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise BreakfixError(f"{path}: larger than {limit // 1024} KiB -- too big for a file of this kind")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise BreakfixError(f"{path}: line {line}: not UTF-8 text (byte 0x{data[exc.start]:02x}) -- save it as UTF-8") from None


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader that refuses duplicate keys (it keeps the last one silently) and deep nesting
    (its composer recurses once per level)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]  # types-PyYAML leaves Parser.peek_event untyped
                raise yaml.composer.ComposerError(None, None, f"nested deeper than {MAX_DEPTH} levels", mark)
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue  # `<<: *base` then explicit keys: overriding merged keys is what merges are for
                key = self.construct_object(key_node, deep=True)
                try:
                    first = seen.get(key)
                except TypeError:
                    continue  # an unhashable key: the base constructor names it
                if first is not None:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {key!r} (first at line {first + 1})", key_node.start_mark
                    )
                seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)


def _expanded_size(node: yaml.Node, sizes: dict[int, int], open_nodes: set[int]) -> int:
    """How many nodes the document has once every alias is expanded (recursion depth is bounded by MAX_DEPTH)."""
    if id(node) in sizes:
        return sizes[id(node)]
    if id(node) in open_nodes:
        raise yaml.composer.ComposerError(None, None, "an alias refers to a node that contains it", node.start_mark)
    open_nodes.add(id(node))
    size = 1
    if isinstance(node, yaml.SequenceNode):
        size += sum(_expanded_size(child, sizes, open_nodes) for child in node.value)
    elif isinstance(node, yaml.MappingNode):
        size += sum(_expanded_size(key, sizes, open_nodes) + _expanded_size(value, sizes, open_nodes) for key, value in node.value)
    open_nodes.discard(id(node))
    sizes[id(node)] = min(size, MAX_NODES + 1)
    if size > MAX_NODES:
        raise yaml.composer.ComposerError(None, None, f"more than {MAX_NODES} values once aliases are expanded", node.start_mark)
    return sizes[id(node)]


def _yaml_problem(exc: yaml.YAMLError, path: Path) -> str:
    """One line: the file, where, and what, without PyYAML's multi-line context."""
    if isinstance(exc, yaml.reader.ReaderError):
        return f"{path}: position {exc.position} invalid YAML: unacceptable character #x{exc.character:04x}"
    mark = getattr(exc, "problem_mark", None)
    where = f" line {mark.line + 1}" if mark is not None else ""
    problem = getattr(exc, "problem", None) or str(exc)
    return f"{path}:{where} invalid YAML: {' '.join(str(problem).split())}"


def load_yaml(path: Path) -> Any:
    """One YAML document from an author's file: bounded in size, depth and expansion, UTF-8, no duplicate keys.
    Every problem is a one-line BreakfixError naming the file (and the line where YAML knows it)."""
    documents = load_yaml_documents(path)
    if len(documents) > 1:
        raise BreakfixError(f"{path}: invalid YAML: {len(documents)} documents (---) where one is expected")
    return documents[0] if documents else None


def load_yaml_documents(path: Path) -> list[Any]:
    """Every document of a multi-document YAML file (`---`), with load_yaml's bounds and errors."""
    text = read_text(path)
    loader = None
    documents = []
    try:
        loader = _Loader(text)
        while loader.check_node():
            node = loader.get_node()
            assert node is not None, "check_node() said a document follows"
            _expanded_size(node, {}, set())
            documents.append(loader.construct_document(node))
        return documents
    except yaml.YAMLError as exc:
        raise BreakfixError(_yaml_problem(exc, path)) from None
    finally:
        if loader is not None:
            loader.dispose()


def _admits_bool(annotation: Any) -> bool:
    if annotation is bool or annotation is Any:
        return True
    if get_origin(annotation) is Literal:
        return any(isinstance(choice, bool) for choice in get_args(annotation))
    if get_origin(annotation) in (Union, types.UnionType):
        return any(_admits_bool(member) for member in get_args(annotation))
    return False


def _numeric(annotation: Any) -> bool:
    if annotation in (int, float):
        return True
    return get_origin(annotation) in (Union, types.UnionType) and any(_numeric(member) for member in get_args(annotation))


class NoBoolNumbers(BaseModel):
    """Pydantic's lax mode reads `true` as 1 in an int or float field (`time_limit: true` was 1 minute);
    numbers written as strings ("64") stay accepted, as the labs' YAML uses them."""

    @field_validator("*", mode="before")
    @classmethod
    def _no_bool_for_a_number(cls, value: Any, info: ValidationInfo) -> Any:
        field = cls.model_fields.get(info.field_name or "")
        if isinstance(value, bool) and field is not None and _numeric(field.annotation) and not _admits_bool(field.annotation):
            raise ValueError(f"{str(value).lower()} is not a number")
        return value


class Strict(NoBoolNumbers):
    model_config = ConfigDict(extra="forbid", frozen=True)


# bidi overrides and isolates reorder what a terminal shows (a title could read as something else)
_BIDI = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")


def _plain_text(value: str, allow_newlines: bool) -> str:
    for character in value:
        if character in _BIDI or (unicodedata.category(character) in ("Cc", "Cf") and not (allow_newlines and character in "\n\t")):
            raise ValueError(f"contains the control character U+{ord(character):04X} -- write plain text")
    return value


Line = Annotated[str, AfterValidator(lambda value: _plain_text(value, allow_newlines=False))]
Prose = Annotated[str, AfterValidator(lambda value: _plain_text(value, allow_newlines=True))]


def _inside_entry(value: str) -> str:
    """The syntax half of "inside the entry directory"; the catalog resolves symlinks on disk."""
    if len(value) > MAX_PATH:
        raise ValueError(f"a path of {len(value)} characters; at most {MAX_PATH}")
    _plain_text(value, allow_newlines=False)
    if value.startswith("~"):  # a shell would read it as a home directory: as absolute as /home
        raise ValueError(f"{value!r}: must be relative to the entry directory, not absolute")
    return relative_inside(value)


EntryPath = Annotated[str, AfterValidator(_inside_entry)]


def _known_requirement(value: str) -> str:
    """A name the runtime registry knows (harness.registry): what a runtime registers, a manifest may require."""
    known = registry.names()
    if value not in known:
        choices = [repr(name) for name in known]
        raise ValueError(f"Input should be {', '.join(choices[:-1])} or {choices[-1]}" if len(choices) > 1 else f"Input should be {choices[0]}")
    return value


Requirement = Annotated[str, AfterValidator(_known_requirement)]


class FaultSpec(Strict):
    """One fault to inject: its kind names an implementation in harness.faults."""

    kind: str
    params: dict[str, Any] = Field(default_factory=dict)


class FakeFix(Strict):
    """A tempting non-fix the checks must reject; `script` is applied to the broken system."""

    id: str
    summary: Line
    script: EntryPath

    @field_validator("id")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not SLUG.match(value):
            raise ValueError("must be lower-case letters, digits and dashes")
        return value


class SignalSpec(Strict):
    """A live symptom graph the browser view (`breakfix ui`) draws while its page is open (harness/ui/signals)."""

    kind: Literal["http-status", "memory", "terraform-lock", "lab-grading"]
    service: str | None = Field(default=None, description="memory: the container sampled (default: the entrypoint's service)")
    paths: list[Annotated[str, Field(pattern=r"^/\S*$", max_length=200)]] = Field(
        default_factory=lambda: ["/"], min_length=1, max_length=20, description="http-status: requested in turn through the entrypoint")


class Confirm(Strict):
    """Which checks must fail once the faults are in, and how long the symptom may take to show."""

    failing: list[str] = Field(min_length=1)
    timeout: float = Field(default=60, gt=0, le=600)
    interval: float = Field(default=1, gt=0, le=30)


class SettleSpec(Strict):
    """A readiness condition the engine waits for (bounded) before every grading run: `command` in the
    service's container exits 0 once the service is live. Liveness only -- never the graded property,
    or a failing check would be retried until it passes."""

    what: str = Field(min_length=3, max_length=80, description='completes "waiting for ...", e.g. "pricing to answer again"')
    service: str
    command: list[str] = Field(min_length=1)
    timeout: float = Field(default=10, gt=0, le=120, description="seconds; past it grading goes ahead and says so")


class Entrypoint(Strict):
    """What the learner talks to: a service's published port on 127.0.0.1."""

    service: str
    url: str

    @field_validator("url")
    @classmethod
    def _loopback_only(cls, value: str) -> str:
        loopback_port(value)  # the probes' rule too: an entrypoint they refused could not be graded
        return value

    @property
    def port(self) -> int:
        return loopback_port(self.url)


class Manifest(Strict):
    """Fields common to scenarios and labs."""

    id: str
    title: Line = Field(min_length=3, max_length=80)
    summary: Prose = Field(min_length=10, max_length=2000)
    difficulty: Difficulty
    tags: list[Annotated[Line, Field(min_length=1, max_length=40)]] = Field(default_factory=list)
    question: str
    time_limit: int = Field(default=30, gt=0, le=480, description="minutes")
    requires: list[Requirement] = Field(default_factory=list)
    hints: list[EntryPath] = Field(default_factory=list, description="hint files in the order they are given")
    check_timeout: float = Field(default=120, gt=0, le=1800, description="seconds for one grading run")
    fake_fixes: list[FakeFix] = Field(default_factory=list, description="non-fixes (or wrong implementations) the checks must reject")
    signals: list[SignalSpec] = Field(default_factory=list, max_length=4, description="live symptom graphs `breakfix ui` shows")

    @field_validator("fake_fixes")
    @classmethod
    def _unique_fake_ids(cls, fakes: list[FakeFix]) -> list[FakeFix]:
        ids = [fake.id for fake in fakes]
        repeated = sorted({fake_id for fake_id in ids if ids.count(fake_id) > 1})
        if repeated:
            raise ValueError(f"fake fix id(s) used more than once: {', '.join(repeated)}")
        return fakes

    @field_validator("id")
    @classmethod
    def _id_is_slug(cls, value: str) -> str:
        if not SLUG.match(value):
            raise ValueError("must be 2-41 lower-case letters, digits and dashes")
        return value

    @field_validator("question")
    @classmethod
    def _known_question_shape(cls, value: str) -> str:
        if not QUESTION_ID.match(value):
            raise ValueError("must be a question-bank id such as T3 or C5")
        return value


class TerraformSpec(Strict):
    """What the Terraform runtime applies at provision: one remote state per CLI workspace."""

    workspaces: list[str] = Field(default_factory=lambda: ["default"], min_length=1, description="the first is left selected")
    state_key: str = Field(default="terraform.tfstate", pattern=r"^[a-z0-9][a-z0-9/_.-]*\.tfstate$")


class WorkerSpec(Strict):
    """One Kubernetes worker a scenario schedules onto: labels it selects on, taints it tolerates, whether it evicts."""

    labels: dict[Annotated[str, Field(max_length=253)], Annotated[str, Field(max_length=63)]] = Field(
        default_factory=dict, description="labels the worker must carry")
    taints: list[Annotated[str, Field(pattern=r"^[^=:\s]+=[^:\s]*:(NoSchedule|PreferNoSchedule|NoExecute)$")]] = Field(
        default_factory=list, description="key=value:Effect taints the worker must carry")
    memory_budget: bool = Field(default=False, description="its kubelet evicts at breakfix's per-node memory budget")


class ClusterSpec(Strict):
    """What a Kubernetes scenario needs of the cluster: checked against the provider's before anything is created."""

    workers: list[WorkerSpec] = Field(default_factory=list, max_length=8, description="distinct workers, each matched to one node")
    node_ports: list[Annotated[int, Field(ge=30000, le=32767)]] = Field(default_factory=list, description="NodePorts the checks reach on 127.0.0.1")


class HostMount(Strict):
    """A bind mount of a host path outside the stack directory: allowed only with the author's reason."""

    path: str = Field(pattern=r"^/", max_length=MAX_PATH, description="the absolute host path, as written in the stack")
    reason: Line = Field(min_length=20, description="why the scenario needs this much of the learner's machine")


class ScenarioManifest(Manifest):
    kind: Literal["scenario"] = "scenario"
    stack: EntryPath = "stack/compose.yaml"
    services: list[Annotated[str, Field(min_length=1, max_length=63)]] = Field(min_length=1)
    entrypoint: Entrypoint | None = None
    faults: list[FaultSpec] = Field(min_length=1)
    confirm: Confirm
    terraform: TerraformSpec = Field(default_factory=TerraformSpec, description="used when requires has terraform")
    cluster: ClusterSpec | None = Field(default=None, description="used when requires has kind: what the scenario needs of the cluster")
    settle: list[SettleSpec] = Field(default_factory=list, description="readiness conditions beyond the runtimes' own")
    host_mounts: list[HostMount] = Field(
        default_factory=list, description="host paths outside the stack a service may bind-mount (/, the Docker socket, ...), each with its reason"
    )

    @field_validator("stack")
    @classmethod
    def _stack_in_its_own_folder(cls, value: str) -> str:
        if len(PurePosixPath(value).parts) < 2:
            raise ValueError(f"{value!r}: the stack must be inside a folder of its own (e.g. stack/compose.yaml): the learner's workspace is a copy of that folder")
        return value

    @model_validator(mode="after")
    def _entrypoint_is_a_service(self) -> ScenarioManifest:
        if self.entrypoint and self.entrypoint.service not in self.services:
            raise ValueError(f"entrypoint.service {self.entrypoint.service!r} is not one of services {self.services}")
        return self

    @model_validator(mode="after")
    def _settle_services_exist(self) -> ScenarioManifest:
        unknown = sorted({spec.service for spec in self.settle} - set(self.services))
        if unknown:
            raise ValueError(f"settle: service(s) {', '.join(unknown)} not among services {self.services}")
        return self


def _docker_size(value: str) -> str:
    size_bytes(value)  # the one reading the sandbox applies; its ValueError is the field's message
    return value


class SandboxLimits(Strict):
    """Limits of every sandbox run of a lab's learner code; a check may override them per call."""

    memory: Annotated[str, AfterValidator(_docker_size)] = Field(default="256m", description="docker size, e.g. 256m",
                                                                        json_schema_extra={"pattern": SIZE.pattern})
    cpus: float = Field(default=1, gt=0, le=8)
    pids: int = Field(default=64, ge=8, le=4096)
    seconds: float = Field(default=60, gt=0, le=1800, description="wall-clock limit of one run")


class LabManifest(Manifest):
    kind: Literal["lab"] = "lab"
    language: Literal["python"] = "python"
    entry: EntryPath = Field(description="the file in starter/ the learner implements")
    limits: SandboxLimits = Field(default_factory=SandboxLimits, description="sandbox limits: memory, cpus, pids, seconds")


AnyManifest = ScenarioManifest | LabManifest
MANIFEST_FILES: dict[str, type[ScenarioManifest | LabManifest]] = {"scenario.yaml": ScenarioManifest, "lab.yaml": LabManifest}


def describe(error: ValidationError, path: Path, prefix: str = "") -> str:
    """A validation error as one line: the file, then `field: problem` for each problem."""
    return f"{path}: {problems(error, prefix)}"


def load_manifest(path: Path) -> AnyManifest:
    """Parse and validate one manifest file; any problem is a BreakfixError naming file and field."""
    model = MANIFEST_FILES.get(path.name)
    if model is None:
        raise BreakfixError(f"{path}: not a manifest (expected one of {', '.join(MANIFEST_FILES)})")
    data = load_yaml(path)
    if not isinstance(data, dict):
        raise BreakfixError(f"{path}: (top level): must be a mapping of fields, got {type(data).__name__}")
    try:
        manifest = model.model_validate(data)
    except ValidationError as exc:
        raise BreakfixError(describe(exc, path)) from None
    if manifest.id != path.parent.name:
        raise BreakfixError(f"{path}: id: {manifest.id!r} must match its directory name {path.parent.name!r}")
    return manifest
