"""Ray Serve's declarative REST API on the dashboard address (RAY_ADDRESS): read the applications with their
deployments and replicas (`GET /api/serve/applications/`), and put the whole config (`PUT /api/serve/applications/`).

The API is declarative: a PUT replaces the set of declaratively deployed applications, so one that is left out is
deleted (applications deployed from Python with `serve.run` are never touched by it). Adding or removing one
application is therefore read-modify-write: `deployed_configs()` gives every application as it was deployed, and
the caller puts them all back with its change. `DELETE /api/serve/applications/` shuts Serve down with every
application in it, so it is never used here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from ...errors import ConfigError, InvalidArgument, Unreachable, UpstreamError, UpstreamTimeout

APPLICATIONS = "/api/serve/applications/"
# Replica states in which a replica answers requests (ray.serve._private.common.ReplicaState).
SERVING = frozenset({"RUNNING"})


@dataclass(frozen=True)
class Replica:
    replica_id: str
    state: str
    pid: int | None
    node_id: str | None
    node_ip: str | None
    actor_id: str | None


@dataclass(frozen=True)
class Deployment:
    name: str
    status: str  # HEALTHY, UPDATING, UPSCALING, DOWNSCALING, UNHEALTHY, DEPLOY_FAILED
    message: str
    target_replicas: int
    replicas: tuple[Replica, ...]

    @property
    def running(self) -> int:
        return sum(1 for r in self.replicas if r.state in SERVING)


@dataclass(frozen=True)
class Application:
    name: str
    status: str  # NOT_STARTED, DEPLOYING, DEPLOY_FAILED, RUNNING, UNHEALTHY, DELETING
    message: str
    route_prefix: str | None
    source: str | None  # declarative, imperative
    config: dict[str, Any] | None  # the application's config as deployed (declarative ones only)
    deployments: tuple[Deployment, ...]

    @property
    def replicas(self) -> tuple[Replica, ...]:
        return tuple(r for d in self.deployments for r in d.replicas)

    @property
    def wanted(self) -> int:
        return sum(d.target_replicas for d in self.deployments)

    @property
    def running(self) -> int:
        return sum(d.running for d in self.deployments)


@dataclass(frozen=True)
class ServeState:
    applications: Mapping[str, Application]
    http_options: Mapping[str, Any] = field(default_factory=dict)
    running: bool = False  # Serve's controller is up (it starts with the first PUT)

    def deployed_configs(self) -> list[dict[str, Any]]:
        """Every declarative application's config as it was deployed, to put back unchanged."""
        return [dict(app.config) for app in self.applications.values()
                if app.config is not None and app.source != "imperative" and app.status != "DELETING"]


class RayServeAPI:
    """One Ray cluster's Serve REST API; failures become our errors, naming RAY_ADDRESS."""

    def __init__(self, http: httpx.AsyncClient, address: str, timeout: float = 10.0) -> None:
        self.http = http
        self.address = address.rstrip("/")
        self.timeout = timeout

    async def state(self) -> ServeState:
        data = await self.request("GET", APPLICATIONS)
        if not isinstance(data, dict):
            raise UpstreamError(f"the Ray dashboard at {self.address} (RAY_ADDRESS) answered {APPLICATIONS} with "
                                "something that is not Serve's status")
        apps = {str(name): _application(str(name), raw) for name, raw in (data.get("applications") or {}).items()
                if isinstance(raw, dict)}
        http_options = data.get("http_options") if isinstance(data.get("http_options"), dict) else {}
        return ServeState(apps, http_options or {}, running=bool(data.get("controller_info")))

    async def put(self, applications: Sequence[Mapping[str, Any]], http_options: Mapping[str, Any]) -> None:
        """Deploy exactly these declarative applications (see the module's note). `http_options` only apply when
        this PUT starts Serve; a running Serve keeps its own."""
        body = {"http_options": dict(http_options), "applications": [dict(a) for a in applications]}
        await self.request("PUT", APPLICATIONS, body)

    async def request(self, method: str, path: str, body: object = None) -> Any:
        if not self.address.startswith(("http://", "https://")):
            raise ConfigError(f"RAY_ADDRESS={self.address!r} is not the Ray dashboard's HTTP address: set it to e.g. "
                              "http://127.0.0.1:8265 (the head node's --dashboard-host and --dashboard-port)")
        url = self.address + path
        try:
            response = await self.http.request(method, url, json=body, timeout=self.timeout)
        except httpx.TimeoutException as exc:
            raise UpstreamTimeout(f"the Ray dashboard at {self.address} (RAY_ADDRESS) did not answer {method} {path} "
                                  f"within {self.timeout:g} s") from exc
        except httpx.HTTPError as exc:
            raise Unreachable(
                f"no Ray cluster answers at {self.address} (RAY_ADDRESS): {type(exc).__name__}; start one with "
                "`ray start --head --dashboard-host 127.0.0.1` or set RAY_ADDRESS to a running cluster's dashboard "
                "address") from exc
        if response.status_code == 400 and method == "PUT":
            raise InvalidArgument(f"Ray Serve refused the application config: {telling(response.text)}")
        if response.status_code == 501:
            raise UpstreamError(f"the Ray cluster at {self.address} (RAY_ADDRESS) has no Serve: install ray[serve] "
                                f"on its head node ({response.text.strip()[:200]})")
        if response.status_code >= 400:
            raise UpstreamError(f"the Ray dashboard at {self.address} (RAY_ADDRESS) answered {method} {path} with "
                                f"HTTP {response.status_code}: {telling(response.text)}")
        if not response.content:
            return None
        try:
            return response.json()
        except json.JSONDecodeError as exc:
            raise UpstreamError(f"the Ray dashboard at {self.address} (RAY_ADDRESS) answered {path} with something "
                                "that is not JSON: is RAY_ADDRESS the dashboard's address (port 8265)?") from exc


ANSI = re.compile(r"\x1b\[[0-9;]*m")
ACTOR = re.compile(r"\s*ray::\S+\(\)\s*(\([^)]*(\)[^)]*)?\))?")  # "ray::Actor.method() (pid=.., repr=<..>)"
WRAPPER = re.compile(r"^[\w.]+: Traceback \(most recent call last\):$")  # RuntimeError(traceback.format_exc())
SKIPPED = ("Traceback (most recent call last)", "During handling of the above exception",
           "The above exception was the direct cause")


def telling(message: str, limit: int = 600) -> str:
    """The lines of a Ray error that say what failed and why, without its traceback: Serve's own sentences, and
    each traceback's final exception line (`ValueError: Failed to load model from file: ...`). Frames, code, the
    actor's pid and repr, and colour codes go."""
    kept: list[str] = []
    for raw in ANSI.sub("", message).splitlines():
        if not raw.strip() or raw[:1] in (" ", "\t"):  # a traceback's frames and code are indented
            continue
        line = ACTOR.sub("", raw.strip()).strip()
        if not line or line.startswith(SKIPPED) or WRAPPER.match(line):
            continue
        line = line.replace(" See controller logs for details.", "").removesuffix(" Error:").strip()
        if line and line not in kept:
            kept.append(line)
    text = " ".join(kept) or message.strip()
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _application(name: str, raw: Mapping[str, Any]) -> Application:
    deployments = tuple(_deployment(str(dname), d) for dname, d in (raw.get("deployments") or {}).items()
                        if isinstance(d, dict))
    config = raw.get("deployed_app_config")
    return Application(
        name=name, status=str(raw.get("status") or "NOT_STARTED"), message=str(raw.get("message") or ""),
        route_prefix=raw.get("route_prefix"), source=raw.get("source"),
        config=dict(config) if isinstance(config, dict) else None, deployments=deployments,
    )


def _deployment(name: str, raw: Mapping[str, Any]) -> Deployment:
    replicas = tuple(
        Replica(replica_id=str(r.get("replica_id") or ""), state=str(r.get("state") or ""),
                pid=r.get("pid") if isinstance(r.get("pid"), int) else None, node_id=r.get("node_id"),
                node_ip=r.get("node_ip"), actor_id=r.get("actor_id"))
        for r in raw.get("replicas") or [] if isinstance(r, dict))
    target = raw.get("target_num_replicas")
    return Deployment(name=name, status=str(raw.get("status") or ""), message=str(raw.get("message") or ""),
                      target_replicas=target if isinstance(target, int) else len(replicas), replicas=replicas)
