"""The offline provider: a real cluster of kind's shape on the host, from binaries built by scripts/k8s-offline.sh.

For a Linux machine (root) with no kind and no container registry: CI, and a user's box with no
internet. The same binaries kind would run, laid out the way kind lays out its nodes, but as host
processes: etcd, kube-apiserver, kube-controller-manager, kube-scheduler and one kube-proxy, and
per node (control plane + workers, named as kind names them) one containerd (Debian's) with its
own socket, root, runc root and CNI bridge, and one kubelet with its own root dir, cgroup root and
node IP. Every address is on a bridge interface this provider creates (10.250.0.0/24, never
loopback: the API server refuses that as its advertise address); NodePorts are served on
127.0.0.1 only; pods get no DNS server beyond this machine. `delete` stops every process,
unmounts, removes cgroups, interfaces and iptables rules it made, and proves nothing is left.

What differs from kind (README "Kubernetes clusters"): nodes share the host's kernel view, so every
kubelet measures the whole machine's memory (as kind nodes do on cgroup v1), and the three kubelets
share /var/lib/kubelet/device-plugins; there is no CoreDNS (no scenario resolves names) and no
kubeadm: the PKI is made here with openssl; kube-proxy is one process for all nodes (they share
the host's network namespace), so a "node" going away does not take its iptables rules with it.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import os
import shutil
import signal
import ssl
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from hashlib import sha256
from io import BytesIO
from pathlib import Path
from typing import IO, Any

import yaml

from harness import procs
from harness.errors import BreakfixError
from harness.paths import content_root
from harness.runtime.kubernetes import host_routes
from harness.runtime.kubernetes.cluster import Node, shape
from harness.runtime.kubernetes.common import CLUSTER, Progress, cache_root, run, stream
from harness.runtime.kubernetes.kubelet import kubelet_settings, kubelet_view_of_host_memory, merge_kubelet_config
from harness.timing import wait_until

K8S_VERSION = "v1.34.4"  # the release scripts/k8s-offline.sh builds by default (infra/k8s/go.mod)
PAUSE_IMAGE = "registry.k8s.io/pause:3.10.1"  # what kubeadm 1.34 names; containerd's sandbox_image
NODE_BRIDGE = "bfk8s0"
NODE_NET = "10.250.0"  # .10 the control plane, .11, .12 ... the workers
POD_NET = "10.244"  # 10.244.<node index>.0/24 per node, each on its own CNI bridge
CLUSTER_CIDR = "10.244.0.0/16"
SERVICE_CIDR = "10.96.0.0/16"
KUBERNETES_SERVICE_IP = "10.96.0.1"
ROOT = Path("/var/lib/breakfix/k8s")
RUN = Path("/run/breakfix/k8s")
CGROUP = Path("/sys/fs/cgroup")
RULE_COMMENT = "breakfix-k8s"
# what the kubelet (1.34) adds to the host's tables on start: a canary it watches for flushes, the
# localnet firewall, and the hint of the iptables backend it chose
KUBELET_CHAINS = {"filter": ("KUBE-FIREWALL", "KUBE-KUBELET-CANARY"), "nat": ("KUBE-KUBELET-CANARY",),
                  "mangle": ("KUBE-KUBELET-CANARY", "KUBE-IPTABLES-HINT")}
DEBIAN_TOOLS = {"containerd": "containerd", "runc": "runc", "ctr": "containerd", "conntrack": "conntrack", "iptables": "iptables"}
CNI_BIN = Path("/usr/lib/cni")


def bin_dir() -> Path:
    return cache_root() / K8S_VERSION / "bin"


def build_script() -> Path:
    return content_root() / "infra" / "k8s" / "k8s-offline.sh"


@dataclass(frozen=True)
class HostNode:
    node: Node
    index: int

    @property
    def name(self) -> str:
        return self.node.name

    @property
    def ip(self) -> str:
        return f"{NODE_NET}.{10 + self.index}"

    @property
    def pod_subnet(self) -> str:
        return f"{POD_NET}.{self.index}.0/24"

    @property
    def cni_bridge(self) -> str:
        return f"bfcni{self.index}"

    @property
    def cgroup_root(self) -> str:
        return f"/breakfix-{self.name}"

    def dir(self, cluster: Path) -> Path:
        return cluster / "nodes" / self.name

    def run_dir(self) -> Path:
        return RUN / self.name

    def socket(self) -> Path:
        return self.run_dir() / "containerd.sock"


class OfflineCluster:
    """Kind's cluster shape as host processes; state (pids, PKI, data) under /var/lib/breakfix/k8s/<name>."""

    provider = "offline"

    def __init__(self, name: str = CLUSTER) -> None:
        self.name = name
        self.dir = ROOT / name
        self.nodes = [HostNode(node, index) for index, node in enumerate(shape(name))]

    @property
    def context(self) -> str:
        return self.name

    @property
    def api_ip(self) -> str:
        return self.nodes[0].ip

    # -- what it needs -------------------------------------------------------------------------

    def problems(self) -> list[str]:
        """Why this machine cannot run the offline cluster (before anything is built or created)."""
        if not Path("/proc/self/mountinfo").is_file() or os.uname().sysname != "Linux":
            return ["the offline provider runs on Linux only (use kind, or an existing cluster)"]
        if os.geteuid() != 0:
            return ["the offline provider runs its nodes as host processes and needs root (use kind, or an existing cluster)"]
        problems = []
        if not (CGROUP / "memory").is_dir() and not (CGROUP / "cgroup.controllers").is_file():
            problems.append("no cgroup hierarchy at /sys/fs/cgroup")
        if not self.binaries_built() and shutil.which("go") is None and not Path("/usr/local/go/bin/go").is_file():
            problems.append(f"the Kubernetes binaries are not built ({bin_dir()}) and there is no Go toolchain to build them")
        missing = sorted({pkg for tool, pkg in DEBIAN_TOOLS.items() if shutil.which(tool) is None}
                         | ({"containernetworking-plugins"} if not (CNI_BIN / "bridge").is_file() else set()))
        if missing and shutil.which("apt-get") is None:
            problems.append(f"missing {', '.join(missing)} and no apt-get to install them")
        return problems

    def binaries_built(self) -> bool:
        return (bin_dir().parent / ".complete").is_file() and all(
            (bin_dir() / b).is_file() for b in ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet",
                                                 "kube-proxy", "kubectl", "etcd", "pause"))

    def build(self, progress: Progress) -> None:
        """Build (or find cached) binaries and install the Debian packages the nodes run on."""
        missing_debian = any(shutil.which(t) is None for t in DEBIAN_TOOLS) or not (CNI_BIN / "bridge").is_file()
        if self.binaries_built() and not missing_debian:
            return
        progress(f"building Kubernetes {K8S_VERSION} from the Go module proxy (cold: tens of minutes; cached after)")
        stream(["bash", str(build_script()), "--host"], progress, env={"K8S_VERSION": K8S_VERSION})

    # -- state ---------------------------------------------------------------------------------

    def _pids(self) -> dict[str, int]:
        path = self.dir / "pids.json"
        try:
            return {k: int(v) for k, v in json.loads(path.read_text()).items()}
        except (OSError, ValueError):
            return {}

    def _save_pid(self, name: str, pid: int) -> None:
        pids = self._pids()
        pids[name] = pid
        (self.dir / "pids.json").write_text(json.dumps(pids, indent=1))

    def _command(self, pid: int) -> list[bytes]:
        """The pid's command line if it names this cluster's directory or its nodes' run directory; else []."""
        command = (procs.cmdline(pid) or b"").split(b"\0")
        return command if any(str(self.dir).encode() in part or str(RUN).encode() in part for part in command) else []

    def _alive(self, pid: int) -> bool:
        """The pid runs one of our binaries (a recycled pid of someone else's process is not ours)."""
        command = self._command(pid)
        return bool(command) and (command[0].startswith(str(bin_dir()).encode()) or b"containerd" in command[0])

    def processes(self) -> dict[str, list[int]]:
        """The cluster's processes by component: its own binaries, then every process its nodes' containerds run."""
        found: dict[str, list[int]] = {}
        for pid in procs.pids():
            command = self._command(pid)
            if command:
                name = Path(command[0].decode(errors="replace")).name
                found.setdefault("containerd shims" if "shim" in name else name, []).append(pid)
        return found

    def exists(self) -> bool:
        return (self.dir / "pids.json").is_file()

    def running(self) -> bool:
        pids = self._pids()
        return bool(pids) and all(self._alive(pid) for pid in pids.values())

    def kubeconfig(self) -> Path:
        return self.dir / "kubeconfig"

    def export_kubeconfig(self, target: Path) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self.kubeconfig(), target)
        target.chmod(0o600)

    def ensure(self, progress: Progress, kubeconfig: Path) -> None:
        """Reuse a running cluster; otherwise clear what a dead one left and create it (a reboot kills the processes)."""
        if not (self.running() and self._api_ready()):
            self.build(progress)
            if self.exists():
                progress(f"cluster {self.name} is not running: clearing what is left of it")
                self.delete(progress)
            self.create(progress)
        self.export_kubeconfig(kubeconfig)

    # -- create --------------------------------------------------------------------------------

    def create(self, progress: Progress) -> None:
        started = time.monotonic()
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "pids.json").write_text("{}")  # from here on, delete() knows there is something to remove
        try:
            progress(f"network: {NODE_BRIDGE} with node addresses {self.nodes[0].ip}-{self.nodes[-1].ip}")
            self._network()
            progress("certificates and kubeconfigs")
            self._pki()
            progress("etcd")
            self._etcd()
            progress("kube-apiserver")
            self._apiserver()
            self._wait(self._api_ready, 90, "kube-apiserver did not become ready", "kube-apiserver")
            progress("kube-controller-manager, kube-scheduler")
            self._controllers()
            available = kubelet_view_of_host_memory()
            for node in self.nodes:
                progress(f"node {node.name}: containerd, kubelet")
                self._containerd(node)
                self._kubelet(node, available)
            progress("kube-proxy")
            self._kube_proxy()
            progress("waiting for the nodes to be Ready")
            self._wait(self._nodes_ready, 120, "the nodes did not become Ready", "kubelet-" + self.nodes[-1].name)
            # NodeRestriction forbids a kubelet to give itself a node-role label: the admin sets it, as kubeadm does
            self._api("PATCH", f"/api/v1/nodes/{self.nodes[0].name}",
                      {"metadata": {"labels": {"node-role.kubernetes.io/control-plane": ""}}})
            self._wait(self._default_service_account, 60, "the default service account was not created", "kube-controller-manager")
        except BaseException:
            progress(f"cluster {self.name} failed to come up: logs in {self.dir / 'logs'}")
            raise
        progress(f"cluster {self.name} ready in {time.monotonic() - started:.0f}s")

    def _network(self) -> None:
        if not Path(f"/sys/class/net/{NODE_BRIDGE}").exists():
            run(["ip", "link", "add", NODE_BRIDGE, "type", "bridge"])
        for node in self.nodes:
            run(["ip", "addr", "replace", f"{node.ip}/24", "dev", NODE_BRIDGE])
        run(["ip", "link", "set", NODE_BRIDGE, "up"])
        # Pods on different "nodes" talk through the host's routing between the CNI bridges. Docker's
        # FORWARD policy is DROP: accept pod-to-pod only (never pod-to-elsewhere), tagged to remove.
        # A cluster that died without its clean-up left them in: replaced, never doubled.
        _drop_rules(RULE_COMMENT)
        for args in (["-s", CLUSTER_CIDR, "-d", CLUSTER_CIDR], ["-s", CLUSTER_CIDR, "-d", f"{NODE_NET}.0/24"]):
            _iptables("filter", "-I", "FORWARD", *args, "-m", "comment", "--comment", RULE_COMMENT, "-j", "ACCEPT", must=True)
        Path("/proc/sys/net/ipv4/ip_forward").write_text("1")

    def _pki(self) -> None:
        pki = self.dir / "pki"
        pki.mkdir(parents=True, exist_ok=True)
        openssl = ["openssl"]
        run([*openssl, "req", "-x509", "-new", "-nodes", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
             "-keyout", str(pki / "ca.key"), "-out", str(pki / "ca.crt"), "-days", "3650", "-subj", f"/CN={self.name}-ca",
             "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign,digitalSignature"])
        sans = ",".join([f"IP:{self.api_ip}", f"IP:{KUBERNETES_SERVICE_IP}", "IP:127.0.0.1", "DNS:localhost", "DNS:kubernetes",
                         "DNS:kubernetes.default", "DNS:kubernetes.default.svc", "DNS:kubernetes.default.svc.cluster.local"])
        self._leaf("apiserver", "/CN=kube-apiserver", "serverAuth", sans)
        self._leaf("apiserver-kubelet-client", "/O=system:masters/CN=kube-apiserver-kubelet-client", "clientAuth")
        clients = {"admin": "/O=system:masters/CN=kubernetes-admin", "controller-manager": "/CN=system:kube-controller-manager",
                   "scheduler": "/CN=system:kube-scheduler", "kube-proxy": "/CN=system:kube-proxy"}
        for node in self.nodes:
            clients[f"kubelet-{node.name}"] = f"/O=system:nodes/CN=system:node:{node.name}"
            self._leaf(f"kubelet-serving-{node.name}", f"/CN={node.name}", "serverAuth", f"IP:{node.ip},DNS:{node.name}")
        for name, subject in clients.items():
            self._leaf(name, subject, "clientAuth")
            self._write_kubeconfig(self.dir / f"{name}.kubeconfig", name)
        run([*openssl, "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", str(pki / "sa.key")])
        run([*openssl, "ec", "-in", str(pki / "sa.key"), "-pubout", "-out", str(pki / "sa.pub")])
        shutil.copyfile(self.dir / "admin.kubeconfig", self.kubeconfig())

    def _leaf(self, name: str, subject: str, usage: str, sans: str = "") -> None:
        pki = self.dir / "pki"
        extensions = pki / f"{name}.ext"
        extensions.write_text(f"basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage={usage}\n"
                              + (f"subjectAltName={sans}\n" if sans else ""))
        run(["openssl", "req", "-new", "-nodes", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
             "-keyout", str(pki / f"{name}.key"), "-out", str(pki / f"{name}.csr"), "-subj", subject])
        run(["openssl", "x509", "-req", "-in", str(pki / f"{name}.csr"), "-CA", str(pki / "ca.crt"), "-CAkey", str(pki / "ca.key"),
             "-CAcreateserial", "-days", "3650", "-extfile", str(extensions), "-out", str(pki / f"{name}.crt")])

    def _write_kubeconfig(self, path: Path, user: str) -> None:
        pki = self.dir / "pki"

        def b64(file: Path) -> str:
            return base64.b64encode(file.read_bytes()).decode()

        config = {
            "apiVersion": "v1", "kind": "Config", "current-context": self.context,
            "clusters": [{"name": self.name, "cluster": {"server": f"https://{self.api_ip}:6443",
                                                         "certificate-authority-data": b64(pki / "ca.crt")}}],
            "users": [{"name": user, "user": {"client-certificate-data": b64(pki / f"{user}.crt"),
                                              "client-key-data": b64(pki / f"{user}.key")}}],
            "contexts": [{"name": self.context, "context": {"cluster": self.name, "user": user}}],
        }
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        path.chmod(0o600)

    def _spawn(self, name: str, command: list[str]) -> None:
        """A cluster process outlives the breakfix command that started it: own session, output to its log file."""
        logs = self.dir / "logs"
        logs.mkdir(exist_ok=True)
        with open(logs / f"{name}.log", "ab") as log:
            process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                       start_new_session=True, cwd=self.dir,
                                       env={"PATH": f"{bin_dir()}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                                            "HOME": str(self.dir)})
        self._save_pid(name, process.pid)

    def _etcd(self) -> None:
        ip = self.api_ip
        self._spawn("etcd", [str(bin_dir() / "etcd"), "--name", "control-plane", "--data-dir", str(self.dir / "etcd"),
                             "--listen-client-urls", f"http://{ip}:2379", "--advertise-client-urls", f"http://{ip}:2379",
                             "--listen-peer-urls", f"http://{ip}:2380", "--initial-advertise-peer-urls", f"http://{ip}:2380",
                             "--initial-cluster", f"control-plane=http://{ip}:2380", "--listen-metrics-urls", f"http://{ip}:2381",
                             "--quota-backend-bytes", str(2 * 1024**3), "--snapshot-count", "10000", "--log-level", "warn"])

    def _apiserver(self) -> None:
        pki, ip = self.dir / "pki", self.api_ip
        self._spawn("kube-apiserver", [
            str(bin_dir() / "kube-apiserver"), f"--advertise-address={ip}", f"--bind-address={ip}", "--secure-port=6443",
            f"--etcd-servers=http://{ip}:2379", f"--service-cluster-ip-range={SERVICE_CIDR}",
            f"--client-ca-file={pki / 'ca.crt'}", f"--tls-cert-file={pki / 'apiserver.crt'}",
            f"--tls-private-key-file={pki / 'apiserver.key'}",
            f"--kubelet-client-certificate={pki / 'apiserver-kubelet-client.crt'}",
            f"--kubelet-client-key={pki / 'apiserver-kubelet-client.key'}",
            f"--kubelet-certificate-authority={pki / 'ca.crt'}",
            # node names are not in any DNS: resolving them would send queries off this machine
            "--kubelet-preferred-address-types=InternalIP",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-key-file={pki / 'sa.pub'}", f"--service-account-signing-key-file={pki / 'sa.key'}",
            "--authorization-mode=Node,RBAC", "--enable-admission-plugins=NodeRestriction", "--allow-privileged=true",
            "--profiling=false", "--event-ttl=2h", "--v=1"])

    def _controllers(self) -> None:
        pki, ip = self.dir / "pki", self.api_ip
        self._spawn("kube-controller-manager", [
            str(bin_dir() / "kube-controller-manager"), f"--kubeconfig={self.dir / 'controller-manager.kubeconfig'}",
            f"--authentication-kubeconfig={self.dir / 'controller-manager.kubeconfig'}",
            f"--authorization-kubeconfig={self.dir / 'controller-manager.kubeconfig'}",
            f"--bind-address={ip}", "--leader-elect=false", "--use-service-account-credentials=true",
            f"--service-account-private-key-file={pki / 'sa.key'}", f"--root-ca-file={pki / 'ca.crt'}",
            f"--cluster-signing-cert-file={pki / 'ca.crt'}", f"--cluster-signing-key-file={pki / 'ca.key'}",
            f"--cluster-cidr={CLUSTER_CIDR}", f"--service-cluster-ip-range={SERVICE_CIDR}", "--allocate-node-cidrs=false",
            "--profiling=false", "--v=1"])
        self._spawn("kube-scheduler", [
            str(bin_dir() / "kube-scheduler"), f"--kubeconfig={self.dir / 'scheduler.kubeconfig'}",
            f"--authentication-kubeconfig={self.dir / 'scheduler.kubeconfig'}",
            f"--authorization-kubeconfig={self.dir / 'scheduler.kubeconfig'}",
            f"--bind-address={ip}", "--leader-elect=false", "--profiling=false", "--v=1"])

    def _containerd(self, node: HostNode) -> None:
        home, state = node.dir(self.dir), node.run_dir()
        (home / "cni").mkdir(parents=True, exist_ok=True)
        state.mkdir(parents=True, exist_ok=True)
        (home / "cni" / "10-bridge.conflist").write_text(json.dumps({
            "cniVersion": "0.4.0", "name": f"bf-{node.name}",
            "plugins": [{"type": "bridge", "bridge": node.cni_bridge, "isGateway": True, "ipMasq": False, "hairpinMode": True,
                         "ipam": {"type": "host-local", "ranges": [[{"subnet": node.pod_subnet}]],
                                  "routes": [{"dst": CLUSTER_CIDR}, {"dst": SERVICE_CIDR}, {"dst": f"{NODE_NET}.0/24"}],
                                  "dataDir": str(home / "cni-ipam")}},
                        {"type": "portmap", "capabilities": {"portMappings": True}}],
        }, indent=1))
        # restrict_oom_score_adj: this sandbox lacks CAP_SYS_RESOURCE, so runc cannot set the negative
        # oom_score_adj the kubelet asks for (pause -998, Guaranteed -997) and every pod would fail;
        # the kernel's OOM order by QoS is lost, the kubelet's eviction ranking is not.
        config = f"""version = 2
root = "{home / 'containerd'}"
state = "{state / 'containerd'}"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
                    "io.containerd.snapshotter.v1.devmapper", "io.containerd.internal.v1.tracing"]
[grpc]
  address = "{node.socket()}"
[ttrpc]
  address = "{state / 'containerd.sock.ttrpc'}"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "{home / 'opt'}"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{PAUSE_IMAGE}"
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  stream_server_address = "127.0.0.1"
  enable_cdi = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "{state / 'runc'}"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "{CNI_BIN}"
    conf_dir = "{home / 'cni'}"
"""
        (home / "containerd.toml").write_text(config)
        self._spawn(f"containerd-{node.name}", [shutil.which("containerd") or "containerd", "--config", str(home / "containerd.toml")])
        self._wait(lambda: node.socket().exists(), 30, f"containerd of {node.name} did not start", f"containerd-{node.name}")
        self._import_pause(node)

    def _import_pause(self, node: HostNode) -> None:
        """The pause image from our static build, as a `docker save` archive (the format ctr imports by tag)."""
        self._ctr(node, ["images", "import", "-"], stdin=_pause_archive(bin_dir() / "pause"))

    def _ctr(self, node: HostNode, args: list[str], stdin: bytes | None = None, timeout: float = 300) -> str:
        result = subprocess.run(check=False, args=["ctr", "--address", str(node.socket()), "--namespace", "k8s.io", *args],
                                input=stdin, capture_output=True, timeout=timeout)
        if result.returncode != 0:
            raise BreakfixError(f"ctr {' '.join(args[:2])} on {node.name} failed: {result.stderr.decode(errors='replace').strip()[-500:]}")
        return result.stdout.decode(errors="replace")

    def _kubelet(self, node: HostNode, available: int) -> None:
        home, pki = node.dir(self.dir), self.dir / "pki"
        for controller in _cgroup_controllers():
            (CGROUP / controller / node.cgroup_root.lstrip("/")).mkdir(exist_ok=True)
        (home / "resolv.conf").write_text("# breakfix: pods resolve no names (no query may leave this machine)\n")
        config: dict[str, Any] = {
            "apiVersion": "kubelet.config.k8s.io/v1beta1", "kind": "KubeletConfiguration",
            "address": node.ip, "port": 10250, "readOnlyPort": 0, "healthzBindAddress": node.ip, "healthzPort": 10248,
            "tlsCertFile": str(pki / f"kubelet-serving-{node.name}.crt"),
            "tlsPrivateKeyFile": str(pki / f"kubelet-serving-{node.name}.key"),
            "authentication": {"anonymous": {"enabled": False}, "webhook": {"enabled": True},
                               "x509": {"clientCAFile": str(pki / "ca.crt")}},
            "authorization": {"mode": "Webhook"},
            "cgroupDriver": "cgroupfs", "cgroupRoot": node.cgroup_root, "cgroupsPerQOS": True,
            "containerRuntimeEndpoint": f"unix://{node.socket()}",
            "resolvConf": str(home / "resolv.conf"), "clusterDomain": "cluster.local",
            "podLogsDir": str(home / "pod-logs"), "failSwapOn": False, "podCIDR": node.pod_subnet,
            "registerWithTaints": [_taint(t) for t in node.node.taints],
            # the disk is shared with the whole machine: a kubelet of ours never deletes images for space
            "imageGCHighThresholdPercent": 100, "imageGCLowThresholdPercent": 99,
            "evictionHard": {"memory.available": "100Mi", "nodefs.available": "0%", "nodefs.inodesFree": "0%", "imagefs.available": "0%"},
            "serializeImagePulls": False, "syncFrequency": "10s", "fileCheckFrequency": "10s",
        }
        if node.node.memory_budget:
            config = merge_kubelet_config(config, kubelet_settings(available))
            (self.dir / "budget-available").write_text(str(available))
        (home / "kubelet.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
        labels = ",".join(f"{k}={v}" for k, v in node.node.labels.items())
        self._spawn(f"kubelet-{node.name}", [
            str(bin_dir() / "kubelet"), f"--config={home / 'kubelet.yaml'}", f"--kubeconfig={self.dir / f'kubelet-{node.name}.kubeconfig'}",
            f"--root-dir={home / 'kubelet'}", f"--hostname-override={node.name}", f"--node-ip={node.ip}",
            *([f"--node-labels={labels}"] if labels else []), "--v=1"])

    def _kube_proxy(self) -> None:
        config = {
            "apiVersion": "kubeproxy.config.k8s.io/v1alpha1", "kind": "KubeProxyConfiguration",
            "clientConnection": {"kubeconfig": str(self.dir / "kube-proxy.kubeconfig")},
            "mode": "iptables", "clusterCIDR": CLUSTER_CIDR, "hostnameOverride": self.nodes[0].name,
            "bindAddress": self.api_ip, "healthzBindAddress": f"{self.api_ip}:10256", "metricsBindAddress": f"{self.api_ip}:10249",
            # NodePorts on loopback only: the checks and the learner reach Services as kind's port mappings offer them
            "nodePortAddresses": ["127.0.0.1/32"],
            # leave the machine's conntrack sysctls alone (shared with everything else on it)
            "conntrack": {"maxPerCore": 0, "min": 0, "tcpEstablishedTimeout": "0s", "tcpCloseWaitTimeout": "0s"},
        }
        (self.dir / "kube-proxy.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
        self._spawn("kube-proxy", [str(bin_dir() / "kube-proxy"), f"--config={self.dir / 'kube-proxy.yaml'}", "--v=1"])

    # -- readiness -----------------------------------------------------------------------------

    def _api(self, method: str, path: str, body: dict[str, Any]) -> None:
        status, answer = self._api_get(path, method, json.dumps(body).encode())
        if status != 200:
            raise BreakfixError(f"{method} {path}: HTTP {status} {answer.decode(errors='replace')[:300]}")

    def _api_get(self, path: str, method: str = "GET", body: bytes | None = None) -> tuple[int, bytes]:
        pki = self.dir / "pki"
        context = ssl.create_default_context(cafile=str(pki / "ca.crt"))
        context.load_cert_chain(str(pki / "admin.crt"), str(pki / "admin.key"))
        connection = http.client.HTTPSConnection(self.api_ip, 6443, context=context, timeout=5)
        try:
            headers = {"Content-Type": "application/merge-patch+json"} if body is not None else {}
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            return response.status, response.read()
        except (OSError, http.client.HTTPException):
            return 0, b""
        finally:
            connection.close()

    def _api_ready(self) -> bool:
        return (self.dir / "pki" / "admin.crt").is_file() and self._api_get("/readyz")[0] == 200

    def _nodes_ready(self) -> bool:
        status, body = self._api_get("/api/v1/nodes")
        if status != 200:
            return False
        items = json.loads(body).get("items", [])
        ready = {item["metadata"]["name"] for item in items
                 if any(c["type"] == "Ready" and c["status"] == "True" for c in item.get("status", {}).get("conditions", []))}
        return ready >= {node.name for node in self.nodes}

    def _default_service_account(self) -> bool:
        return self._api_get("/api/v1/namespaces/default/serviceaccounts/default")[0] == 200

    def _wait(self, predicate: Any, seconds: float, failure: str, log: str) -> None:
        def ready() -> bool:
            if predicate():
                return True
            # started by this process: gone or a zombie is dead (its cmdline can read empty while it execs)
            dead = [name for name, pid in self._pids().items() if procs.is_zombie(pid)]
            if dead:  # no use waiting out the bound for a component that will never answer
                raise BreakfixError(f"{failure} ({', '.join(dead)} exited); end of {dead[0]}.log:\n{self._log_tail(dead[0])}")
            return False

        if not wait_until(ready, seconds, every=0.5):
            raise BreakfixError(f"{failure} within {seconds:.0f}s; end of {log}.log:\n{self._log_tail(log)}")

    def _log_tail(self, name: str, lines: int = 15) -> str:
        try:
            return "\n".join((self.dir / "logs" / f"{name}.log").read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    # -- images --------------------------------------------------------------------------------

    def load_images(self, images: Iterable[str], progress: Progress) -> None:
        """`docker save` once, into every schedulable node's containerd; skipped where a node holds that image id.

        The control plane's taint admits none of the scenarios' pods, so it gets no workload images.
        """
        from harness.runtime.docker import connect

        client = connect()
        nodes = [node for node in self.nodes if node.node.role == "worker"]
        for image in sorted(images):
            image_id = client.images.get(image).id
            markers = {node.name: node.dir(self.dir) / "images" / sha256(image.encode()).hexdigest()[:16] for node in nodes}
            stale = [node for node in nodes if not (markers[node.name].is_file() and markers[node.name].read_text() == image_id)]
            if not stale:
                continue
            progress(f"loading image {image} into {', '.join(node.name for node in stale)}")
            with tempfile.TemporaryFile() as archive:
                for chunk in client.images.get(image).save(named=True):
                    archive.write(chunk)
                for node in stale:
                    archive.seek(0)
                    self._ctr_import(node, archive)
                    markers[node.name].parent.mkdir(parents=True, exist_ok=True)
                    markers[node.name].write_text(image_id)

    def _ctr_import(self, node: HostNode, archive: IO[bytes]) -> None:
        result = subprocess.run(check=False, args=["ctr", "--address", str(node.socket()), "--namespace", "k8s.io", "images", "import", "-"],
                                stdin=archive, capture_output=True, timeout=600)
        if result.returncode != 0:
            raise BreakfixError(f"ctr images import on {node.name} failed: {result.stderr.decode(errors='replace').strip()[-500:]}")

    # -- the memory budget -----------------------------------------------------------------------

    def refresh_budget(self, progress: Progress, tolerance: int = 256 * 1024**2) -> None:
        """Lay the workers' eviction threshold again from what the kubelet sees available now.

        The budget is relative to the machine's free memory at configuration time, and page cache
        moves by a gigabyte in an hour on a busy machine: a scenario that evicts gets a threshold
        measured when it starts. Only when it moved by more than `tolerance` (a kubelet restart
        costs seconds; running pods stay: their containers belong to containerd).
        """
        try:
            configured = int((self.dir / "budget-available").read_text())
        except (OSError, ValueError):
            configured = 0
        available = kubelet_view_of_host_memory()
        if abs(available - configured) <= tolerance:
            return
        progress(f"worker memory budget: the kubelets now see {available // 1024**2} MiB available "
                 f"(was {configured // 1024**2}); restarting the workers' kubelets with the new threshold")
        budget = [node for node in self.nodes if node.node.memory_budget]
        for node in budget:
            self._stop(self._pids().get(f"kubelet-{node.name}"))
            self._kubelet(node, available)
        self._wait(self._nodes_ready, 120, "the workers did not become Ready again", f"kubelet-{budget[-1].name}")

    # -- delete --------------------------------------------------------------------------------

    def forget_unrouted_connections(self, node_ports: Iterable[int]) -> None:
        """Every NodePort of this cluster goes through the host's conntrack (its kube-proxy runs here)."""
        host_routes.forget_unrouted_connections(node_ports)

    def delete(self, progress: Progress = lambda _: None) -> None:
        """Stop every process, remove every mount, cgroup, interface, iptables rule and file of the cluster; prove it."""
        progress(f"deleting cluster {self.name}")
        pids = self._pids()
        for name in [n for n in pids if n.startswith("kubelet-")] + ["kube-proxy", "kube-scheduler", "kube-controller-manager"]:
            self._stop(pids.get(name))
        for node in self.nodes:  # pod processes first (they live in the node's cgroups), then the shims holding them
            _kill_cgroup_tree(node.cgroup_root)
            for pid in _processes_mentioning(str(node.socket())):
                self._stop(pid, sig=signal.SIGKILL)
        for name in [n for n in pids if n.startswith("containerd-")] + ["kube-apiserver", "etcd"]:
            self._stop(pids.get(name))
        if (bin_dir() / "kube-proxy").is_file():
            subprocess.run(check=False, args=[str(bin_dir() / "kube-proxy"), "--cleanup"], capture_output=True, timeout=60)
        _drop_rules(RULE_COMMENT)
        _drop_kubelet_chains()
        _unmount_under([str(self.dir), str(RUN)])
        for node in self.nodes:
            _remove_cgroup_tree(node.cgroup_root)
            if Path(f"/sys/class/net/{node.cni_bridge}").exists():
                subprocess.run(check=False, args=["ip", "link", "del", node.cni_bridge], capture_output=True)
        if Path(f"/sys/class/net/{NODE_BRIDGE}").exists():
            subprocess.run(check=False, args=["ip", "link", "del", NODE_BRIDGE], capture_output=True)
        shutil.rmtree(RUN, ignore_errors=True)
        shutil.rmtree(self.dir, ignore_errors=True)
        left = self.leftovers()
        if left:
            raise BreakfixError(f"deleting cluster {self.name} left: {'; '.join(left)}")

    def leftovers(self) -> list[str]:
        """Anything of the cluster still on the machine (empty once deleted)."""
        left = [f"process {pid} ({name})" for name, pid in self._pids().items() if self._alive(pid)]
        left += [f"process {pid} (shim)" for node in self.nodes for pid in _processes_mentioning(str(node.socket()))]
        left += [f"interface {n}" for n in [NODE_BRIDGE, *(node.cni_bridge for node in self.nodes)] if Path(f"/sys/class/net/{n}").exists()]
        left += [f"cgroup {c}/{node.cgroup_root}" for node in self.nodes for c in _cgroup_controllers()
                 if (CGROUP / c / node.cgroup_root.lstrip("/")).exists()]
        left += [f"mount {m}" for m in _mounts_under([str(self.dir), str(RUN)])]
        left += [f"iptables chain {table}/{chain}" for table, chain in _kubelet_chains_present()]
        left += [f"iptables rule {table}: {rule}" for table, rule in _tagged_rules(RULE_COMMENT)]
        if self.dir.exists():
            left.append(f"directory {self.dir}")
        return left

    def _stop(self, pid: int | None, sig: signal.Signals = signal.SIGTERM, grace: float = 10) -> None:
        if pid is None or not (self._alive(pid) or sig == signal.SIGKILL):
            return
        procs.terminate(pid, lambda: procs.is_zombie(pid), grace=None if sig == signal.SIGKILL else grace, timeout=grace)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # our own child when created by this process


def _taint(text: str) -> dict[str, str]:
    key_value, _, effect = text.rpartition(":")
    key, _, value = key_value.partition("=")
    return {"key": key, "value": value, "effect": effect} if value else {"key": key, "effect": effect}


def _processes_mentioning(text: str) -> list[int]:
    return [pid for pid in procs.pids() if pid != os.getpid() and text.encode() in (procs.cmdline(pid) or b"")]


def _cgroup_controllers() -> list[str]:
    """The cgroup v1 hierarchies a kubelet uses (v2: the one unified tree, named "")."""
    if (CGROUP / "cgroup.controllers").is_file():
        return [""]
    return [c for c in ("cpu", "cpuacct", "cpuset", "memory", "pids", "hugetlb", "blkio", "devices", "freezer", "systemd")
            if (CGROUP / c).is_dir() and not (CGROUP / c).is_symlink()]


def _kill_cgroup_tree(root: str) -> None:
    for controller in _cgroup_controllers():
        base = CGROUP / controller / root.lstrip("/")
        if not base.is_dir():
            continue
        for members in base.rglob("cgroup.procs"):
            for pid in members.read_text().split():
                with contextlib.suppress(ProcessLookupError, ValueError):
                    os.kill(int(pid), signal.SIGKILL)


def _remove_cgroup_tree(root: str) -> None:
    for controller in _cgroup_controllers():
        base = CGROUP / controller / root.lstrip("/")
        if not base.is_dir():
            continue
        for _ in range(50):  # killed processes leave their cgroups a moment later
            for directory in sorted((p for p in base.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)) + [base]:
                with contextlib.suppress(OSError):
                    directory.rmdir()
            if not base.exists():
                break
            time.sleep(0.1)


def _mounts_under(prefixes: list[str]) -> list[str]:
    mounts = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4].encode().decode("unicode_escape")
        if any(point == p or point.startswith(p + "/") for p in prefixes):
            mounts.append(point)
    return mounts


def _unmount_under(prefixes: list[str]) -> None:
    for point in sorted(set(_mounts_under(prefixes)), key=len, reverse=True):
        subprocess.run(check=False, args=["umount", "-l", point], capture_output=True)


def _tagged_rules(comment: str) -> list[tuple[str, str]]:
    """(table, rule as `iptables -S` lists it) of every rule tagged with `comment`."""
    return [(table, rule) for table in ("filter", "nat") for rule in _table_rules(table)
            if f"--comment {comment}" in rule and rule.startswith("-A ")]


def _drop_rules(comment: str) -> None:
    """Delete our tagged rules from every table (kube-proxy --cleanup removes its own chains)."""
    for table, rule in _tagged_rules(comment):
        _delete_rule(table, rule)


def _iptables(table: str, *args: str, must: bool = False) -> str:
    """Run iptables on `table`, waiting for the lock kube-proxy may hold; its output. A failure raises
    when it `must` succeed, and gives an empty output otherwise (clean-up goes on past it)."""
    command = ["iptables", "-w", "5", "-t", table, *args]
    if must:
        return run(command)
    return subprocess.run(check=False, args=command, capture_output=True, text=True).stdout


def _table_rules(table: str) -> list[str]:
    return _iptables(table, "-S").splitlines()


def _delete_rule(table: str, listed: str) -> None:
    """Delete a rule as `iptables -S` lists it ("-A CHAIN match... -j TARGET")."""
    _iptables(table, "-D", *listed[3:].split())


def _kubelet_chains_in(table: str, rules: list[str]) -> list[str]:
    return [chain for chain in KUBELET_CHAINS[table] if f"-N {chain}" in rules]


def _kubelet_chains_present() -> list[tuple[str, str]]:
    return [(table, chain) for table in KUBELET_CHAINS for chain in _kubelet_chains_in(table, _table_rules(table))]


def _drop_kubelet_chains() -> None:
    """The chains our kubelets make for themselves: kube-proxy --cleanup leaves them, and KUBE-FIREWALL
    would go on dropping packets to 127.0.0.0/8 from other sources once the cluster is gone."""
    for table in KUBELET_CHAINS:
        rules = _table_rules(table)
        present = _kubelet_chains_in(table, rules)
        for rule in rules:
            if rule.startswith("-A ") and any(rule.endswith(f" -j {chain}") for chain in present):
                _delete_rule(table, rule)
        for chain in present:
            _iptables(table, "-F", chain)
            _iptables(table, "-X", chain)


def _pause_archive(binary: Path) -> bytes:
    """A one-layer image holding /pause, in `docker save` layout, tagged PAUSE_IMAGE."""
    layer = BytesIO()
    with tarfile.open(fileobj=layer, mode="w") as tar:
        info = tarfile.TarInfo("pause")
        data = binary.read_bytes()
        info.size, info.mode = len(data), 0o755
        tar.addfile(info, BytesIO(data))
    layer_bytes = layer.getvalue()
    diff_id = "sha256:" + sha256(layer_bytes).hexdigest()
    config = json.dumps({"architecture": "amd64", "os": "linux",
                         "config": {"Entrypoint": ["/pause"], "User": "65535:65535"},
                         "rootfs": {"type": "layers", "diff_ids": [diff_id]}}).encode()
    config_name = sha256(config).hexdigest() + ".json"
    manifest = json.dumps([{"Config": config_name, "RepoTags": [PAUSE_IMAGE], "Layers": ["layer/layer.tar"]}]).encode()
    archive = BytesIO()
    with tarfile.open(fileobj=archive, mode="w") as tar:
        for name, data in ((config_name, config), ("layer/layer.tar", layer_bytes), ("manifest.json", manifest)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, BytesIO(data))
    return archive.getvalue()
