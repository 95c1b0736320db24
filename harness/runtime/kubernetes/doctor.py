"""`breakfix doctor` for Kubernetes: which provider would run the cluster, which could, and why not.

Said before anything is built or created: a provider's problems (tools, root, engine), whether the
offline binaries are built yet, whether a cluster is up, and whether the provider's cluster has
what today's scenarios need (nodes, labels, taints, the workers' memory budget).
"""

from __future__ import annotations

import shutil

from harness.errors import BreakfixError
from harness.registry import Finding
from harness.runtime.kubernetes import providers
from harness.runtime.kubernetes.cluster import DEFAULT_NEEDS
from harness.runtime.kubernetes.common import PROVIDER_ENV

REQUIREMENT = "kind"


def findings() -> list[Finding]:
    chosen = providers.chosen()
    found = []
    for name in providers.NAMES:
        if name == "existing" and chosen != "existing":
            found.append(Finding(REQUIREMENT, "provider existing", True, f"not chosen (set {PROVIDER_ENV}=existing to use your kubeconfig's context)"))
            continue
        try:
            provider = providers.get(name)
            problems = provider.problems()
            if not problems:
                from harness.runtime.kubernetes.runtime import needs_problems

                problems = needs_problems(provider, DEFAULT_NEEDS)
        except BreakfixError as exc:
            problems = [str(exc)]
        mark = "chosen" if name == chosen else "available" if not problems else "not usable"
        # only the chosen provider's problems stop a scenario; the others are information
        found.append(Finding(REQUIREMENT, f"provider {name} ({mark})", name != chosen or not problems,
                             "; ".join(problems) or _ready_text(name, provider)))
    kubectl = shutil.which("kubectl")
    if kubectl is None and chosen == "offline":
        from harness.runtime.kubernetes.providers.offline import bin_dir

        built = bin_dir() / "kubectl"
        found.append(Finding(REQUIREMENT, "kubectl", True, f"{built} (built with the offline binaries)" if built.is_file()
                             else "not on PATH: the offline build makes one (scripts/k8s-offline.sh)"))
    else:
        found.append(Finding(REQUIREMENT, "kubectl", kubectl is not None, kubectl or "kubectl not on PATH (https://kubernetes.io/docs/tasks/tools/)"))
    return found


def _ready_text(name: str, provider: providers.ClusterProvider) -> str:
    up = "cluster up" if provider.running() else "cluster stopped: the next start recreates it" if provider.exists() \
        else "no cluster yet: the first start creates it"
    if name == "offline":
        from harness.runtime.kubernetes.providers.offline import K8S_VERSION, OfflineCluster, bin_dir

        assert isinstance(provider, OfflineCluster)
        built = f"Kubernetes {K8S_VERSION} built in {bin_dir()}" if provider.binaries_built() else \
            f"Kubernetes {K8S_VERSION} not built yet: the first start builds it from the Go module proxy (cold: tens of minutes)"
        return f"{built}; {up}"
    return up
