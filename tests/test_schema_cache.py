"""The tools' schemas kept between runs (tools/schema_cache.py): a new process lists its tools from the cache while
its key holds, and what it lists is exactly what building the tools gives."""

from __future__ import annotations

import json
import os
from pathlib import Path

from venom_mcp.app import App
from venom_mcp.config import Settings
from venom_mcp.tools import ToolCatalog
from venom_mcp.tools.schema_cache import FILE, PACKAGE, source_key


def cache_file(settings: Settings) -> Path:
    return settings.venom_home.joinpath(*FILE)


async def test_a_second_start_lists_from_the_cache_what_a_build_gives(settings: Settings) -> None:
    first = App(settings)
    try:
        built = ToolCatalog(first).infos()  # no cache yet: every tool is built, and the schemas are written
    finally:
        await first.aclose()
    stored = json.loads(cache_file(settings).read_text())
    assert stored["key"] == source_key() and sorted(stored["tools"]) == sorted(info.name for info in built)

    second = App(settings)
    try:
        catalog = ToolCatalog(second)
        cached = catalog.infos()
        assert cached == built
        for info in cached:  # and each is what FastMCP builds from the method now
            tool = catalog.tool(info.name)
            assert (tool.parameters, tool.output_schema, tool.description) == (
                info.input_schema, info.output_schema, info.description), info.name
    finally:
        await second.aclose()


async def test_the_cache_is_used_under_its_key_only(settings: Settings) -> None:
    app = App(settings)
    try:
        real = {info.name: info for info in ToolCatalog(app).infos()}
    finally:
        await app.aclose()
    path = cache_file(settings)
    stored = json.loads(path.read_text())
    stored["tools"]["installed_models"]["input"] = {"type": "object", "properties": {}, "description": "marker"}
    path.write_text(json.dumps(stored))

    app = App(settings)
    try:  # the key holds: the stored schemas are what is listed (the cache is really read)
        listed = {info.name: info for info in ToolCatalog(app).infos()}
        assert listed["installed_models"].input_schema["description"] == "marker"
    finally:
        await app.aclose()

    stored["key"] = "0" * 64  # another source (an upgrade, an edit): built again, and written again
    path.write_text(json.dumps(stored))
    app = App(settings)
    try:
        rebuilt = {info.name: info for info in ToolCatalog(app).infos()}
        assert rebuilt == real
        assert json.loads(path.read_text())["key"] == source_key()
    finally:
        await app.aclose()

    for broken in ("{not json", json.dumps({"key": source_key(), "tools": {"chat": {}}}), "[]"):
        path.write_text(broken)  # unreadable, another set of tools, another shape: a build, never an error
        app = App(settings)
        try:
            assert {info.name: info for info in ToolCatalog(app).infos()} == real
        finally:
            await app.aclose()


def test_the_key_follows_the_source_files() -> None:
    before = source_key()
    source = PACKAGE / "tools" / "meta.py"
    stat = source.stat()
    try:
        os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))  # as an edit or upgrade would
        assert source_key() != before
    finally:
        os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert source_key() == before
