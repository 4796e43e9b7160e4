"""The REST API and the dashboard keep the HTTP transport's rules: the bearer token when one is set (the page shell
and its two static files excepted, for the login field), and the Host/Origin checks of a loopback bind."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import http_served, make_settings
from venom_mcp.app import App

TOKEN = "dashboard-token-0123456789"


def _serve(home: Path, hub_url: str, library_url: str, ollama_url: str, token: str | None) -> Iterator[str]:
    app = App(make_settings(home, hub_url, library_url, ollama_host=ollama_url, http_token=token))
    with http_served(app) as server:
        yield server.url


@pytest.fixture
def served(home: Path, hub_url: str, library_url: str, ollama_url: str) -> Iterator[str]:
    yield from _serve(home, hub_url, library_url, ollama_url, TOKEN)


@pytest.fixture
def open_server(home: Path, hub_url: str, library_url: str, ollama_url: str) -> Iterator[str]:
    yield from _serve(home, hub_url, library_url, ollama_url, None)


def test_token_guards_the_api_and_the_data_but_not_the_page_shell(served: str) -> None:
    with httpx.Client(base_url=served, timeout=30) as plain:
        for path in ("/api/v1/models", "/api/v1/models/trending?provider=ollama", "/openapi.json",
                     "/models/fragments/installed", "/api/v1/models/operations/x/events"):
            denied = plain.get(path)
            assert denied.status_code == 401, path
            assert denied.json() == {"success": False,
                                     "error": "unauthorized: send Authorization: Bearer <VENOM_HTTP_TOKEN>"}
        assert plain.post("/api/v1/models/activate", json={"name": "a", "runtime": "ollama"}).status_code == 401
        assert plain.post("/models", json={}).status_code == 401, "only GET of the shell is public"
        page = plain.get("/models")
        assert page.status_code == 200 and 'id="login"' in page.text and 'type="password"' in page.text
        assert TOKEN not in page.text
        for name in ("dashboard.js", "dashboard.css"):
            assert plain.get(f"/models/static/{name}").status_code == 200
        assert plain.get("/models/static/other.js").status_code == 401
    authed = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=served, timeout=30, headers=authed) as client:
        assert client.get("/api/v1/models").json()["success"] is True
        fragment = client.get("/models/fragments/trending", params={"provider": "ollama"})
        assert fragment.status_code == 200 and 'data-action="install"' in fragment.text
        assert client.get("/models/static/other.js").status_code == 404


def test_loopback_bind_checks_host_and_origin_on_every_route(open_server: str) -> None:
    with httpx.Client(base_url=open_server, timeout=30) as client:
        assert client.get("/api/v1/models").status_code == 200
        for path in ("/api/v1/models", "/models", "/models/fragments/runtime", "/openapi.json"):
            assert client.get(path, headers={"Host": "evil.example"}).status_code == 421, path
        # A page on another site may not drive the API from the user's browser (DNS rebinding, CSRF).
        cross = client.post("/api/v1/models/registry/install", json={"name": "llama3.2:1b", "provider": "ollama"},
                            headers={"Origin": "http://evil.example"})
        assert cross.status_code == 403
        assert client.get("/api/v1/models/operations").json()["count"] == 0, "nothing was started"
        same = client.get("/api/v1/models", headers={"Origin": open_server})
        assert same.status_code == 200


def test_dashboard_pages_carry_a_strict_content_security_policy(open_server: str) -> None:
    with httpx.Client(base_url=open_server, timeout=30) as client:
        page = client.get("/models")
        csp = page.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
        assert page.headers["x-content-type-options"] == "nosniff"
        assert "<script>" not in page.text and " style=" not in page.text, "nothing inline for the CSP to block"
        assert client.get("/models/static/dashboard.js").headers["content-type"].startswith("text/javascript")
        missing = client.get("/models/fragments/nothing")
        assert missing.status_code == 404 and "nothing" in missing.text
