"""Block Kit rendering: pure functions from the core's view models to Slack payloads."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from bot.adapters.slack.escape import escape_mrkdwn, escape_plain
from bot.core.money import points, shares_text
from bot.core.text import bar, debts_text, funding_text, percent, render
from bot.core.timeparse import format_utc
from bot.core.views import (
    AnnouncementFailed,
    FailedAnnouncement,
    MarketCancelled,
    MarketCard,
    MarketClosed,
    MarketCreated,
    MarketExtended,
    MarketResolved,
    MarketShown,
    MarketUnresolved,
    OverdueShown,
    Payout,
    PortfolioShown,
    ResolutionReminder,
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
        funding = funding_text(result.funded)
        where += f"\n{escape_mrkdwn(funding)}" if funding else ""
        text = f"Market #{card.number} created: {escape_mrkdwn(card.question)}{where}"
        return text, None
    if isinstance(result, OverdueShown):
        return overdue_reply(result)
    return text_reply(render(result))


def text_reply(text: str) -> tuple[str, list[Block] | None]:
    """Render plain text (a refusal or any core rendering) as a safe private reply."""
    safe = escape_mrkdwn(text)
    if len(safe) <= _TEXT_LIMIT:
        return safe, None
    chunks = [safe[i : i + _TEXT_LIMIT] for i in range(0, len(safe), _TEXT_LIMIT)]
    return safe[:_TEXT_LIMIT], [_section(c) for c in chunks[:40]]


def slack_users(values: tuple[str, ...]) -> tuple[str, ...]:
    """Keep the values that are Slack user ids: configured moderators may be any text, and
    only real ids may become mentions."""
    return tuple(u for u in dict.fromkeys(values) if _SLACK_USER.fullmatch(u))


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _failed_line(failed: FailedAnnouncement) -> str:
    about = f" of #{failed.market}" if failed.market is not None else ""
    where = f" in <#{failed.channel}>" if failed.channel else ""
    error = escape_mrkdwn((failed.error or "unknown error")[:200])
    return (
        f"• `{failed.kind}`{about}{where} · gave up {date_token(failed.failed_at)} after "
        f"{_plural(failed.attempts, 'attempt')}: {error}"
    )


def overdue_reply(result: OverdueShown) -> tuple[str, list[Block]]:
    """Closed markets waiting for a resolution (oldest first) and undelivered announcements."""
    if result.cards:
        lines = [
            f"• *#{card.number}* {escape_mrkdwn(card.question)} · closed "
            f"{date_token(card.closed_at or card.closes_at)}"
            for card in result.cards
        ]
        text = f"{_plural(len(result.cards), 'market')} waiting for a resolution."
        blocks = [
            _section("*Waiting for a resolution* (oldest first)\n" + "\n".join(lines)),
            _context("Resolve one with `/predict resolve &lt;id&gt; &lt;outcome&gt;` (or `na`)."),
        ]
    else:
        text = "No markets are waiting for a resolution."
        blocks = [_section(text)]
    if result.failed:
        text += f" {_plural(len(result.failed), 'announcement')} could not be delivered."
        blocks.append(
            _section(
                "*Announcements that could not be delivered* (newest first)\n"
                + "\n".join(_failed_line(f) for f in result.failed)
            )
        )
    return text, blocks


def _debts(debts: tuple[Payout, ...]) -> str:
    text = debts_text(debts)
    return f"\n{escape_mrkdwn(text)}" if text else ""


def _market_line(card: MarketCard) -> str:
    return f"*{escape_mrkdwn(card.question)}*"


def _announce(text: str, *more: Block, fallback: str | None = None) -> tuple[str, list[Block]]:
    return (fallback or text)[:_TEXT_LIMIT], [_section(text), *more]


def announcement(kind: str, result: Result) -> tuple[str, list[Block]]:
    """Render an announcement posted in a channel (everything but the new market's card).

    Only a resolution reminder mentions anyone: the resolvers, by their Slack ids. User text is
    escaped, so nothing else ever pings."""
    if isinstance(result, MarketClosed):
        return _closed(result)
    if isinstance(result, ResolutionReminder):
        return _reminder(result)
    if isinstance(result, AnnouncementFailed):
        return _failed(result)
    if isinstance(result, MarketResolved):
        return _resolved(result)
    if isinstance(result, MarketCancelled):
        card = result.card
        refunds = (
            f"Refunded {points(result.total_refunded)} points to "
            f"{_plural(result.accounts_refunded, 'trader')}."
            if result.accounts_refunded
            else "Nobody had traded, so there was nothing to refund."
        )
        if result.voided_trades:
            refunds += (
                f" {_plural(result.voided_trades, 'trade')} placed after the outcome was known "
                "were voided."
            )
        return _announce(
            f":white_circle: Market #{card.number} was cancelled (N/A).\n"
            f"{_market_line(card)}\n{refunds}{_debts(result.debts)}"
        )
    if isinstance(result, MarketUnresolved):
        card = result.card
        return _announce(
            f":leftwards_arrow_with_hook: Market #{card.number}'s resolution "
            f"({escape_mrkdwn(result.previous)}) was reversed.\n{_market_line(card)}\n"
            f"{points(result.total_reversed)} points of payouts were taken back. The market is "
            f"closed again and waits for a new resolution.{_debts(result.debts)}"
        )
    if isinstance(result, MarketExtended):
        card = result.card
        return _announce(
            f":hourglass_flowing_sand: Market #{card.number} stays open longer: it now closes "
            f"{date_token(card.closes_at)} instead of {date_token(result.previous_closes_at)}.\n"
            f"{_market_line(card)}"
        )
    return _announce(escape_mrkdwn(render(result)))


def _closed(result: MarketClosed) -> tuple[str, list[Block]]:
    card = result.card
    if result.late:
        how = "closed late: the deadline passed while the bot was offline"
    elif result.automatic:
        how = "closed at its deadline"
    else:
        how = "closed early"
    return _announce(
        f":lock: Market #{card.number} {how}.\n{_market_line(card)}\n"
        "Trading has ended. Waiting for its creator or a moderator to resolve it with "
        f"`/predict resolve {card.number} &lt;outcome&gt;`."
    )


def _reminder(result: ResolutionReminder) -> tuple[str, list[Block]]:
    card = result.card
    people = slack_users(result.resolvers)
    who = ", ".join(f"<@{u}>" for u in people) or "Moderators"
    return _announce(
        f":alarm_clock: {who}: market #{card.number} closed {date_token(result.due_since)} "
        f"and is still waiting for a resolution.\n{_market_line(card)}\n"
        f"Resolve it with `/predict resolve {card.number} &lt;outcome&gt;` "
        "(or `na` to cancel and refund everyone)."
    )


def _failed(result: AnnouncementFailed) -> tuple[str, list[Block]]:
    what = f"the `{escape_mrkdwn(result.kind)}` announcement"
    if result.market is not None:
        what += f" of market #{result.market}"
        if result.question:
            what += f" ({escape_mrkdwn(result.question)})"
    return _announce(
        f":warning: Moderators: {what} could not be posted after "
        f"{_plural(result.attempts, 'attempt')}: {escape_mrkdwn(result.error[:300])}\n"
        "`/predict overdue` lists what was not delivered."
    )


def _resolved(result: MarketResolved) -> tuple[str, list[Block]]:
    card = result.card
    lines = [
        f":checkered_flag: Market #{card.number} resolved: *{escape_mrkdwn(result.outcome)}*",
        _market_line(card),
        f"Paid out {points(result.total_paid)} points.",
    ]
    if result.evidence:
        lines.append(f"Evidence: {escape_mrkdwn(result.evidence)}")
    if result.voided_trades:
        lines.append(
            f"{_plural(result.voided_trades, 'trade')} placed after the outcome was known "
            "were voided."
        )
    if result.debts:
        lines.append(_debts(result.debts).strip())
    more: list[Block] = []
    if result.winners:
        winners = "  ".join(
            f"{n}. {escape_mrkdwn(w.display_name)} +{points(w.amount)}"
            for n, w in enumerate(result.winners, 1)
        )
        more.append(_context(f"Top winners: {winners}"))
    fallback = f"Market #{card.number} resolved: {escape_mrkdwn(result.outcome)}"
    return _announce("\n".join(lines), *more, fallback=fallback)


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
