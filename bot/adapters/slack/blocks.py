"""Block Kit rendering: pure functions from the core's view models to Slack payloads."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from bot.adapters.slack.escape import escape_mrkdwn, escape_plain
from bot.core.services import points, shares_text
from bot.core.text import bar, percent, render
from bot.core.timeparse import format_utc
from bot.core.views import (
    MarketCard,
    MarketCreated,
    MarketShown,
    PortfolioShown,
    Result,
)

Block = dict[str, Any]

BET_ACTION = re.compile(r"^bet:(\d+)$")
HOME_BET_ACTION = "home_bet"
CREATE_CALLBACK = "create_market"
BET_CALLBACK = "place_bet"
BAR_WIDTH = 12
HOME_MARKETS = 30
HOME_POSITIONS = 30
_TEXT_LIMIT = 2900  # Slack caps a section's text at 3000 characters
_SLACK_USER = re.compile(r"^[UW][A-Z0-9]{2,}$")


@dataclass(frozen=True, slots=True)
class ModalOrigin:
    """Where a modal was opened from, so its answer can go back there."""

    channel: str | None = None
    response_url: str | None = None
    market: int | None = None
    timezone: str = "UTC"

    def dumps(self) -> str:
        """Encode as a view's private_metadata."""
        return json.dumps(
            {"c": self.channel, "r": self.response_url, "m": self.market, "tz": self.timezone}
        )

    @classmethod
    def loads(cls, text: str | None) -> ModalOrigin:
        """Decode a view's private_metadata (empty means nothing is known)."""
        data = json.loads(text) if text else {}
        return cls(data.get("c"), data.get("r"), data.get("m"), data.get("tz") or "UTC")


def date_token(moment: datetime) -> str:
    """Show a time in each reader's own timezone, with a UTC fallback."""
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} {{time}}|{format_utc(moment)}>"


def _section(text: str) -> Block:
    if len(text) > _TEXT_LIMIT:
        text = text[: _TEXT_LIMIT - 1] + "…"
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text[:_TEXT_LIMIT]}]}


def _plain(text: str, limit: int = 75) -> dict[str, Any]:
    text = escape_plain(text)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return {"type": "plain_text", "text": text, "emoji": True}


def status_text(card: MarketCard) -> str:
    """Describe a market's state and deadline in mrkdwn."""
    if card.status == "open":
        return f"Open · closes {date_token(card.closes_at)}"
    if card.status == "closed":
        return f"Closed {date_token(card.closed_at or card.closes_at)} · awaiting resolution"
    if card.status == "cancelled":
        return "Cancelled (N/A) · everyone refunded"
    return f"Resolved: *{escape_mrkdwn(card.resolution or '?')}*"


def card_fallback(card: MarketCard) -> str:
    """Notification text of a card message."""
    return escape_mrkdwn(f"Market #{card.number}: {card.question}")


def card_blocks(card: MarketCard) -> list[Block]:
    """Render a market card; open markets get one Bet button per outcome."""
    blocks: list[Block] = [_section(f"*#{card.number} · {escape_mrkdwn(card.question)}*")]
    if card.criteria:
        blocks.append(_context(f"Criteria: {escape_mrkdwn(card.criteria)}"))
    for outcome in card.outcomes:
        won = " :white_check_mark:" if card.resolution == outcome.name else ""
        line = _section(
            f"`{bar(outcome.probability, BAR_WIDTH)}` *{percent(outcome.probability)}*"
            f"  {escape_mrkdwn(outcome.name)}{won}"
        )
        if card.is_open:
            line["accessory"] = {
                "type": "button",
                "action_id": f"bet:{outcome.index}",
                "text": _plain(f"Bet {outcome.name}", 30),
                "value": json.dumps({"m": card.number, "o": outcome.index}),
            }
        blocks.append(line)
    mechanism = "pool" if card.mechanism == "pool" else f"LMSR b={points(card.liquidity)}"
    traders = f"{card.traders} trader{'s' if card.traders != 1 else ''}"
    blocks.append(_context(f"Volume {points(card.volume)} pts · {traders} · {mechanism}"))
    blocks.append(_context(status_text(card)))
    if card.evidence:
        blocks.append(_context(f"Evidence: {escape_mrkdwn(card.evidence)}"))
    return blocks


def reply(result: Result) -> tuple[str, list[Block] | None]:
    """Render a result as a private reply: fallback text and optional blocks."""
    if isinstance(result, MarketShown):
        return card_fallback(result.card), card_blocks(result.card)
    if isinstance(result, MarketCreated):
        card = result.card
        where = f"\nIts card is posted in <#{card.channel}>." if card.channel else ""
        text = f"Market #{card.number} created: {escape_mrkdwn(card.question)}{where}"
        return text, None
    return text_reply(render(result))


def text_reply(text: str) -> tuple[str, list[Block] | None]:
    """Render plain text (a refusal or any core rendering) as a safe private reply."""
    safe = escape_mrkdwn(text)
    if len(safe) <= _TEXT_LIMIT:
        return safe, None
    chunks = [safe[i : i + _TEXT_LIMIT] for i in range(0, len(safe), _TEXT_LIMIT)]
    return safe[:_TEXT_LIMIT], [_section(c) for c in chunks[:40]]


def announcement(kind: str, result: Result) -> tuple[str, list[Block]]:
    """Render an announcement posted in a channel (everything but the new market's card)."""
    text = escape_mrkdwn(render(result))
    blocks = [_section(text)]
    # Closings and reminders name who may resolve; failures name the moderators. Only real
    # Slack user ids become mentions: configured values are user text and stay inert.
    wanted = (*getattr(result, "resolvers", ()), *getattr(result, "moderators", ()))
    people = [u for u in dict.fromkeys(wanted) if isinstance(u, str) and _SLACK_USER.match(u)]
    if people:
        tags = ", ".join(f"<@{u}>" for u in people)
        blocks.append(_context(f"For {tags}."))
    return text[:_TEXT_LIMIT], blocks


def bet_modal(card: MarketCard, outcome: int | None, origin: ModalOrigin) -> dict[str, Any]:
    """Build the modal that asks how many points to stake on an outcome."""
    options = [
        {"text": _plain(f"{o.index}. {o.name}"), "value": str(o.index)} for o in card.outcomes
    ]
    select: dict[str, Any] = {"type": "static_select", "action_id": "outcome", "options": options}
    chosen = next((opt for opt in options if opt["value"] == str(outcome)), None)
    if chosen is not None:
        select["initial_option"] = chosen
    odds = " · ".join(f"{escape_mrkdwn(o.name)} {percent(o.probability)}" for o in card.outcomes)
    return {
        "type": "modal",
        "callback_id": BET_CALLBACK,
        "private_metadata": origin.dumps(),
        "title": _plain(f"Bet on #{card.number}", 24),
        "submit": _plain("Bet"),
        "close": _plain("Cancel"),
        "blocks": [
            _section(f"*{escape_mrkdwn(card.question)}*"),
            _context(f"{odds} · {status_text(card)}"),
            {"type": "input", "block_id": "outcome", "label": _plain("Outcome"), "element": select},
            {
                "type": "input",
                "block_id": "points",
                "label": _plain("Points"),
                "hint": _plain("Whole points to stake, like 50.", 150),
                "element": {
                    "type": "plain_text_input",
                    "action_id": "points",
                    "placeholder": _plain("50"),
                },
            },
        ],
    }


def create_modal(origin: ModalOrigin, default_day: date) -> dict[str, Any]:
    """Build the modal that creates a market."""

    def text_input(block: str, label: str, *, optional: bool = False, **element: Any) -> Block:
        return {
            "type": "input",
            "block_id": block,
            "optional": optional,
            "label": _plain(label),
            "element": {"type": "plain_text_input", "action_id": block, **element},
        }

    mechanisms = [
        {"text": _plain("Market maker (LMSR)"), "value": "lmsr"},
        {"text": _plain("Pool (winners split the pot)"), "value": "pool"},
    ]
    return {
        "type": "modal",
        "callback_id": CREATE_CALLBACK,
        "private_metadata": origin.dumps(),
        "title": _plain("New market", 24),
        "submit": _plain("Create"),
        "close": _plain("Cancel"),
        "blocks": [
            text_input(
                "question",
                "Question",
                placeholder=_plain("Will Turkey take delivery of S-400 systems by 2019-12-31?"),
            ),
            {
                "type": "input",
                "block_id": "date",
                "label": _plain("Closes on"),
                "element": {
                    "type": "datepicker",
                    "action_id": "date",
                    "initial_date": default_day.isoformat(),
                },
            },
            {
                "type": "input",
                "block_id": "time",
                "label": _plain("At"),
                "element": {
                    "type": "timepicker",
                    "action_id": "time",
                    "initial_time": "17:00",
                    "timezone": origin.timezone,
                },
            },
            text_input(
                "outcomes",
                "Outcomes",
                optional=True,
                placeholder=_plain("Yes, No"),
            ),
            text_input("criteria", "Resolution criteria", optional=True, multiline=True),
            {
                "type": "input",
                "block_id": "mechanism",
                "label": _plain("Mechanism"),
                "element": {
                    "type": "static_select",
                    "action_id": "mechanism",
                    "options": mechanisms,
                    "initial_option": mechanisms[0],
                },
            },
        ],
    }


def home_view(
    portfolio: PortfolioShown, markets: list[MarketCard], notice: str | None = None
) -> dict[str, Any]:
    """Build a user's App Home: balance, open positions and the workspace's open markets."""
    blocks: list[Block] = []
    if notice:
        blocks += [_section(escape_mrkdwn(notice)), {"type": "divider"}]
    blocks.append({"type": "header", "text": _plain("Your predictions", 150)})
    blocks.append(_section(f"*Balance:* {points(portfolio.balance)} points"))
    blocks.append({"type": "header", "text": _plain("Open positions", 150)})
    if not portfolio.positions:
        blocks.append(_context("No open positions yet. Bet on a market below."))
    for p in portfolio.positions[:HOME_POSITIONS]:
        blocks.append(
            _section(
                f"*#{p.market}* {escape_mrkdwn(p.question)}\n{escape_mrkdwn(p.outcome)}: "
                f"{shares_text(p.shares)} shares · cost {points(p.net_cost)} · "
                f"worth {points(p.value)} ({p.status})"
            )
        )
    blocks.append({"type": "divider"})
    blocks.append({"type": "header", "text": _plain("Open markets", 150)})
    if not markets:
        blocks.append(_context("No open markets. Create one with `/predict create`."))
    for card in markets[:HOME_MARKETS]:
        odds = " · ".join(
            f"{escape_mrkdwn(o.name)} {percent(o.probability)}" for o in card.outcomes
        )
        line = _section(
            f"*#{card.number}* {escape_mrkdwn(card.question)}\n{odds} · "
            f"closes {date_token(card.closes_at)}"
        )
        line["accessory"] = {
            "type": "button",
            "action_id": HOME_BET_ACTION,
            "text": _plain("Bet"),
            "value": str(card.number),
        }
        blocks.append(line)
    return {"type": "home", "blocks": blocks[:100]}
