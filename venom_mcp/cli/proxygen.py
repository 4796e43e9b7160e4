"""The generator's command line: `venom-mcp proxygen` and `python -m venom_mcp.services.proxygen`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..services.proxygen import check_proxy, load_spec, proxy_path, write_proxy


def main(argv: list[str] | None = None) -> int:
    """Write a proxy from a spec file, or (--check) tell whether a written one is stale."""
    parser = argparse.ArgumentParser(
        prog="venom-mcp proxygen",
        description="Write a Semantic Kernel proxy for an MCP server, or check that a written one is up to date.",
    )
    parser.add_argument("--check", action="store_true", help="exit 1 when TARGET differs from what SPEC_JSON generates")
    parser.add_argument("target", metavar="TARGET", help="the proxy file with --check, else the output directory")
    parser.add_argument("spec", metavar="SPEC_JSON", type=Path)
    args = parser.parse_args(argv)
    try:
        launch, tools = load_spec(json.loads(args.spec.read_text(encoding="utf-8")))
        if args.check:
            if check_proxy(Path(args.target), launch, tools):
                return 0
            print(f"{args.target} is stale or missing; regenerate it from {args.spec}", file=sys.stderr)
            return 1
        target = Path(args.target)
        if target.suffix == ".py":  # the proxy file itself: its name must be the one write_proxy gives
            if target.name != proxy_path(target.parent, launch).name:
                raise ValueError(f"the proxy for {launch.name!r} is named {proxy_path(target.parent, launch).name}")
            target = target.parent
        print(write_proxy(target, launch, tools))
        return 0
    except (OSError, ValueError) as exc:  # JSONDecodeError and InvalidArgument are ValueErrors
        print(f"error: {exc}", file=sys.stderr)
        return 2
