"""memory-hog fault: hold `size` bytes resident for `seconds`, inside the target's own container.

Sent as `python3 -c` through the engine (the container has no bind mount of this package).
usage: memory_hog.py SIZE_BYTES SECONDS TAG (the tag only marks the command line for revert)
"""

import sys
import time

held = b"\x01" * int(sys.argv[1])  # a filled buffer: every page is touched, so it is resident
time.sleep(float(sys.argv[2]))
