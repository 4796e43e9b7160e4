"""A stand-in ``systemctl`` for the tests, faithful enough to run the unit files shipped in ``deploy/systemd``.

``install_fake_systemctl(bin_dir, state_dir)`` writes an executable ``bin_dir/systemctl`` shim that runs this file
with the test's Python; put ``bin_dir`` first on ``PATH``. Unit files are looked up by name in ``state_dir/units``
(``FAKE_SYSTEMD_UNIT_DIR``); ``state_dir`` (``FAKE_SYSTEMD_STATE_DIR``) holds ``calls`` (one line per invocation,
the arguments joined by spaces), ``<unit>.pid`` and ``<unit>.log`` (the service's stdout and stderr).

Verbs: ``start``, ``stop``, ``restart``, ``is-active``, ``show -p MainPID|LoadState|ActiveState [--value]``,
``daemon-reload`` (a no-op); other options (``--user``, ``--quiet``...) are ignored. ``start`` reads ``[Service]``'s
``Environment=``, ``EnvironmentFile=`` (``-``: optional) and ``ExecStart=`` (split into words, then ``${VAR}``
replaced within a word and a ``$VAR`` word split at whitespace) and starts the program in a new session, with that
environment plus the caller's PATH, HOME and LANG. ``stop`` sends SIGTERM to the process group, SIGKILL after 10 s.

Not simulated: Restart= (a crashed service stays down), dependencies (After=, Wants=, [Install]), cgroups (a unit's
processes are its process group, which a process calling setsid leaves), User=, Type= readiness, specifiers
(``%i``), TimeoutStopSec=, ExecStop=/ExecReload=, the journal and the ``failed`` state (a dead service is inactive).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

UNIT_SUFFIXES = (".service", ".socket", ".target", ".timer", ".path", ".mount", ".slice", ".scope")
_VAR = re.compile(r"\$\$|\$\{(\w+)\}|\$(\w+)")
_ENV_LINE = re.compile(r"""\s*([^#;=\s][^=]*?)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|'([^']*)'|(.*?))\s*""")


def install_fake_systemctl(bin_dir: Path, state_dir: Path) -> Path:
    """Write ``bin_dir/systemctl`` (unit files in ``state_dir/units``, state in ``state_dir``); return its path."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    (state_dir / "units").mkdir(parents=True, exist_ok=True)
    q, shim = shlex.quote, bin_dir / "systemctl"
    shim.write_text(
        "#!/bin/sh\n"
        f"FAKE_SYSTEMD_UNIT_DIR={q(str(state_dir / 'units'))}; export FAKE_SYSTEMD_UNIT_DIR\n"
        f"FAKE_SYSTEMD_STATE_DIR={q(str(state_dir))}; export FAKE_SYSTEMD_STATE_DIR\n"
        # -I: neither this file's folder (tests/fakes) nor PYTHON* variables reach the interpreter.
        f'exec {q(sys.executable)} -I {q(str(Path(__file__).resolve()))} "$@"\n'
    )
    shim.chmod(0o755)
    return shim


def parse_unit(text: str) -> dict[str, dict[str, list[str]]]:
    """Section -> key -> values in order; an empty assignment (``ExecStart=``) empties the list, as in systemd."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] = {}
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith(("#", ";")):
            continue
        if line.endswith("\\"):  # continuation: the backslash becomes a space
            pending += line[:-1] + " "
            continue
        line, pending = pending + line, ""
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
        elif "=" in line:
            key, _, value = (part.strip() for part in line.partition("="))
            current[key] = [*current.get(key, []), value] if value else []
    return sections


def parse_env_file(text: str) -> dict[str, str]:
    """``KEY=value`` lines as systemd reads an EnvironmentFile=: ``"..."`` unescapes only ``\\" \\\\ \\` \\$`` (other
    backslashes stay), ``'...'`` is literal, an unquoted value drops its backslashes. No continuation lines."""
    env: dict[str, str] = {}
    for line in text.splitlines():
        if match := _ENV_LINE.fullmatch(line):
            key, double, single, bare = match.groups()
            if double is not None:
                env[key] = re.sub(r'\\(["\\`$])', r"\1", double)
            else:
                env[key] = single if single is not None else re.sub(r"\\(.)", r"\1", bare)
    return env


def expand_exec(line: str, env: dict[str, str]) -> list[str]:
    """ExecStart= words: ``${VAR}`` is replaced within its word, a ``$VAR`` word becomes the value's words."""
    words: list[str] = []
    for word in shlex.split(line.lstrip("-@:+!|")):
        if whole := re.fullmatch(r"\$(\w+)", word):
            words += env.get(whole.group(1), "").split()
        else:
            words.append(_VAR.sub(lambda m: "$" if m.group(0) == "$$" else env.get(m.group(1) or m.group(2), ""), word))
    return words


def _alive(pid: int, started: float) -> bool:
    try:
        proc = psutil.Process(pid)
        # A zombie that nobody reaps (the service was reparented when the starting command exited) counts as gone.
        return abs(proc.create_time() - started) < 0.05 and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _group_alive(pgid: int) -> bool:
    for proc in psutil.process_iter():
        try:
            if os.getpgid(proc.pid) == pgid and proc.status() != psutil.STATUS_ZOMBIE:
                return True
        except (OSError, psutil.Error):
            continue
    return False


class Systemctl:
    def __init__(self, unit_dir: Path, state_dir: Path) -> None:
        self.unit_dir, self.state_dir = unit_dir, state_dir

    def main_pid(self, unit: str) -> int:
        try:
            pid, started = (self.state_dir / f"{unit}.pid").read_text().split()
        except (OSError, ValueError):
            return 0
        return int(pid) if _alive(int(pid), float(started)) else 0

    def start(self, unit: str) -> int:
        if self.main_pid(unit):
            return 0
        service = parse_unit((self.unit_dir / unit).read_text()).get("Service", {})
        env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG") if k in os.environ}
        for word in (word for assignments in service.get("Environment", []) for word in shlex.split(assignments)):
            key, _, value = word.partition("=")
            env[key] = value
        log = self.state_dir / f"{unit}.log"
        try:
            for spec in service.get("EnvironmentFile", []):
                path = Path(spec.removeprefix("-"))
                if not (spec.startswith("-") and not path.exists()):
                    env.update(parse_env_file(path.read_text()))
            argv = expand_exec(service.get("ExecStart", [""])[-1], env)
            if not argv:
                raise ValueError("no ExecStart=")
            with log.open("ab") as out:
                proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        except (OSError, ValueError) as exc:
            with log.open("a") as out:
                out.write(f"{unit}: failed to start: {exc}\n")
            print(f"Job for {unit} failed because the control process exited with error code.\n"
                  f'See "systemctl status {unit}" and "journalctl -xeu {unit}" for details.', file=sys.stderr)
            return 1
        (self.state_dir / f"{unit}.pid").write_text(f"{proc.pid} {psutil.Process(proc.pid).create_time()}\n")
        proc.returncode = 0  # not ours to wait for: it outlives this command (Popen would warn that it still runs)
        return 0

    def stop(self, unit: str) -> None:
        pid_file = self.state_dir / f"{unit}.pid"
        # start_new_session: the process group is the main pid; what is left of it goes too if the main process died.
        pgid = int(pid_file.read_text().split()[0]) if pid_file.exists() else 0
        for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
            if pgid <= 1 or not _group_alive(pgid):  # never 0: that would be this command's own group
                break
            with contextlib.suppress(ProcessLookupError):  # it may have just exited
                os.killpg(pgid, sig)
            deadline = time.monotonic() + wait
            while _group_alive(pgid) and time.monotonic() < deadline:
                time.sleep(0.05)
        pid_file.unlink(missing_ok=True)

    def run(self, verb: str, units: list[str], props: list[str], value_only: bool) -> int:
        if verb == "show":
            for unit in units:
                pid, loaded = self.main_pid(unit), (self.unit_dir / unit).is_file()
                values = {"MainPID": str(pid), "ActiveState": "active" if pid else "inactive",
                          "LoadState": "loaded" if loaded else "not-found"}
                print("\n".join(values.get(p, "") if value_only else f"{p}={values.get(p, '')}" for p in props))
            return 0
        if verb == "is-active":
            states = ["active" if self.main_pid(unit) else "inactive" for unit in units]
            print("\n".join(states))
            return 0 if states and "inactive" not in states else 3
        if verb == "daemon-reload":
            return 0
        if verb not in ("start", "stop", "restart"):
            print(f"Unknown command verb '{verb}'.", file=sys.stderr)
            return 1
        for unit in units:
            if not (self.unit_dir / unit).is_file():
                print(f"Failed to {verb} {unit}: Unit {unit} {'not loaded' if verb == 'stop' else 'not found'}.",
                      file=sys.stderr)
                return 5
            if verb != "start":
                self.stop(unit)
            if verb != "stop" and self.start(unit):
                return 1
        return 0


def parse_args(argv: list[str]) -> tuple[str, list[str], list[str], bool]:
    """The verb, the units (``.service`` added where no unit type is given), the ``-p`` properties, ``--value``."""
    words: list[str] = []
    props: list[str] = []
    args = iter(argv)
    for arg in args:
        if arg in ("-p", "--property"):
            props += next(args, "").split(",")
        elif arg.startswith(("-p", "--property=")):
            props += arg.removeprefix("--property=").removeprefix("-p").split(",")
        elif not arg.startswith("-"):  # other options (--user, --quiet, --no-block...) are ignored
            words.append(arg)
    units = [u if u.endswith(UNIT_SUFFIXES) else f"{u}.service" for u in words[1:]]
    return (words[0] if words else ""), units, props, "--value" in argv


def main(argv: list[str]) -> int:
    state_dir = Path(os.environ["FAKE_SYSTEMD_STATE_DIR"])
    with (state_dir / "calls").open("a") as calls:
        calls.write(" ".join(argv) + "\n")
    with (state_dir / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one invocation at a time, like systemd's job queue
        return Systemctl(Path(os.environ["FAKE_SYSTEMD_UNIT_DIR"]), state_dir).run(*parse_args(argv))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
