"""check_fit for the `ray` runtime: for each node of the cluster, whether one replica of the model fits there now.

A node holds a replica when it is alive, has the replica's CPUs and GPUs free among Ray's logical resources (what
Serve reserves), and its physical memory (llama.cpp on CPUs) or GPU memory (vLLM, llama.cpp with num_gpus) takes the
model at the replica's context, by the same estimate as a local runtime (estimate.py). The answer's verdict is the
best node's; `nodes` lists every node with its own verdict and the reason.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Protocol

from ...adapters.ray.app_config import DEFAULT_CONTEXT, ReplicaOptions
from ...errors import InvalidArgument, UpstreamError
from ...records import ClusterNode, Fit, NodeFit
from .estimate import GB, Options, Placement, place
from .memory import Memory
from .shape import ModelShape

if TYPE_CHECKING:
    from . import FitService

RANK = {"gpu": 3, "gpu_partial": 2, "cpu": 1, "no": 0}


class ClusterSource(Protocol):
    """What the fit check reads of the cluster runtime (services/runtimes/ray.py)."""

    async def nodes(self) -> list[ClusterNode]: ...

    def options(self, model: str) -> ReplicaOptions: ...


async def check_cluster(service: FitService, source: ClusterSource, name: str, provider: str | None,
                        context_length: int | None) -> Fit:
    found = await service._find(name, provider, None, None)
    engine = found.runtime
    if engine not in ("llamacpp", "vllm"):
        raise InvalidArgument(f"{name} is an Ollama model; ray serves Hugging Face models (GGUF with llama.cpp, "
                              "safetensors with vLLM)")
    replica = source.options(name)
    shape = found.shape
    context = context_length or replica.context_length or (
        DEFAULT_CONTEXT if engine == "llamacpp" else shape.trained_context or 4096)
    options = Options(engine, context)
    cpus = replica.num_cpus or 1
    gpus = replica.num_gpus or (1 if engine == "vllm" else 0)
    nodes = await source.nodes()
    if not nodes:
        raise UpstreamError("the Ray cluster lists no node")
    judged = [_judge(node, shape_options=(shape, options), cpus=cpus, gpus=gpus, engine=engine) for node in nodes]
    best = max(judged, key=lambda j: (j[0].fits, RANK[j[0].verdict]))
    fit = service._record(name, found, options, best[1], best[2])
    fitting = [j[0].ip or j[0].node_id for j in judged if j[0].fits]
    summary = (f"a replica fits on {len(fitting)} of {len(nodes)} nodes ({', '.join(fitting)})" if fitting else
               f"no node can hold a replica now ({cpus:g} CPU, {gpus:g} GPU and the memory below)")
    verdict = best[0].verdict if best[0].fits else "no"
    suggestions = list(fit.suggestions)
    if engine == "vllm" and not any(node.gpus_total for node in nodes if node.alive):
        suggestions.append("the cluster reports no GPU, which vLLM needs: add a GPU node, or serve a GGUF model "
                           "(llama.cpp runs on CPUs)")
    return fit.model_copy(update={
        "suggestions": suggestions,
        "verdict": verdict, "runtime": "ray", "nodes": [j[0] for j in judged],
        "gpu_layers": fit.gpu_layers if verdict != "no" else 0,
        "notes": [summary, *fit.notes, "per node: Ray's free logical CPUs/GPUs and the node's physical memory now"],
    })


def _judge(node: ClusterNode, *, shape_options: tuple[ModelShape, Options], cpus: float, gpus: float,
           engine: str) -> tuple[NodeFit, Memory, Placement]:
    shape, options = shape_options
    vram = int(node.vram_free_gb * GB) if gpus and node.vram_free_gb is not None else None
    memory = Memory(ram_free=int((node.memory_free_gb or 0) * GB), vram_free=vram,
                    vram_total=int(node.vram_total_gb * GB) if vram is not None and node.vram_total_gb else None,
                    gpus=int(node.gpus_total) if vram is not None else 0)
    placement = place(shape, options, memory)
    verdict = placement.verdict
    if engine == "vllm" and verdict != "gpu":
        verdict = "no"  # vLLM keeps the whole model on its GPUs
    reasons = []
    if not node.alive:
        reasons.append("the node is dead")
    if node.cpus_free < cpus:
        reasons.append(f"{node.cpus_free:g} of {node.cpus_total:g} CPUs free, {cpus:g} needed")
    if node.gpus_free < gpus:
        reasons.append(f"{node.gpus_free:g} of {node.gpus_total:g} GPUs free, {gpus:g} needed")
    if node.memory_free_gb is None:
        reasons.append("its free memory is not reported")
        verdict = "no"
    elif verdict == "no":
        needed = (placement.weights + placement.kv_cache + placement.overhead) / GB
        room = f"{node.vram_free_gb:g} GB GPU memory" if vram is not None else f"{node.memory_free_gb:g} GB memory"
        reasons.append(f"the model needs {needed:.2f} GB at {options.context} tokens, {room} free")
    fits = not reasons and verdict != "no"
    record = NodeFit(node_id=node.node_id, ip=node.ip, fits=fits, verdict=verdict,  # type: ignore[arg-type]
                     reason="; ".join(reasons) or f"fits ({verdict})", cpus_free=node.cpus_free,
                     gpus_free=node.gpus_free, memory_free_gb=node.memory_free_gb, vram_free_gb=node.vram_free_gb)
    return record, memory, replace(placement, verdict=verdict)
