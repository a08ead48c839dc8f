"""`python -m bench`: run the benchmark figures and write BENCHMARKS.md."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import logging
import os
import shlex
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

# The stand-ins' payload validation (tests/fakes/specs.py) is for tests: the figures time the
# bot, not the validator sharing its event loop.
os.environ.setdefault("PREDICTBOT_VALIDATE_SPECS", "0")

from bench.common import SIZES, Bench, Figure, machine, pg_version
from bench.report import render

# Figure modules in report order; the Discord figure comes last.
FIGURES = ["bets", "slack", "discord", "resolution", "scheduler", "memory"]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--size", choices=sorted(SIZES), default="full")
    parser.add_argument("--runs", type=int, default=5, help="runs per figure (default 5)")
    parser.add_argument(
        "--only", action="append", choices=FIGURES, help="run only this figure (repeatable)"
    )
    parser.add_argument(
        "--output", type=Path, default=Path("BENCHMARKS.md"), help="report file to write"
    )
    return parser.parse_args(argv)


async def main_async(args: argparse.Namespace, argv: Sequence[str]) -> int:
    names = [n for n in FIGURES if not args.only or n in args.only]
    facts = await machine()
    pg = await pg_version() is not None
    command = shlex.join(["python", "-m", "bench", *argv])
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory(prefix="predictbot-bench-") as tmp:
        bench = Bench(sizes=SIZES[args.size], runs=args.runs, tmp=Path(tmp), pg=pg, command=command)
        print(f"# {command}: {', '.join(names)} ({args.size}, {args.runs} runs)", flush=True)
        for name in names:
            module = importlib.import_module(f"bench.{name}")
            print(f"== {name}", flush=True)
            started = time.perf_counter()
            figure: Figure = await module.run(bench)
            figure.seconds = time.perf_counter() - started
            figures.append(figure)
            for verdict in figure.verdicts:
                print(f"   {verdict}", flush=True)
    report = render(figures, facts, bench)
    args.output.write_text(report)
    print(report)
    print(f"wrote {args.output}", flush=True)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    if args.runs < 1:
        raise SystemExit("--runs must be at least 1")
    logging.basicConfig(level=logging.WARNING)
    return asyncio.run(main_async(args, argv))


if __name__ == "__main__":
    sys.exit(main())
