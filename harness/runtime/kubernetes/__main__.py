"""`python -m harness.runtime.kubernetes create|delete|status|build|images`: the shared cluster, by hand.

The provider is BREAKFIX_K8S_PROVIDER's, else kind where its binary is, else offline. The
kubeconfig is the harness's (the state dir's kubernetes/kubeconfig), printed after create.
`images` builds the scenarios' workload image in the local engine (what an existing cluster is loaded from).
"""

from __future__ import annotations

import sys
import time

from harness.errors import BreakfixError
from harness.runtime.kubernetes import providers
from harness.runtime.kubernetes.common import kubeconfig_path


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "status"
    provider = providers.select()

    def progress(line: str) -> None:
        print(f"  {line}", flush=True)

    try:
        if command == "create":
            problems = provider.problems()
            if problems:
                print("\n".join(f"{provider.provider}: {p}" for p in problems), file=sys.stderr)
                return 1
            started = time.monotonic()
            provider.ensure(progress, kubeconfig_path())
            print(f"{provider.provider} cluster ready ({time.monotonic() - started:.0f}s); kubeconfig: {kubeconfig_path()}")
        elif command == "delete":
            if provider.exists():
                provider.delete(progress)
            print(f"{provider.provider} cluster deleted")
        elif command == "build" and provider.provider == "offline":
            from harness.runtime.kubernetes.providers.offline import OfflineCluster

            assert isinstance(provider, OfflineCluster)
            provider.build(progress)
        elif command == "images":
            from harness.runtime.kubernetes.images import WORKLOAD_IMAGE, ensure_workload_image

            ensure_workload_image(progress)
            print(f"{WORKLOAD_IMAGE} built")
        elif command == "status":
            problems = provider.problems()
            print(f"provider {provider.provider}: {'usable' if not problems else '; '.join(problems)}; "
                  f"cluster {'running' if provider.running() else 'stopped' if provider.exists() else 'absent'}")
        else:
            print(__doc__, file=sys.stderr)
            return 2
    except BreakfixError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
