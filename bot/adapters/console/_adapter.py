"""Read one command per line, run it as a console user, print the reply."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from bot.adapters.console._terminal import Lines
from bot.core import grammar
from bot.core.commands import ClaimModerator, Command
from bot.core.errors import PredictError
from bot.core.models import Actor, Context
from bot.core.ports import OutboxMessage
from bot.core.service import Service
from bot.core.text import render
from bot.core.views import MarketCard, MarketClosed, ModeratorClaimed, Result

log = logging.getLogger(__name__)

PLATFORM = "console"
COMMUNITY = "console"
CHANNEL = "console"
PREFIX = "/predict"
NOT_UTF8 = "Error: That line is not valid UTF-8 text; nothing was done. Type it again."
QUIT = frozenset({"quit", "exit"})


@dataclass(frozen=True, slots=True)
class Line:
    """One input line: who runs it and the command text."""

    user: str | None
    text: str


def parse_line(raw: str) -> Line | None:
    """Split `@name command` and drop an optional `/predict`; None for blanks and comments."""
    text = raw.strip()
    if not text or text.startswith("#"):
        return None
    user = None
    if text.startswith("@"):
        head, _, rest = text.partition(" ")
        user, text = head[1:] or None, rest.strip()
    if text == PREFIX or text.startswith(PREFIX + " "):
        text = text[len(PREFIX) :].strip()
    return Line(user, text)


class ConsoleAnnouncer:
    """Print announcements (the outbox delivers them) to the console."""

    platform = PLATFORM

    def __init__(self, out: Callable[[str], None]) -> None:
        self.out = out

    async def announce(self, message: OutboxMessage, result: Result) -> str | None:
        """Print what happened on its own (deadlines, reminders); replies already show the
        effects of commands typed here."""
        if message.kind == "reminder" or (isinstance(result, MarketClosed) and result.automatic):
            self.out(f"[announcement] {render(result)}")
        card = getattr(result, "card", None)
        return f"{CHANNEL}:{card.number}" if isinstance(card, MarketCard) else None

    async def refresh_card(self, card: MarketCard) -> None:
        """Nothing to edit: a console has no posted messages."""


class ConsoleSession:
    """Run console lines against the service as named users."""

    def __init__(
        self,
        service: Service,
        default_user: str,
        moderators: set[str],
        out: Callable[[str], None],
    ) -> None:
        self.service = service
        self.default_user = default_user
        self.moderators = moderators
        self.out = out

    async def run_line(self, raw: str) -> bool:
        """Run one line and print its reply; return False if it was refused or failed."""
        if _undecodable(raw):
            self.out(NOT_UTF8)
            return False
        line = parse_line(raw)
        if line is None:
            return True
        try:
            result = await self._execute(grammar.parse(line.text), line.user)
        except PredictError as refusal:
            self.out(f"Error: {refusal.message}")
            return False
        except Exception:
            log.exception("command failed: %r", line.text)
            self.out("Error: something went wrong on our side; nothing was changed.")
            return False
        self.out(render(result))
        return True

    async def _execute(self, command: Command, user: str | None) -> Result:
        user = user or self.default_user
        ctx = Context(
            platform=PLATFORM,
            community=COMMUNITY,
            actor=Actor(user, user, is_moderator=user in self.moderators),
            request_id=uuid.uuid4().hex,
            channel=CHANNEL,
        )
        return await self.service.execute(command, ctx)

    async def claim_moderator(self) -> ModeratorClaimed:
        """Make the local user the first moderator of a fresh community (the core decides
        what is fresh); say whether they moderate it."""
        result = await self._execute(ClaimModerator(), None)
        assert isinstance(result, ModeratorClaimed)
        return result

    async def run(self, lines: Lines) -> None:
        """Run every line until the end of input, `quit` or `exit` (a stream is best read with
        errors="surrogateescape", as `predictbot console` does, so that an undecodable line
        is refused on its own)."""
        while (raw := await lines.read()) is not None:
            line = None if _undecodable(raw) else parse_line(raw)
            if line is not None and line.text.strip().lower() in QUIT:
                return
            await self.run_line(raw)


def _undecodable(raw: str) -> bool:
    """Whether a line held bytes that are not UTF-8 (read as lone surrogates)."""
    return any("\ud800" <= ch <= "\udfff" for ch in raw)
