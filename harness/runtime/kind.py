"""The old import path of the Kubernetes runtime, kept while its callers move to harness.runtime.kubernetes.

The runtime is now a package (harness/runtime/kubernetes/: one runtime, providers kind, offline
and existing). This module only re-exports the names the lifecycle, the grading plugin, the
faults and the catalog imported from here; new code imports the package's modules.
"""

from __future__ import annotations

from typing import Any

from harness.runtime.kubernetes.api import Kube
from harness.runtime.kubernetes.common import (
    CLUSTER,
    INSTALL,
    INSTANCE_LABEL,
    LAST_APPLIED,
    POOL_LABEL,
    infra_dir,
    kubeconfig_path,
    namespace_for,
)
from harness.runtime.kubernetes.images import WORKLOAD_IMAGE, ensure_workload_image, image_problems
from harness.runtime.kubernetes.kubelet import kubelet_settings, merge_kubelet_config
from harness.runtime.kubernetes.manifests import images_of, load_manifests, schema_problems, validate_stack
from harness.runtime.kubernetes.objects import (
    Eviction,
    evicted_pods,
    evictions,
    parse_quantity,
    pod_ready,
    qos_class,
    rolled_out,
    wait_for,
)
from harness.runtime.kubernetes.providers.kind import MIN_DOCKER_MEMORY, engine_problem, tool_problems
from harness.runtime.kubernetes.runtime import KubernetesRuntime as KindRuntime

__all__ = [
    "CLUSTER", "INSTALL", "INSTANCE_LABEL", "LAST_APPLIED", "MIN_DOCKER_MEMORY", "POOL_LABEL", "WORKLOAD_IMAGE", "Eviction",
    "KindRuntime", "Kube", "engine_problem", "ensure_workload_image", "evicted_pods", "evictions",
    "image_problems", "images_of", "infra_dir", "kubeconfig_path", "kubelet_settings", "load_manifests", "merge_kubelet_config",
    "namespace_for", "parse_quantity", "pod_ready", "qos_class", "rolled_out", "schema_problems", "tool_problems",
    "validate_stack", "wait_for",
]


def __getattr__(name: str) -> Any:
    """CONTEXT was a constant ("kind-breakfix"); the context is now the current one of the harness's kubeconfig."""
    if name == "CONTEXT":
        from harness.runtime.kubernetes.common import current_context

        return current_context()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
