"""The nodes of a Ray cluster, read from its dashboard (RAY_ADDRESS):

* the state API (`GET /api/v0/nodes?detail=1`): every node, alive or dead, with its id, address and total resources;
* the cluster status (`GET /api/cluster_status`, what `ray status` prints): the logical resources each node still
  has free (`loadMetricsReport.usageByNode`: resource -> [used, total]);
* the node summary (`GET /nodes?view=summary`, what the dashboard's cluster page shows): each node's physical
  memory and GPU memory as its reporter agent measured them.

Only the first is required: a cluster whose status or summary cannot be read still lists its nodes, with the
unknown figures left null.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import httpx

from ...errors import UpstreamError
from ...records import ClusterNode
from .serve_api import RayServeAPI

GB = 1e9
MB = 2**20


class ClusterReader:
    def __init__(self, api: RayServeAPI) -> None:
        self.api = api

    async def nodes(self) -> list[ClusterNode]:
        listed, usage, summary = await asyncio.gather(
            self.api.request("GET", "/api/v0/nodes?detail=1"), self._optional("/api/cluster_status"),
            self._optional("/nodes?view=summary"))
        rows = _state_rows(listed)
        by_node = _usage_by_node(usage)
        physical = _summary_by_node(summary)
        nodes = []
        for row in rows:
            node_id = str(row.get("node_id") or "")
            raw_total = row.get("resources_total")
            total: dict[str, Any] = raw_total if isinstance(raw_total, dict) else {}
            used = by_node.get(node_id, {})
            memory, vram = physical.get(node_id, ((None, None), (None, None)))
            nodes.append(ClusterNode(
                node_id=node_id, ip=str(row.get("node_ip") or ""), head=bool(row.get("is_head_node")),
                alive=row.get("state") == "ALIVE",
                cpus_total=float(total.get("CPU", 0)), cpus_free=_free(used, "CPU", total),
                gpus_total=float(total.get("GPU", 0)), gpus_free=_free(used, "GPU", total),
                memory_total_gb=memory[0], memory_free_gb=memory[1], vram_total_gb=vram[0], vram_free_gb=vram[1],
            ))
        return nodes

    async def _optional(self, path: str) -> Any:
        try:
            return await self.api.request("GET", path)
        except (UpstreamError, httpx.HTTPError):
            return None


def _state_rows(data: Any) -> list[dict[str, Any]]:
    """`{"result": true, "data": {"result": {"result": [node, ...]}}}` (the state API's envelope)."""
    try:
        rows = data["data"]["result"]["result"]
    except (KeyError, TypeError) as exc:
        raise UpstreamError("the Ray state API (/api/v0/nodes) answered without a node list: is RAY_ADDRESS a Ray "
                            "dashboard of Ray 2.x?") from exc
    return [row for row in rows if isinstance(row, dict)] if isinstance(rows, list) else []


def _usage_by_node(data: Any) -> dict[str, dict[str, list[float]]]:
    try:
        found = data["data"]["clusterStatus"]["loadMetricsReport"]["usageByNode"]
    except (KeyError, TypeError):
        return {}
    return {str(k): v for k, v in found.items() if isinstance(v, dict)} if isinstance(found, dict) else {}


def _free(used: Mapping[str, Any], resource: str, total: Mapping[str, Any]) -> float:
    pair = used.get(resource)
    if isinstance(pair, list) and len(pair) == 2 and all(isinstance(v, int | float) for v in pair):
        return round(max(float(pair[1]) - float(pair[0]), 0.0), 3)
    return float(total.get(resource, 0))  # no usage report: nothing is known to be taken


Pair = tuple[float | None, float | None]


def _summary_by_node(data: Any) -> dict[str, tuple[Pair, Pair]]:
    """node id -> ((memory total, available) GB, (VRAM total, free) GB) from the reporter's summary."""
    try:
        rows = data["data"]["summary"]
    except (KeyError, TypeError):
        return {}
    found: dict[str, tuple[Pair, Pair]] = {}
    for row in rows if isinstance(rows, list) else []:
        if not isinstance(row, dict) or not isinstance(row.get("raylet"), dict):
            continue
        node_id = str(row["raylet"].get("nodeId") or "")
        mem = row.get("mem")
        memory: Pair = ((round(mem[0] / GB, 3), round(mem[1] / GB, 3))
                        if isinstance(mem, list) and len(mem) >= 2 else (None, None))
        gpus = [g for g in row.get("gpus") or [] if isinstance(g, dict)]
        vram: Pair = (None, None)
        if gpus:
            total = sum(float(g.get("memoryTotal", g.get("memory_total")) or 0) for g in gpus) * MB
            used = sum(float(g.get("memoryUsed", g.get("memory_used")) or 0) for g in gpus) * MB
            vram = (round(total / GB, 3), round(max(total - used, 0) / GB, 3))
        found[node_id] = (memory, vram)
    return found
