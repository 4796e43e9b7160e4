"""Long-text translation throughput with chunked concurrency, as a ratio to translating the same chunks one
by one against the same server in the same run.

    python bench/translate.py [--paragraphs 120] [--latency 0.15] [--runs 3]

The server is the fake OpenAI-compatible server on loopback answering each request after `--latency` seconds,
like a remote or batching server (vLLM, a cloud API) where requests in flight overlap. venom-mcp translates
through its `translation` service (4 chunks in flight) and through the same service limited to 1.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pydantic import SecretStr  # noqa: E402

from tests.fakes.live import LiveServer  # noqa: E402
from tests.fakes.openai_server import OPENAI_PREFIX, FakeOpenAI  # noqa: E402
from tests.test_translation import long_text  # noqa: E402
from venom_mcp.app import App  # noqa: E402
from venom_mcp.config import Settings  # noqa: E402
from venom_mcp.services.translation import TranslationService  # noqa: E402


async def main(paragraphs: int, latency: float, runs: int) -> int:
    fake = FakeOpenAI()
    text = long_text(paragraphs)
    with LiveServer(fake.app) as server, tempfile.TemporaryDirectory() as home:
        app = App(Settings(_env_file=None, venom_home=Path(home),  # type: ignore[call-arg]
                           openai_base_url=server.url + OPENAI_PREFIX, openai_api_key=SecretStr("sk-bench"),
                           hf_token=None))
        try:
            await app.runtimes.switch("openai", "gpt-4o-mini")
            fake.fault, fake.slow_seconds = "slow", latency
            concurrent = app.translation
            serial = TranslationService(app.chat, concurrent._cache, concurrency=1)
            together: list[float] = []
            one_by_one: list[float] = []
            chunks = 0
            for _ in range(runs):
                for service, times in ((serial, one_by_one), (concurrent, together)):
                    started = time.perf_counter()
                    result = await service.translate(text, "pl", use_cache=False)
                    times.append(time.perf_counter() - started)
                    chunks = result.chunks
        finally:
            await app.aclose()
    fast, slow = statistics.median(together), statistics.median(one_by_one)
    print(f"{len(text):,} characters in {chunks} chunks, {latency * 1000:.0f} ms per request")
    print(f"one by one {slow:6.2f} s ({len(text) / slow:8,.0f} chars/s)   concurrent {fast:6.2f} s "
          f"({len(text) / fast:8,.0f} chars/s)   throughput ratio {slow / fast:.2f}x")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paragraphs", type=int, default=120)
    parser.add_argument("--latency", type=float, default=0.15)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    raise SystemExit(asyncio.run(main(args.paragraphs, args.latency, args.runs)))
