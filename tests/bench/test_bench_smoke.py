"""CI smoke test of the benchmarks: the suite runs end to end at the small size.

Timings are never asserted; only that every figure ran and was written to the report."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

from bench.__main__ import FIGURES

ROOT = Path(__file__).resolve().parents[2]


def test_bench_small_run_writes_every_figure(tmp_path: Path) -> None:
    output = tmp_path / "BENCHMARKS.md"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--size", "small", "--runs", "1", "--output", str(output)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = output.read_text()
    assert "**Machine**" in report
    assert len(FIGURES) == 6
    for number, name in enumerate(FIGURES, start=1):
        key = importlib.import_module(f"bench.{name}").KEY
        assert f"--only {key} " in report, name
        assert f"\n## {number}. " in report, name
