"""Importing another MCP server for real: a small server package in a git repository is cloned, installed
into its own virtual environment (pip, from the package index), started over stdio, its tools listed, a proxy
generated and used from Semantic Kernel; then removed. Plus the errors that stop an import early."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from mcp import ClientSession

from tests.conftest import mcp_session
from tests.test_catalog_tools import call, error_text
from venom_mcp.app import App
from venom_mcp.config import Settings
from venom_mcp.errors import InvalidArgument
from venom_mcp.services.mcp_source import copy_project

SERVER = '''
from mcp.server.fastmcp import FastMCP

server = FastMCP("tiny-weather")


@server.tool()
def forecast(city: str, days: int = 1) -> dict:
    """Weather forecast for a city."""
    return {"city": city, "days": days, "sky": "sunny"}


@server.tool()
def shout(text: str) -> str:
    """Upper-case the text."""
    return text.upper()


def main() -> None:
    server.run("stdio")
'''


def make_server_repo(root: Path) -> Path:
    repo = root / "tiny-weather"
    (repo / "tiny_weather").mkdir(parents=True)
    (repo / "tiny_weather" / "__init__.py").write_text("")
    (repo / "tiny_weather" / "server.py").write_text(SERVER)
    mcp_version = subprocess.run([sys.executable, "-c", "import mcp, importlib.metadata as m; "
                                  "print(m.version('mcp'))"], capture_output=True, text=True).stdout.strip()
    (repo / "pyproject.toml").write_text(f"""
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "tiny-weather"
version = "0.1.0"
dependencies = ["mcp=={mcp_version}"]

[project.scripts]
tiny-weather = "tiny_weather.server:main"

[tool.setuptools]
packages = ["tiny_weather"]
""")
    for argv in (["git", "init", "-q"], ["git", "add", "-A"],
                 ["git", "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "tiny weather"]):
        subprocess.run(argv, cwd=repo, check=True)
    return repo


async def test_import_use_and_remove_a_real_server(client: ClientSession, tmp_path: Path, home: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-should-never-reach-the-import")
    repo = make_server_repo(tmp_path)
    imported = await call(client, "import_mcp_server", name="weather", source=str(repo))
    assert imported["name"] == "weather" and sorted(imported["tools"]) == ["forecast", "shout"]
    proxy = Path(imported["proxy_path"])
    assert proxy.parent == home / "proxies" and proxy.is_file()
    assert "sk-should-never-reach-the-import" not in proxy.read_text()
    check = subprocess.run([sys.executable, "-m", "venom_mcp.services.proxygen", "--check", str(proxy),
                            str(proxy.with_suffix(".json"))], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr + check.stdout
    listed = await call(client, "list_imported_mcp_servers")
    assert listed["count"] == 1 and listed["servers"][0]["source"] == str(repo)
    assert json.loads((home / "mcp" / "servers.json").read_text())["servers"][0]["name"] == "weather"
    # A re-import of the unchanged server builds anew behind the same link and leaves proxy and spec untouched.
    current = home / "mcp" / "weather" / "current"
    first_build = current.resolve()
    files = (proxy, proxy.with_suffix(".json"))
    before = {p: (p.read_bytes(), p.stat().st_ino, p.stat().st_mtime_ns) for p in files}
    unchanged = await call(client, "import_mcp_server", name="weather", source=str(repo))
    assert unchanged["proxy_path"] == str(proxy) and unchanged["tools"] == imported["tools"]
    assert {p: (p.read_bytes(), p.stat().st_ino, p.stat().st_mtime_ns) for p in files} == before
    assert current.resolve() != first_build and not first_build.exists()
    assert sorted(p.name for p in current.parent.iterdir()) == sorted(["current", current.resolve().name])
    # The proxy is a Semantic Kernel plugin that calls the imported server (through the link, so the new build).
    import importlib.util

    from semantic_kernel import Kernel

    spec = importlib.util.spec_from_file_location("weather_proxy_test", proxy)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    launched = (module.COMMAND, module.CWD)  # through the link, not the build folder of the day
    assert launched == (str(current / "venv" / "bin" / "tiny-weather"), str(current / "src"))
    proxy_instance = module.WeatherProxy()
    kernel = Kernel()
    kernel.add_plugin(module.create_plugin(proxy_instance))
    try:
        result = await kernel.invoke(plugin_name="weather", function_name="forecast", city="Gdańsk")
        assert json.loads(str(result))["city"] == "Gdańsk"
        shouted = await kernel.invoke(plugin_name="weather", function_name="shout", text="cisza")
        assert "CISZA" in str(shouted)
    finally:
        await proxy_instance.aclose()
    # `venom-mcp proxies --check` asks each imported server for its tools again.
    env = {k: v for k, v in os.environ.items() if not k.startswith("VENOM_")} | {"VENOM_HOME": str(home)}
    fresh = subprocess.run([sys.executable, "-m", "venom_mcp", "proxies", "--check"], capture_output=True, text=True,
                           env=env, timeout=120)
    assert fresh.returncode == 0 and "up to date" in fresh.stderr, fresh.stderr
    text = proxy.read_text()
    original = proxy.read_bytes()
    proxy.write_text(re.sub(r"^TOOLS_SHA256 = '[0-9a-f]+'$", "TOOLS_SHA256 = '" + "0" * 64 + "'", text, flags=re.M))
    stale = subprocess.run([sys.executable, "-m", "venom_mcp", "proxies", "--check"], capture_output=True, text=True,
                           env=env, timeout=120)
    assert stale.returncode == 1 and "weather: stale" in stale.stdout
    # Re-import updates in place, to the same bytes as the first import; remove deletes exactly what it made.
    again = await call(client, "import_mcp_server", name="weather", source=str(repo))
    assert again["tools"] == imported["tools"] and len(list((home / "mcp" / "weather").iterdir())) == 2
    assert proxy.read_bytes() == original
    removed = await call(client, "remove_imported_mcp_server", name="weather")
    assert removed == {"name": "weather", "removed": True}
    assert not (home / "mcp" / "weather").exists() and not proxy.exists() and repo.exists()
    assert not proxy.with_suffix(".json").exists()
    assert (await call(client, "list_imported_mcp_servers"))["count"] == 0


def _tree(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")} if folder.exists() else set()


def _plain_project(root: Path, name: str, dependencies: str = "") -> Path:
    """A Python project folder that installs (setuptools, no modules) but is no MCP server."""
    folder = root / name
    folder.mkdir()
    (folder / "pyproject.toml").write_text(
        f'[build-system]\nrequires = ["setuptools>=61"]\nbuild-backend = "setuptools.build_meta"\n\n'
        f'[project]\nname = "{name}"\nversion = "0.1.0"\ndependencies = [{dependencies}]\n'
        "\n[tool.setuptools]\npy-modules = []\n"
    )
    return folder


async def test_imports_that_fail_early_leave_nothing(
    client: ClientSession, tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    user_home = tmp_path / "user-home"
    user_home.mkdir()
    monkeypatch.setenv("HOME", str(user_home))  # what the import runs must not write here (pip, git, cargo)
    assert "^[a-z]" in await error_text(client, "import_mcp_server", name="Bad-Name", source=str(tmp_path))
    # Every refused local path gets the same answer, whether it exists or not: no probing of the file system.
    refusals = set()
    for source in (str(tmp_path / "missing"), "/etc/passwd", "/etc", "/", ".", "..", "~", "relative/path",
                   str(tmp_path), "file:///nonexistent/repo.git", f"file://{tmp_path}"):
        text = await error_text(client, "import_mcp_server", name="ghost", source=source)
        refusals.add(text.replace(repr(source), "SOURCE"))
    assert len(refusals) == 1 and "not an importable project" in refusals.pop()
    clone = await error_text(client, "import_mcp_server", name="broken", source="https://127.0.0.1:9/none.git")
    assert "git clone" in clone and "failed" in clone
    plain = _plain_project(tmp_path, "not-a-server")
    dead = await error_text(client, "import_mcp_server", name="dead", source=str(plain),
                            command="python -c 'import sys; print(\"boom\", file=sys.stderr); sys.exit(3)'")
    assert "did not start as an MCP server" in dead and "boom" in dead
    missing = await error_text(client, "import_mcp_server", name="nocmd", source=str(plain),
                               command="no-such-server --stdio")
    assert "'no-such-server'" in missing and "neither in the server's virtual environment nor on PATH" in missing
    broken = _plain_project(tmp_path, "broken-deps", '"venom-mcp-no-such-package-anywhere==9.9.9"')
    install = await error_text(client, "import_mcp_server", name="nodeps", source=str(broken))
    assert "installing nodeps (pip) failed" in install
    assert "venom-mcp-no-such-package-anywhere" in install, "the tail of pip's output is shown"
    empty_server = "from mcp.server.fastmcp import FastMCP; FastMCP('empty').run('stdio')"
    no_tools = await error_text(client, "import_mcp_server", name="empty", source=str(plain),
                                command=f"{sys.executable} -c \"{empty_server}\"")
    assert "offers no tools" in no_tools
    guess = await error_text(client, "import_mcp_server", name="guess", source=str(plain))
    assert "command=" in guess
    assert not (home / "mcp").exists(), "a failed import leaves no folder behind"
    assert not list((home / "logs").glob("mcp-*")) if (home / "logs").exists() else True
    assert _tree(user_home) == set(), "nothing the imports ran wrote into HOME"
    assert not any((home / "mcp").glob("*/*")) and "no imported" in await error_text(
        client, "remove_imported_mcp_server", name="ghost")


async def test_local_sources_stay_inside_the_allowed_roots(settings: Settings, tmp_path: Path) -> None:
    allowed, elsewhere = tmp_path / "allowed", tmp_path / "elsewhere"
    allowed.mkdir()
    elsewhere.mkdir()
    outside = _plain_project(elsewhere, "outside")
    link = allowed / "link-out"
    link.symlink_to(outside)  # a way out of the root through a link is still outside
    app = App(settings.model_copy(update={"import_local_roots": str(allowed)}))
    async with mcp_session(app) as client:
        for source in (str(outside), str(link)):
            text = await error_text(client, "import_mcp_server", name="out", source=source)
            assert "not an importable project" in text and str(allowed) in text, text
    assert not (settings.venom_home / "mcp").exists()


def test_a_local_copy_never_leaves_the_project_and_is_bounded(tmp_path: Path) -> None:
    project = _plain_project(tmp_path, "proj")
    (project / "pkg").mkdir()
    (project / "pkg" / "code.py").write_text("x = 1\n")
    (project / "inner-link.py").symlink_to(project / "pkg" / "code.py")
    secret = tmp_path / "secret.txt"
    secret.write_text("not yours")
    (project / "leak.txt").symlink_to(secret)
    (project / "leak-dir").symlink_to(tmp_path)
    (project / ".venv").mkdir()
    (project / ".venv" / "big.bin").write_bytes(b"0" * 1000)
    target = tmp_path / "copy"
    copy_project(project, target)
    assert _tree(target) == {"pyproject.toml", "pkg", "pkg/code.py", "inner-link.py"}
    assert (target / "inner-link.py").read_text() == "x = 1\n" and not (target / "inner-link.py").is_symlink()
    with pytest.raises(InvalidArgument, match="more than 2 files"):
        copy_project(project, tmp_path / "copy2", max_files=2)
    with pytest.raises(InvalidArgument, match="MB"):
        copy_project(project, tmp_path / "copy3", max_bytes=10)
