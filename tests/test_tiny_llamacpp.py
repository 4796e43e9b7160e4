"""The tiny GGUF models of ``tests/fakes/tiny_gguf.py`` run in the real llama.cpp server (llama-cpp-python).

Skipped where ``llama_cpp`` (``pip install "llama-cpp-python[server]"``) or ``gguf`` is not installed.
Run with ``-s`` to see the measured file size, write time, server start time, latency and memory.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.fakes.live import have_llamacpp_server

if not have_llamacpp_server():  # found without importing llama_cpp, which leaks two open files
    pytest.skip("llama-cpp-python[server] and gguf are not installed", allow_module_level=True)
import gguf
import openai
from openai.types.chat import ChatCompletionMessageParam

from tests.fakes.tiny_gguf import (
    CHATML_TEMPLATE,
    GEMMA_TEMPLATE,
    N_VOCAB,
    write_tiny_gemma,
    write_tiny_llama,
)

READY_DEADLINE_S = 30.0
EXIT_DEADLINE_S = 5.0
ALIAS = "tiny"
SYSTEM_AND_USER: list[ChatCompletionMessageParam] = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "Say hello."},
]
USER_ONLY: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Say hello."}]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _rss_mb(pid: int) -> float | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return None


class LlamaServer:
    """``python -m llama_cpp.server`` on a free loopback port, serving one model as ``tiny``.

    The server reads every environment variable named like one of its options (``MODEL``, ``HOST``,
    ``PORT``, ``API_KEY``, ``CHAT_FORMAT``...), so it gets a minimal environment. ``--chat_format`` is left
    unset so that the chat template stored in the GGUF file is used. ``--interrupt_requests False`` lets
    concurrent streams finish (by default a new request cuts off the one in progress).
    """

    def __init__(self, model: Path, log: Path) -> None:
        self.model = model
        self.log_path = log
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.ready_s = 0.0

    def start(self) -> LlamaServer:
        cmd = [
            sys.executable, "-m", "llama_cpp.server",
            "--model", str(self.model),
            "--model_alias", ALIAS,
            "--host", "127.0.0.1",
            "--port", str(self.port),
            "--n_ctx", "512",
            "--interrupt_requests", "False",
        ]  # fmt: skip
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/tmp")}
        started = time.monotonic()
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = started + READY_DEADLINE_S
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"llama_cpp.server exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                r = httpx.get(self.url + "/v1/models", timeout=1.0)
                if r.status_code == 200 and ALIAS in [m["id"] for m in r.json()["data"]]:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"llama_cpp.server not ready in {READY_DEADLINE_S} s:\n{self.log_tail()}")
            time.sleep(0.05)
        self.ready_s = time.monotonic() - started
        return self

    def log_tail(self, chars: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]

    def terminate(self) -> float:
        """SIGTERM; returns seconds until the process exited (raises TimeoutExpired past EXIT_DEADLINE_S)."""
        assert self.proc is not None
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=EXIT_DEADLINE_S)
        return time.monotonic() - started

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            self.terminate()
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)

    def client(self) -> openai.OpenAI:
        return openai.OpenAI(base_url=self.url + "/v1", api_key="none", max_retries=0, timeout=30)


@dataclass(frozen=True)
class TinyModels:
    chatml: Path
    gemma: Path
    dir: Path
    write_s: float


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> TinyModels:
    root = tmp_path_factory.mktemp("tiny-gguf")
    write_tiny_llama(root / "warmup.gguf")  # first call imports gguf; keep that out of the measured time
    started = time.perf_counter()
    chatml = write_tiny_llama(root / "tiny-chatml.gguf")
    write_s = time.perf_counter() - started
    gemma = write_tiny_gemma(root / "tiny-gemma.gguf")
    print(f"\n[tiny-gguf] size {chatml.stat().st_size} bytes, written in {write_s * 1000:.1f} ms")
    return TinyModels(chatml, gemma, root, write_s)


@pytest.fixture(scope="module")
def chatml_server(tiny_models: TinyModels) -> Iterator[LlamaServer]:
    server = LlamaServer(tiny_models.chatml, tiny_models.dir / "chatml-server.log").start()
    rss = _rss_mb(server.proc.pid) if server.proc else None
    print(f"\n[llama_cpp.server chatml] ready in {server.ready_s:.2f} s, RSS {rss or 0:.0f} MB")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def gemma_server(tiny_models: TinyModels) -> Iterator[LlamaServer]:
    server = LlamaServer(tiny_models.gemma, tiny_models.dir / "gemma-server.log").start()
    print(f"\n[llama_cpp.server gemma] ready in {server.ready_s:.2f} s")
    yield server
    server.stop()


# ---- the files ------------------------------------------------------------------------------------------


def test_tiny_gguf_file(tiny_models: TinyModels) -> None:
    path = tiny_models.chatml
    assert path.read_bytes()[:4] == b"GGUF"
    assert path.stat().st_size < 500_000
    assert tiny_models.write_s < 1.0
    reader = gguf.GGUFReader(path)

    def field(key: str) -> object:
        return reader.fields[key].contents()

    assert field("general.architecture") == "llama"
    assert field("llama.block_count") == 2
    assert field("llama.embedding_length") == 64
    assert field("llama.attention.head_count") == 4
    assert field("llama.context_length") == 512
    assert field("tokenizer.ggml.model") == "gpt2"
    assert len(reader.fields["tokenizer.ggml.tokens"].data) == N_VOCAB
    assert field("tokenizer.chat_template") == CHATML_TEMPLATE
    assert gguf.GGUFReader(tiny_models.gemma).fields["tokenizer.chat_template"].contents() == GEMMA_TEMPLATE
    names = {t.name for t in reader.tensors}
    assert {"token_embd.weight", "output.weight", "blk.1.ffn_down.weight"} <= names
    assert len(names) == 3 + 2 * 9


def test_same_seed_same_bytes(tmp_path: Path, tiny_models: TinyModels) -> None:
    again = write_tiny_llama(tmp_path / "again.gguf")
    assert again.read_bytes() == tiny_models.chatml.read_bytes()
    other = write_tiny_llama(tmp_path / "other.gguf", seed=1)
    assert other.read_bytes() != again.read_bytes()
    assert other.stat().st_size == again.stat().st_size


# ---- in the real server -----------------------------------------------------------------------------------


def test_models_endpoint(chatml_server: LlamaServer) -> None:
    r = httpx.get(chatml_server.url + "/v1/models")
    assert r.status_code == 200
    assert [m["id"] for m in r.json()["data"]] == [ALIAS]
    assert httpx.get(chatml_server.url + "/health").status_code == 404  # no health route: poll /v1/models
    # With a single model loaded the server ignores the requested model name (no 404 for an unknown one).
    body = {"model": "no-such-model", "messages": USER_ONLY, "max_tokens": 2}
    r = httpx.post(chatml_server.url + "/v1/chat/completions", json=body, timeout=30)
    assert r.status_code == 200 and r.json()["model"] == "no-such-model"


def test_chat_chatml_with_system(chatml_server: LlamaServer) -> None:
    with chatml_server.client() as client:
        client.chat.completions.create(model=ALIAS, messages=USER_ONLY, max_tokens=1)  # warm-up
        started = time.perf_counter()
        reply = client.chat.completions.create(model=ALIAS, messages=SYSTEM_AND_USER, max_tokens=8, seed=1)
        latency = time.perf_counter() - started
    print(f"\n[llama_cpp.server] 8-token chat completion in {latency * 1000:.1f} ms")
    assert reply.object == "chat.completion"
    assert reply.model == ALIAS
    choice = reply.choices[0]
    assert choice.message.role == "assistant"
    assert choice.message.content  # gibberish: the weights are random
    assert choice.finish_reason in ("length", "stop")
    assert reply.usage is not None
    assert 1 <= reply.usage.completion_tokens <= 8
    # The prompt is the file's ChatML template rendered with the system message, then tokenized.
    prompt = (
        "<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nSay hello.<|im_end|>\n<|im_start|>assistant\n"
    )
    tokens = httpx.post(chatml_server.url + "/extras/tokenize", json={"input": prompt}).json()["tokens"]
    assert reply.usage.prompt_tokens == len(tokens)
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens


def test_stream_chatml(chatml_server: LlamaServer) -> None:
    with chatml_server.client() as client:
        stream = client.chat.completions.create(model=ALIAS, messages=SYSTEM_AND_USER, max_tokens=8, stream=True)
        chunks = list(stream)
    assert chunks
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text
    assert chunks[-1].choices[0].finish_reason in ("length", "stop")


def test_concurrent_streams_finish(chatml_server: LlamaServer) -> None:
    """With ``--interrupt_requests False`` a second request waits instead of cutting off the first stream."""
    finishes: list[str | None] = []

    def one() -> None:
        with chatml_server.client() as client:
            chunks = list(client.chat.completions.create(model=ALIAS, messages=USER_ONLY, max_tokens=64, stream=True))
            finishes.append(chunks[-1].choices[0].finish_reason if chunks and chunks[-1].choices else None)

    threads = [threading.Thread(target=one) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert len(finishes) == 3
    assert all(f in ("length", "stop") for f in finishes), finishes


def test_gemma_rejects_system_role(gemma_server: LlamaServer) -> None:
    with gemma_server.client() as client:
        with pytest.raises(openai.InternalServerError) as err:
            client.chat.completions.create(model=ALIAS, messages=SYSTEM_AND_USER, max_tokens=8)
        assert err.value.status_code == 500
        assert err.value.message.endswith("System role not supported")
        assert err.value.body == {
            "message": "System role not supported",
            "type": "internal_server_error",
            "param": None,
            "code": None,
        }
        not_alternating: list[ChatCompletionMessageParam] = [*USER_ONLY, {"role": "user", "content": "Again."}]
        with pytest.raises(openai.InternalServerError, match="Conversation roles must alternate"):
            client.chat.completions.create(model=ALIAS, messages=not_alternating, max_tokens=8)
        reply = client.chat.completions.create(model=ALIAS, messages=USER_ONLY, max_tokens=8)
    assert reply.choices[0].finish_reason in ("length", "stop")
    assert reply.usage is not None and reply.usage.completion_tokens >= 1
    assert "System role not supported" in gemma_server.log_tail(20_000)


def test_gemma_stream_with_system_is_empty(gemma_server: LlamaServer) -> None:
    """Streaming, the template error happens after the 200 headers: the SSE stream just carries nothing."""
    with gemma_server.client() as client:
        stream = client.chat.completions.create(model=ALIAS, messages=SYSTEM_AND_USER, max_tokens=8, stream=True)
        assert stream.response.status_code == 200
        chunks = list(stream)
    assert chunks == []  # no error, no chunk, not even a final one
    body = {"model": ALIAS, "messages": SYSTEM_AND_USER, "max_tokens": 8, "stream": True}
    with httpx.stream("POST", gemma_server.url + "/v1/chat/completions", json=body, timeout=30) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        assert r.read() == b""  # not even "data: [DONE]"


def test_sigterm_exits_quickly(tiny_models: TinyModels) -> None:
    server = LlamaServer(tiny_models.chatml, tiny_models.dir / "sigterm-server.log").start()
    try:
        with server.client() as client:
            reply = client.chat.completions.create(model=ALIAS, messages=USER_ONLY, max_tokens=8)
        assert reply.choices
        exit_s = server.terminate()
    finally:
        server.stop()
    print(f"\n[llama_cpp.server] ready in {server.ready_s:.2f} s; exited {exit_s:.2f} s after SIGTERM")
    assert server.proc is not None and server.proc.returncode is not None
    assert exit_s < EXIT_DEADLINE_S
    with pytest.raises(httpx.ConnectError):
        httpx.get(server.url + "/v1/models", timeout=2)
