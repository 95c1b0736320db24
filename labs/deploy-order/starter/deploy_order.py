"""Print a deployment order for a JSON plan of resources and their dependencies.

usage: python3 deploy_order.py PLAN.json      (see README.md for the full contract)
"""

from __future__ import annotations

import json
import sys


def deploy_order(resources: list[dict]) -> list[str]:
    """The resource names in deployment order (dependencies first, ties by name)."""
    raise NotImplementedError("deploy_order: your code here")


def main(argv: list[str]) -> int:
    with open(argv[1]) as stream:
        plan = json.load(stream)
    for name in deploy_order(plan["resources"]):
        print(name)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
