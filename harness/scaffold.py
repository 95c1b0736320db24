"""`breakfix new`: a complete entry an author starts from -- one `lint` accepts and whose `verify` says,
in its one check's message, what is still left to write (every `TODO(author)` line in the entry).

The entry goes to `<dir>/scenarios/<id>` or `<dir>/labs/<id>`, so `<dir>` is a catalog directory
(`--path <dir>`, BREAKFIX_PATH). The manifest's first line points editors at the JSON Schema.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

from harness import authoring, catalog
from harness.catalog import KIND_DIRS
from harness.errors import BreakfixError
from harness.manifest import MANIFEST_FILES, SLUG

MARKER = "TODO" + "(author)"  # in two pieces, so the templates' own line that defines it is not a task

# The one check of a scaffold: it fails, naming each task, while any marker is left in the entry.
_STILL_TO_WRITE = '''
MARKER = "TODO" + "(author)"  # in two pieces: this line is not a task itself


def still_to_write(directory: Path) -> list[str]:
    """Every line of the entry that still holds the scaffold's marker, as file:line: task."""
    tasks = []
    for path in sorted(directory.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            for number, line in enumerate(path.read_text(errors="replace").splitlines(), start=1):
                if MARKER in line:
                    task = line.split(MARKER, 1)[1].strip(' :()"').rstrip(".")
                    tasks.append(f"{path.relative_to(directory)}:{number}: {task}")
    return tasks
'''

SCENARIO = {
    "scenario.yaml": """\
{modeline}
id: {id}
title: "{id}: TODO(author) a title the catalog lists"
summary: >
  TODO(author) two sentences: what the learner sees broken, and what a real fix must keep.
difficulty: easy
tags: [TODO-author]
question: T1
time_limit: 30
requires: [docker]
stack: stack/compose.yaml
services: [web]
entrypoint:
  service: web
  url: http://127.0.0.1:{port}
faults:
  # TODO(author) the fault that breaks the system (`docs/authoring.md` lists every kind and its parameters)
  - kind: container-stop
    params:
      service: web
confirm:
  failing: [test_web_answers]
hints: [hints/01.md]
fake_fixes:
  - id: do-nothing
    summary: change nothing and hope (TODO(author) a tempting non-fix the checks must reject)
    script: fakes/do-nothing.sh
""",
    "README.md": """\
# {id}

TODO(author) the brief the learner reads at hand-over: the symptom, who reports it, what must keep working.
The service answers on http://127.0.0.1:{port}.
""",
    "stack/compose.yaml": """\
services:
  web:
    image: breakfix/base:bookworm
    command: ["python3", "-m", "http.server", "8000", "--directory", "/srv/web"]
    init: true
    ports:
      - "127.0.0.1:{port}:8000"  # loopback only: lint refuses anything else
    volumes:
      - ./web:/srv/web
    mem_limit: 64m
    healthcheck:
      test: ["CMD", "curl", "-fsS", "http://127.0.0.1:8000/"]
      interval: 2s
      timeout: 2s
      retries: 3
""",
    "stack/web/index.html": "<h1>{id}</h1>\n",
    "checks/test_web.py": '''\
"""TODO(author) checks that grade the property the learner must restore (one test per condition)."""

from __future__ import annotations

import urllib.request
from pathlib import Path

from harness.checks import InstanceContext
''' + _STILL_TO_WRITE.replace("{", "{{").replace("}", "}}") + '''

def test_web_answers(instance: InstanceContext) -> None:
    """The web service answers on its entrypoint"""
    tasks = still_to_write(instance.entry.directory)
    assert not tasks, "this entry is still a scaffold, left to write: " + "; ".join(tasks)
    try:
        with urllib.request.urlopen(instance.entrypoint_url, timeout=5) as response:
            answer: object = response.status
    except OSError as exc:  # refused, reset, timed out: the system's fault, so a FAIL (an exception would grade as an error)
        answer = f"no answer ({{exc}})"
    assert answer == 200, f"{{instance.entrypoint_url}}: {{answer}}"
''',
    "hints/01.md": "TODO(author) where to look, never the fix.\n",
    "solution/SOLUTION.md": "# {id}: the fix\n\nTODO(author) the root cause, the fix and why the fakes are not one.\n",
    "solution/solve.sh": """\
#!/usr/bin/env bash
# Reference fix: TODO(author) undo what the fault broke, as a learner would.
set -euo pipefail
docker start "$BREAKFIX_PREFIX-web"
""",
    "fakes/do-nothing.sh": """\
#!/usr/bin/env bash
# Fake fix: TODO(author) a tempting change that does not fix the system.
set -euo pipefail
true
""",
}

LAB = {
    "lab.yaml": """\
{modeline}
id: {id}
title: "{id}: TODO(author) a title the catalog lists"
summary: >
  TODO(author) two sentences: what the learner implements and what the grader measures.
difficulty: easy
tags: [python, TODO-author]
question: C1
time_limit: 30
requires: [docker]
entry: answer.py
hints: [hints/01.md]
fake_fixes:
  - id: off-by-one
    summary: the reference, one too many (TODO(author) a wrong implementation the checks must reject)
    script: fakes/off-by-one.sh
""",
    "README.md": """\
# {id}

TODO(author) the task: implement `answer.py` so that `python3 answer.py A B` prints the sum of A and B.
""",
    "starter/answer.py": '''\
"""TODO(author) the learner's starting point: it must fail the checks."""

import sys


def main(argv: list[str]) -> None:
    raise NotImplementedError("implement me")


if __name__ == "__main__":
    main(sys.argv[1:])
''',
    "solution/answer.py": '''\
"""TODO(author) the reference implementation."""

import sys


def main(argv: list[str]) -> None:
    print(int(argv[0]) + int(argv[1]))


if __name__ == "__main__":
    main(sys.argv[1:])
''',
    "checks/test_answer.py": '''\
"""TODO(author) checks that grade the learner's code in the sandbox (one test per condition)."""

from __future__ import annotations

from pathlib import Path

from harness.checks import InstanceContext, Sandbox
''' + _STILL_TO_WRITE.replace("{", "{{").replace("}", "}}") + '''

def test_adds_two_numbers(instance: InstanceContext, sandbox: Sandbox) -> None:
    """`python3 answer.py 2 3` prints 5"""
    tasks = still_to_write(instance.entry.directory)
    assert not tasks, "this entry is still a scaffold, left to write: " + "; ".join(tasks)
    result = sandbox.run(["python3", "answer.py", "2", "3"])
    assert not result.timed_out and result.exit_code == 0, f"expected exit code 0; your program {{result.describe()}}"
    assert result.stdout.strip() == "5", f"expected 5 on stdout, got {{result.stdout.strip()[:80]!r}}"
''',
    "hints/01.md": "TODO(author) where to look, never the answer.\n",
    "solution/SOLUTION.md": "# {id}: the reference\n\nTODO(author) the approach and why the fakes are wrong.\n",
    "solution/solve.sh": """\
#!/usr/bin/env bash
# Reference solution: TODO(author) put the reference implementation in the workspace.
set -euo pipefail
cp "$(dirname "$0")/answer.py" "$BREAKFIX_WORKSPACE/answer.py"
""",
    "fakes/off-by-one.sh": """\
#!/usr/bin/env bash
# Wrong implementation: TODO(author) the reference with one mistake the checks must catch.
set -euo pipefail
sed -i 's/int(argv\\[1\\]))/int(argv[1]) + 1)/' "$BREAKFIX_WORKSPACE/answer.py"
grep -q '+ 1)' "$BREAKFIX_WORKSPACE/answer.py"
""",
}


def port_for(entry_id: str) -> int:
    """A loopback port of its own per id (18000-18999), so two scaffolds rarely collide; the author may change it."""
    return 18000 + int(hashlib.sha256(entry_id.encode()).hexdigest(), 16) % 1000


def _modeline(base: Path, entry_dir: Path, kind: str) -> str:
    """Points at the checkout's generated schema when `base` is a checkout, else at one written beside the entries."""
    schema = base / authoring.schema_file(kind)
    if not schema.is_file():
        schema = entry_dir.parent / f"{kind}.schema.json"
        schema.write_text(json.dumps(authoring.manifest_schema(kind), indent=2) + "\n", encoding="utf-8")
    return f"# yaml-language-server: $schema={Path(os.path.relpath(schema, entry_dir)).as_posix()}"


def new(kind: str, entry_id: str, base: Path, source: str | None = None) -> Path:
    """Write a new entry under `base` (from the template, or a copy of catalog entry `source`); returns its directory."""
    if kind not in KIND_DIRS:
        raise BreakfixError(f"{kind!r}: breakfix new makes a scenario or a lab")
    if not SLUG.match(entry_id):
        raise BreakfixError(f"{entry_id!r}: an id is 2-41 lower-case letters, digits and dashes")
    target = base / KIND_DIRS[kind] / entry_id
    if target.exists():
        raise BreakfixError(f"{target} exists already: pick another id or remove it")
    manifest_name = next(name for name, model in MANIFEST_FILES.items() if model.model_fields["kind"].default == kind)
    if source is not None:
        origin = catalog.find(source)
        if origin.kind != kind:
            raise BreakfixError(f"{source} is a {origin.kind}, not a {kind}: `breakfix new {origin.kind} {entry_id} --from {source}`")
        shutil.copytree(origin.directory, target, ignore=shutil.ignore_patterns("__pycache__"), symlinks=True)
        manifest = target / manifest_name
        text = re.sub(r"^# yaml-language-server:.*\n", "", manifest.read_text(encoding="utf-8"))
        text, found = re.subn(r"^id: .*$", f"id: {entry_id}", text, count=1, flags=re.MULTILINE)
        if not found:
            raise BreakfixError(f"{origin.manifest_file}: no `id:` line to rename")
        manifest.write_text(_modeline(base, target, kind) + "\n" + text, encoding="utf-8")
        return target
    target.mkdir(parents=True)
    values = {"id": entry_id, "port": port_for(entry_id), "modeline": _modeline(base, target, kind)}
    for name, template in (SCENARIO if kind == "scenario" else LAB).items():
        path = target / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(template.format(**values), encoding="utf-8")
        if name.endswith(".sh"):
            path.chmod(0o755)
    return target



def still_to_write(directory: Path) -> list[str]:
    """The marker lines left in an entry, as file:line: task -- what the scaffold's check names (its own code)."""
    namespace: dict[str, Any] = {"Path": Path}
    exec(_STILL_TO_WRITE, namespace)  # noqa: S102 -- our own template, so the CLI and the check cannot disagree
    tasks: list[str] = namespace["still_to_write"](directory)
    return tasks
