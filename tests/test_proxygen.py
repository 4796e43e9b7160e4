"""The proxy generator: safe and reproducible source, and a generated plugin that drives a real MCP server."""

from __future__ import annotations

import asyncio
import importlib.util
import inspect
import json
import keyword
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Annotated, Any

import psutil
import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from semantic_kernel import Kernel
from semantic_kernel.functions import KernelArguments, KernelFunction

from tests.fakes.odd_names_server import HOSTILE_DESCRIPTION, NAMES
from venom_mcp.cli.proxygen import main
from venom_mcp.services.proxygen import (
    KERNEL_NAME,
    ServerLaunch,
    ToolSpec,
    check_proxy,
    generate_proxy,
    load_spec,
    spec_data,
    spec_path,
    spec_text,
    write_proxy,
    write_spec,
)

ROOT = Path(__file__).resolve().parents[1]

# A real FastMCP server. It records the argument names of every call, so `greet` can tell whether the client
# sent the optional argument at all (a sent null and a left-out argument look the same to the tool).
SERVER = '''
import os
from typing import Any

from mcp.server.fastmcp import FastMCP

RECEIVED: list[list[str]] = []


class Recording(FastMCP):
    async def call_tool(self, name: str, arguments: dict[str, Any]) -> Any:
        RECEIVED.append(sorted(arguments))
        return await super().call_tool(name, arguments)


mcp = Recording("demo")


@mcp.tool()
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@mcp.tool()
def greet(name: str, excited: bool | None = None) -> str:
    """Greet someone."""
    return f"hello {name}; excited={excited}; sent={RECEIVED[-1]}"


@mcp.tool()
def refuse(reason: str) -> str:
    """Always fails."""
    raise ValueError(f"refused because {reason}")


@mcp.tool()
def pid() -> int:
    """The server's process id."""
    return os.getpid()


if __name__ == "__main__":
    mcp.run()
'''


def load_module(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"generated_{path.stem}_{abs(hash(path))}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def list_tools(launch: ServerLaunch) -> list[ToolSpec]:
    """The server's tools as the importer sees them: asked over stdio, like mcp_import does."""
    params = StdioServerParameters(command=launch.command, args=launch.args, env=launch.env, cwd=launch.cwd)
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        listed = await session.list_tools()
    return [
        ToolSpec(
            name=t.name,
            description=t.description,
            input_schema=dict(t.inputSchema),
            output_schema=dict(t.outputSchema) if t.outputSchema else None,
        )
        for t in listed.tools
    ]


def ruff_problems(source: str) -> str:
    """ruff's findings on `source` under the project's configuration ("" when clean)."""
    ruff = Path(sys.executable).parent / "ruff"
    executable = str(ruff) if ruff.exists() else shutil.which("ruff")
    if executable is None:
        pytest.skip("ruff is not installed")
    result = subprocess.run(
        [executable, "check", "--no-cache", "--output-format", "concise", "--stdin-filename", "generated.py", "-"],
        input=source,
        text=True,
        capture_output=True,
        cwd=ROOT,
        check=False,
    )
    return "" if result.returncode == 0 else result.stdout + result.stderr


def server_process(script: Path) -> psutil.Process:
    """The one live server child of this test process that runs `script`."""
    found = []
    for child in psutil.Process().children(recursive=True):
        try:
            if str(script) in child.cmdline() and child.status() != psutil.STATUS_ZOMBIE:
                found.append(child)
        except psutil.Error:  # a child that ended meanwhile
            continue
    assert len(found) == 1, found
    return found[0]


def cause_messages(exc: BaseException) -> str:
    messages = []
    seen: BaseException | None = exc
    while seen is not None:
        messages.append(f"{type(seen).__name__}: {seen}")
        seen = seen.__cause__ or seen.__context__
    return "\n".join(messages)


# --- against a real server -------------------------------------------------------------------------------------


@pytest.fixture
def demo_launch(tmp_path: Path) -> ServerLaunch:
    script = tmp_path / "demo_server.py"
    script.write_text(SERVER, encoding="utf-8")
    return ServerLaunch(
        name="demo",
        command=sys.executable,
        args=[str(script)],
        env={"PATH": os.environ.get("PATH", "")},
        cwd=str(tmp_path),
    )


async def test_generated_plugin_calls_the_real_server(tmp_path: Path, demo_launch: ServerLaunch) -> None:
    tools = await list_tools(demo_launch)
    assert [t.name for t in tools] == ["add", "greet", "refuse", "pid"]
    path = write_proxy(tmp_path / "proxies", demo_launch, tools)
    assert path == tmp_path / "proxies" / "demo_proxy.py"
    assert ruff_problems(path.read_text(encoding="utf-8")) == ""
    module = load_module(path)
    proxy = module.DemoProxy()
    kernel = Kernel()
    kernel.add_plugin(module.create_plugin(proxy))
    script = Path(demo_launch.args[0])

    async def call(function: str, **arguments: Any) -> str:
        result = await kernel.invoke(plugin_name="demo", function_name=function, arguments=KernelArguments(**arguments))
        assert result is not None
        return str(result)

    try:
        assert json.loads(await call("add", a=1, b=2)) == {"result": 3}
        # The optional argument left at None is not sent; given, it is.
        assert json.loads(await call("greet", name="Ada")) == {"result": "hello Ada; excited=None; sent=['name']"}
        assert json.loads(await call("greet", name="Ada", excited=True)) == {
            "result": "hello Ada; excited=True; sent=['excited', 'name']"
        }
        with pytest.raises(Exception) as failure:  # Semantic Kernel wraps the RuntimeError
            await call("refuse", reason="it is Monday")
        assert "refused because it is Monday" in cause_messages(failure.value)
        assert "RuntimeError" in cause_messages(failure.value)

        # One persistent session: the same server process answers every call.
        first = json.loads(await call("pid"))["result"]
        assert json.loads(await call("pid"))["result"] == first
        server = server_process(script)
        assert server.pid == first

        # Killed between two calls (the next call comes before the client has even read the EOF): the call
        # starts a new server and succeeds.
        server.kill()
        server.wait(10)
        second = json.loads(await call("pid"))["result"]
        assert second != first and server_process(script).pid == second
        assert json.loads(await call("add", a=40, b=2)) == {"result": 42}

        # Killed, and the client has noticed the EOF by the time of the next call.
        server_process(script).kill()
        await asyncio.sleep(0.5)
        third = json.loads(await call("greet", name="Bo"))["result"]
        assert third == "hello Bo; excited=None; sent=['name']"
        assert server_process(script).pid not in (first, second)

        # Calls from other tasks (Semantic Kernel runs parallel tool calls in tasks of their own) share the session,
        # and the proxy still closes from this task.
        sums = await asyncio.gather(*(asyncio.create_task(call("add", a=i, b=i)) for i in range(5)))
        assert [json.loads(s)["result"] for s in sums] == [0, 2, 4, 6, 8]
        last = server_process(script)
    finally:
        await proxy.aclose()
    last.wait(10)
    assert not psutil.pid_exists(last.pid) or last.status() == psutil.STATUS_ZOMBIE

    # After aclose, a call starts the server again.
    try:
        assert json.loads(await call("add", a=2, b=2)) == {"result": 4}
    finally:
        await proxy.aclose()


async def test_a_server_that_cannot_start_fails_the_call(tmp_path: Path) -> None:
    launch = ServerLaunch(name="nothing", command=str(tmp_path / "missing"), args=[], env={}, cwd=None)
    module = load_module(write_proxy(tmp_path, launch, [ToolSpec("noop", None, {"type": "object"}, None)]))
    proxy = module.NothingProxy()
    kernel = Kernel()
    kernel.add_plugin(module.create_plugin(proxy))
    with pytest.raises(Exception) as failure:  # wrapped by Semantic Kernel
        await kernel.invoke(plugin_name="nothing", function_name="noop")
    assert "FileNotFoundError" in cause_messages(failure.value)
    await proxy.aclose()


# --- names Semantic Kernel and Python accept -------------------------------------------------------------------


def test_kernel_name_is_semantic_kernels_own_pattern() -> None:
    from semantic_kernel.template_engine.blocks.function_id_block import FUNCTION_ID_BLOCK_REGEX
    from semantic_kernel.utils.validation import FUNCTION_NAME_REGEX, PLUGIN_NAME_REGEX

    # The plugin name pattern, and the function part of a template's {{plugin.function}}; FUNCTION_NAME_REGEX
    # also allows `-`, which a template could not call.
    assert f"^{KERNEL_NAME.pattern}$" == PLUGIN_NAME_REGEX
    assert f"(?P<function>{KERNEL_NAME.pattern})$" in FUNCTION_ID_BLOCK_REGEX
    assert FUNCTION_NAME_REGEX == r"^[0-9A-Za-z_-]+$"


async def test_odd_tool_names_become_kernel_functions_that_reach_their_tools(tmp_path: Path) -> None:
    from semantic_kernel.template_engine.blocks.function_id_block import FUNCTION_ID_BLOCK_REGEX

    launch = ServerLaunch(
        name="odd",
        command=sys.executable,
        args=["-m", "tests.fakes.odd_names_server"],
        env={"PATH": os.environ.get("PATH", "")},
        cwd=str(ROOT),
    )
    tools = await list_tools(launch)
    assert sorted(t.name for t in tools) == sorted(NAMES)
    path = write_proxy(tmp_path, launch, tools)
    source = path.read_text(encoding="utf-8")
    assert ruff_problems(source) == ""
    assert generate_proxy(launch, list(reversed(tools))) == source
    module = load_module(path)
    proxy = module.OddProxy()
    kernel = Kernel()
    kernel.add_plugin(module.create_plugin(proxy))  # Semantic Kernel validates every name here
    plugin = kernel.get_plugin("odd")
    expected = {
        "class": "class_",
        "__init__": "init",
        "my-tool": "my_tool_2",  # `my_tool` keeps its own name
        "my_tool": "my_tool",
        "2fast": "tool_2fast",
        "tool.with.dots": "tool_with_dots",
        "zażółć": "zazo_c",
        "match": "match_",  # a soft keyword
    }
    assert sorted(plugin.functions) == sorted(expected.values())
    for name in plugin.functions:
        assert KERNEL_NAME.fullmatch(name) and re.fullmatch(r"[0-9A-Za-z_]+", name) and name.isidentifier()
        assert not keyword.iskeyword(name) and not keyword.issoftkeyword(name) and not name.startswith("__")
        assert re.fullmatch(FUNCTION_ID_BLOCK_REGEX, f"odd.{name}"), "a prompt template can call it"
    methods = [name for name, value in vars(module.OddProxy).items() if hasattr(value, "__kernel_function__")]
    assert sorted(methods) == sorted(expected.values())
    described = {t.name: t.description for t in tools}
    assert plugin["init"].description == described["__init__"] == HOSTILE_DESCRIPTION
    try:
        for original, function in expected.items():
            assert plugin[function].description == described[original]
            result = await kernel.invoke(plugin_name="odd", function_name=function, text='say "hi" \\ ok')
            assert result is not None
            # Each tool answers with its own name: the call went to the original tool.
            assert json.loads(str(result)) == {"result": f'{original}:say "hi" \\ ok'}
    finally:
        await proxy.aclose()


# --- types ------------------------------------------------------------------------------------------------------


def test_parameters_are_typed_from_the_schema(tmp_path: Path) -> None:
    schema = {
        "type": "object",
        "properties": {
            "s": {"type": "string", "description": "a string"},
            "i": {"type": "integer"},
            "f": {"type": "number"},
            "b": {"type": "boolean"},
            "l": {"type": "array", "items": {"type": "string"}},
            "o": {"type": "object"},
            "maybe": {"anyOf": [{"type": "integer"}, {"type": "null"}], "default": None},
            "either": {"type": ["string", "null"]},
            "anything": {"anyOf": [{"type": "integer"}, {"type": "string"}]},
            "later": {"type": "string"},
        },
        "required": ["s", "i", "f", "b", "l", "o", "either", "anything"],
    }
    launch = ServerLaunch(name="types", command="server", args=[], env={}, cwd=None)
    module = load_module(write_proxy(tmp_path, launch, [ToolSpec("typed", "All the types.", schema, None)]))
    signature = inspect.signature(module.TypesProxy.typed)
    annotations = {name: p.annotation for name, p in signature.parameters.items() if name != "self"}
    assert annotations == {
        "s": Annotated[str, "a string"],
        "i": int,
        "f": float,
        "b": bool,
        "l": list[Any],
        "o": dict[str, Any],
        "maybe": int | None,
        "either": str | None,
        "anything": Any,
        "later": str | None,
    }
    # Keyword-only parameters, in an order that does not depend on the schema's: required ones first, by name.
    assert list(annotations) == ["anything", "b", "either", "f", "i", "l", "o", "s", "later", "maybe"]
    # Only the ones not required default to None.
    defaults = {name for name, p in signature.parameters.items() if p.default is None}
    assert defaults == {"maybe", "later"}
    function = module.create_plugin()["typed"]
    required = {p.name: p.is_required for p in function.metadata.parameters}
    assert required["s"] and required["i"] and not required["maybe"] and not required["later"]


# --- untrusted input ---------------------------------------------------------------------------------------------


def hostile_tools(marker: Path) -> list[ToolSpec]:
    injections = [
        f"'); import os; os.system('touch {marker}') #",
        f'"); open({str(marker)!r}, "w").close() #',
        f'"""\nopen({str(marker)!r}, "w").close()\n"""',
        f"'''\nopen({str(marker)!r}, 'w').close()\n'''",
        "ends with a backslash \\",
        "emoji 😀, ümlaut, 中文, a bidi override \u202e, a line separator \u2028, NUL \x00, CR \r, tab \t",
        "{PLUGIN_NAME} {self} %s {0}",
        "x" * 700,
    ]
    parameter_schema = {
        "type": "object",
        "properties": {
            "self": {"type": "string", "description": injections[0]},
            "kernel": {"type": "integer", "description": injections[2]},
            "arguments": {"type": "string", "default": "it's \"quoted\" '''", "description": injections[3]},
            "class": {"type": "boolean", "description": injections[5]},
            "1x": {"type": "number"},
            "a-b": {"type": "string"},
            "a b": {"type": "string", "default": '"""'},
            "x" * 200: {"type": "string", "description": injections[7]},
        },
        "required": ["self", "kernel", "class"],
    }
    names = [
        "del",
        "1st-tool",
        "a.b",
        "a_b",
        "a-b",
        "kernel_function",
        "str",
        "aclose",
        "__init__",
        "_call",
        "héllo",
        "",
        "t" * 300,
        "a.b",  # a duplicate name, as a hostile server may send
        f"x'); open({str(marker)!r}, 'w').close() #",
    ]
    return [
        ToolSpec(
            name=name,
            description=injections[i % len(injections)],
            input_schema=parameter_schema if i % 2 == 0 else {"type": "object", "properties": {}},
            output_schema={"type": "object", "default": '"""'},
        )
        for i, name in enumerate(names)
    ]


async def test_hostile_names_and_descriptions_stay_data(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    tools = hostile_tools(marker)
    launch = ServerLaunch(
        name="evil",
        command=f"/bin/sh'); open({str(marker)!r}, 'w').close() #",
        args=['"""', "'''", "\n", "\\", "😀"],
        env={"X'); open('m','w') #": '"""', "PATH": "/usr/bin"},
        cwd='it\'s\n"here"',
    )
    source = generate_proxy(launch, tools)
    compile(source, "evil_proxy.py", "exec")
    assert ruff_problems(source) == ""
    assert all(len(line) <= 120 for line in source.splitlines())
    path = write_proxy(tmp_path, launch, tools)
    module = load_module(path)
    assert not marker.exists()
    loaded = (module.COMMAND, module.ARGS, module.ENV, module.CWD)
    assert loaded == (launch.command, launch.args, dict(sorted(launch.env.items())), launch.cwd)

    proxy = module.EvilProxy()
    plugin = module.create_plugin(proxy)
    functions: list[KernelFunction] = list(plugin.functions.values())
    assert len(functions) == len(tools) and not marker.exists()
    # Each tool has a kernel function whose description is the tool's, exactly; names are unique and valid.
    by_description: dict[str | None, list[str]] = {}
    for function in functions:
        assert re.fullmatch(r"[0-9A-Za-z_]+", function.name) and function.name.isidentifier()
        assert not keyword.iskeyword(function.name) and not function.name.startswith("__")
        by_description.setdefault(function.description, []).append(function.name)
    assert sorted(map(str, by_description)) == sorted({str(t.description) for t in tools})
    assert plugin["tool_1st_tool"].description == tools[1].description
    # `a_b` keeps its name; `a-b` and the two `a.b` follow in sorted order.
    renamed = {"del_", "a_b", "a_b_2", "a_b_3", "a_b_4", "init", "tool", "hello", "aclose", "_call", "str"}
    assert renamed <= set(plugin.functions)
    assert plugin["a_b"].description == tools[3].description
    methods = [name for name, value in vars(module.EvilProxy).items() if hasattr(value, "__kernel_function__")]
    assert len(methods) == len(tools) and all(m.isidentifier() for m in methods)
    assert "aclose" not in methods and "_call" not in methods and "__init__" not in methods

    # Parameter descriptions round-trip too; the reserved names are renamed.
    parameters = {p.name: p for p in plugin["del_"].metadata.parameters}
    schema = tools[0].input_schema["properties"]
    assert set(parameters) == {"self_", "kernel_", "arguments_", "class_", "_1x", "a_b", "a_b_2", "x" * 60}
    assert parameters["self_"].description == schema["self"]["description"]
    assert parameters["kernel_"].description == schema["kernel"]["description"]
    assert parameters["class_"].description == schema["class"]["description"]
    assert parameters["x" * 60].description == schema["x" * 200]["description"]

    # Calls carry the original tool and property names, whatever the Python names are.
    calls: list[tuple[str, dict[str, Any], dict[str, Any]]] = []

    async def record(tool: str, required: dict[str, Any], optional: dict[str, Any]) -> str:
        calls.append((tool, required, optional))
        return "ok"

    proxy._call = record
    kernel = Kernel()
    kernel.add_plugin(plugin)
    arguments = KernelArguments(self_="me", kernel_=3, class_=True, a_b_2='"""')
    for function in functions:
        needed = KernelArguments(**arguments) if function.metadata.parameters else KernelArguments()
        result = await kernel.invoke(function, arguments=needed)
        assert result is not None and str(result) == "ok"
    assert sorted(c[0] for c in calls) == sorted(t.name for t in tools)
    sent = {c[0]: c[1:] for c in calls}
    assert sent["del"][0] == {"self": "me", "kernel": 3, "class": True}
    # "a b" and "a-b" both sanitise to a_b: the first in sorted order gets it.
    assert sent["del"][1] == {"arguments": None, "1x": None, "a-b": '"""', "a b": None, "x" * 200: None}
    assert not marker.exists()


def test_names_must_be_valid(tmp_path: Path) -> None:
    for bad in ["Demo", "1demo", "de-mo", "demo\n", "", "d" * 41, "demo'); x #"]:
        with pytest.raises(ValueError):
            generate_proxy(ServerLaunch(name=bad, command="c", args=[], env={}, cwd=None), [])
        with pytest.raises(ValueError):
            write_proxy(tmp_path, ServerLaunch(name=bad, command="c", args=[], env={}, cwd=None), [])
    assert list(tmp_path.iterdir()) == []


# --- reproducible ---------------------------------------------------------------------------------------------


def sample() -> tuple[ServerLaunch, list[ToolSpec]]:
    launch = ServerLaunch(
        name="sample", command="/usr/bin/server", args=["--stdio"], env={"PATH": "/usr/bin", "HOME": "/h"}, cwd=None
    )
    tools = [
        ToolSpec(
            "search",
            "Search the notes.",
            {
                "type": "object",
                "properties": {"query": {"type": "string"}, "limit": {"type": "integer"}},
                "required": ["query"],
            },
            None,
        ),
        ToolSpec("ping", "Annotated[str, 'x'] and 0.0.0.0", {"type": "object"}, None),
    ]
    return launch, tools


def test_generation_is_deterministic_and_checkable(tmp_path: Path) -> None:
    launch, tools = sample()
    text = generate_proxy(launch, tools)
    assert generate_proxy(launch, tools) == text
    assert text.startswith("# Generated by venom_mcp.services.proxygen")
    assert "--check" in text.splitlines()[3]
    from venom_mcp.services.proxygen import GENERATOR_VERSION, tools_hash

    assert (
        text.splitlines()[1] == f"# Generator: venom-mcp proxygen {GENERATOR_VERSION}; tools sha256 {tools_hash(tools)}"
    )
    assert tools_hash(tools) != tools_hash(tools[:1])
    assert text.index("def ping") < text.index("def search")  # by name, whatever the listed order
    assert ruff_problems(text) == ""  # no Annotated to import, no lint to waive
    # Another process, another hash seed, the tools in another order: the same bytes.
    code = (
        "import json, sys; from venom_mcp.services.proxygen import generate_proxy, load_spec; "
        "sys.stdout.write(generate_proxy(*load_spec(json.load(sys.stdin))))"
    )
    data = spec_data(launch, tools)
    other = subprocess.run(
        [sys.executable, "-c", code],
        input=json.dumps(data | {"tools": list(reversed(data["tools"]))}),
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONHASHSEED": "12345"},
    )
    assert other.stdout == text
    # The environment's order does not matter.
    reordered = ServerLaunch(launch.name, launch.command, launch.args, dict(reversed(launch.env.items())), None)
    assert generate_proxy(reordered, tools) == text

    path = write_proxy(tmp_path, launch, tools)
    assert path.read_text(encoding="utf-8") == text
    assert [p.name for p in tmp_path.iterdir()] == ["sample_proxy.py"]  # no temporary file left
    assert check_proxy(path, launch, tools)
    changed = [ToolSpec(tools[0].name, "Search the notes, fast.", tools[0].input_schema, None), tools[1]]
    assert not check_proxy(path, launch, changed)
    assert check_proxy(path, launch, list(reversed(tools)))  # the same tools, listed in another order
    assert not check_proxy(tmp_path / "missing_proxy.py", launch, tools)
    path.write_text(text + "# edited\n", encoding="utf-8")
    assert not check_proxy(path, launch, tools)
    path.write_bytes(text.replace("\n", "\r\n").encode())
    assert not check_proxy(path, launch, tools)


def test_the_same_tools_give_the_same_bytes_and_leave_the_files_alone(tmp_path: Path) -> None:
    launch, tools = sample()
    text, spec = generate_proxy(launch, tools), spec_text(launch, tools)
    search = tools[0]
    schema = search.input_schema
    # The same tools listed in another order, with their schemas' members and required names in another order.
    shuffled = {
        "properties": dict(reversed(schema["properties"].items())),
        "required": list(reversed(schema["required"])),
        "type": "object",
    }
    listed = [tools[1], ToolSpec(search.name, search.description, shuffled, search.output_schema)]
    env = dict(reversed(launch.env.items()))
    other = ServerLaunch(launch.name, launch.command, list(launch.args), env, launch.cwd)
    assert generate_proxy(other, listed) == text and spec_text(other, listed) == spec
    assert spec.endswith("}\n") and spec.isascii() and "\r" not in text

    proxy, spec_file = write_proxy(tmp_path, launch, tools), write_spec(tmp_path, launch, tools)
    assert spec_file == spec_path(tmp_path, launch) == proxy.with_suffix(".json")
    assert load_spec(json.loads(spec_file.read_text(encoding="utf-8"))) == (launch, [tools[1], tools[0]])
    before = {p: (p.read_bytes(), p.stat().st_ino, p.stat().st_mtime_ns) for p in (proxy, spec_file)}
    # Written again from the reordered listing: not rewritten (same inode, same mtime), so no reload, no churn.
    assert write_proxy(tmp_path, other, listed) == proxy and write_spec(tmp_path, other, listed) == spec_file
    assert {p: (p.read_bytes(), p.stat().st_ino, p.stat().st_mtime_ns) for p in before} == before
    # A changed tool rewrites both, atomically (a new file renamed over the old one), and leaves nothing else.
    changed = [ToolSpec(search.name, "Search the notes, fast.", schema, None), tools[1]]
    write_proxy(tmp_path, launch, changed)
    write_spec(tmp_path, launch, changed)
    for p in before:
        assert p.stat().st_ino != before[p][1]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sample_proxy.json", "sample_proxy.py"]
    assert check_proxy(proxy, launch, changed) and spec_file.read_text(encoding="utf-8") == spec_text(launch, changed)


def test_main_checks_and_writes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    launch, tools = sample()
    spec = tmp_path / "sample.json"
    spec.write_text(json.dumps(spec_data(launch, tools)), encoding="utf-8")
    # The spec lists the tools by name.
    assert load_spec(json.loads(spec.read_text(encoding="utf-8"))) == (launch, sorted(tools, key=lambda t: t.name))
    out = tmp_path / "out"
    assert main([str(out), str(spec)]) == 0
    proxy = out / "sample_proxy.py"
    assert capsys.readouterr().out.strip() == str(proxy)
    assert main(["--check", str(proxy), str(spec)]) == 0
    proxy.write_text(proxy.read_text(encoding="utf-8").replace("Search the notes.", "Delete the notes."))
    assert main(["--check", str(proxy), str(spec)]) == 1
    assert "stale" in capsys.readouterr().err
    assert main([str(proxy), str(spec)]) == 0  # regenerate in place
    assert main(["--check", str(proxy), str(spec)]) == 0
    assert main(["--check", str(out / "other_proxy.py"), str(spec)]) == 1
    assert main([str(out / "other_proxy.py"), str(spec)]) == 2
    spec.write_text('{"launch": {"name": "Bad"}, "tools": []}', encoding="utf-8")
    assert main(["--check", str(proxy), str(spec)]) == 2
    # MCP's own field names are accepted too.
    listed = {"launch": spec_data(launch, tools)["launch"], "tools": [{"name": "t", "inputSchema": {"type": "object"}}]}
    assert load_spec(listed)[1] == [ToolSpec("t", None, {"type": "object"}, None)]
