"""The reference dispatcher.py, copied into the workspace with some of its functions redefined: the
definitions read from stdin go in just before its `if __name__ == "__main__":`, so the running
program uses them (module globals are looked up at call time). Usage: python3 override.py < definitions."""

import os
import sys
from pathlib import Path

reference = Path(__file__).resolve().parent.parent / "stack" / "app" / "dispatcher.py"
target = Path(os.environ["BREAKFIX_WORKSPACE"]) / "stack" / "app" / "dispatcher.py"
source = reference.read_text()
guard = '\n\nif __name__ == "__main__":'
assert source.count(guard) == 1, f"{reference} is not the reference dispatcher"
target.write_text(source.replace(guard, "\n\n" + sys.stdin.read().strip() + "\n" + guard))
