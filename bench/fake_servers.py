"""Runs the fake Hub and the fake Ollama in their own process, so a benchmark's client does not share the GIL
with the servers it measures. Prints "hub=<url> ollama=<url>" once both listen; runs until stdin closes."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fakes.hub import TINY_GGUF, FakeHub, seed_files  # noqa: E402
from tests.fakes.live import LiveServer  # noqa: E402
from tests.fakes.ollama import FakeOllama  # noqa: E402

BIG_FILE = "tiny.Q4_K_M.gguf"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mib", type=int, default=256, help=f"size of {BIG_FILE} in {TINY_GGUF}")
    parser.add_argument("--pull-chunks", type=int, default=400)
    parser.add_argument("--pull-delay", type=float, default=0.002)
    args = parser.parse_args()
    files = seed_files()
    files[TINY_GGUF] = {**files[TINY_GGUF], BIG_FILE: os.urandom(args.mib * 1024 * 1024)}
    hub = FakeHub(files=files)
    hub.file_info(TINY_GGUF, BIG_FILE)  # hash it now, not during the first measured download
    ollama = FakeOllama(pull_chunks=args.pull_chunks, pull_delay=args.pull_delay)
    with LiveServer(hub.app) as hub_server, LiveServer(ollama.app) as ollama_server:
        print(f"hub={hub_server.url} ollama={ollama_server.url}", flush=True)
        for line in sys.stdin:  # "reset" between runs; EOF ends the servers
            if line.strip() == "reset":
                ollama.reset()
                print("ok", flush=True)


if __name__ == "__main__":
    main()
