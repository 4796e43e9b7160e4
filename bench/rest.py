"""Latency of the REST API over its tools, as a ratio to a bare Starlette route serving the same JSON.

    python bench/rest.py [--requests 400] [--rounds 5]

Both apps run in uvicorn on loopback in this process and answer the same cached trending list (12 Ollama models);
the client alternates between them so machine noise hits both alike. What the ratio shows is the REST layer's own
cost: argument validation through the tool catalog, the catalog cache lookup, the record dump and the envelope.
It also times the dashboard's fragment of the same list (server-side HTML rendering) against the same baseline.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conftest import make_settings  # noqa: E402
from tests.fakes.hub import FakeHub  # noqa: E402
from tests.fakes.live import LiveServer  # noqa: E402
from tests.fakes.ollama_library import FakeOllamaLibrary  # noqa: E402
from venom_mcp.app import App  # noqa: E402
from venom_mcp.server import http_app  # noqa: E402

TRENDING = "/api/v1/models/trending?provider=ollama&limit=12"


def bare_app(payload: bytes) -> object:
    from starlette.applications import Starlette
    from starlette.responses import Response
    from starlette.routing import Route

    async def answer(_: object) -> Response:
        return Response(payload, media_type="application/json")

    return Starlette(routes=[Route("/api/v1/models/trending", answer)])


def median_ms(client: httpx.Client, url: str, count: int) -> float:
    times = []
    for _ in range(count):
        started = time.perf_counter()
        response = client.get(url)
        times.append(time.perf_counter() - started)
        assert response.status_code == 200
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home, LiveServer(FakeHub().app) as hub, \
            LiveServer(FakeOllamaLibrary().app) as library:
        app = App(make_settings(Path(home), hub.url, library.url))
        venom = LiveServer(http_app(app, "127.0.0.1", 0), lifespan="on").start()
        try:
            with httpx.Client(timeout=30) as client:
                payload = client.get(venom.url + TRENDING).content  # warms the cache
                with LiveServer(bare_app(payload)) as bare:
                    rest, html, base = [], [], []
                    for _ in range(args.rounds):
                        base.append(median_ms(client, bare.url + TRENDING, args.requests))
                        rest.append(median_ms(client, venom.url + TRENDING, args.requests))
                        html.append(median_ms(client, venom.url + "/models/fragments/trending?provider=ollama",
                                              args.requests))
        finally:
            venom.stop()
    b, r, h = statistics.median(base), statistics.median(rest), statistics.median(html)
    print(f"bare Starlette route, same JSON : {b:6.2f} ms (median of {args.rounds} rounds x {args.requests})")
    print(f"REST /api/v1/models/trending   : {r:6.2f} ms  ratio {r / b:.2f}x")
    print(f"dashboard trending fragment    : {h:6.2f} ms  ratio {h / b:.2f}x")


if __name__ == "__main__":
    main()
