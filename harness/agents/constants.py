"""What the agents and the host agree on: the marker strings on the agents' output and the names
they are mounted under. One copy, read by both sides: an agent imports it beside itself in the
container (as breakfix_constants), the host imports it from this package.

Standard library only, like every module of this package.
"""

from __future__ import annotations

# In-container file name of this module: every agent imports it by that name beside itself. Not
# `constants`: a learner's /work/constants.py comes first on a grader script's PYTHONPATH.
MODULE_NAME = "breakfix_constants"

# sandbox supervisor: its one report line on stderr is REPORT_TAG, the run's nonce, a space, JSON
REPORT_TAG = "\n@@breakfix-report "
SANDBOX_CONFIG_VARIABLE = "BREAKFIX_SANDBOX"  # the supervisor's config, in PID 1's (root-only) environment
# a batch of commands and a grader script's findings: a stdout line starting with the mark, then JSON
BATCH_MARK = "@@batch "
FINDINGS_MARK = "@@findings "

# chaos proxy: each toxic type and its attributes with their defaults (the host validates a fault's toxics against it)
TOXIC_ATTRIBUTES: dict[str, dict[str, float]] = {
    "latency": {"latency": 0, "jitter": 0},
    "jitter": {"jitter": 0},
    "bandwidth": {"rate": 0},
    "timeout": {"timeout": 0},
    "reset_peer": {"timeout": 0},
    "slow_close": {"delay": 0},
}
TOXIC_STREAMS = ("upstream", "downstream")
