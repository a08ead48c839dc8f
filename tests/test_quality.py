"""The code stays in rooms a newcomer can read: no module of bot/ or storage/ (migrations
aside) over 400 lines, and radon's maintainability index at least B (10) for every one."""

from __future__ import annotations

from pathlib import Path

import pytest
from radon.metrics import mi_rank, mi_visit

ROOT = Path(__file__).resolve().parent.parent
MAX_LINES = 400
MODULES = sorted(
    p
    for package in ("bot", "storage")
    for p in (ROOT / package).rglob("*.py")
    if "migrations" not in p.parts
)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_module_is_small_and_maintainable(path: Path) -> None:
    text = path.read_text()
    lines = text.count("\n")
    assert lines <= MAX_LINES, f"{lines} lines: split it by use case"
    index = mi_visit(text, multi=True)
    assert mi_rank(index) in ("A", "B"), f"maintainability index {index:.1f} ({mi_rank(index)})"
