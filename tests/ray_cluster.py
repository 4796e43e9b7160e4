"""A real, isolated single-node Ray cluster for the tests: `ray start --head` with its own temp dir, its own ports
(none of Ray's defaults, so another Ray on this machine is neither used nor disturbed) and its own Hugging Face cache
for the replicas.

Stopping it never uses `ray stop`, which ends every Ray process of the user: it signals exactly the processes of
this cluster, found by their command lines (each names this cluster's temp dir or its GCS port) and their
descendants (the workers, actors and replicas the raylet started), SIGTERM first, then SIGKILL, and checks that none
is left.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil

RAY = str(Path(sys.executable).with_name("ray"))
ROOT = Path(__file__).resolve().parent.parent
START_SECONDS = 180.0
STOP_SECONDS = 30.0
WORKER_PORTS = 64  # one per worker process alive at once (replicas, Serve's controller and proxy, tasks)


def free_ports(count: int) -> list[int]:
    """`count` free loopback ports in one block below Linux's ephemeral range (32768-60999) and above Ray's default
    worker ports (10002-19999): an outgoing connection never takes one of them meanwhile, and another Ray on this
    machine does not use them by default."""
    for _ in range(100):
        first = random.randrange(20000, 32000 - count)
        block = list(range(first, first + count))
        if all(_free(port) for port in block):
            return block
    raise RuntimeError(f"no block of {count} free ports between 20000 and 32000")


def _free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def ray_importable() -> bool:
    """Whether ray[serve] is installed (found without importing it: the cluster runs in its own processes)."""
    return importlib.util.find_spec("ray") is not None and importlib.util.find_spec("ray.serve") is not None


class RayCluster:
    def __init__(self, num_cpus: int = 2) -> None:
        # A short path: Ray's unix sockets live under it, and a socket path has at most 107 bytes.
        self.root = Path(tempfile.mkdtemp(prefix="vray", dir="/tmp"))
        self.temp_dir = self.root / "t"
        self.hf_home = self.root / "hf"
        self.num_cpus = num_cpus
        self.ports = free_ports(12 + WORKER_PORTS)
        self.gcs_port, self.dashboard_port, self.serve_port = self.ports[:3]
        self.address = f"http://127.0.0.1:{self.dashboard_port}"
        self.serve_endpoint = f"http://127.0.0.1:{self.serve_port}/v1"

    def start(self) -> RayCluster:
        names = ("--ray-client-server-port", "--dashboard-agent-listen-port", "--dashboard-agent-grpc-port",
                 "--runtime-env-agent-port", "--metrics-export-port", "--node-manager-port", "--object-manager-port")
        ports = {"--port": self.gcs_port, "--dashboard-port": self.dashboard_port,
                 **dict(zip(names, self.ports[3:12], strict=False))}
        argv = [RAY, "start", "--head", "--num-cpus", str(self.num_cpus), "--num-gpus", "0",
                "--include-dashboard", "true", "--dashboard-host", "127.0.0.1", "--temp-dir", str(self.temp_dir),
                "--disable-usage-stats", "--object-store-memory", str(100 * 2**20),
                "--min-worker-port", str(self.ports[12]), "--max-worker-port", str(self.ports[-1]),
                *(f"{k}={v}" for k, v in ports.items())]
        # The workers import venom_mcp's llama.cpp deployment and this module's foreign_app from this checkout.
        path = os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])
        env = {**os.environ, "HF_HOME": str(self.hf_home), "RAY_USAGE_STATS_ENABLED": "0", "HF_HUB_OFFLINE": "0",
               "PYTHONPATH": path}
        env.pop("RAY_ADDRESS", None)
        done = subprocess.run(argv, env=env, cwd=self.root, capture_output=True, text=True, timeout=START_SECONDS)
        if done.returncode != 0:
            self.stop()
            raise RuntimeError(f"ray start failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
        deadline = time.monotonic() + START_SECONDS
        while True:  # the dashboard's Serve and state modules answer a little after `ray start` returns
            try:
                serve = httpx.get(f"{self.address}/api/serve/applications/", timeout=5)
                nodes = httpx.get(f"{self.address}/api/v0/nodes", timeout=5)
                if serve.status_code == 200 and nodes.status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the Ray dashboard at {self.address} did not answer within {START_SECONDS:g} s")
            time.sleep(0.5)

    def processes(self) -> list[psutil.Process]:
        """This cluster's processes: those naming its temp dir or GCS port, and all their descendants."""
        marks = (str(self.temp_dir), f":{self.gcs_port}")
        found: dict[int, psutil.Process] = {}
        for process in psutil.process_iter(["pid", "cmdline"]):
            try:
                line = " ".join(process.info["cmdline"] or [])
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
            if process.pid != os.getpid() and any(mark in line for mark in marks):
                found[process.pid] = process
        for process in list(found.values()):
            try:
                found.update({child.pid: child for child in process.children(recursive=True)})
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
        found.pop(os.getpid(), None)
        return list(found.values())

    def stop(self) -> None:
        """End this cluster's processes (and only them), then remove its folder; raises if one is left."""
        for _ in range(3):  # a process may start another while the first ones end (a worker, a restarted actor)
            processes = self.processes()
            if not processes:
                break
            for process in processes:
                with contextlib.suppress(psutil.NoSuchProcess):
                    process.terminate()
            _, alive = psutil.wait_procs(processes, timeout=STOP_SECONDS / 2)
            for process in alive:
                with contextlib.suppress(psutil.NoSuchProcess):
                    process.kill()
            psutil.wait_procs(alive, timeout=STOP_SECONDS / 2)
        left = [p.pid for p in self.processes()]
        shutil.rmtree(self.root, ignore_errors=True)
        if left:
            raise RuntimeError(f"processes of the test's Ray cluster are still running: {left}")


def foreign_app(args: dict[str, object]) -> object:
    """An application builder for a Serve application that venom-mcp did not deploy (imported by Ray's workers)."""
    from ray import serve

    @serve.deployment(ray_actor_options={"num_cpus": 0})
    class Hello:
        async def __call__(self, request: object) -> str:
            return "hello"

    return Hello.bind()  # type: ignore[attr-defined]
