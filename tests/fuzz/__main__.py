"""Feed random lines to the console session and count the tracebacks.

    python -m tests.fuzz --lines 100000 --db sqlite       # or --db postgres

Each line goes to `ConsoleSession.run_line` in-process, on the real service and store (a fake
clock at 2026-03-02 12:00 UTC). A traceback is any exception other than a refusal
(`PredictError`): one escaping `run_line`, one it logged, or a "something went wrong" reply.
After every refused line the database's fingerprint must be what it was before the line: the
full rows of the tables a refusal could touch in place (community, account, market, position)
and the row count, newest id and updatable columns of the append-mostly ones (trade, ledger,
request, outbox). Every `--epoch` lines start on a fresh database, seeded with markets in
every state (`vocabulary.SEED`), so tables stay small and fingerprints cheap.

Tracebacks are grouped by exception type and the innermost frame in predictbot's code; the
report shows each group with its count and first line. Exit status 1 if any traceback or
change by a refusal was seen.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import random
import re
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.adapters.console import ConsoleSession
from bot.core.service import Service
from storage.engine import create_engine
from storage.store import SqlStore
from tests.fuzz.lines import Holding, LineMaker
from tests.fuzz.vocabulary import MODERATOR, SEED_MARKETS, seed_lines
from tests.helpers import FakeClock, fresh_database

GENERIC = "something went wrong"
RESEED = 250  # lines between seedings of new markets
_CREATED = re.compile(r"Market #(\d+) created")
_BOUGHT = re.compile(r"Bought [0-9.,]+ shares of (.+) in #(\d+) for")
_HELD = 50  # recent purchases remembered, for sales
_OURS = (f"{Path('bot')}/", f"{Path('storage')}/", f"{Path('tests')}/")

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]

_FINGERPRINT = {
    "community": "SELECT * FROM community ORDER BY id",
    "account": "SELECT * FROM account ORDER BY id",
    "market": "SELECT * FROM market ORDER BY id",
    "position": "SELECT * FROM position ORDER BY id",
    "trade": "SELECT COUNT(*), MAX(id), SUM(CASE WHEN voided THEN 1 ELSE 0 END) FROM trade",
    "ledger_entry": "SELECT COUNT(*), MAX(id) FROM ledger_entry",
    "request": "SELECT COUNT(*), MAX(id), COUNT(result_json) FROM request",
    "outbox": "SELECT COUNT(*), MAX(id), COUNT(delivered_at), COUNT(failed_at) FROM outbox",
}


async def fingerprint(engine: AsyncEngine) -> dict[str, list[tuple[Any, ...]]]:
    """What a refused line must leave exactly as it was (see the module docstring)."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    async with engine.connect() as conn:
        for name, sql in _FINGERPRINT.items():
            out[name] = [tuple(row) for row in (await conn.execute(text(sql))).all()]
    return out


class _Records(logging.Handler):
    """Collect log records that carry a traceback or are errors."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info or record.levelno >= logging.ERROR:
            self.records.append(record)


def _where(exc: ExcInfo | None) -> tuple[str, str]:
    """Name a traceback by its exception type and innermost frames in predictbot's code; and
    give its message."""
    if exc is None:
        return "no exception", ""
    kind, error, tb = exc
    frames = traceback.extract_tb(tb)
    ours = [f for f in frames if any(part in f.filename for part in _OURS)] or frames
    # Two frames: a storage helper alone (`_exec`) would lump every database error together.
    at = " < ".join(f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in ours[-2:][::-1])
    return f"{kind.__name__} at {at or '?'}", str(error)


@dataclass
class Report:
    """Counts of one run and the tracebacks it saw."""

    lines: int = 0  # every line run, seeding included
    seeded: int = 0
    answered: int = 0
    refused: int = 0
    tracebacks: Counter[str] = field(default_factory=Counter)
    examples: dict[str, tuple[str, str]] = field(default_factory=dict)  # first line, message
    changed: list[str] = field(default_factory=list)

    def traceback(self, where: tuple[str, str], line: str) -> None:
        """Count one traceback by where it happened; remember the first line and message."""
        place, message = where
        self.tracebacks[place] += 1
        self.examples.setdefault(place, (line, message))

    @property
    def traceback_count(self) -> int:
        """How many lines ended in a traceback."""
        return sum(self.tracebacks.values())

    def text(self, seconds: float) -> str:
        """The report as text."""
        out = [
            f"lines {self.lines} ({self.lines - self.seeded} random, {self.seeded} seeding)  "
            f"answered {self.answered}  refused {self.refused}  "
            f"tracebacks {self.traceback_count}  changed-by-refusal {len(self.changed)}  "
            f"time {seconds:.1f} s"
        ]
        for where, count in self.tracebacks.most_common():
            line, message = self.examples[where]
            out.append(f"  {count:6d}  {where}: {message:.200}")
            out.append(f"          first line: {line!r:.300}")
        for line in self.changed[:20]:
            out.append(f"  refused but changed the database: {line!r:.300}")
        return "\n".join(out)


class Fuzzer:
    """Run random lines through a console session on one database at a time."""

    def __init__(self, kind: str, seed: int, epoch: int, tmp: str) -> None:
        self.kind = kind
        self.rng = random.Random(seed)
        self.maker = LineMaker(self.rng)
        self.epoch = epoch
        self.tmp = tmp
        self.report = Report()
        self.records = _Records()
        self.replies: list[str] = []
        self.top = 0
        self.holdings: list[Holding] = []

    @contextlib.contextmanager
    def listening(self) -> Iterator[None]:
        """Collect the log records with tracebacks while the block runs."""
        root = logging.getLogger()
        level = root.level
        root.addHandler(self.records)
        root.setLevel(logging.DEBUG)
        # SQLAlchemy's and asyncio's debug chatter is not what we are looking for.
        for quiet in ("sqlalchemy", "asyncio", "aiosqlite", "alembic"):
            logging.getLogger(quiet).setLevel(logging.WARNING)
        try:
            yield
        finally:
            root.removeHandler(self.records)
            root.setLevel(level)

    async def run(self, lines: int, progress: bool) -> Report:
        """Run `lines` lines, `epoch` at a time on a fresh database."""
        with self.listening():
            done = 0
            while done < lines:
                count = min(self.epoch, lines - done)
                async with fresh_database(self.kind, self.tmp) as url:
                    engine = create_engine(url)
                    try:
                        await self._epoch(engine, count)
                    finally:
                        await engine.dispose()
                done += count
                if progress:
                    sys.stderr.write(
                        f"{done} lines, {self.report.traceback_count} tracebacks, "
                        f"{len(self.report.changed)} changes by refusals\n"
                    )
        return self.report

    async def _epoch(self, engine: AsyncEngine, count: int) -> None:
        clock = FakeClock()
        service = Service(SqlStore(engine, now=clock.now), clock)
        session = ConsoleSession(service, "al", {MODERATOR}, self.replies.append)
        self.top = 0
        self.holdings.clear()
        state = await fingerprint(engine)
        for n in range(count):
            if n % RESEED == 0:
                # Fresh markets in every state: fuzzed lines settle the old ones.
                first = self.top + 1
                for user, line in seed_lines(first):
                    state = await self.check_line(engine, session, f"@{user} {line}", state)
                    self.report.seeded += 1
                self.top = max(self.top, first + SEED_MARKETS - 1)
            line = self.maker.line(self.top, self.holdings)
            state = await self.check_line(engine, session, line, state)

    async def check_line(
        self, engine: AsyncEngine, session: ConsoleSession, raw: str, before: Any
    ) -> Any:
        """Run one line, count what went wrong; return the fingerprint after it."""
        self.report.lines += 1
        self.replies.clear()
        self.records.records.clear()
        try:
            answered = await session.run_line(raw)
        except Exception:
            self.report.traceback(_where(sys.exc_info()), raw)  # type: ignore[arg-type]
            return await fingerprint(engine)
        for record in self.records.records:
            self.report.traceback(_where(record.exc_info), raw)  # type: ignore[arg-type]
        if not self.records.records and any(GENERIC in reply for reply in self.replies):
            self.report.traceback(("a 'something went wrong' reply", ""), raw)
        for reply in self.replies:
            for number in _CREATED.findall(reply):
                self.top = max(self.top, int(number))
            for outcome, number in _BOUGHT.findall(reply):
                user = raw[1:].split(" ", 1)[0] if raw.startswith("@") else session.default_user
                self.holdings = [*self.holdings[-_HELD:], (user, int(number), outcome)]
        after = await fingerprint(engine)
        if answered:
            self.report.answered += 1
        else:
            self.report.refused += 1
            if after != before:
                self.report.changed.append(raw)
        return after


def main(argv: list[str] | None = None) -> int:
    """Run the fuzzer from the command line."""
    parser = argparse.ArgumentParser(
        prog="python -m tests.fuzz", description=(__doc__ or "").split("\n")[0]
    )
    parser.add_argument("--lines", type=int, default=10_000, help="how many random lines")
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--seed", type=int, default=1, help="seed of the line generator")
    parser.add_argument("--epoch", type=int, default=1000, help="lines per fresh database")
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="predictbot-fuzz-") as tmp:
        fuzzer = Fuzzer(args.db, args.seed, args.epoch, tmp)
        started = time.perf_counter()
        report = asyncio.run(fuzzer.run(args.lines, progress=not args.quiet))
        elapsed = time.perf_counter() - started
    print(f"fuzz --db {args.db} --lines {args.lines} --seed {args.seed} --epoch {args.epoch}")
    print(report.text(elapsed))
    return 1 if report.traceback_count or report.changed else 0


if __name__ == "__main__":
    sys.exit(main())
