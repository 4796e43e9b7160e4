"""`venom-mcp serve --transport http` as a real process on a free loopback port, for clients in other processes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.fakes.live import free_port

START_DEADLINE_S = 120.0  # a generous bound for a busy machine, not a measurement


def clean_env() -> dict[str, str]:
    """This process's environment without the variables venom-mcp reads (and no keys of the user's)."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("VENOM_", "HF_", "OLLAMA_", "OPENAI_", "GOOGLE_"))}


def server_env(home: Path, hub_url: str, library_url: str, ollama_url: str, **extra: str) -> dict[str, str]:
    """A clean environment pointed at the fakes."""
    env = clean_env()
    env.update(VENOM_HOME=str(home), HF_ENDPOINT=hub_url, VENOM_OLLAMA_LIBRARY_URL=library_url,
               OLLAMA_HOST=ollama_url, **extra)
    return env


@contextmanager
def served_over_http(env: dict[str, str], cwd: Path) -> Iterator[str]:
    """Start the server, wait until /health answers, yield the MCP endpoint URL; stop it at the end."""
    port = free_port()
    log = cwd / f"serve-{port}.log"
    with log.open("wb") as output:
        proc = subprocess.Popen(
            [sys.executable, "-m", "venom_mcp", "serve", "--transport", "http", "--port", str(port)],
            cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
        )
    try:
        _wait_for_health(proc, f"http://127.0.0.1:{port}/health", log)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_for_health(proc: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + START_DEADLINE_S
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"venom-mcp serve exited with {proc.returncode}:\n{log.read_text()[-4000:]}")
        try:
            if httpx.get(url, timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"venom-mcp serve did not answer {url} within {START_DEADLINE_S} s:\n"
                               f"{log.read_text()[-4000:]}")
        time.sleep(0.1)
