"""Print the 10 client addresses with the most valid lines in an access log.

usage: python3 top_ips.py ACCESS_LOG       (see README.md for the full contract)
"""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    raise NotImplementedError("top_ips: your code here")


if __name__ == "__main__":
    sys.exit(main(sys.argv))
