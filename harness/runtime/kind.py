"""Kind runtime: one reusable kind cluster ("breakfix"), one namespace per scenario instance.

The cluster is created once (that takes what kind takes, with its progress shown) and reused;
starting a scenario on it only creates a labelled namespace and applies the stack's manifests.
The harness talks to the API with the `kubernetes` client; the learner gets a kubeconfig file
and a namespace to use with `kubectl`. Images are never pulled: the locally built base image is
loaded into the nodes with `kind load docker-image`.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path
from typing import Any

import yaml

from harness.errors import BreakfixError
from harness.paths import content_root, state_dir

CLUSTER = "breakfix"
CONTEXT = f"kind-{CLUSTER}"
INSTANCE_LABEL = "breakfix.instance"
FIELD_MANAGER = "breakfix"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
POOL_LABEL = "breakfix.dev/pool"
KUBERNETES_SCHEMA_VERSION = "1.32"  # kubectl here and kind's default node image
MIN_KIND = (0, 20)
MIN_DOCKER_MEMORY = 6 * 1024**3  # 3 nodes + two workers that may each grow to their 1.5 GiB budget
INSTALL = {
    "kind": "kind not found: install from https://kind.sigs.k8s.io/docs/user/quick-start/#installation "
    "(a single binary: put it on PATH), then `breakfix doctor`",
    "kubectl": "kubectl not found: install from https://kubernetes.io/docs/tasks/tools/ "
    "(or `apt-get install kubectl` from the Kubernetes apt repository)",
    "docker": "docker CLI not found: `apt-get install docker.io` (kind runs its nodes as containers)",
}
Progress = Callable[[str], None]


def infra_dir() -> Path:
    return content_root() / "infra" / "kind"


def kubeconfig_path() -> Path:
    """The harness's own kubeconfig: `kind create` must not rewrite the user's ~/.kube/config."""
    return state_dir() / "kind" / "kubeconfig"


def namespace_for(instance: str) -> str:
    return f"bf-{instance}"


# -- offline: manifests, kubelet settings, QoS, events (unit-tested without a cluster) ----------


def load_manifests(directory: Path) -> list[dict[str, Any]]:
    """Every document of every *.yaml under `directory`, in file-name order (numbered files apply in order)."""
    documents: list[dict[str, Any]] = []
    for path in sorted(directory.glob("*.yaml")):
        try:
            loaded = list(yaml.safe_load_all(path.read_text()))
        except yaml.YAMLError as exc:
            raise BreakfixError(f"{path}: invalid YAML: {exc}") from None
        for index, document in enumerate(loaded):
            if document is None:
                continue
            if not isinstance(document, dict) or "kind" not in document or "apiVersion" not in document:
                raise BreakfixError(f"{path}: document {index + 1} is not a Kubernetes object (no kind/apiVersion)")
            documents.append(document)
    if not documents:
        raise BreakfixError(f"{directory}: no Kubernetes manifests (*.yaml)")
    return documents


@cache
def _validator(kind: str, api_version: str, version: str) -> Any:
    """One compiled validator per object type: loading the shared definitions is the slow part."""
    import jsonschema
    import kubernetes_validate
    from kubernetes_validate.utils import schema_contents
    from referencing import Registry, Resource

    group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)  # apps/v1 -> apps-v1, as the package names files
    folder = f"kubernetes-json-schema/v{version}.0-local-strict"
    try:
        schema = schema_contents(f"{folder}/{kind.lower()}-{group_version}.json", version)
    except FileNotFoundError:
        raise kubernetes_validate.SchemaNotFoundError(kind=kind, version=version, api_version=api_version) from None
    registry = Resource.from_contents(schema) @ (Resource.from_contents(_definitions(folder, version)) @ Registry())
    return jsonschema.Draft202012Validator(schema, registry=registry)


@cache
def _definitions(folder: str, version: str) -> Any:
    from kubernetes_validate.utils import schema_contents

    return schema_contents(f"{folder}/_definitions.json", version)


def schema_problems(documents: Iterable[dict[str, Any]], where: str, version: str = KUBERNETES_SCHEMA_VERSION) -> list[str]:
    """Validate against the Kubernetes OpenAPI schemas shipped by kubernetes-validate: no cluster, no network.

    Strict schemas: an unknown field (a typo such as `requets`) is an error, as `kubectl apply` makes it.
    """
    import kubernetes_validate

    problems = []
    for document in documents:
        name = f"{document.get('kind')}/{(document.get('metadata') or {}).get('name', '?')}"
        try:
            validator = _validator(str(document.get("kind")), str(document.get("apiVersion")), version)
        except kubernetes_validate.SchemaNotFoundError as exc:
            problems.append(f"{where}: {name}: {exc.message}")
            continue
        for error in sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.path))):
            path = ".".join(str(part) for part in error.path) or "(top level)"
            problems.append(f"{where}: {name}: {path}: {error.message}")
        if (document.get("metadata") or {}).get("namespace"):
            problems.append(f"{where}: {name}: metadata.namespace must be left out: each instance gets its own namespace")
    return problems


def validate_stack(directory: Path) -> None:
    """The catalog's check of a manifests stack: loads, and every object matches its schema."""
    problems = schema_problems(load_manifests(directory), str(directory))
    if problems:
        raise BreakfixError("invalid Kubernetes manifests:\n  - " + "\n  - ".join(problems))


def images_of(documents: Iterable[dict[str, Any]]) -> set[str]:
    """Every container image a set of manifests runs: these are loaded into the nodes, never pulled."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key in ("containers", "initContainers"):
                for container in node.get(key) or []:
                    if isinstance(container, dict) and container.get("image"):
                        found.add(container["image"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    for document in documents:
        walk(document)
    return found


def parse_quantity(value: str | float) -> float:
    from kubernetes.utils import parse_quantity as parse

    return float(parse(value))


def qos_class(pod_spec: dict[str, Any]) -> str:
    """The QoS class Kubernetes gives a pod spec (same rules as the API server's, for cpu and memory)."""
    containers = pod_spec.get("containers") or []
    requests_any = False
    guaranteed = bool(containers)
    for container in containers:
        resources = container.get("resources") or {}
        requests, limits = resources.get("requests") or {}, resources.get("limits") or {}
        for resource in ("cpu", "memory"):
            limit = limits.get(resource)
            request = requests.get(resource, limit)  # a limit alone defaults the request to it
            if request is not None or limit is not None:
                requests_any = True
            if limit is None or request is None or parse_quantity(request) != parse_quantity(limit):
                guaranteed = False
    if guaranteed:
        return "Guaranteed"
    return "Burstable" if requests_any else "BestEffort"


def kubelet_settings(host_memory_bytes: int, fragment: dict[str, Any] | None = None) -> dict[str, Any]:
    """Our worker kubelet settings with the memory threshold computed for this host (see kubelet-worker.yaml)."""
    settings = dict(fragment or yaml.safe_load((infra_dir() / "kubelet-worker.yaml").read_text()))
    node_memory = int(parse_quantity(settings.pop("nodeMemory")))
    if host_memory_bytes <= node_memory + 512 * 1024**2:
        raise BreakfixError(f"the Docker engine has {host_memory_bytes // 1024**2} MiB: breakfix's workers need more than {node_memory // 1024**2 + 512} MiB")
    eviction = dict(settings["evictionHard"])
    eviction["memory.available"] = f"{(host_memory_bytes - node_memory) // 1024**2}Mi"
    settings["evictionHard"] = eviction
    return settings


def merge_kubelet_config(current: dict[str, Any], ours: dict[str, Any]) -> dict[str, Any]:
    """kubeadm's kubelet config with our keys laid over it; apiVersion/kind stay kubeadm's."""
    merged = dict(current)
    merged.update({key: value for key, value in ours.items() if key not in ("apiVersion", "kind")})
    return merged


def pod_ready(pod: Any) -> bool:
    """A V1Pod that is Running and whose Ready condition is True (deleting pods are not ready)."""
    if pod.metadata.deletion_timestamp is not None or pod.status is None or pod.status.phase != "Running":
        return False
    return any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions or [])


def wait_for(predicate: Callable[[], Any], seconds: float, interval: float = 2.0) -> bool:
    """Poll until `predicate()` is truthy; False once `seconds` have passed (checks phrase their own failure)."""
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(interval)
    return True


@dataclass(frozen=True)
class Eviction:
    pod: str
    resource: str  # "memory", "ephemeral-storage", ... or "" when the message names none
    message: str
    at: Any  # datetime or None


EVICTION_RESOURCE = re.compile(r"low on resource: ([\w-]+(?:\.[\w-]+)*)")


def evictions(events: Iterable[Any]) -> list[Eviction]:
    """Kubelet evictions among core/v1 events (reason Evicted on a Pod), oldest first."""
    found = []
    for event in events:
        involved = event.involved_object
        if event.reason != "Evicted" or involved is None or involved.kind != "Pod":
            continue
        match = EVICTION_RESOURCE.search(event.message or "")
        at = event.last_timestamp or event.event_time or event.first_timestamp
        found.append(Eviction(involved.name, match.group(1) if match else "", event.message or "", at))
    return sorted(found, key=lambda e: (e.at is None, e.at))


def evicted_pods(pods: Iterable[Any]) -> list[str]:
    """Names of pods left in phase Failed with reason Evicted: what `kubectl get pods` shows as Evicted."""
    return [p.metadata.name for p in pods if p.status is not None and p.status.phase == "Failed" and p.status.reason == "Evicted"]


# -- the cluster ---------------------------------------------------------------------------------


def _run(command: list[str], *, timeout: float = 60, stdin: str | None = None) -> str:
    try:
        result = subprocess.run(command, check=False, capture_output=True, text=True, timeout=timeout, input=stdin)
    except FileNotFoundError:
        raise BreakfixError(INSTALL.get(command[0], f"{command[0]} not found")) from None
    except subprocess.TimeoutExpired:
        raise BreakfixError(f"`{shlex.join(command)}` did not finish within {timeout:.0f}s") from None
    if result.returncode != 0:
        raise BreakfixError(f"`{shlex.join(command)}` failed: {(result.stderr or result.stdout).strip()[-800:]}")
    return result.stdout


def version_tuple(text: str) -> tuple[int, ...]:
    match = re.search(r"v?(\d+)\.(\d+)(?:\.(\d+))?", text)
    return tuple(int(part) for part in match.groups(default="0")) if match else ()


def tool_problems() -> list[str]:
    """Binaries and their versions; each problem says how to fix it."""
    problems = [INSTALL[tool] for tool in ("docker", "kind", "kubectl") if shutil.which(tool) is None]
    if not problems:
        kind_version = version_tuple(_run(["kind", "version"], timeout=10))
        if kind_version[:2] < MIN_KIND:
            problems.append(f"kind {'.'.join(map(str, kind_version))} is too old: breakfix needs kind >= v{MIN_KIND[0]}.{MIN_KIND[1]}")
    return problems


class KindCluster:
    """The shared `breakfix` cluster: created on first use, reused by every scenario after."""

    def __init__(self, name: str = CLUSTER) -> None:
        self.name = name

    def exists(self) -> bool:
        return self.name in _run(["kind", "get", "clusters"], timeout=20).split()

    def nodes(self) -> list[str]:
        return _run(["kind", "get", "nodes", "--name", self.name], timeout=20).split()

    def workers(self) -> list[str]:
        return [node for node in self.nodes() if "control-plane" not in node]

    def export_kubeconfig(self) -> None:
        """Refresh our kubeconfig from the cluster: it may have been recreated since we last wrote it."""
        kubeconfig_path().parent.mkdir(parents=True, exist_ok=True)
        _run(["kind", "export", "kubeconfig", "--name", self.name, "--kubeconfig", str(kubeconfig_path())], timeout=30)

    def ensure(self, progress: Progress) -> None:
        if self.exists():
            self.export_kubeconfig()
            return
        kubeconfig = kubeconfig_path()
        kubeconfig.parent.mkdir(parents=True, exist_ok=True)
        progress(f"creating kind cluster {self.name} (first run only: a few minutes)")
        self._stream(["kind", "create", "cluster", "--name", self.name, "--config", str(infra_dir() / "cluster.yaml"),
                      "--kubeconfig", str(kubeconfig), "--wait", "180s"], progress)
        self.configure_workers(progress)

    def _stream(self, command: list[str], progress: Progress) -> None:
        """Run a long kind command, passing each of its progress lines on."""
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert process.stdout is not None
        tail: list[str] = []
        for line in process.stdout:
            line = line.strip()
            if line:
                tail = [*tail[-20:], line]
                progress(line)
        if process.wait() != 0:
            raise BreakfixError(f"`{shlex.join(command)}` failed:\n" + "\n".join(tail))

    def configure_workers(self, progress: Progress) -> None:
        """Our kubelet eviction/reservation settings on each worker, then a kubelet restart."""
        from harness.runtime.docker import connect

        settings = kubelet_settings(int(connect().info()["MemTotal"]))
        for node in self.workers():
            progress(f"kubelet settings on {node}")
            current = yaml.safe_load(_run(["docker", "exec", node, "cat", "/var/lib/kubelet/config.yaml"]))
            merged = yaml.safe_dump(merge_kubelet_config(current, settings), sort_keys=False)
            _run(["docker", "exec", "-i", node, "sh", "-c", "cat > /var/lib/kubelet/config.yaml"], stdin=merged)
            _run(["docker", "exec", node, "systemctl", "restart", "kubelet"])
        taint = yaml.safe_load((infra_dir() / "spot-taint.yaml").read_text())
        kubectl = ["kubectl", "--kubeconfig", str(kubeconfig_path()), "--context", CONTEXT]
        _run([*kubectl, "taint", "nodes", "-l", f"{POOL_LABEL}=spot", f"{taint['key']}={taint['value']}:{taint['effect']}", "--overwrite"])
        progress("waiting for the nodes to be Ready again")
        _run([*kubectl, "wait", "--for=condition=Ready", "nodes", "--all", "--timeout=180s"], timeout=200)

    def load_images(self, images: Iterable[str], progress: Progress) -> None:
        """`kind load` skips nodes that already hold the same image id, so this is cheap when warm."""
        for image in sorted(images):
            progress(f"loading image {image} into the nodes")
            _run(["kind", "load", "docker-image", image, "--name", self.name], timeout=600)


# -- one instance: a namespace ---------------------------------------------------------------------


class Kube:
    """The harness's API handle on one instance's namespace (also what checks and faults use)."""

    def __init__(self, instance: str) -> None:
        self.instance = instance
        self.namespace = namespace_for(instance)

    @cached_property
    def api_client(self) -> Any:
        from kubernetes import config

        path = kubeconfig_path()
        if not path.is_file():
            raise BreakfixError(f"no kubeconfig at {path}: the kind cluster has not been created; `breakfix start` creates it")
        return config.new_client_from_config(config_file=str(path), context=CONTEXT)

    @cached_property
    def core(self) -> Any:
        from kubernetes import client

        return client.CoreV1Api(self.api_client)

    @cached_property
    def apps(self) -> Any:
        from kubernetes import client

        return client.AppsV1Api(self.api_client)

    @cached_property
    def policy(self) -> Any:
        from kubernetes import client

        return client.PolicyV1Api(self.api_client)

    @cached_property
    def scheduling(self) -> Any:
        from kubernetes import client

        return client.SchedulingV1Api(self.api_client)

    @cached_property
    def dynamic(self) -> Any:
        from kubernetes import dynamic

        return dynamic.DynamicClient(self.api_client)

    def labels(self) -> dict[str, str]:
        return {INSTANCE_LABEL: self.instance}

    def apply(self, documents: Iterable[dict[str, Any]]) -> None:
        """Server-side apply, one field manager: fields a later apply leaves out are removed.

        The object also records what was applied the way `kubectl apply` does, so the learner's
        own `kubectl apply -f` of an edited file can remove fields too (a dropped nodeSelector).
        """
        for document in documents:
            body = json.loads(json.dumps(document))  # a private copy we may label
            metadata = body.setdefault("metadata", {})
            metadata.setdefault("labels", {}).update(self.labels())
            resource = self.dynamic.resources.get(api_version=body["apiVersion"], kind=body["kind"])
            namespace = self.namespace if resource.namespaced else None
            if namespace:
                metadata["namespace"] = namespace
            metadata.setdefault("annotations", {})[LAST_APPLIED] = json.dumps(body, sort_keys=True, separators=(",", ":"))
            resource.server_side_apply(body=body, name=metadata["name"], namespace=namespace,
                                       field_manager=FIELD_MANAGER, force_conflicts=True)

    def create_namespace(self) -> None:
        from kubernetes import client
        from kubernetes.client.exceptions import ApiException

        body = client.V1Namespace(metadata=client.V1ObjectMeta(name=self.namespace, labels=self.labels()))
        try:
            self.core.create_namespace(body)
        except ApiException as exc:
            if exc.status != 409:
                raise BreakfixError(f"cannot create namespace {self.namespace}: {exc.reason}") from None

    def uncordon_workers(self) -> None:
        """A drain interrupted by a hard kill leaves a worker cordoned: every scenario starts from schedulable workers."""
        for node in self.core.list_node(label_selector=POOL_LABEL).items:
            if node.spec.unschedulable:
                self.core.patch_node(node.metadata.name, {"spec": {"unschedulable": False}})

    def pods(self, selector: str = "") -> list[Any]:
        return list(self.core.list_namespaced_pod(self.namespace, label_selector=selector).items)

    def events(self) -> list[Any]:
        return list(self.core.list_namespaced_event(self.namespace).items)

    def wait_ready(self, timeout: float, progress: Progress = lambda _: None) -> None:
        """Every Deployment rolled out and available; bounded, naming what is still not ready."""
        deadline = time.monotonic() + timeout
        while True:
            waiting = [d.metadata.name for d in self.apps.list_namespaced_deployment(self.namespace).items if not rolled_out(d)]
            if not waiting:
                return
            if time.monotonic() > deadline:
                raise BreakfixError(f"not ready after {timeout:.0f}s: deployment(s) {', '.join(waiting)} "
                                    f"(see `kubectl -n {self.namespace} get pods,events`)")
            progress(f"waiting for {', '.join(waiting)}")
            time.sleep(2)

    def cluster_scoped_leftovers(self) -> list[str]:
        selector = f"{INSTANCE_LABEL}={self.instance}"
        return [f"priorityclass {p.metadata.name}" for p in self.scheduling.list_priority_class(label_selector=selector).items]

    def delete_cluster_scoped(self, names: Iterable[str] = ()) -> None:
        """PriorityClasses survive a namespace: delete ours by label, plus any named in the workspace manifests."""
        from kubernetes.client.exceptions import ApiException

        selector = f"{INSTANCE_LABEL}={self.instance}"
        wanted = {p.metadata.name for p in self.scheduling.list_priority_class(label_selector=selector).items} | set(names)
        for name in wanted:
            try:
                self.scheduling.delete_priority_class(name)
            except ApiException as exc:
                if exc.status != 404:
                    raise

    def delete_namespace(self, timeout: float = 120) -> None:
        """Delete and wait until the API no longer knows the namespace: teardown proves it is gone."""
        from kubernetes.client.exceptions import ApiException

        try:
            self.core.delete_namespace(self.namespace, propagation_policy="Foreground")
        except ApiException as exc:
            if exc.status != 404:
                raise BreakfixError(f"cannot delete namespace {self.namespace}: {exc.reason}") from None
        deadline = time.monotonic() + timeout
        while self.namespace_exists():
            if time.monotonic() > deadline:
                raise BreakfixError(f"namespace {self.namespace} still terminating after {timeout:.0f}s "
                                    f"(see `kubectl get namespace {self.namespace} -o yaml`)")
            time.sleep(1)

    def namespace_exists(self) -> bool:
        from kubernetes.client.exceptions import ApiException

        try:
            self.core.read_namespace(self.namespace)
        except ApiException as exc:
            if exc.status == 404:
                return False
            raise
        return True


def rolled_out(deployment: Any) -> bool:
    """`kubectl rollout status` semantics: the latest generation observed, all replicas updated and available."""
    spec, status = deployment.spec, deployment.status
    wanted = spec.replicas if spec.replicas is not None else 1
    return (
        (status.observed_generation or 0) >= (deployment.metadata.generation or 0)
        and (status.updated_replicas or 0) >= wanted
        and (status.available_replicas or 0) >= wanted
        and (status.replicas or 0) == (status.updated_replicas or 0)
    )


def cluster_scoped_names(documents: Iterable[dict[str, Any]]) -> list[str]:
    return [d["metadata"]["name"] for d in documents if d.get("kind") == "PriorityClass"]


def engine_problem() -> str | None:
    """What the Docker engine lacks for breakfix's kind cluster: enough memory, and cgroup v2.

    cgroup v2 gives each kind node its own cgroup namespace, so a worker's kubelet measures its
    node's memory, not the whole machine's: without it the eviction budget means nothing.
    """
    from harness.runtime.docker import connect

    try:
        info = connect(timeout=5).info()
    except BreakfixError as exc:
        return str(exc)
    total = int(info.get("MemTotal", 0))
    if total < MIN_DOCKER_MEMORY:
        return f"the Docker engine has {total / 1024**3:.1f} GiB of memory; the kind cluster needs {MIN_DOCKER_MEMORY / 1024**3:.0f} GiB"
    if str(info.get("CgroupVersion", "2")) != "2":
        return "the Docker engine runs on cgroup v1: breakfix's kind scenarios need cgroup v2 (systemd.unified_cgroup_hierarchy=1)"
    return None


class KindRuntime:
    """The Runtime the lifecycle drives for `requires: [kind]`: the stack's manifests in the instance's namespace."""

    name = "kind"

    def __init__(self, instance: str, manifests_dir: Path, *, cluster: KindCluster | None = None, ready_timeout: float = 120) -> None:
        self.instance = instance
        self.manifests_dir = manifests_dir
        self.cluster = cluster or KindCluster()
        self.kube = Kube(instance)
        self.ready_timeout = ready_timeout

    def preflight(self) -> list[str]:
        problems = tool_problems()
        if problems:
            return problems  # nothing below can run without the binaries
        engine = engine_problem()
        if engine:
            return [engine]
        try:
            documents = load_manifests(self.manifests_dir)
        except BreakfixError as exc:
            return [str(exc)]
        problems = schema_problems(documents, str(self.manifests_dir))
        problems += image_problems(images_of(documents))
        return problems

    def provision(self, progress: Progress) -> None:
        documents = load_manifests(self.manifests_dir)
        self.cluster.ensure(progress)
        if WORKLOAD_IMAGE in images_of(documents):
            ensure_workload_image(progress)
        self.cluster.load_images(images_of(documents), progress)
        self.kube.uncordon_workers()
        progress(f"namespace {self.kube.namespace}")
        self.kube.create_namespace()
        self.kube.apply(documents)
        self.kube.wait_ready(self.ready_timeout, progress)

    def teardown(self) -> None:
        if shutil.which("kind") is None or not self.cluster.exists():
            return  # no cluster, nothing of ours can exist
        self.cluster.export_kubeconfig()
        try:
            names = cluster_scoped_names(load_manifests(self.manifests_dir))
        except BreakfixError:
            names = []  # a workspace the learner left broken must not block teardown: labelled objects still go
        self.kube.delete_namespace()
        self.kube.delete_cluster_scoped(names)
        left = self.kube.cluster_scoped_leftovers()
        if left:
            raise BreakfixError(f"teardown left objects behind: {', '.join(left)}")

    def env(self) -> dict[str, str]:
        return {"KUBECONFIG": str(kubeconfig_path()), "BREAKFIX_KUBE_CONTEXT": CONTEXT, "BREAKFIX_NAMESPACE": self.kube.namespace}


WORKLOAD_IMAGE = "breakfix/kind-workloads:1"
IMAGE_HASH_LABEL = "breakfix.image.hash"


def recipe_hash(directory: Path) -> str:
    import hashlib

    digest = hashlib.sha256()
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        digest.update(path.relative_to(directory).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def ensure_workload_image(progress: Progress) -> None:
    """Build the workloads image FROM the local base image when its recipe changed (never pulls)."""
    from docker.errors import BuildError, ImageNotFound

    from harness.runtime.docker import connect

    client, recipe = connect(), infra_dir() / "workloads"
    wanted = recipe_hash(recipe)
    try:
        if client.images.get(WORKLOAD_IMAGE).labels.get(IMAGE_HASH_LABEL) == wanted:
            return
    except ImageNotFound:
        pass
    progress(f"building {WORKLOAD_IMAGE}")
    try:
        client.images.build(path=str(recipe), tag=WORKLOAD_IMAGE, pull=False, rm=True, labels={IMAGE_HASH_LABEL: wanted})
    except BuildError as exc:
        raise BreakfixError(f"building {WORKLOAD_IMAGE} failed: {exc.msg}") from None


def image_problems(images: Iterable[str]) -> list[str]:
    from docker.errors import ImageNotFound

    from harness.images import BASE_IMAGE
    from harness.runtime.docker import connect

    client = connect(timeout=5)
    problems = []
    for image in sorted(set(images) - {WORKLOAD_IMAGE} | ({BASE_IMAGE} if WORKLOAD_IMAGE in images else set())):
        try:
            client.images.get(image)
        except ImageNotFound:
            problems.append(f"image {image} is missing: run `breakfix images build` (kind nodes get local images, never pulls)")
    return problems
