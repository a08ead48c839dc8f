"""Block Kit rendering: pure functions from the core's view models to Slack payloads."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from bot.adapters.slack.escape import clip_mrkdwn, escape_mrkdwn, escape_plain, safe_cut
from bot.core.money import points, shares_text
from bot.core.text import (
    bar,
    failed_more_text,
    funding_text,
    more_text,
    page_command,
    percent,
    render,
)
from bot.core.timeparse import format_utc
from bot.core.views import (
    FailedAnnouncement,
    MarketCard,
    MarketCreated,
    MarketList,
    MarketShown,
    OverdueShown,
    PortfolioShown,
    Result,
)

Block = dict[str, Any]

BAR_WIDTH = 12
TEXT_LIMIT = 2900  # Slack caps a section's text at 3000 characters
MESSAGE_TEXT_LIMIT = 12_000  # the text of a message in all: its fallback and every block
FALLBACK_LIMIT = 300  # a long reply's notification text; its blocks carry the rest
EVIDENCE_LIMIT = 1000  # of a card's evidence link, so a card stays within MESSAGE_TEXT_LIMIT
# Of a question and an outcome's name on a line of a list, once escaped: a page of the longest
# lines still fits in MESSAGE_TEXT_LIMIT, and `show` has the whole text.
LINE_QUESTION = 600
LINE_NAME = 100
_SLACK_USER = re.compile(r"^[UW][A-Z0-9]{2,}$")


def date_token(moment: datetime) -> str:
    """Show a time in each reader's own timezone, with a UTC fallback."""
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} {{time}}|{format_utc(moment)}>"


def section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": clip_mrkdwn(text, TEXT_LIMIT)}}


def context(text: str) -> Block:
    return {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": clip_mrkdwn(text, TEXT_LIMIT)}],
    }


def plain(text: str, limit: int = 75) -> dict[str, Any]:
    text = escape_plain(text)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return {"type": "plain_text", "text": text, "emoji": True}


def chance(probability: float) -> str:
    """Show a probability in mrkdwn: `42%`, and `&lt;1%` or `&gt;99%` near the ends."""
    return escape_mrkdwn(percent(probability))


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
    blocks: list[Block] = [section(f"*#{card.number} · {escape_mrkdwn(card.question)}*")]
    if card.criteria:
        blocks.append(context(f"Criteria: {escape_mrkdwn(card.criteria)}"))
    for outcome in card.outcomes:
        won = " :white_check_mark:" if card.resolution == outcome.name else ""
        line = section(
            f"`{bar(outcome.probability, BAR_WIDTH)}` *{chance(outcome.probability)}*"
            f"  {escape_mrkdwn(outcome.name)}{won}"
        )
        if card.is_open:
            line["accessory"] = {
                "type": "button",
                "action_id": f"bet:{outcome.index}",
                "text": plain(f"Bet {outcome.name}", 30),
                "value": json.dumps({"m": card.number, "o": outcome.index}),
            }
        blocks.append(line)
    mechanism = "pool" if card.mechanism == "pool" else f"LMSR b={points(card.liquidity)}"
    traders = f"{card.traders} trader{'s' if card.traders != 1 else ''}"
    blocks.append(context(f"Volume {points(card.volume)} pts · {traders} · {mechanism}"))
    blocks.append(context(status_text(card)))
    if card.evidence:
        blocks.append(
            context(clip_mrkdwn(f"Evidence: {escape_mrkdwn(card.evidence)}", EVIDENCE_LIMIT))
        )
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
    if isinstance(result, MarketList) and result.cards:
        return list_reply(result)
    if isinstance(result, PortfolioShown) and result.positions:
        return portfolio_reply(result)
    return text_reply(render(result))


def text_reply(text: str) -> tuple[str, list[Block] | None]:
    """Render plain text (a refusal or any core rendering) as a safe private reply; a long one
    goes in sections, within the text a Slack message may hold."""
    safe = escape_mrkdwn(text)
    if len(safe) <= TEXT_LIMIT:
        return safe, None
    fallback = clip_mrkdwn(safe.split("\n", 1)[0], FALLBACK_LIMIT)
    return fallback, sections(safe, MESSAGE_TEXT_LIMIT - len(fallback))


def sections(text: str, budget: int) -> list[Block]:
    """Split escaped mrkdwn into sections, at line breaks where it can, never inside an entity
    or a control sequence, with at most `budget` characters in all (then an ellipsis)."""
    blocks: list[Block] = []
    while text and budget > 1:
        limit = min(TEXT_LIMIT, budget)
        if len(text) <= limit:
            chunk, text = text, ""
        elif budget <= TEXT_LIMIT or not (cut := _cut(text, limit)):
            # The last section there is room for, or a control sequence longer than a section.
            chunk, text = clip_mrkdwn(text, limit), ""
        else:
            chunk, text = text[:cut], text[cut:].lstrip("\n")
        if chunk.strip():
            blocks.append(section(chunk))
            budget -= len(chunk)
    return blocks


def _cut(text: str, limit: int) -> int:
    """Where to end a section of at most `limit` characters: a line break in its second half,
    else the last place that splits no entity or control sequence (0: there is none)."""
    cut = text.rfind("\n", limit // 2, limit)
    return cut if cut > 0 else safe_cut(text, limit)


def slack_users(values: tuple[str, ...]) -> tuple[str, ...]:
    """Keep the values that are Slack user ids: configured moderators may be any text, and
    only real ids may become mentions."""
    return tuple(u for u in dict.fromkeys(values) if _SLACK_USER.fullmatch(u))


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def short(text: str, limit: int) -> str:
    """Escape user text for a line of a list, shortened to `limit` characters of mrkdwn."""
    return clip_mrkdwn(escape_mrkdwn(text), limit)


def more_line(result: MarketList | PortfolioShown | OverdueShown) -> list[str]:
    """The line saying what a page leaves out and the `/predict` command that shows more."""
    more = more_text(result.page, lambda n: f"/predict {page_command(result, n)}")
    return [escape_mrkdwn(more)] if more else []


def fitted(fallback: str, *parts: str | Block) -> tuple[str, list[Block]]:
    """A reply of texts split into sections (at line breaks, never inside an entity or a
    control sequence) and other blocks, within the text a message may hold."""
    budget = MESSAGE_TEXT_LIMIT - len(fallback)
    found: list[Block] = []
    for part in parts:
        if isinstance(part, str):
            more = sections(part, budget)
            budget -= sum(len(b["text"]["text"]) for b in more)
        else:
            more = [part]
            budget -= sum(len(e["text"]) for e in part.get("elements", ()))
        found += more
    return fallback, found


def list_reply(result: MarketList) -> tuple[str, list[Block]]:
    """A page of markets, newest first, one line each, and how to see the others."""
    what = f"{result.status} markets" if result.status != "all" else "markets"
    total = result.page.total if result.page else len(result.cards)
    lines = [f"*{what.capitalize()}*"]
    for card in result.cards:
        leader = max(card.outcomes, key=lambda o: o.probability)
        lines.append(
            f"• *#{card.number}* {short(card.question, LINE_QUESTION)} — "
            f"{short(leader.name, LINE_NAME)} {chance(leader.probability)} · {_line_status(card)}"
        )
    return fitted(f"{total:,} {what}.", "\n".join(lines + more_line(result)))


def _line_status(card: MarketCard) -> str:
    if card.status == "resolved":
        return f"Resolved: *{short(card.resolution or '?', LINE_NAME)}*"
    return status_text(card)


def portfolio_reply(result: PortfolioShown) -> tuple[str, list[Block]]:
    """A page of the user's positions and how to see the others."""
    total = result.page.total if result.page else len(result.positions)
    head = f"Balance: {points(result.balance)} points · {plural(total, 'open position')}."
    lines = [f"*Balance:* {points(result.balance)} points. *Positions:*"]
    for p in result.positions:
        lines.append(
            f"• *#{p.market}* {short(p.question, LINE_QUESTION)}\n    "
            f"{short(p.outcome, LINE_NAME)}: {shares_text(p.shares)} shares · cost "
            f"{points(p.net_cost)} · worth {points(p.value)} ({p.status})"
        )
    return fitted(head, "\n".join(lines + more_line(result)))


def _failed_line(failed: FailedAnnouncement) -> str:
    about = f" of #{failed.market}" if failed.market is not None else ""
    where = f" in <#{failed.channel}>" if failed.channel else ""
    error = short((failed.error or "unknown error")[:200], 200)
    return (
        f"• `{failed.kind}`{about}{where} · gave up {date_token(failed.failed_at)} after "
        f"{plural(failed.attempts, 'attempt')}: {error}"
    )


def overdue_reply(result: OverdueShown) -> tuple[str, list[Block]]:
    """Closed markets waiting for a resolution (oldest first, a page of them) and undelivered
    announcements."""
    parts: list[str | Block] = []
    if result.cards:
        total = result.page.total if result.page else len(result.cards)
        lines = [
            f"• *#{card.number}* {short(card.question, LINE_QUESTION)} · closed "
            f"{date_token(card.closed_at or card.closes_at)}"
            for card in result.cards
        ]
        text = f"{plural(total, 'market')} waiting for a resolution."
        parts.append("\n".join(["*Waiting for a resolution* (oldest first)", *lines]))
        parts.append(
            context("Resolve one with `/predict resolve &lt;id&gt; &lt;outcome&gt;` (or `na`).")
        )
        parts += more_line(result)
    else:
        text = "No markets are waiting for a resolution."
        parts.append(text)
    if result.failed:
        text += f" {plural(result.failed_total or len(result.failed), 'announcement')} could "
        text += "not be delivered."
        older = failed_more_text(result)
        lines = [_failed_line(f) for f in result.failed] + ([escape_mrkdwn(older)] if older else [])
        parts.append(
            "\n".join(["*Announcements that could not be delivered* (newest first)", *lines])
        )
    return fitted(text, *parts)
