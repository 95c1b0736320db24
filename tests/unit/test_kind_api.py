"""The runtime's API calls through the real `kubernetes` client, against a recording fake API server.

No Kubernetes control plane can run here, so a small in-process HTTP server answers the
discovery documents and records every request: this proves the paths, verbs, query
parameters and content types the harness sends (server-side apply, namespace lifecycle,
evictions), which the model-level unit tests cannot.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

from harness.faults.kubernetes import drain_node
from harness.paths import content_root
from harness.runtime.kubernetes import api as kube_api
from harness.runtime.kubernetes import common, manifests

RESOURCES = {
    "/api/v1": ("v1", [("namespaces", "Namespace", False), ("pods", "Pod", True), ("services", "Service", True),
                       ("configmaps", "ConfigMap", True), ("nodes", "Node", False)]),
    "/apis/apps/v1": ("apps/v1", [("deployments", "Deployment", True)]),
    "/apis/scheduling.k8s.io/v1": ("scheduling.k8s.io/v1", [("priorityclasses", "PriorityClass", False)]),
    "/apis/policy/v1": ("policy/v1", [("poddisruptionbudgets", "PodDisruptionBudget", True)]),
}

KIND_CONTEXT = "kind-breakfix"


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    content_type: str
    body: dict | None


@dataclass
class FakeApi:
    requests: list[Request] = field(default_factory=list)
    namespace_reads_until_gone: int = 2
    evictions_refused: int = 1
    pods_on_node: list[str] = field(default_factory=lambda: ["web-1"])

    def answer(self, request: Request) -> tuple[int, dict]:
        path = request.path
        if path == "/version":
            return 200, {"major": "1", "minor": "32", "gitVersion": "v1.32.0"}
        if path == "/api":
            return 200, {"kind": "APIVersions", "versions": ["v1"]}
        if path == "/apis":
            groups = [{"name": gv.split("/")[0], "versions": [{"groupVersion": gv, "version": "v1"}],
                       "preferredVersion": {"groupVersion": gv, "version": "v1"}} for gv, _ in list(RESOURCES.values())[1:]]
            return 200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}
        if path in RESOURCES:
            group_version, resources = RESOURCES[path]
            return 200, {"kind": "APIResourceList", "groupVersion": group_version, "resources": [
                {"name": name, "singularName": "", "namespaced": namespaced, "kind": kind_, "verbs": ["get", "list", "patch", "delete"]}
                for name, kind_, namespaced in resources]}
        if request.method == "PATCH":
            return 200, request.body or {}
        if request.method == "POST" and path.endswith("/eviction"):
            if self.evictions_refused:
                self.evictions_refused -= 1
                return 429, {"kind": "Status", "code": 429, "reason": "TooManyRequests", "message": "Cannot evict pod as it would violate the pod's disruption budget."}
            self.pods_on_node.remove(path.split("/")[-2])
            return 201, {"kind": "Status", "code": 201}
        if request.method == "POST":
            return 201, request.body or {}
        if request.method == "DELETE":
            return 200, {"kind": "Status", "code": 200}
        if request.method == "GET" and path.startswith("/api/v1/namespaces/") and path.count("/") == 4:
            self.namespace_reads_until_gone -= 1
            if self.namespace_reads_until_gone < 0:
                return 404, {"kind": "Status", "code": 404, "reason": "NotFound"}
            return 200, {"kind": "Namespace", "apiVersion": "v1", "metadata": {"name": path.rsplit("/", 1)[-1]}}
        if request.method == "GET" and path.endswith("/pods"):
            items = [{"metadata": {"name": name, "uid": name}, "status": {"phase": "Running"}} for name in self.pods_on_node]
            return 200, {"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": items}
        return 404, {"kind": "Status", "code": 404, "reason": "NotFound"}


@pytest.fixture
def api(isolated_state: Path) -> Iterator[FakeApi]:
    fake = FakeApi()

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            request = Request(self.command, parts.path, parse_qs(parts.query), self.headers.get("Content-Type", ""),
                              json.loads(raw) if raw else None)
            fake.requests.append(request)
            status, body = fake.answer(request)
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PATCH = do_DELETE = _handle

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    kubeconfig = common.kubeconfig_path()
    kubeconfig.parent.mkdir(parents=True, exist_ok=True)
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": KIND_CONTEXT,
        "clusters": [{"name": KIND_CONTEXT, "cluster": {"server": f"http://127.0.0.1:{server.server_port}"}}],
        "contexts": [{"name": KIND_CONTEXT, "context": {"cluster": KIND_CONTEXT, "user": KIND_CONTEXT}}],
        "users": [{"name": KIND_CONTEXT, "user": {"token": "test"}}],
    }))
    yield fake
    server.shutdown()
    server.server_close()


def test_apply_is_server_side_with_one_field_manager_into_the_instance_namespace(api: FakeApi) -> None:
    kube = kube_api.Kube("pod-evictions")
    kube.create_namespace()
    kube.apply(manifests.load_manifests(content_root() / "scenarios" / "pod-evictions" / "stack" / "manifests"))
    created = next(r for r in api.requests if r.method == "POST")
    assert created.path == "/api/v1/namespaces"
    assert created.body["metadata"] == {"name": "bf-pod-evictions", "labels": {"breakfix.instance": "pod-evictions"}}
    patches = [r for r in api.requests if r.method == "PATCH"]
    assert [r.path for r in patches] == [
        "/apis/scheduling.k8s.io/v1/priorityclasses/bf-pod-evictions-batch-reports",
        "/apis/scheduling.k8s.io/v1/priorityclasses/bf-pod-evictions-orders-api-critical",
        "/apis/apps/v1/namespaces/bf-pod-evictions/deployments/orders-api",
        "/api/v1/namespaces/bf-pod-evictions/services/orders-api",
        "/apis/apps/v1/namespaces/bf-pod-evictions/deployments/report-builder",
        "/apis/apps/v1/namespaces/bf-pod-evictions/deployments/price-cache",
    ]
    for request in patches:
        assert request.content_type == "application/apply-patch+yaml"
        assert request.query["fieldManager"] == ["breakfix"] and request.query["force"][0].lower() == "true"
        assert request.body["metadata"]["labels"]["breakfix.instance"] == "pod-evictions"
        assert common.LAST_APPLIED in request.body["metadata"]["annotations"]


def test_namespace_teardown_deletes_in_the_foreground_and_waits_for_the_404(api: FakeApi, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("harness.timing.time.sleep", lambda _: None)
    kube_api.Kube("spot-interruption").delete_namespace(timeout=10)
    delete = next(r for r in api.requests if r.method == "DELETE")
    assert delete.path == "/api/v1/namespaces/bf-spot-interruption"
    assert delete.query == {"propagationPolicy": ["Foreground"]}
    reads = [r for r in api.requests if r.method == "GET" and r.path == "/api/v1/namespaces/bf-spot-interruption"]
    assert len(reads) == 3  # 200, 200, then 404: gone


def test_drain_cordons_and_evicts_through_the_eviction_api_retrying_a_budget_refusal(api: FakeApi) -> None:
    result = drain_node(kube_api.Kube("spot-interruption"), "breakfix-worker2", notice=10, interval=0)
    cordon = next(r for r in api.requests if r.method == "PATCH")
    assert cordon.path == "/api/v1/nodes/breakfix-worker2" and cordon.body == {"spec": {"unschedulable": True}}
    evictions = [r for r in api.requests if r.path.endswith("/eviction")]
    assert [r.path for r in evictions] == ["/api/v1/namespaces/bf-spot-interruption/pods/web-1/eviction"] * 2
    assert evictions[0].body["metadata"] == {"name": "web-1", "namespace": "bf-spot-interruption"}
    lists = [r for r in api.requests if r.path == "/api/v1/namespaces/bf-spot-interruption/pods"]
    assert all(r.query["fieldSelector"] == ["spec.nodeName=breakfix-worker2"] for r in lists)
    assert result.completed and result.refusals == 1 and result.evicted == ["web-1"]
