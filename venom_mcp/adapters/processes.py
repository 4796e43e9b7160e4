"""Local runtime servers: a systemd unit when one is configured and systemd is there, else a managed process.

A managed process runs in its own process group from an argv built without a shell, with a pid file and a
log file under $VENOM_HOME. Stopping sends SIGTERM to the group, waits, sends SIGKILL, reaps, and then kills
any child that left the group, so nothing keeps holding GPU memory. Only pids recorded here (and checked
against their start time, against pid reuse) are ever signalled; nothing is killed by name.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shlex
import shutil
import signal
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from ..errors import ConfigError

log = logging.getLogger(__name__)

LOG_MAX_BYTES = 5_000_000
# Variables a runtime gets from us; nothing else (no API keys, no HOST/PORT that llama.cpp would read).
PASS_THROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "USER", "CUDA_VISIBLE_DEVICES", "LD_LIBRARY_PATH",
                "VIRTUAL_ENV", "HF_HOME", "XDG_CACHE_HOME")


def build_argv(template: str, **values: str) -> list[str]:
    """Split the command template like a shell would, then fill each word: a value can never become two words."""
    try:
        words = shlex.split(template)
    except ValueError as exc:
        raise ConfigError(f"command template {template!r} does not parse: {exc}") from exc
    if not words:
        raise ConfigError("the runtime command template is empty")
    try:
        return [word.format(**values) for word in words]
    except (KeyError, IndexError) as exc:
        known = ", ".join("{" + k + "}" for k in values)
        raise ConfigError(f"command template {template!r} uses an unknown placeholder {exc}; known: {known}") from exc


def clean_environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k in PASS_THROUGH}
    env.update(extra or {})
    return env


@dataclass
class ProcessRecord:
    name: str
    pid: int
    argv: list[str]
    started_at: float
    create_time: float
    model: str | None
    served_model_name: str | None
    log_path: str


class ProcessSupervisor:
    def __init__(self, run_dir: Path, log_dir: Path) -> None:
        self._run = run_dir
        self._logs = log_dir
        self._children: dict[str, subprocess.Popen[bytes]] = {}

    def _pid_file(self, name: str) -> Path:
        return self._run / f"{name}.pid"

    def log_path(self, name: str) -> Path:
        return self._logs / f"{name}.log"

    def record(self, name: str) -> ProcessRecord | None:
        """The recorded process if it is still the one we started (same pid and start time) and alive."""
        import psutil

        try:
            data = json.loads(self._pid_file(name).read_text(encoding="utf-8"))
            record = ProcessRecord(**data)
        except (OSError, ValueError, TypeError):
            return None
        try:
            proc = psutil.Process(record.pid)
            if abs(proc.create_time() - record.create_time) > 1 or proc.status() == psutil.STATUS_ZOMBIE:
                return None
        except psutil.Error:
            return None
        return record

    def start(self, name: str, argv: list[str], env: dict[str, str], model: str | None,
              served_model_name: str | None) -> ProcessRecord:
        import psutil

        from ..store import atomic_write_json

        self._run.mkdir(parents=True, exist_ok=True)
        self._logs.mkdir(parents=True, exist_ok=True)
        log_path = self.log_path(name)
        if log_path.exists() and log_path.stat().st_size > LOG_MAX_BYTES:
            os.replace(log_path, log_path.with_suffix(".log.1"))
        with log_path.open("ab") as log_file:
            log_file.write(f"\n--- {time.strftime('%Y-%m-%d %H:%M:%S')} starting: {shlex.join(argv)}\n".encode())
            log_file.flush()
            try:
                child = subprocess.Popen(  # noqa: S603 - argv from our template, no shell
                    argv, stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT, env=env,
                    start_new_session=True, close_fds=True,
                )
            except OSError as exc:
                raise ConfigError(
                    f"could not start {name}: {exc}; check VENOM_{name.upper()}_COMMAND ({shlex.join(argv)})"
                ) from exc
        self._children[name] = child
        record = ProcessRecord(name, child.pid, argv, time.time(), psutil.Process(child.pid).create_time(), model,
                               served_model_name, str(log_path))
        atomic_write_json(self._pid_file(name), asdict(record))
        return record

    def exited(self, name: str) -> int | None:
        """The exit status of a process we started in this run and that has ended (reaped here)."""
        child = self._children.get(name)
        return child.poll() if child is not None else None

    def stop(self, name: str, grace: float = 10.0) -> bool:
        """Stop the recorded process group; True when something was running."""
        import psutil

        record = self.record(name)
        child = self._children.pop(name, None)
        if record is None:
            if child is not None and child.poll() is None:
                # Ours but no longer recorded: a process still dying of a kill (psutil saw it gone, the kernel has
                # not made it reapable yet) or one whose pid file was lost. End it and reap it: no zombie left.
                with contextlib.suppress(ProcessLookupError):
                    child.terminate()
                try:
                    child.wait(timeout=grace)
                except subprocess.TimeoutExpired:
                    child.kill()
                    child.wait(timeout=5)
            with contextlib.suppress(FileNotFoundError):
                self._pid_file(name).unlink()
            return False
        try:
            members = [psutil.Process(record.pid), *psutil.Process(record.pid).children(recursive=True)]
        except psutil.Error:
            members = []
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(record.pid, signal.SIGTERM)
        _, alive = psutil.wait_procs(members, timeout=grace)
        if alive:
            log.warning("%s did not stop within %.0f s of SIGTERM; sending SIGKILL", name, grace)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(record.pid, signal.SIGKILL)
            for proc in alive:  # children that left the group
                with contextlib.suppress(psutil.Error):
                    proc.kill()
            psutil.wait_procs(alive, timeout=5)
        if child is not None:
            child.wait(timeout=5)  # reap: no zombie left behind
        with contextlib.suppress(FileNotFoundError):
            self._pid_file(name).unlink()
        return True

    def log_tail(self, name: str, lines: int = 20) -> str:
        try:
            text = self.log_path(name).read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.rstrip().splitlines()[-lines:])


def write_environment_file(path: Path, values: dict[str, str]) -> None:
    """What a unit reads with `EnvironmentFile=`: KEY="value" lines, quoted and escaped as systemd parses them."""
    from ..store import atomic_write_text

    def quote(value: str) -> str:
        escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$")
        return '"' + escaped.replace("\n", " ") + '"'

    lines = [f"{key}={quote(value)}" for key, value in values.items()]
    atomic_write_text(path, "# Written by venom-mcp for its systemd unit; changes are overwritten.\n"
                      + "\n".join(lines) + "\n")


class Systemd:
    """systemctl for a configured unit; only used when systemctl exists."""

    @staticmethod
    def available() -> bool:
        return shutil.which("systemctl") is not None

    @staticmethod
    def run(action: str, unit: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # noqa: S603
            ["systemctl", action, unit], capture_output=True, text=True, timeout=120, check=False  # noqa: S607
        )

    @staticmethod
    def show(unit: str, prop: str) -> str:
        result = subprocess.run(  # noqa: S603
            ["systemctl", "show", "-p", prop, "--value", unit],  # noqa: S607
            capture_output=True, text=True, timeout=30, check=False,
        )
        return result.stdout.strip()

    @staticmethod
    def exists(unit: str) -> bool:
        return Systemd.show(unit, "LoadState") == "loaded"

    @staticmethod
    def active(unit: str) -> bool:
        result = subprocess.run(  # noqa: S603
            ["systemctl", "is-active", unit], capture_output=True, text=True, timeout=30, check=False  # noqa: S607
        )
        return result.returncode == 0

    @staticmethod
    def main_pid(unit: str) -> int | None:
        result = subprocess.run(  # noqa: S603
            ["systemctl", "show", "-p", "MainPID", "--value", unit],  # noqa: S607
            capture_output=True, text=True, timeout=30, check=False,
        )
        try:
            pid = int(result.stdout.strip() or 0)
        except ValueError:
            return None
        return pid or None
