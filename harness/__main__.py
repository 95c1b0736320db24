"""`python -m harness` and the `breakfix` console script.

The CLI is imported inside the guard: its modules take a tenth of a second to load, and Ctrl-C in that
time would otherwise print a raw KeyboardInterrupt traceback. Nothing is running yet, so there is
nothing to clean up."""

from __future__ import annotations

import sys


def main() -> None:
    try:
        from harness.cli import main as run
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        raise SystemExit(130) from None
    run()


if __name__ == "__main__":
    main()
