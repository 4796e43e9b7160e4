"""The unit templates in deploy/systemd, and the stand-in systemctl (tests/fakes/systemctl.py) running one of them."""

from __future__ import annotations

import os
import re
import shlex
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from tests.fakes.systemctl import expand_exec, install_fake_systemctl, parse_env_file, parse_unit

UNITS = Path(__file__).resolve().parent.parent / "deploy" / "systemd"
VENOM_VARIABLES = {"VENOM_MODEL_PATH", "VENOM_SERVED_MODEL_NAME", "VENOM_HOST", "VENOM_PORT"}
OLLAMA_VARIABLES = {"OLLAMA_HOST", "OLLAMA_CONTEXT_LENGTH", "OLLAMA_NUM_PARALLEL", "OLLAMA_MAX_QUEUE",
                    "OLLAMA_FLASH_ATTENTION", "OLLAMA_KV_CACHE_TYPE", "OLLAMA_KEEP_ALIVE"}
CONTRACT = {"vllm": VENOM_VARIABLES, "llamacpp": VENOM_VARIABLES, "ollama": OLLAMA_VARIABLES}
PROGRAMS = {
    "vllm": ["/opt/venom-mcp/.venv/bin/vllm", "serve"],
    "llamacpp": ["/opt/venom-mcp/.venv/bin/python", "-m", "llama_cpp.server"],
    "ollama": ["/usr/local/bin/ollama", "serve"],
}
UNIT = "venom-llamacpp.service"

# An OpenAI-compatible server in miniature: GET /v1/models lists the alias (with the model path as `root`, like vLLM)
# and the pid of a child it keeps, to show that stop takes the whole process group.
SERVER = """
import argparse, json, subprocess, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

parser = argparse.ArgumentParser()
for flag in ("--model", "--alias", "--host", "--port"):
    parser.add_argument(flag, required=True)
args = parser.parse_args()
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])

class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path != "/v1/models":
            self.send_error(404)
            return
        body = json.dumps({"object": "list", "data": [{"id": args.alias, "object": "model", "root": args.model}],
                           "child_pid": child.pid}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

ThreadingHTTPServer((args.host, int(args.port)), Handler).serve_forever()
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def env_line(key: str, value: str) -> str:
    """What venom-mcp writes: a double-quoted value with \\ " $ escaped."""
    return key + '="' + value.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$") + '"\n'


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE  # reparented, and nobody reaps it
    except psutil.NoSuchProcess:
        return True


def exec_variables(line: str) -> set[str]:
    return {a or b for a, b in re.findall(r"\$\{(\w+)\}|\$(\w+)", line)}


# ---- the templates ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("runtime", ["vllm", "llamacpp", "ollama"])
def test_template(runtime: str) -> None:
    unit = parse_unit((UNITS / f"venom-{runtime}.service").read_text())
    service = unit["Service"]
    assert service["EnvironmentFile"] == [f"/var/lib/venom-mcp/run/{runtime}.env"]
    assert service["LimitCORE"] == ["0"]
    assert service["KillMode"] == ["control-group"]
    assert service["Restart"] == ["on-failure"]
    assert service["RestartSec"] == ["5"]
    assert service["TimeoutStopSec"] == ["30"]
    assert "User" not in service  # left to the admin: a commented line with guidance
    assert unit["Unit"]["After"] == unit["Unit"]["Wants"] == ["network-online.target"]
    assert unit["Install"]["WantedBy"] == ["multi-user.target"]

    [exec_start] = service["ExecStart"]
    variables = exec_variables(exec_start)
    assert variables <= CONTRACT[runtime]
    if runtime != "ollama":
        assert variables == VENOM_VARIABLES
        assert "$VENOM" not in exec_start  # ${VAR}: exactly one argument, even with spaces in the value
    argv = expand_exec(exec_start, {name: f"<{name}>" for name in CONTRACT[runtime]})
    assert argv[: len(PROGRAMS[runtime])] == PROGRAMS[runtime]


def test_template_arguments_match_each_server() -> None:
    env = {name: f"<{name}>" for name in VENOM_VARIABLES}
    vllm = expand_exec(parse_unit((UNITS / "venom-vllm.service").read_text())["Service"]["ExecStart"][0], env)
    assert vllm[2:] == ["<VENOM_MODEL_PATH>", "--served-model-name", "<VENOM_SERVED_MODEL_NAME>",
                        "--host", "<VENOM_HOST>", "--port", "<VENOM_PORT>"]
    llama = expand_exec(parse_unit((UNITS / "venom-llamacpp.service").read_text())["Service"]["ExecStart"][0], env)
    assert llama[3:] == ["--model", "<VENOM_MODEL_PATH>", "--model_alias", "<VENOM_SERVED_MODEL_NAME>",
                         "--host", "<VENOM_HOST>", "--port", "<VENOM_PORT>"]


# ---- the stand-in's parsing ------------------------------------------------------------------------------------


def test_env_file_reads_like_systemd() -> None:
    text = (
        "# a comment\n"
        + env_line("VENOM_MODEL_PATH", '/models/a "b" c\\d $HOME.gguf')
        + "  SPACED = unquoted value  \n"
        + "SINGLE='a \\n $b'\n"
        + 'KEEP="a\\nb"\n'
        + "EMPTY=\n"
        + "; another\nnot a variable\n"
    )
    assert parse_env_file(text) == {
        "VENOM_MODEL_PATH": '/models/a "b" c\\d $HOME.gguf',
        "SPACED": "unquoted value",
        "SINGLE": "a \\n $b",
        "KEEP": "a\\nb",  # systemd keeps a backslash before anything but " \ ` $
        "EMPTY": "",
    }


def test_exec_start_expansion() -> None:
    env = {"ONE": "a b", "EMPTY": ""}
    assert expand_exec("-/bin/prog ${ONE} x${ONE}y $ONE $$ONE ${MISSING} '${ONE}'", env) == [
        "/bin/prog", "a b", "xa by", "a", "b", "$ONE", "", "a b"]


# ---- the stand-in running a unit -------------------------------------------------------------------------------


class FakeSystemd:
    def __init__(self, tmp_path: Path) -> None:
        self.state = tmp_path / "state"
        self.shim = install_fake_systemctl(tmp_path / "bin", self.state)
        self.env = {**os.environ, "PATH": f"{self.shim.parent}{os.pathsep}{os.environ.get('PATH', '')}"}

    def __call__(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["systemctl", *args], env=self.env, capture_output=True, text=True, timeout=60,
                              check=False)

    def calls(self) -> list[str]:
        return (self.state / "calls").read_text().splitlines()

    def log(self, unit: str) -> str:
        path = self.state / f"{unit}.log"
        return path.read_text() if path.exists() else ""


@pytest.fixture
def systemd(tmp_path: Path) -> Iterator[FakeSystemd]:
    fake = FakeSystemd(tmp_path)
    try:
        yield fake
    finally:
        for pid_file in fake.state.glob("*.pid"):  # whatever a test left running
            fake("stop", pid_file.name.removesuffix(".pid"))


def wait_for_models(client: httpx.Client, port: int, alias: str) -> dict[str, Any]:
    deadline = time.monotonic() + 15
    last: object = None
    while time.monotonic() < deadline:
        try:
            body: dict[str, Any] = client.get(f"http://127.0.0.1:{port}/v1/models", timeout=1).json()
            if [model["id"] for model in body["data"]] == [alias]:
                return body
            last = body
        except httpx.HTTPError as exc:
            last = exc
        time.sleep(0.05)
    raise AssertionError(f"port {port} did not serve {alias} within 15 s: {last!r}")


def install_llamacpp_unit(systemd: FakeSystemd, tmp_path: Path, env_file: Path) -> None:
    """The shipped unit, with only ExecStart (our miniature server) and EnvironmentFile (under tmp_path) changed."""
    script = tmp_path / "serve.py"
    script.write_text(SERVER)
    exec_start = (f"ExecStart={shlex.quote(sys.executable)} {shlex.quote(str(script))} --model ${{VENOM_MODEL_PATH}} "
                  "--alias ${VENOM_SERVED_MODEL_NAME} --host ${VENOM_HOST} --port ${VENOM_PORT}")
    lines = []
    for line in (UNITS / UNIT).read_text().splitlines():
        if line.startswith("ExecStart="):
            line = exec_start
        elif line.startswith("EnvironmentFile="):
            line = f"EnvironmentFile={env_file}"
        lines.append(line)
    (systemd.state / "units" / UNIT).write_text("\n".join(lines) + "\n")


def write_env(env_file: Path, model: str, alias: str, port: int) -> None:
    env_file.parent.mkdir(parents=True, exist_ok=True)
    env_file.write_text(env_line("VENOM_MODEL_PATH", model) + env_line("VENOM_SERVED_MODEL_NAME", alias)
                        + env_line("VENOM_HOST", "127.0.0.1") + env_line("VENOM_PORT", str(port)))


def test_runs_the_llamacpp_unit(systemd: FakeSystemd, tmp_path: Path) -> None:
    env_file = tmp_path / "home" / "run" / "llamacpp.env"
    install_llamacpp_unit(systemd, tmp_path, env_file)
    port = free_port()
    model = str(tmp_path / 'models dir' / 'tiny "q4" $HOME.gguf')  # one argument, quoted and escaped
    write_env(env_file, model, "tiny", port)
    assert systemd("show", "-p", "LoadState", "--value", UNIT).stdout == "loaded\n"
    assert systemd("is-active", UNIT).returncode == 3

    with httpx.Client(trust_env=False) as client:
        result = systemd("start", UNIT)
        assert result.returncode == 0, result.stderr
        body = wait_for_models(client, port, "tiny")
        assert body["data"][0]["root"] == model
        pid = int(systemd("show", "-p", "MainPID", "--value", UNIT).stdout)
        assert psutil.Process(pid).cmdline()[1] == str(tmp_path / "serve.py")
        active = systemd("is-active", UNIT)
        assert (active.returncode, active.stdout) == (0, "active\n")
        assert systemd("start", UNIT).returncode == 0  # already running: nothing happens
        assert int(systemd("show", "-p", "MainPID", "--value", UNIT).stdout) == pid

        write_env(env_file, model, "tiny-2", port)
        assert systemd("restart", UNIT).returncode == 0
        new_body = wait_for_models(client, port, "tiny-2")
        new_pid = int(systemd("show", "-p", "MainPID", "--value", UNIT).stdout)
        assert new_pid != pid
        assert gone(pid) and gone(body["child_pid"])

        assert systemd("stop", UNIT).returncode == 0
        assert gone(new_pid) and gone(new_body["child_pid"])  # the whole process group (KillMode=control-group)
        assert systemd("show", "-p", "MainPID", "--value", UNIT).stdout == "0\n"
        assert systemd("is-active", UNIT).stdout == "inactive\n"
        with pytest.raises(httpx.ConnectError):
            client.get(f"http://127.0.0.1:{port}/v1/models", timeout=1)

    assert systemd.calls() == [
        f"show -p LoadState --value {UNIT}", f"is-active {UNIT}", f"start {UNIT}", f"show -p MainPID --value {UNIT}",
        f"is-active {UNIT}", f"start {UNIT}", f"show -p MainPID --value {UNIT}", f"restart {UNIT}",
        f"show -p MainPID --value {UNIT}", f"stop {UNIT}", f"show -p MainPID --value {UNIT}", f"is-active {UNIT}",
    ]


def test_unknown_and_failing_units(systemd: FakeSystemd, tmp_path: Path) -> None:
    result = systemd("start", "nope")
    assert result.returncode == 5
    assert result.stderr == "Failed to start nope.service: Unit nope.service not found.\n"
    assert systemd("restart", "nope.service").returncode == 5
    assert systemd("stop", "nope.service").returncode == 5
    assert systemd("show", "-p", "LoadState", "--value", "nope.service").stdout == "not-found\n"
    assert systemd("show", "-p", "MainPID", "--value", "nope.service").stdout == "0\n"
    assert systemd("is-active", "nope.service").returncode == 3
    assert systemd("daemon-reload").returncode == 0

    units = systemd.state / "units"
    (units / "missing-program.service").write_text("[Service]\nExecStart=/nonexistent/venom-server --port 1\n")
    result = systemd("start", "missing-program.service")
    assert result.returncode == 1
    assert result.stderr.startswith("Job for missing-program.service failed because the control process exited")
    assert "/nonexistent/venom-server" in systemd.log("missing-program.service")
    assert systemd("is-active", "missing-program.service").returncode == 3

    (units / "missing-env.service").write_text(
        f"[Service]\nEnvironmentFile={tmp_path / 'absent.env'}\nExecStart={sys.executable} -c pass\n")
    assert systemd("start", "missing-env.service").returncode == 1


def test_optional_environment_file_and_environment(systemd: FakeSystemd, tmp_path: Path) -> None:
    out = tmp_path / "out.txt"
    code = "import os, sys, time; open(sys.argv[1], 'w').write(os.environ['GREETING']); time.sleep(600)"
    (systemd.state / "units" / "sleeper.service").write_text(
        "[Service]\n"
        f"EnvironmentFile=-{tmp_path / 'absent.env'}\n"
        'Environment="GREETING=hello world"\n'
        f"ExecStart={shlex.quote(sys.executable)} -c {shlex.quote(code)} \\\n"
        f"    {shlex.quote(str(out))}\n"
    )
    assert systemd("start", "sleeper").returncode == 0
    pid = int(systemd("show", "-p", "MainPID", "--value", "sleeper").stdout)
    deadline = time.monotonic() + 15
    while not (out.exists() and out.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert out.read_text() == "hello world"
    assert systemd("stop", "sleeper").returncode == 0
    assert gone(pid)
    assert not (systemd.state / "sleeper.service.pid").exists()
