"""Print the 10 client addresses with the most valid lines in an access log.

usage: python3 top_ips.py ACCESS_LOG       (see README.md for the full contract)

One pass over the file as bytes, line by line (memory bounded by the number of distinct
addresses, not by the file), a regex for the line's shape, `ipaddress` for the address (cached
per spelling: a busy log repeats the same few thousand strings), and one sort of the counts.
"""

from __future__ import annotations

import ipaddress
import re
import sys
from collections import Counter

LINE = re.compile(rb'(\S+) \S+ \S+ \[[^\]]+\] "[^"]*" \d{3} (?:\d+|-)(?: .*)?')
TOP = 10
CACHE_LIMIT = 1_000_000  # distinct spellings remembered; a log of random garbage cannot grow it forever
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_address(text: bytes) -> Address | None:
    """The address of a spelling, or None: no zone ids, no ports, no leading zeros in IPv4."""
    try:
        address = ipaddress.ip_address(text.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        return None
    # ipaddress accepts a zone (fe80::1%eth0); a zone is not a client address in a log
    return None if getattr(address, "scope_id", None) else address


def count(path: str) -> tuple[Counter[Address], int]:
    counts: Counter[Address] = Counter()
    seen: dict[bytes, Address | None] = {}
    malformed = 0
    with open(path, "rb") as stream:
        for raw in stream:
            line = raw.rstrip(b"\n").removesuffix(b"\r")
            match = LINE.fullmatch(line)
            if match is None:
                malformed += 1
                continue
            spelling = match.group(1)
            if spelling not in seen:
                if len(seen) >= CACHE_LIMIT:
                    seen.clear()
                seen[spelling] = parse_address(spelling)
            address = seen[spelling]
            if address is None:
                malformed += 1
            else:
                counts[address] += 1
    return counts, malformed


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: top_ips.py ACCESS_LOG", file=sys.stderr)
        return 2
    try:
        counts, malformed = count(argv[1])
    except OSError as exc:
        print(f"error: cannot read {argv[1]}: {exc.strerror}", file=sys.stderr)
        return 1
    top = sorted(counts.items(), key=lambda item: (-item[1], item[0].version, int(item[0])))[:TOP]
    sys.stdout.write("".join(f"{number} {address.compressed}\n" for address, number in top))
    print(f"malformed: {malformed}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
