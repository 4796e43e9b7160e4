"""Concurrent requests for the same install or removal share one operation, whatever the timing: every caller gets
the same operation_id and the runtime sees one pull, one download, one delete."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from mcp import ClientSession

from tests.conftest import mcp_session
from tests.fakes.hub import TINY_CHAT, FakeHub
from tests.fakes.ollama import FakeOllama
from tests.test_catalog_tools import call, error_text
from venom_mcp.aio import SingleFlight
from venom_mcp.app import App
from venom_mcp.config import Settings

CALLERS = 50


async def _all_at_once(client: ClientSession, tool: str, **arguments: Any) -> set[str]:
    answers = await asyncio.gather(*(call(client, tool, **arguments) for _ in range(CALLERS)))
    return {answer["operation_id"] for answer in answers}


async def test_fifty_ollama_installs_of_one_model_are_one_pull(client: ClientSession, ollama: FakeOllama) -> None:
    # Spelled two ways: "llama3.2" is "llama3.2:latest" to Ollama, the same install.
    first = asyncio.gather(*(call(client, "install_model", name="llama3.2", provider="ollama") for _ in range(25)))
    second = asyncio.gather(
        *(call(client, "install_model", name="llama3.2:latest", provider="ollama") for _ in range(25))
    )
    answers = [*await first, *await second]
    assert len({answer["operation_id"] for answer in answers}) == 1
    done = await call(client, "operation_status", operation_id=answers[0]["operation_id"])
    while done["status"] in ("pending", "in_progress"):
        await asyncio.sleep(0.05)
        done = await call(client, "operation_status", operation_id=answers[0]["operation_id"])
    assert done["status"] == "completed" and len(ollama.bodies("/api/pull")) == 1
    # Asked again once it is installed (a late caller, a retry): the operation that installed it, no second pull.
    again = await call(client, "install_model", name="llama3.2", provider="ollama")
    assert again["operation_id"] == done["operation_id"] and len(ollama.bodies("/api/pull")) == 1

    # A removal that came after the shared one ended finds the model gone: that is the truth, not a second delete.
    results = await asyncio.gather(
        *(client.call_tool("remove_model", {"name": "llama3.2:latest", "confirm": True}) for _ in range(CALLERS))
    )
    shared = {(r.structuredContent or {}).get("operation_id") for r in results if not r.isError}
    refused = {r.content[0].text for r in results if r.isError}  # type: ignore[union-attr]
    assert len(shared) == 1 and len(ollama.bodies("/api/delete")) == 1
    assert all("is not installed" in text for text in refused), refused


async def test_fifty_hub_installs_of_one_repo_are_one_download(settings: Settings, hub: FakeHub) -> None:
    async with mcp_session(App(settings.model_copy(update={"runtime_profile": "full"}))) as client:
        await _one_hub_download(client, hub)


async def _one_hub_download(client: ClientSession, hub: FakeHub) -> None:
    operations = await _all_at_once(client, "install_model", name=TINY_CHAT, provider="huggingface")
    assert len(operations) == 1
    (operation_id,) = operations
    while (done := await call(client, "operation_status", operation_id=operation_id))["status"] in (
        "pending", "in_progress"
    ):
        await asyncio.sleep(0.05)
    assert done["status"] == "completed", done
    files = [path for path, _ in hub.range_requests if path.startswith(TINY_CHAT)]
    assert files and len(files) == len(set(files)), "each file downloaded once"


async def test_names_of_only_dots_or_separators_are_refused(client: ClientSession, ollama: FakeOllama) -> None:
    for name in (".", "./", "...", "a//b", "llama3:", ":", "-/x"):
        message = await error_text(client, "install_model", name=name, provider="ollama")
        assert "model name" in message, (name, message)
    assert ollama.bodies("/api/pull") == [] and (await call(client, "list_operations"))["count"] == 0


async def test_single_flight_shares_results_and_errors_and_outlives_its_first_caller() -> None:
    flights, runs = SingleFlight(), []
    gate = asyncio.Event()

    async def work(outcome: str) -> str:
        runs.append(outcome)
        await gate.wait()
        if outcome == "boom":
            raise ValueError("boom")
        return outcome

    first = asyncio.create_task(flights.run("k", lambda: work("one")))
    others = [asyncio.create_task(flights.run("k", lambda: work("two"))) for _ in range(3)]
    await asyncio.sleep(0)
    first.cancel()  # the caller that started it goes away; the run and the other callers go on
    gate.set()
    assert await asyncio.gather(*others) == ["one"] * 3 and runs == ["one"] and len(flights) == 0
    gate.clear()
    failing = [asyncio.create_task(flights.run("k", lambda: work("boom"))) for _ in range(2)]
    await asyncio.sleep(0)
    gate.set()
    for task in failing:
        with pytest.raises(ValueError, match="boom"):
            await task
    assert runs == ["one", "boom"]
