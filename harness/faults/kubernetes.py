"""Kubernetes faults: the deployed manifests drift to a broken version, in the cluster AND in the repo.

On a cluster the broken state is what the manifests say, so the fault rewrites the learner's
workspace copy of the stack too: re-applying "the repo" must not undo the fault by accident,
the learner has to find and fix what is wrong in the files, as on a real team.
"""

from __future__ import annotations

import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import field_validator

from harness.errors import BreakfixError
from harness.faults import Fault, FaultContext, FaultParams, register
from harness.validation import outside_problem


class ManifestDriftParams(FaultParams):
    # stack manifest (relative to the scenario directory, e.g. stack/manifests/api.yaml) ->
    # the broken file that replaces it (relative to the scenario directory), or null: the file
    # and every object in it are removed
    replace: dict[str, str | None]

    @field_validator("replace")
    @classmethod
    def _yaml_files(cls, value: dict[str, str | None]) -> dict[str, str | None]:
        if not value:
            raise ValueError("name at least one manifest to replace")
        for target, source in value.items():
            for name in (target, source):
                if name is not None and (not name.endswith(".yaml") or outside_problem(name) is not None):
                    raise ValueError(f"{name!r}: must be a relative path to a .yaml file inside the scenario")
        return value


def _workspace(ctx: FaultContext) -> Path:
    if ctx.workspace is None:
        raise BreakfixError("kube-manifest-drift needs the instance workspace (FaultContext.workspace)")
    return ctx.workspace


@register
class ManifestDrift(Fault[ManifestDriftParams]):
    kind = "kube-manifest-drift"

    def _kube(self, ctx: FaultContext):  # type: ignore[no-untyped-def]
        from harness.runtime.kubernetes.api import Kube

        return Kube(ctx.instance)

    def inject(self, ctx: FaultContext) -> None:
        from harness.runtime.kubernetes.manifests import load_manifests

        params = self.params
        workspace, kube = _workspace(ctx), self._kube(ctx)
        for target, source in params.replace.items():
            destination = workspace / target
            if source is None:
                if destination.exists():
                    delete_objects(kube, load_manifests_file(destination))
                    destination.unlink()
                continue
            broken = ctx.entry_dir / source
            if not broken.is_file():
                raise BreakfixError(f"{self.kind}: {broken} not found")
            shutil.copyfile(broken, destination)
        kube.apply(load_manifests(workspace / Path(next(iter(params.replace))).parent))
        ctx.save(self.key, {"injected": True})

    def revert(self, ctx: FaultContext) -> None:
        """Put the healthy files back in the workspace and apply them (teardown deletes the namespace anyway)."""
        from harness.runtime.kubernetes.manifests import load_manifests

        params = self.params
        if ctx.load(self.key) is None:
            return
        workspace = _workspace(ctx)
        for target in params.replace:
            shutil.copyfile(ctx.entry_dir / target, workspace / target)
        kube = self._kube(ctx)
        if kube.namespace_exists():
            kube.apply(load_manifests(workspace / Path(next(iter(params.replace))).parent))
        ctx.forget(self.key)


def load_manifests_file(path: Path) -> list[dict[str, Any]]:
    import yaml

    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def delete_objects(kube, documents: list[dict[str, Any]]) -> None:  # type: ignore[no-untyped-def]
    from kubernetes.client.exceptions import ApiException

    for document in documents:
        resource = kube.dynamic.resources.get(api_version=document["apiVersion"], kind=document["kind"])
        try:
            resource.delete(name=document["metadata"]["name"], namespace=kube.namespace if resource.namespaced else None)
        except ApiException as exc:
            if exc.status != 404:
                raise


@dataclass
class DrainResult:
    """What a drain did: `kubectl drain` semantics, limited to one instance's namespace."""

    node: str
    evicted: list[str] = field(default_factory=list)
    refusals: int = 0  # evictions the API refused (429): a PodDisruptionBudget said "not now"
    completed: bool = False
    seconds: float = 0.0
    # given a serving path: how long each evicted pod went on answering it after its eviction was accepted
    served: dict[str, float] = field(default_factory=dict)


SERVING_POLL_SECONDS = 0.2
LIVE_PHASES = ("Pending", "Running")  # a pod in any other phase has ended: nothing to evict, nothing serving


def set_unschedulable(kube: Any, node: str, unschedulable: bool) -> None:
    kube.core.patch_node(node, {"spec": {"unschedulable": unschedulable}})


def pod_answers(kube: Any, pod: Any, path: str, timeout: float = 2.0) -> bool:
    """Whether the pod itself answers `path` with a 2xx on its container port named `http` (else the first one
    declared), asked through the API server's pod proxy: past every Service and kube-proxy, so whether a
    terminating pod still serves, on any provider."""
    declared = [port for container in pod.spec.containers for port in container.ports or []]
    ports = [port.container_port for port in sorted(declared, key=lambda port: port.name != "http")]
    try:
        kube.core.connect_get_namespaced_pod_proxy_with_path(
            f"{pod.metadata.name}:{ports[0] if ports else 80}", kube.namespace, path.lstrip("/"), _request_timeout=timeout)
    except Exception:  # the proxy's 502/503 once nothing listens, the app's own error status, or a timeout
        return False
    return True


def _watch_serving(kube: Any, pod: Any, path: str, served: dict[str, float], until: float) -> threading.Thread:
    """Measure, in the background, how long the just-evicted `pod` goes on answering `path`: the last answer
    counts, so one lost poll does not cut a pod's time short; ends when the pod is gone or at `until`."""
    from kubernetes.client.exceptions import ApiException

    evicted_at = time.monotonic()
    name = pod.metadata.name
    served[name] = 0.0

    def watch() -> None:
        while time.monotonic() < until:
            if pod_answers(kube, pod, path):
                served[name] = time.monotonic() - evicted_at
            else:
                try:
                    if kube.core.read_namespaced_pod(name, kube.namespace).status.phase not in LIVE_PHASES:
                        return
                except ApiException as exc:
                    if exc.status == 404:
                        return  # gone: it answers nothing ever again
            time.sleep(SERVING_POLL_SECONDS)

    watcher = threading.Thread(target=watch, name=f"serving-{name}", daemon=True)
    watcher.start()
    return watcher


def drain_node(kube: Any, node: str, *, notice: float, interval: float = 1.0, serving_path: str | None = None) -> DrainResult:
    """Cordon `node` and evict the instance's pods on it through the Eviction API, within `notice` seconds.

    Evictions honour PodDisruptionBudgets: a refused one is retried until the notice runs out,
    as `kubectl drain` does; a spot node then disappears whether or not the drain finished.
    Only the instance's namespace is touched: other namespaces share the cluster. With a
    `serving_path`, `served` says how long each evicted pod went on answering it (pod_answers).
    """
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    result = DrainResult(node)
    started = time.monotonic()
    watchers: list[threading.Thread] = []
    set_unschedulable(kube, node, True)
    selector = f"spec.nodeName={node}"
    while time.monotonic() - started < notice:
        pods = [p for p in kube.core.list_namespaced_pod(kube.namespace, field_selector=selector).items if p.status.phase in LIVE_PHASES]
        if not pods:
            result.completed = True
            break
        for pod in pods:
            if pod.metadata.deletion_timestamp is not None:
                continue  # already going: wait for it to be gone
            body = client.V1Eviction(metadata=client.V1ObjectMeta(name=pod.metadata.name, namespace=kube.namespace))
            try:
                kube.core.create_namespaced_pod_eviction(pod.metadata.name, kube.namespace, body)
                result.evicted.append(pod.metadata.name)
                if serving_path is not None:
                    watchers.append(_watch_serving(kube, pod, serving_path, result.served, until=started + notice))
            except ApiException as exc:
                if exc.status == 429:
                    result.refusals += 1
                elif exc.status != 404:
                    raise
        time.sleep(interval)
    result.seconds = time.monotonic() - started
    for watcher in watchers:  # each ends once its pod is gone, which a completed drain has waited for
        watcher.join(max(started + notice - time.monotonic(), 0) + 5)
    return result
