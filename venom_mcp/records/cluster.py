"""A cluster runtime (Ray Serve): its nodes, the replicas of the applications venom-mcp deployed, and where a model
fits. Shown by runtime_status (the `ray` server), resource_usage and check_fit."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .vocabulary import Record


class ClusterNode(Record):
    """One node of the cluster as Ray reports it. CPUs and GPUs are Ray's logical resources (what replicas can still
    reserve); memory is the node's physical memory (what a model can still be loaded into)."""

    node_id: str
    ip: str
    head: bool = False
    alive: bool = True
    cpus_total: float = 0
    cpus_free: float = 0
    gpus_total: float = 0
    gpus_free: float = 0
    memory_total_gb: float | None = None
    memory_free_gb: float | None = Field(default=None, description="Physical memory available on the node now.")
    vram_total_gb: float | None = Field(default=None, description="GPU memory over the node's GPUs; null without.")
    vram_free_gb: float | None = None


class ClusterReplica(Record):
    """One replica of an application venom-mcp deployed."""

    application: str = Field(description="The Serve application: the model's name.")
    replica_id: str
    state: str = Field(description="Ray Serve's replica state: STARTING, UPDATING, RECOVERING, RUNNING, STOPPING, "
                                   "PENDING_MIGRATION.")
    node_id: str | None = None
    node_ip: str | None = None
    pid: int | None = None


class ClusterApplication(Record):
    """An application venom-mcp deployed, with Serve's own status for it."""

    name: str
    status: str = Field(description="Ray Serve's: NOT_STARTED, DEPLOYING, RUNNING, DEPLOY_FAILED, UNHEALTHY, "
                                    "DELETING.")
    route_prefix: str | None = None
    engine: Literal["llamacpp", "vllm"] | None = None
    replicas_wanted: int = 0
    replicas_running: int = 0
    message: str | None = Field(default=None, description="Why it is not running, in Ray's words (the telling "
                                                          "lines, without its traceback).")


class NodeFit(Record):
    """Whether one replica of the model fits on one node now."""

    node_id: str
    ip: str
    fits: bool
    verdict: Literal["gpu", "gpu_partial", "cpu", "no"]
    reason: str
    cpus_free: float
    gpus_free: float
    memory_free_gb: float | None = None
    vram_free_gb: float | None = None
