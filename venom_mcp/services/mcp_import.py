"""Importing other MCP servers: clone (git, argument lists only), a virtual environment of their own, install,
find how to start them, ask them for their tools over stdio, generate a proxy, and record the import."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..config import Settings
from ..errors import ConfigError, InvalidArgument, NotFound, UpstreamError
from ..store import atomic_write_json, locked, read_json
from .mcp_source import GIT_URL, copy_project, local_project, parse_roots
from .proxygen import ServerLaunch, ToolSpec, write_proxy, write_spec

log = logging.getLogger(__name__)

NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
BASE_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "USER")
# The link to the build in use. Proxies reach the server through it, so the paths in a proxy stay the same when a
# re-import builds in a new folder: unchanged tools give an unchanged proxy.
CURRENT = "current"


def check_name(name: str) -> str:
    if not NAME.fullmatch(name):
        raise InvalidArgument(f"name {name!r} must match ^[a-z][a-z0-9_]{{0,39}}$ (lower case, digits, _)")
    return name


def _through(link: Path, build: Path, word: str) -> str:
    """`word` with a leading `build` path replaced by `link` (the link that points at the build)."""
    if word == str(build) or word.startswith(str(build) + os.sep):
        return str(link) + word[len(str(build)):]
    return word


def _point(link: Path, build: Path) -> None:
    """Make `link` point at `build` (its sibling) in one rename: a reader sees the old build or the new one."""
    staging = link.with_name(f".{link.name}.{uuid.uuid4().hex[:12]}")
    os.symlink(build.name, staging)  # relative: the link names its sibling folder
    try:
        os.replace(staging, link)
    except BaseException:
        staging.unlink(missing_ok=True)
        raise


def _tail(text: str, lines: int = 15) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


# Passed through to git and pip: where packages come from, and the certificates to reach it.
INSTALL_ENV = ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS", "PIP_CERT", "GIT_SSL_CAINFO")


def _home_variables(home: Path) -> dict[str, str]:
    """HOME, TMPDIR and the caches of what an install runs (pip, git, cargo/rustup for a Rust build, XDG) inside
    the import's own folder: nothing the import runs writes elsewhere, and a failed import leaves nothing."""
    return {
        "HOME": str(home), "TMPDIR": str(home / "tmp"), "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_CONFIG_HOME": str(home / ".config"), "XDG_DATA_HOME": str(home / ".local" / "share"),
        "CARGO_HOME": str(home / ".cargo"), "RUSTUP_HOME": str(home / ".rustup"),
    }


def _private_home(build: Path) -> Path:
    home = build / "home"
    (home / "tmp").mkdir(parents=True, exist_ok=True)
    return home


async def _run(argv: list[str], *, cwd: Path | None = None, seconds: float, what: str, home: Path) -> str:
    """Run a command (never through a shell) in the import's own HOME; UpstreamError with the output's tail when
    it fails."""
    env = {k: v for k, v in os.environ.items() if k in (*BASE_ENV, *INSTALL_ENV)}
    env.update(_home_variables(home))

    def call() -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # noqa: S603 - argv list, no shell
            argv, cwd=cwd, capture_output=True, text=True, timeout=seconds, check=False, env=env,
        )

    try:
        result = await asyncio.to_thread(call)
    except subprocess.TimeoutExpired as exc:
        raise UpstreamError(f"{what} took longer than {seconds:g} s") from exc
    except FileNotFoundError as exc:
        raise ConfigError(f"{what} needs {argv[0]!r}, which is not installed") from exc
    if result.returncode != 0:
        raise UpstreamError(f"{what} failed (exit {result.returncode}):\n{_tail(result.stdout + result.stderr)}")
    return result.stdout


class McpImporter:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.root = settings.path("mcp")
        self.registry_path = self.root / "servers.json"

    def servers(self) -> list[dict[str, Any]]:
        raw = read_json(self.registry_path) if self.registry_path.exists() else None
        return list(raw.get("servers", [])) if isinstance(raw, dict) else []

    def _save(self, servers: list[dict[str, Any]]) -> None:
        atomic_write_json(self.registry_path, {"servers": servers, "updated_at": datetime.now(UTC)})

    async def import_server(self, name: str, source: str, command: str | None = None) -> dict[str, Any]:
        check_name(name)
        # Every check comes before anything is written: a refused import leaves no trace.
        roots = parse_roots(self.settings.import_local_roots)
        project = None if GIT_URL.match(source) else local_project(source, roots)
        created_root = not self.root.exists()
        # Each import builds in a folder of its own that it never leaves (a venv cannot be moved); a re-import
        # replaces the previous build only once the new one works.
        build = self.root / name / uuid.uuid4().hex[:12]
        try:
            src = build / "src"
            build.mkdir(parents=True)
            home = _private_home(build)
            if project is None or (project / ".git").is_dir():
                await _run(
                    ["git", "clone", "--depth", "1", "--", source if project is None else str(project), str(src)],
                    seconds=300, what=f"git clone of {source}", home=home,
                )
            else:
                await asyncio.to_thread(copy_project, project, src)
            venv = build / "venv"
            await _run([sys.executable, "-m", "venv", str(venv)], seconds=300, what="creating the virtual environment",
                       home=home)
            python = venv / "bin" / "python"
            if (src / "pyproject.toml").exists() or (src / "setup.py").exists():
                await _run(
                    [str(python), "-m", "pip", "install", "--disable-pip-version-check", "-q", str(src)],
                    seconds=1200,
                    what=f"installing {name} (pip)",
                    home=home,
                )
            elif (src / "requirements.txt").exists():
                await _run(
                    [
                        str(python),
                        "-m",
                        "pip",
                        "install",
                        "--disable-pip-version-check",
                        "-q",
                        "-r",
                        str(src / "requirements.txt"),
                    ],
                    seconds=1200,
                    what=f"installing {name}'s requirements (pip)",
                    home=home,
                )
            argv = await self._command(src, venv, command)
            tools = await self._list_tools(argv, self._environment(name, venv, home), src, name, build / "server.log")
            if not tools:
                raise UpstreamError(f"{name} started but offers no tools; nothing to import")
        except BaseException:
            shutil.rmtree(build, ignore_errors=True)
            with contextlib.suppress(OSError):
                (self.root / name).rmdir()  # only when no earlier build is there
                if created_root:
                    self.root.rmdir()
            raise
        current = self.root / name / CURRENT
        _point(current, build)
        for other in (self.root / name).iterdir():
            if other.is_symlink():
                if other != current:
                    other.unlink()  # a staging link left by an import that was killed
            elif other != build:
                shutil.rmtree(other, ignore_errors=True)
        launch_argv = [_through(current, build, word) for word in argv]
        # The proxy file holds no secret: only the base environment is written into it.
        env = self._environment(name, current / "venv", current / "home", pass_through=False)
        launch = ServerLaunch(
            name=name, command=launch_argv[0], args=launch_argv[1:], env=env, cwd=str(current / "src")
        )
        # Both are rewritten only when their bytes change. The spec beside the proxy lets
        # `python -m venom_mcp.services.proxygen --check PROXY SPEC` tell a stale proxy.
        proxy = write_proxy(self.settings.path("proxies"), launch, tools)
        write_spec(self.settings.path("proxies"), launch, tools)
        record = {
            "name": name,
            "source": source,
            "tools": sorted(t.name for t in tools),
            "proxy_path": str(proxy),
            "command": launch_argv,
            "imported_at": datetime.now(UTC).isoformat(),
        }
        with locked(self.registry_path):
            self._save([s for s in self.servers() if s.get("name") != name] + [record])
        return record

    async def _command(self, src: Path, venv: Path, command: str | None) -> list[str]:
        if command:
            words = shlex.split(command)
            if not words:
                raise InvalidArgument("command is empty: give the server's console script or 'python -m package'")
            script = venv / "bin" / words[0]
            if script.exists():
                return [str(script), *words[1:]]
            if shutil.which(words[0], path=f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}") is None:
                raise InvalidArgument(
                    f"command {words[0]!r} was found neither in the server's virtual environment nor on PATH: "
                    "give its console script (see its pyproject.toml [project.scripts]) or 'python -m package'"
                )
            return words
        project = {}
        if (src / "pyproject.toml").exists():
            project = tomllib.loads((src / "pyproject.toml").read_text(encoding="utf-8")).get("project", {})
        for script in project.get("scripts") or {}:
            if (venv / "bin" / script).exists():
                return [str(venv / "bin" / script)]
        packages = [p.parent.name for p in src.glob("*/__main__.py")] + [
            p.parent.name for p in src.glob("src/*/__main__.py")
        ]
        if packages:
            return [str(venv / "bin" / "python"), "-m", packages[0]]
        raise InvalidArgument(
            "could not tell how to start this server: pass command='...' (its console script or 'python -m package')"
        )

    def _environment(self, name: str, venv: Path, home: Path, pass_through: bool = True) -> dict[str, str]:
        """A minimal environment: no API keys or tokens of ours, unless listed in VENOM_MCP_<NAME>_ENV; HOME,
        TMPDIR and the caches inside the import's folder."""
        env = {k: v for k, v in os.environ.items() if k in BASE_ENV}
        env.update(_home_variables(home))
        env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        listed = os.environ.get(f"VENOM_MCP_{name.upper()}_ENV", "") if pass_through else ""
        for variable in (v.strip() for v in listed.split(",")):
            if variable and variable in os.environ:
                env[variable] = os.environ[variable]
        return env

    async def _list_tools(
        self, argv: list[str], env: dict[str, str], cwd: Path, name: str, log_path: Path | None = None
    ) -> list[ToolSpec]:
        """Start the server, ask for its tools, stop it. Its stderr goes to `log_path` (during an import: inside
        the build, so a failed import leaves no log behind; its tail is in the error)."""
        from mcp import ClientSession, StdioServerParameters
        from mcp.client.stdio import stdio_client

        log_path = log_path or self.settings.path("logs") / f"mcp-{name}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        params = StdioServerParameters(command=argv[0], args=argv[1:], env=env, cwd=str(cwd))
        try:
            with log_path.open("w", encoding="utf-8") as errlog:
                async with asyncio.timeout(60):
                    async with stdio_client(params, errlog=errlog) as (read, write), ClientSession(read, write) as s:
                        await s.initialize()
                        listed = await s.list_tools()
        except TimeoutError as exc:
            raise UpstreamError(
                f"{name} did not answer initialize and tools/list within 60 s:\n"
                f"{_tail(log_path.read_text(errors='replace'))}"
            ) from exc
        except Exception as exc:  # the server died or spoke something else than MCP
            raise UpstreamError(
                f"{name} did not start as an MCP server ({type(exc).__name__}):\n"
                f"{_tail(log_path.read_text(errors='replace'))}"
            ) from exc
        return [
            ToolSpec(
                name=t.name,
                description=t.description,
                input_schema=dict(t.inputSchema),
                output_schema=dict(t.outputSchema) if t.outputSchema else None,
            )
            for t in listed.tools
        ]

    async def stale_proxies(self) -> list[tuple[str, str]]:
        """(name, why) for each imported server whose proxy no longer matches the tools it publishes now."""
        from .proxygen import GENERATOR_VERSION, tools_hash

        stale = []
        for record in self.servers():
            name, proxy = record["name"], Path(record.get("proxy_path", ""))
            text = proxy.read_text(encoding="utf-8") if proxy.is_file() else ""
            match = re.search(r"^TOOLS_SHA256 = '([0-9a-f]{64})'$", text, re.M)
            if match is None:
                stale.append((name, f"proxy {proxy} is missing or unreadable"))
                continue
            # Another generator derives other names (and hashed the tools in their listed order): not the tools.
            if not re.search(rf"^# Generator: venom-mcp proxygen {re.escape(GENERATOR_VERSION)};", text, re.M):
                stale.append((name, "the proxy was made by another version of proxygen: import it again"))
                continue
            argv = list(record["command"])
            venv = Path(argv[0]).parent.parent
            try:
                env = self._environment(name, venv, venv.parent / "home")
                tools = await self._list_tools(argv, env, Path(argv[0]).parent, name)
            except UpstreamError as exc:
                stale.append((name, f"server did not answer: {str(exc).splitlines()[0]}"))
                continue
            if tools_hash(tools) != match.group(1):
                stale.append((name, "the server now publishes different tools: import it again"))
        return stale

    async def remove(self, name: str) -> bool:
        """Delete only what the import created: its folder under $VENOM_HOME/mcp, its proxy, its record."""
        check_name(name)
        record = next((s for s in self.servers() if s.get("name") == name), None)
        if record is None:
            raise NotFound(f"no imported MCP server {name!r}; list_imported_mcp_servers shows them")
        await asyncio.to_thread(shutil.rmtree, self.root / name, True)
        proxy = Path(record.get("proxy_path", ""))
        if proxy.parent == self.settings.path("proxies"):
            for path in (proxy, proxy.with_suffix(".json")):
                path.unlink(missing_ok=True)
        with locked(self.registry_path):
            self._save([s for s in self.servers() if s.get("name") != name])
        return True
