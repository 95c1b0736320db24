"""cpu-hog fault: `workers` busy-looping processes for `seconds`, inside the target's own container.

Sent as `python3 -c` through the engine (the container has no bind mount of this package).
usage: cpu_hog.py WORKERS SECONDS TAG (the tag only marks the command line for revert)
"""

import os
import sys
import time

deadline = time.monotonic() + float(sys.argv[2])
for _ in range(int(sys.argv[1]) - 1):
    if os.fork() == 0:
        break
while time.monotonic() < deadline:
    pass
