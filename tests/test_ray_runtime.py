"""The `ray` runtime against a real Ray cluster on this machine (tests/ray_cluster.py: `ray start --head` with its own
temp dir and ports, stopped by the pids of its own processes): the tiny generated GGUF deployed as a Serve
application with venom-mcp's llama.cpp deployment, two replicas, chat over MCP and REST (stream and not), a replica
killed and replaced, a switch back to a local runtime, unload (an application venom-mcp did not deploy stays), and
the failures: a model that does not load (rolled back, with Ray's own words) and a cluster that is not there. The
vLLM path is checked as the exact application config sent (no GPU here)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.ray_cluster import RayCluster, ray_importable

if not ray_importable():
    pytest.skip("ray[serve] is not installed (pip install 'ray[serve]>=2.40,<3', in the test extras)",
                allow_module_level=True)

import httpx
import psutil

from tests.conftest import http_served, make_settings, mcp_session
from tests.fakes.hub import TINY_CHAT, FakeHub, seed_files
from tests.fakes.live import LiveServer, free_port
from tests.fakes.tiny_gguf import write_tiny_llama
from tests.test_catalog_tools import call, error_text
from venom_mcp.adapters.ray import app_config, serve_url, telling
from venom_mcp.app import App
from venom_mcp.records import ModelMetadata

GGUF = "venom-test/llama-tiny-GGUF"
Q8 = f"{GGUF}:Q8_0"
BROKEN = "venom-test/broken-GGUF:Q8_0"
COMMAND = (f"{sys.executable} -m llama_cpp.server --model {{model_path}} --model_alias {{served_model_name}} "
           "--host {host} --port {port} --n_ctx 512")
DEADLINE = 240.0  # seconds for anything the cluster does (2 busy cores: a replica starts in a few seconds)


# ---- fixtures ---------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def cluster() -> Iterator[RayCluster]:
    running = RayCluster(num_cpus=2).start()
    try:
        yield running
    finally:
        running.stop()  # raises if a process of this cluster is left
    assert not running.processes()


@pytest.fixture(scope="module")
def ray_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FakeHub, str]]:
    files = seed_files()
    model = write_tiny_llama(tmp_path_factory.mktemp("gguf") / "l.gguf").read_bytes()
    files[GGUF] = {"llama-tiny.Q8_0.gguf": model, "README.md": b"tiny"}
    # A file named like a GGUF that llama.cpp cannot load: the replicas fail in their constructor.
    files[BROKEN.split(":")[0]] = {"broken.Q8_0.gguf": b"GGUF but not really" + bytes(4096), "README.md": b"x"}
    hub = FakeHub(files=files)
    with LiveServer(hub.app) as server:
        yield hub, server.url


def settings_for(home: Path, hub_url: str, library_url: str, ollama_url: str, cluster: RayCluster,
                 **overrides: Any) -> Any:
    values: dict[str, Any] = {
        "ollama_host": ollama_url, "runtime_profile": "full", "ray_address": cluster.address,
        "ray_serve_endpoint": cluster.serve_endpoint, "llamacpp_endpoint": f"http://127.0.0.1:{free_port()}/v1",
        "llamacpp_command": COMMAND, "start_timeout_seconds": DEADLINE, "http_timeout_seconds": 10,
        "llm_timeout_seconds": 60, **overrides}
    return make_settings(home, hub_url, library_url, **values)


@pytest.fixture
async def ray_app(home: Path, ray_hub: tuple[FakeHub, str], library_url: str, ollama_url: str,
                  cluster: RayCluster) -> AsyncIterator[App]:
    app = App(settings_for(home, ray_hub[1], library_url, ollama_url, cluster))
    yield app
    await app.aclose()


# ---- helpers ----------------------------------------------------------------------------------------------------

def ray_server(status: dict[str, Any]) -> dict[str, Any]:
    return next(s for s in status["servers"] if s["name"] == "ray")


async def serve_state(cluster: RayCluster) -> dict[str, Any]:
    async with httpx.AsyncClient() as http:
        response = await http.get(f"{cluster.address}/api/serve/applications/", timeout=30)
        response.raise_for_status()
        data: dict[str, Any] = response.json()
        return data


async def until(what: str, check: Callable[[], Awaitable[Any]], pause: float = 0.1) -> Any:
    """Poll `check` until it returns something truthy; fail naming `what` after DEADLINE seconds."""
    deadline = time.monotonic() + DEADLINE
    last: Any = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(pause)
    raise AssertionError(f"{what} did not happen within {DEADLINE:g} s (last: {last!r})")


async def put_foreign_app(cluster: RayCluster, keep: list[dict[str, Any]]) -> None:
    """An application venom-mcp did not deploy, put the way its owner would (declaratively, beside `keep`)."""
    foreign = {"name": "someone-elses", "route_prefix": "/someone-elses",
               "import_path": "tests.ray_cluster:foreign_app"}
    async with httpx.AsyncClient() as http:
        response = await http.put(f"{cluster.address}/api/serve/applications/", timeout=60, json={
            "http_options": {"host": "127.0.0.1", "port": cluster.serve_port}, "applications": [*keep, foreign]})
        assert response.status_code == 200, response.text

    async def running() -> bool:
        app = (await serve_state(cluster))["applications"].get("someone-elses")
        return bool(app and app["status"] == "RUNNING")

    await until("the foreign application running", running, pause=0.5)


async def stream_through_gateway(gateway: str, model: str) -> tuple[str, dict[str, str]]:
    from openai import AsyncOpenAI

    client = AsyncOpenAI(base_url=f"{gateway}/v1", api_key="none", max_retries=0)
    try:
        async with client.chat.completions.with_streaming_response.create(
                model=model, messages=[{"role": "user", "content": "Hello"}], max_tokens=6, stream=True) as raw:
            headers = dict(raw.headers)
            pieces = [chunk async for chunk in await raw.parse()]
    finally:
        await client.close()
    text = "".join(c.choices[0].delta.content or "" for c in pieces if c.choices)
    return text, headers


# ---- the whole path ---------------------------------------------------------------------------------------------

async def test_two_replicas_chat_replace_switch_back_and_unload(
    ray_app: App, cluster: RayCluster, home: Path, ray_hub: tuple[FakeHub, str], library_url: str, ollama_url: str,
) -> None:
    await put_foreign_app(cluster, keep=[])
    async with mcp_session(ray_app) as client:
        await call(client, "install_model", name=Q8, provider="hf", wait=True)
        config = await call(client, "model_config", name=Q8, set={"num_replicas": 2, "num_cpus": 0.5})
        assert config["overrides"] == {"num_replicas": 2, "num_cpus": 0.5}
        assert {"num_replicas", "min_replicas", "max_replicas", "num_cpus", "num_gpus", "context_length"} <= {
            p["name"] for p in config["parameters"]}

        fit = await call(client, "check_fit", name=Q8, runtime="ray")
        assert fit["runtime"] == "ray" and fit["verdict"] == "cpu" and len(fit["nodes"]) == 1
        assert fit["nodes"][0]["fits"] is True and 0.5 <= fit["nodes"][0]["cpus_free"] <= 2

        active = await call(client, "activate_model", name=Q8, runtime="ray")
        endpoint = serve_url(cluster.serve_endpoint, Q8)
        assert active["provider"] == "ray" and active["status"] == "online" and active["service_type"] == "cluster"
        assert active["endpoint"] == endpoint

        # Both replicas in runtime_status, on the cluster's one node, each a live process.
        status = ray_server(await call(client, "runtime_status"))
        assert status["status"] == "online" and status["served_model_name"] == Q8 and status["managed_by"] == "external"
        assert [a["name"] for a in status["applications"]] == [app_config.application_name(Q8)]
        assert status["applications"][0]["engine"] == "llamacpp"
        replicas = status["replicas"]
        node = status["nodes"][0]
        assert len(replicas) == 2 and {r["state"] for r in replicas} == {"RUNNING"}
        assert {r["node_id"] for r in replicas} == {node["node_id"]} and all(psutil.pid_exists(r["pid"])
                                                                            for r in replicas)
        assert node["cpus_total"] == 2 and node["alive"] and node["memory_free_gb"] > 0
        usage = await call(client, "resource_usage")
        assert [n["node_id"] for n in usage["cluster_nodes"]] == [node["node_id"]]

        # Chat over MCP: provenance names ray and the application's address.
        answer = await call(client, "chat", prompt="Hello", system="Be brief.", max_tokens=8)
        assert answer["llm_provider"] == "ray" and answer["llm_model"] == Q8 and answer["llm_endpoint"] == endpoint
        assert answer["text"] and answer["finish_reason"] in ("stop", "length") and answer["usage"]["prompt_tokens"]

        # Kill one replica's process: degraded while Serve replaces it, then online with a new one.
        victim = replicas[0]["pid"]
        os.kill(victim, signal.SIGKILL)

        async def status_now() -> dict[str, Any]:
            return ray_server(await call(client, "runtime_status"))

        degraded = await until("degraded after a replica died", lambda: _where(status_now, "degraded"), pause=0.05)
        assert "of 2 replicas running" in degraded["error"]
        back = await until("online again with 2 replicas", lambda: _where(status_now, "online"), pause=0.5)
        pids = {r["pid"] for r in back["replicas"]}
        assert len(back["replicas"]) == 2 and victim not in pids and replicas[1]["pid"] in pids
        again = await call(client, "chat", prompt="Hi", max_tokens=4)
        assert again["llm_provider"] == "ray"
        history = (await call(client, "request_history", limit=2))["requests"]
        assert [h["llm_provider"] for h in history] == ["ray", "ray"] and history[0]["cost_usd"] == 0

    # The same over REST and the OpenAI-compatible gateway (streamed), from another process's view of the same home.
    with http_served(App(settings_for(home, ray_hub[1], library_url, ollama_url, cluster))) as web:
        async with httpx.AsyncClient(base_url=web.url, timeout=120) as rest:
            answered = (await rest.post("/api/v1/chat", json={"prompt": "Hello", "max_tokens": 5})).json()
            assert answered["llm_provider"] == "ray" and answered["llm_endpoint"] == endpoint and answered["text"]
        text, headers = await stream_through_gateway(web.url, Q8)
        assert text and headers["x-venom-llm-provider"] == "ray" and headers["x-venom-llm-endpoint"] == endpoint

    # Back to a local runtime: the Serve application stays (the cluster's), chat goes to llama.cpp.
    async with mcp_session(App(settings_for(home, ray_hub[1], library_url, ollama_url, cluster))) as client:
        try:
            local = await call(client, "activate_model", name=Q8, runtime="llamacpp")
            assert local["provider"] == "llamacpp" and local["status"] == "online"
            assert (await call(client, "chat", prompt="Hi", max_tokens=4))["llm_provider"] == "llamacpp"
            assert ray_server(await call(client, "runtime_status"))["status"] == "online"

            unloaded = await call(client, "unload_models", runtime="ray", confirm=True)
            assert unloaded["unloaded"] == [{"runtime": "ray", "model": Q8}] and unloaded["errors"] == []
            apps = (await serve_state(cluster))["applications"]
            assert app_config.application_name(Q8) not in apps, "venom-mcp's application is gone"
            assert apps["someone-elses"]["status"] == "RUNNING", "an application venom-mcp did not deploy stays"
            gone = ray_server(await call(client, "runtime_status"))
            assert gone["status"] == "offline" and gone["replicas"] == [] and "activate_model" in gone["error"]
            assert (await call(client, "unload_models", runtime="ray", confirm=True))["unloaded"] == []
        finally:
            await call(client, "control_runtime", server="llamacpp", action="stop", confirm=True)
    await _clear(cluster)


async def _where(status: Callable[[], Awaitable[dict[str, Any]]], wanted: str) -> dict[str, Any] | None:
    found = await status()
    return found if found["status"] == wanted else None


async def _clear(cluster: RayCluster) -> None:
    """Remove every declarative application (the foreign one too) so the next test starts from an empty Serve."""
    async with httpx.AsyncClient() as http:
        response = await http.put(f"{cluster.address}/api/serve/applications/", timeout=60, json={
            "http_options": {"host": "127.0.0.1", "port": cluster.serve_port}, "applications": []})
        assert response.status_code == 200, response.text

    async def empty() -> bool:
        return not (await serve_state(cluster))["applications"]

    await until("Serve without applications", empty, pause=0.5)


# ---- failures ---------------------------------------------------------------------------------------------------

async def test_a_model_that_does_not_load_is_rolled_back_with_rays_own_words(ray_app: App,
                                                                            cluster: RayCluster) -> None:
    async with mcp_session(ray_app) as client:
        await call(client, "install_model", name=Q8, provider="hf", wait=True)
        await call(client, "install_model", name=BROKEN, provider="hf", wait=True)
        await call(client, "model_config", name=Q8, set={"num_cpus": 0.5})
        await call(client, "activate_model", name=Q8, runtime="ray")
        try:
            text = await error_text(client, "activate_model", name=BROKEN, runtime="ray")
            assert f"{BROKEN} did not come up on ray" in text and "could not deploy" in text
            assert "Failed to load model from file" in text, "llama.cpp's own reason, as the replica raised it"
            assert "Traceback" not in text and 'File "' not in text, "the telling lines, not the traceback"
            assert "rolled back: the application venom-test--broken-GGUF:Q8_0 was deleted" in text
            apps = (await serve_state(cluster))["applications"]
            assert list(apps) == [app_config.application_name(Q8)] and apps[app_config.application_name(Q8)][
                "status"] == "RUNNING"
            status = await call(client, "runtime_status")
            assert status["active"]["model"] == Q8 and status["active"]["status"] == "online"
            assert ray_server(status)["status"] == "online"
            operation = (await call(client, "list_operations", limit=1))["operations"][0]
            assert operation["operation_type"] == "activate" and operation["status"] == "failed"
            # control_runtime restart rolls the model's replicas: a new process serves it afterwards.
            before = {r["pid"] for r in ray_server(status)["replicas"]}
            restarted = await call(client, "control_runtime", server="ray", action="restart")
            assert restarted["status"] == "online" and len(restarted["replicas"]) == 1
            assert not before & {r["pid"] for r in restarted["replicas"]}
            assert (await call(client, "chat", prompt="Hi", max_tokens=4))["llm_provider"] == "ray"
        finally:
            await call(client, "unload_models", runtime="ray", confirm=True)
    assert not (await serve_state(cluster))["applications"]


async def test_a_cluster_that_is_not_there(home: Path, ray_hub: tuple[FakeHub, str], library_url: str,
                                           ollama_url: str, cluster: RayCluster, closed_url: str) -> None:
    app = App(settings_for(home, ray_hub[1], library_url, ollama_url, cluster, ray_address=closed_url))
    async with mcp_session(app) as client:
        await call(client, "install_model", name=Q8, provider="hf", wait=True)
        text = await error_text(client, "activate_model", name=Q8, runtime="ray")
        assert f"no Ray cluster answers at {closed_url} (RAY_ADDRESS)" in text and "ray start --head" in text
        assert "nothing was changed on the cluster" in text
        status = ray_server(await call(client, "runtime_status"))
        assert status["status"] == "offline" and "RAY_ADDRESS" in status["error"] and status["replicas"] is None
        assert status["managed_by"] == "none"
        fit = await error_text(client, "check_fit", name=Q8, runtime="ray")
        assert "RAY_ADDRESS" in fit
        assert (await call(client, "resource_usage"))["cluster_nodes"] is None
        assert "RAY_ADDRESS" in await error_text(client, "unload_models", runtime="ray", confirm=True)


async def test_a_safetensors_model_needs_gpus_and_gets_a_vllm_config(ray_app: App, cluster: RayCluster) -> None:
    """The exact application config sent for vLLM (ray.serve.llm), checked against Ray's own schema; a cluster
    without GPUs refuses it before anything is deployed."""
    from ray.serve.schema import ServeDeploySchema

    async with mcp_session(ray_app) as client:
        await call(client, "install_model", name=TINY_CHAT, provider="hf", wait=True)
        await call(client, "model_config", name=TINY_CHAT, set={"min_replicas": 1, "max_replicas": 3,
                                                               "context_length": 4096, "num_gpus": 2})
        entry: ModelMetadata = ray_app.registry.find(TINY_CHAT)
        sent = ray_app.ray.application(entry, ray_app.ray.options(TINY_CHAT))
        assert sent == {
            "name": "venom-test--tiny-chat",
            "route_prefix": "/venom-test--tiny-chat",
            "import_path": "ray.serve.llm:build_openai_app",
            "runtime_env": {"env_vars": {"VENOM_MCP_MODEL": TINY_CHAT}},
            "args": {"llm_configs": [{
                "model_loading_config": {"model_id": TINY_CHAT, "model_source": TINY_CHAT},
                "engine_kwargs": {"tensor_parallel_size": 2, "revision": entry.revision, "max_model_len": 4096},
                "deployment_config": {"autoscaling_config": {"min_replicas": 1, "max_replicas": 3,
                                                             "initial_replicas": 1}},
                "runtime_env": {"env_vars": {"HF_ENDPOINT": ray_app.settings.hf_endpoint}},
            }]},
        }
        ServeDeploySchema.model_validate({"applications": [sent]})  # Ray's own schema takes it as it is
        text = await error_text(client, "activate_model", name=TINY_CHAT, runtime="ray")
        assert "will not fit on ray" in text and "reports no GPU, which vLLM needs" in text and "GGUF" in text
        forced = await error_text(client, "activate_model", name=TINY_CHAT, runtime="ray", force=True)
        assert "reports no GPU" in forced and cluster.address in forced and "nothing was changed" in forced
        assert not (await serve_state(cluster))["applications"], "nothing was deployed"


async def test_replica_options_are_checked_where_they_are_set(ray_app: App) -> None:
    async with mcp_session(ray_app) as client:
        await call(client, "install_model", name=Q8, provider="hf", wait=True)
        both = await error_text(client, "model_config", name=Q8, set={"num_replicas": 2, "max_replicas": 3})
        assert "num_replicas and min_replicas/max_replicas" in both
        upside = await error_text(client, "model_config", name=Q8, set={"min_replicas": 3, "max_replicas": 2})
        assert "min_replicas=3 is over max_replicas=2" in upside
        assert "num_replicas takes an integer from 1 to 64" in await error_text(
            client, "model_config", name=Q8, set={"num_replicas": 0})
        assert (await call(client, "model_config", name=Q8))["overrides"] == {}, "nothing was written"
        # A replica option is not a chat parameter: it never reaches a request.
        await call(client, "model_config", name=Q8, set={"num_replicas": 2, "temperature": 0.5})
        assert ray_app.model_config.overrides("llamacpp", Q8) == {"temperature": 0.5}


async def test_the_cluster_profile(home: Path, ray_hub: tuple[FakeHub, str], library_url: str, ollama_url: str,
                                   cluster: RayCluster) -> None:
    """VENOM_RUNTIME_PROFILE=cluster: Hugging Face models install (for the cluster), only ray and the cloud serve."""
    app = App(settings_for(home, ray_hub[1], library_url, ollama_url, cluster, runtime_profile="cluster"))
    async with mcp_session(app) as client:
        installed = (await call(client, "install_model", name=Q8, provider="hf", runtime="ray", wait=True))
        assert installed["status"] == "completed"
        refused = await error_text(client, "activate_model", name=Q8, runtime="llamacpp")
        assert "VENOM_RUNTIME_PROFILE=cluster" in refused
        servers = (await call(client, "runtime_status"))["servers"]
        assert [s["name"] for s in servers] == ["ray"] and servers[0]["status"] == "online"
        assert servers[0]["nodes"][0]["cpus_total"] == 2 and servers[0]["applications"] == []


def test_telling_lines_of_real_ray_errors() -> None:
    """Deploy failures exactly as Ray 2.60 reported them here: a replica whose constructor raised (captured from
    GET /api/serve/applications/, tests/fixtures/ray/deploy_failed.json) and an application that did not build."""
    captured = json.loads((Path(__file__).parent / "fixtures" / "ray" / "deploy_failed.json").read_text())
    app = captured["application"]
    deployment = app["deployments"]["LlamaCpp"]["message"]
    assert "Traceback" in deployment and "\x1b[36m" in deployment
    assert telling(f"{app['message']} {deployment}") == (
        "Failed to update the deployments ['LlamaCpp']. The deployment failed to start 3 times in a row. This may be "
        "due to a problem with its constructor or initial health check failing. ValueError: Failed to load model "
        "from file: /tmp/rayx/hf/hub/models--venom-test--broken-GGUF/snapshots/"
        "b917f59e6799b5279fdf80f069ec93dc6a30d6ed/broken.Q8_0.gguf")
    built = (
        "Deploying application venom-test/llama-tiny-GGUF:Q8_0 failed: ray::build_serve_application() "
        "(pid=24109, ip=192.0.2.2)\n"
        "Traceback (most recent call last):\n"
        '  File "/ray/serve/_private/application_state.py", line 1723, in build_serve_application\n'
        "    configure_component_logger(\n"
        "FileNotFoundError: [Errno 2] No such file or directory: '/tmp/t/logs/serve/controller_build_x.log'\n")
    assert telling(built) == (
        "Deploying application venom-test/llama-tiny-GGUF:Q8_0 failed: FileNotFoundError: [Errno 2] No such file or "
        "directory: '/tmp/t/logs/serve/controller_build_x.log'")
