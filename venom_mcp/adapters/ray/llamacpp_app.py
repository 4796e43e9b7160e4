"""The llama.cpp deployment venom-mcp deploys on a Ray cluster for GGUF models (import path `...llamacpp_app:build`).

Each replica fetches the model's files with huggingface_hub on its own node (into that node's Hugging Face cache;
HF_TOKEN, where a gated model needs it, comes from the node's environment, never from the config), loads them with
llama-cpp-python, and answers the OpenAI-compatible `GET /v1/models` and `POST /v1/chat/completions`, streaming
included (server-sent events, `data: [DONE]` at the end), under the application's route prefix.

Only a Ray worker imports this module (it imports ray, fastapi and llama_cpp); venom-mcp itself only names it. Every
node that may run a replica needs venom-mcp, llama-cpp-python and huggingface_hub installed in Ray's Python.
"""

# No `from __future__ import annotations`: FastAPI reads the handlers' annotations (Request) at run time.
import asyncio
import json
import logging
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from ray import serve
from ray.serve.deployment import Application

log = logging.getLogger("ray.serve")
api = FastAPI()
_DONE = object()
# Request fields passed to llama-cpp-python's create_chat_completion (OpenAI names, plus llama.cpp's and vLLM's
# repetition penalty and top_k, which venom-mcp sends in the body).
PASSED = ("max_tokens", "temperature", "top_p", "top_k", "min_p", "seed", "stop", "presence_penalty",
          "frequency_penalty", "repeat_penalty", "tools", "tool_choice", "logit_bias")


def fetch(repo_id: str, files: list[str], revision: str | None, hf_endpoint: str) -> str:
    """Download (or find in this node's cache) the model's files; the path of the first, which llama.cpp loads
    (a split model's other parts lie beside it)."""
    from huggingface_hub import hf_hub_download

    paths = [hf_hub_download(repo_id, name, revision=revision, endpoint=hf_endpoint) for name in files]
    return paths[0]


def _error(status: int, message: str, kind: str = "invalid_request_error") -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": kind, "code": status}}, status_code=status)


# What a request leaves out: the OpenAI API's (and vLLM's) defaults, as venom-mcp's parameter table documents them for
# ray, rather than create_chat_completion's own (temperature 0.2, min_p 0.05, top_k 40).
DEFAULTS = {"temperature": 1.0, "top_p": 1.0, "top_k": 0, "min_p": 0.0, "repeat_penalty": 1.0}


def _arguments(body: dict[str, Any]) -> dict[str, Any]:
    """The request as create_chat_completion's keyword arguments."""
    found = {**DEFAULTS, **{name: body[name] for name in PASSED if body.get(name) is not None}}
    if isinstance(found["top_k"], int) and found["top_k"] < 0:  # vLLM's "no limit" (-1) is llama.cpp's 0
        found["top_k"] = 0
    if body.get("max_completion_tokens") is not None and "max_tokens" not in found:
        found["max_tokens"] = body["max_completion_tokens"]
    if body.get("repetition_penalty") is not None and body.get("repeat_penalty") is None:
        found["repeat_penalty"] = body["repetition_penalty"]
    response_format = body.get("response_format")
    if isinstance(response_format, dict):
        if response_format.get("type") == "json_schema":  # OpenAI's spelling -> llama.cpp's grammar from a schema
            schema = (response_format.get("json_schema") or {}).get("schema")
            response_format = {"type": "json_object", **({"schema": schema} if schema else {})}
        if response_format.get("type") == "json_object":
            found["response_format"] = response_format
    return found


@serve.deployment(name="LlamaCpp", max_ongoing_requests=8)
@serve.ingress(api)
class LlamaCppServer:
    def __init__(self, served_model_name: str, repo_id: str, revision: str | None, files: list[str],
                 hf_endpoint: str, n_ctx: int, n_threads: int, n_gpu_layers: int = 0) -> None:
        from llama_cpp import Llama

        self.name = served_model_name
        path = fetch(repo_id, files, revision, hf_endpoint)
        log.info("loading %s from %s (n_ctx=%d, n_threads=%d)", served_model_name, path, n_ctx, n_threads)
        self.llm = Llama(model_path=path, n_ctx=n_ctx, n_threads=n_threads, n_gpu_layers=n_gpu_layers,
                         verbose=False)
        self.created = int(time.time())
        self.lock = threading.Lock()  # one llama.cpp context: one generation at a time

    @api.get("/v1/models")
    async def models(self) -> dict[str, Any]:
        return {"object": "list", "data": [{"id": self.name, "object": "model", "created": self.created,
                                            "owned_by": "venom-mcp", "root": self.name}]}

    @api.post("/v1/chat/completions")
    async def chat_completions(self, request: Request) -> Response:
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "the body is not JSON")
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            return _error(400, "messages is required: a list of {role, content}")
        if body.get("model") not in (None, self.name):
            return _error(404, f"the model {body.get('model')!r} does not exist; this application serves "
                               f"{self.name!r}", "not_found_error")
        arguments = {"messages": body["messages"], **_arguments(body)}
        if body.get("stream"):
            return StreamingResponse(self._stream(arguments), media_type="text/event-stream")
        try:
            answer = await asyncio.to_thread(self._complete, arguments)
        except ValueError as exc:  # a template that refuses the messages, a prompt over the context
            return _error(400, str(exc))
        answer["model"] = self.name
        return JSONResponse(answer)

    def _complete(self, arguments: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            return dict(self.llm.create_chat_completion(**arguments))  # type: ignore[arg-type]

    async def _stream(self, arguments: dict[str, Any]) -> AsyncIterator[str]:
        """The chunks as server-sent events; the generation runs in a thread and stops when the client leaves."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[object] = asyncio.Queue()
        stop = threading.Event()

        def produce() -> None:
            try:
                with self.lock:
                    chunks: Iterator[Any] = self.llm.create_chat_completion(**arguments, stream=True)  # type: ignore
                    for chunk in chunks:
                        if stop.is_set():
                            break
                        loop.call_soon_threadsafe(queue.put_nowait, chunk)
            except Exception as exc:  # reported in the stream: the status line has gone out already
                loop.call_soon_threadsafe(queue.put_nowait, exc)
            finally:
                loop.call_soon_threadsafe(queue.put_nowait, _DONE)

        worker = loop.run_in_executor(None, produce)
        request_id = f"chatcmpl-{uuid.uuid4().hex}"
        try:
            while (item := await queue.get()) is not _DONE:
                if isinstance(item, Exception):
                    yield f"data: {json.dumps({'error': {'message': str(item), 'type': type(item).__name__}})}\n\n"
                    continue
                chunk = dict(item)  # type: ignore[call-overload]
                chunk.update(id=request_id, model=self.name)
                yield f"data: {json.dumps(chunk)}\n\n"
            yield "data: [DONE]\n\n"
        finally:
            stop.set()
            await worker


def build(args: dict[str, Any]) -> "Application":
    """Serve's application builder: the config's `args` are the replica's constructor arguments."""
    return LlamaCppServer.bind(**args)  # type: ignore[attr-defined, no-any-return]
