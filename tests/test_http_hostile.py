"""Hostile requests on the REST face of `serve --transport http`: every write route refuses a body it cannot take
(not JSON, nested too deep, too large, not sent as application/json) with a JSON error and changes nothing, and
every error answer of the REST face is JSON, the Host/Origin checks included."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.conftest import http_served, make_settings
from venom_mcp.app import App
from venom_mcp.jsontext import MAX_BYTES
from venom_mcp.web import json_errors
from venom_mcp.web.rest import ROUTES

MODEL = "llama3.2:1b"
WRITES = [(e.method, e.path.replace("{model_name}", MODEL).replace("{operation_id}", "op-1"))
          for e in ROUTES if e.method in ("POST", "DELETE")]
# A body each route would take, were it sent as JSON: what a cross-site form or a careless client sends.
PLAUSIBLE = (b'{"name": "llama3.2:1b", "model": "llama3.2:1b", "provider": "ollama", "runtime": "ollama", '
             b'"text": "hello", "target_lang": "pl", "server_name": "ollama", "model_name": "llama3.2:1b"}')
HOSTILE_BODIES: list[tuple[str, bytes, int]] = [
    ("nested 1,000 deep", b"[" * 1000 + b"]" * 1000, 400),
    ("a field nested 200 deep", b'{"name": ' + b"[" * 200 + b"]" * 200 + b"}", 400),
    ("not JSON", b'{"name": "llama3.2:1b"', 400),
    ("not UTF-8", b'{"name": "\xff\xfe"}', 400),
    ("a lone surrogate", b'{"name": "\\ud800"}', 400),
    ("a 5,000-digit integer", b'{"name": ' + b"9" * 5000 + b"}", 400),
    ("NaN", b'{"name": NaN}', 400),
    ("an empty JSON text", b"  ", 400),
    ("over the size limit", b'{"text": "' + b"a" * MAX_BYTES + b'"}', 413),
]


def tree(home: Path) -> dict[str, bytes | None]:
    return {str(p.relative_to(home)): p.read_bytes() if p.is_file() else None for p in sorted(home.rglob("*"))}


def assert_json_error(response: httpx.Response, status: int, context: Any = None) -> dict[str, Any]:
    assert response.status_code == status, (context, response.status_code, response.text[:300])
    assert response.headers["content-type"].startswith("application/json"), (context, response.headers)
    body: dict[str, Any] = response.json()
    assert body["success"] is False and isinstance(body["error"], str) and body["error"], (context, body)
    assert "Traceback" not in body["error"], context
    return body


@pytest.fixture
def served(home: Path, hub_url: str, library_url: str, ollama_url: str) -> Iterator[str]:
    with http_served(App(make_settings(home, hub_url, library_url, ollama_host=ollama_url))) as server:
        yield server.url


def test_every_write_route_refuses_hostile_bodies_and_writes_nothing(served: str, home: Path) -> None:
    assert {"POST", "DELETE"} == {method for method, _ in WRITES} and len(WRITES) >= 10
    with httpx.Client(base_url=served, timeout=30) as client:
        assert client.get("/api/v1/models").status_code == 200  # the App is up, its folders made
        before = tree(home)
        for method, path in WRITES:
            for name, body, status in HOSTILE_BODIES:
                response = client.request(method, path, content=body, headers={"content-type": "application/json"})
                error = assert_json_error(response, status, (method, path, name))["error"]
                assert ("JSON" in error or "UTF-8" in error) if status == 400 else "limit" in error, (name, error)
        assert tree(home) == before, "a refused request changed $VENOM_HOME"


def test_every_write_route_needs_json_content_type_and_writes_nothing(served: str, home: Path) -> None:
    with httpx.Client(base_url=served, timeout=30) as client:
        assert client.get("/api/v1/models").status_code == 200
        before = tree(home)
        for method, path in WRITES:
            for kind in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                         "application/jsonx", None):
                headers = {"content-type": kind} if kind else {}
                response = client.request(method, path, content=PLAUSIBLE, headers=headers)
                error = assert_json_error(response, 415, (method, path, kind))["error"]
                assert "Content-Type: application/json" in error, error
        assert tree(home) == before, "a refused request changed $VENOM_HOME"
        assert client.get("/api/v1/models/operations").json()["count"] == 0, "nothing was started"
        # JSON with a charset parameter is JSON; a DELETE without a body needs no Content-Type.
        charset = client.post("/api/v1/translate", content=b'{"text": "hi", "target_lang": "pl"}',
                              headers={"content-type": "application/json; charset=utf-8"})
        assert "no active runtime" in assert_json_error(charset, 400)["error"]
        assert_json_error(client.delete("/api/v1/models/registry/nothing-here:1b"), 404)
        text_delete = client.delete("/api/v1/models/registry/nothing-here:1b", headers={"content-type": "text/plain"})
        assert_json_error(text_delete, 415)


def test_every_rest_error_answer_is_json(served: str) -> None:
    with httpx.Client(base_url=served, timeout=30) as client:
        for path in ("/api/v1/models/a%2Fb%2Fc/capabilities", "/api/v1/nothing%2Fhere", "/api/v1/models/%2F",
                     "/nothing", "/models/static/a%2Fb"):
            response = client.get(path)
            assert 400 <= response.status_code < 500, path
            assert_json_error(response, response.status_code, path)
        for method, path in (("PUT", "/api/v1/models/activate"), ("PATCH", "/health"),
                             ("DELETE", "/openapi.json"), ("POST", "/api/v1/models/usage")):
            assert_json_error(client.request(method, path), 405, (method, path))
        for path in ("/api/v1/models", "/openapi.json", "/health", "/models"):
            refused = client.get(path, headers={"Host": "evil.example"})
            assert "evil.example" in assert_json_error(refused, 421, path)["error"]
        cross = client.post("/api/v1/models/registry/install", json={"name": MODEL, "provider": "ollama"},
                            headers={"Origin": "http://evil.example"})
        assert "evil.example" in assert_json_error(cross, 403)["error"]


async def test_an_unexpected_failure_is_a_json_500() -> None:
    async def broken(_: Request) -> Response:
        raise RuntimeError("secret detail")

    app = Starlette(routes=[Route("/api/v1/broken", broken)])
    json_errors(app)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        body = assert_json_error(await client.get("/api/v1/broken"), 500)
    assert "secret detail" not in body["error"] and "server log" in body["error"]
