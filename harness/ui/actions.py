"""The page's actions run the `breakfix` command itself: the same code, locks, state and history as the terminal.

One action at a time (a second one is told the first is running); each is bounded by a timeout
a little above the longest the CLI itself allows (a check's timeout, a reset's re-provisioning).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from dataclasses import dataclass
from typing import Any

ACTIONS: dict[str, list[str]] = {"check": ["check", "--json"], "hint": ["hint"], "reset": ["reset"], "stop": ["stop"]}
TIMEOUT = 1200.0


@dataclass
class Outcome:
    action: str
    exit_code: int
    output: str  # stdout (the JSON document of a check) then stderr
    result: dict[str, Any] | None = None  # a check's JSON document

    def as_json(self) -> dict[str, Any]:
        return {"action": self.action, "exit_code": self.exit_code, "output": self.output[-4000:], "result": self.result}


class Busy(Exception):
    pass


class Runner:
    def __init__(self, command: list[str] | None = None, timeout: float = TIMEOUT) -> None:
        self.command = command or [sys.executable, "-m", "harness"]
        self.timeout = timeout
        self.lock = threading.Lock()

    def run(self, action: str) -> Outcome:
        if not self.lock.acquire(blocking=False):
            raise Busy("another action from this page is still running")
        try:
            # plain output: the page shows it as text; the state dir and everything else come from `breakfix ui`'s environment
            env = {**os.environ, "NO_COLOR": "1", "TERM": "dumb", "COLUMNS": "120"}
            done = subprocess.run([*self.command, *ACTIONS[action]], capture_output=True, text=True, timeout=self.timeout, env=env,
                                  stdin=subprocess.DEVNULL, check=False)
        finally:
            self.lock.release()
        result = None
        if action == "check":
            try:
                result = json.loads(done.stdout)
            except ValueError:
                result = None
        return Outcome(action, done.returncode, (done.stdout + done.stderr).strip(), result)
