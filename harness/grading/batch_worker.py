"""One submission's grading run, in a process of its own (harness/grading/batch.py starts it):

    python -m harness.grading.batch_worker LAB INSTANCE WORKSPACE JUNIT RESULT_JSON

The lab's checks come from the installed catalog, never from the workspace. RESULT_JSON receives the
grade and the highest peak memory the sandbox's supervisor reported for the submission's runs.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from harness.catalog import find
from harness.grading.context import InstanceContext
from harness.grading.runner import run_checks
from harness.runtime import sandbox, sandbox_results
from harness.runtime.sandbox_results import RunResult


class PeakMemory:
    """Every RunResult passes through the sandbox's result_from_report: the highest peak it carries.
    A learner server (`serve`) reports none; its run is then counted without a peak."""

    def __init__(self) -> None:
        self.peak: int | None = None
        self.wrapped = sandbox_results.result_from_report

    def __call__(self, *args: Any, **kwargs: Any) -> RunResult:
        result = self.wrapped(*args, **kwargs)
        if result.peak_memory_bytes is not None:
            self.peak = max(self.peak or 0, result.peak_memory_bytes)
        return result


def main(argv: list[str]) -> int:
    lab_id, instance, workspace, junit, result_json = argv
    entry = find(lab_id)
    peak = PeakMemory()
    # the sandbox module's own binding is the one its runs call; this process grades one submission, then exits
    setattr(sandbox, "result_from_report", peak)  # noqa: B010 -- mypy: the sandbox does not re-export the name
    context = InstanceContext(instance, entry, Path(workspace), {})
    grade = run_checks(context, entry.checks_dir, junit=Path(junit), timeout=entry.manifest.check_timeout)
    Path(result_json).write_text(json.dumps({"grade": grade.as_dict(), "peak_memory_bytes": peak.peak}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
