"""A stand-in runtime server process: the fake OpenAI-compatible server under the name it is told to serve.

Started by venom-mcp's process supervisor in the tests (as VENOM_LLAMACPP_COMMAND / VENOM_VLLM_COMMAND), so
start, health, stop, crash and rollback are tested on a real child process without building llama.cpp.
A model path containing "BROKEN" or "F16" makes it fail the way a server fails on a bad model file.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--model", required=True, help="the served model name")
    parser.add_argument("--model-path", default="")
    args = parser.parse_args()
    print(f"stub server: loading {args.model_path} as {args.model}", flush=True)
    if "BROKEN" in args.model_path or "F16" in args.model_path:
        time.sleep(0.2)
        print("error: failed to load model: unsupported tensor type", file=sys.stderr, flush=True)
        raise SystemExit(3)
    import uvicorn

    from tests.fakes.openai_server import FakeOpenAI

    uvicorn.run(FakeOpenAI(models=[args.model]).app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
