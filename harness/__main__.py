"""`python -m harness` and the `breakfix` console script.

The CLI is imported inside the guard: its modules take a tenth of a second to load, and Ctrl-C in that
time would otherwise print a raw KeyboardInterrupt traceback. Nothing is running yet, so there is
nothing to clean up."""

from __future__ import annotations

import signal
import sys


def main() -> None:
    try:
        from harness.cli import main as run
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        raise SystemExit(130) from None
    try:
        run()
    finally:
        # the command is over and has said how it ended: a Ctrl-C now could only break the
        # interpreter's exit handlers (urllib3's pool finalizers) with a traceback
        signal.signal(signal.SIGINT, signal.SIG_IGN)


if __name__ == "__main__":
    main()
