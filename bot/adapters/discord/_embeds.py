"""Render core view models as Discord messages: pure functions, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import singledispatch

import discord

from bot.core.money import points, shares_text
from bot.core.text import bar, failed_more_text, funding_text, more_text, percent, render
from bot.core.views import (
    FailedAnnouncement,
    MarketCard,
    MarketCreated,
    MarketExtended,
    MarketList,
    MarketShown,
    OverdueShown,
    Payout,
    PortfolioShown,
    Result,
)

# Discord's limits on message content, embed titles, descriptions and field values.
CONTENT_MAX = 2000
TITLE_MAX = 256
DESCRIPTION_MAX = 4096
FIELD_MAX = 1024
PINGS_MAX = 100  # Discord refuses a message whose allowed_mentions.users lists more ids
BAR_WIDTH = 12
# Of a question and an outcome's name on a line of a list, once escaped: a page of the longest
# lines still fits a description; `/market show` has the whole text.
LINE_QUESTION = 200
LINE_NAME = 60
# Of a line of the portfolio (whose page must fit 2,000 characters of content).
PORTFOLIO_LINE = 180
FAILED_ERROR = 80  # of an undelivered announcement's error, so ten fit beside the markets
NO_MENTIONS = discord.AllowedMentions.none()

COLOURS = {
    "open": discord.Colour.green(),
    "closed": discord.Colour.orange(),
    "resolved": discord.Colour.blurple(),
    "cancelled": discord.Colour.light_grey(),
}


@dataclass(frozen=True)
class Reply:
    """A message to send: text, embeds, and whether the outcome buttons of a card go with it."""

    content: str | None = None
    embeds: tuple[discord.Embed, ...] = ()
    card: MarketCard | None = None  # attach this card's bet buttons
    ephemeral: bool = True
    pings: tuple[int, ...] = ()  # user ids this message may notify (nobody else, ever)

    @property
    def allowed_mentions(self) -> discord.AllowedMentions:
        """Allow exactly the listed users to be pinged: no @everyone, roles or anyone else."""
        if not self.pings:
            return NO_MENTIONS
        return discord.AllowedMentions(
            everyone=False,
            users=[discord.Object(user) for user in self.pings[:PINGS_MAX]],
            roles=False,
            replied_user=False,
        )


def clip(text: str, limit: int) -> str:
    """Shorten text to a Discord limit, marking the cut with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def short(text: str, limit: int) -> str:
    """Escape user text for markdown, shortened to `limit` characters without splitting an
    escape (a lone backslash would escape the ellipsis)."""
    escaped = discord.utils.escape_markdown(text)
    if len(escaped) <= limit:
        return escaped
    cut = escaped[: limit - 1]
    if (len(cut) - len(cut.rstrip("\\"))) % 2:
        cut = cut[:-1]
    return cut + "…"


def more_line(result: MarketList | PortfolioShown | OverdueShown) -> list[str]:
    """The line saying what a page leaves out and the slash command that shows more."""
    return [more] if (more := more_text(result.page, lambda n: page_command(result, n))) else []


def page_command(result: MarketList | PortfolioShown | OverdueShown, number: int) -> str:
    """The slash command that shows another page of a list."""
    if isinstance(result, MarketList):
        return f"/market list status:{result.status} page:{number}"
    if isinstance(result, PortfolioShown):
        return f"/portfolio page:{number}"
    return f"/market overdue page:{number}"


def when(moment: datetime) -> str:
    """Show a moment in each reader's own timezone, absolute and relative."""
    stamp = int(moment.timestamp())
    return f"<t:{stamp}:F> (<t:{stamp}:R>)"


def status_text(card: MarketCard) -> str:
    """Describe a market's state for its card."""
    if card.status == "open":
        return "🟢 Open for bets"
    closed = card.closed_at or card.closes_at
    if card.status == "closed":
        return f"🟠 Closed <t:{int(closed.timestamp())}:R> · awaiting resolution"
    if card.status == "cancelled":
        return "⚪ Cancelled (N/A) · everyone refunded"
    return f"🔵 Resolved: **{discord.utils.escape_markdown(card.resolution or '?')}**"


def outcome_lines(card: MarketCard) -> str:
    """List every outcome with its probability and a bar."""
    lines = []
    for outcome in card.outcomes:
        won = " ✅" if card.resolution == outcome.name else ""
        name = discord.utils.escape_markdown(outcome.name)
        lines.append(
            f"`{bar(outcome.probability, BAR_WIDTH)}` **{percent(outcome.probability)}** "
            f"{outcome.index}. {name}{won}"
        )
    return clip("\n".join(lines), FIELD_MAX)


def card_embed(card: MarketCard) -> discord.Embed:
    """Draw a market card: question, criteria, outcomes, volume, traders, deadline, status."""
    embed = discord.Embed(
        title=clip(f"#{card.number} · {card.question}", TITLE_MAX),
        description=clip(f"**Resolution criteria**\n{card.criteria}", DESCRIPTION_MAX)
        if card.criteria
        else None,
        colour=COLOURS.get(card.status, discord.Colour.default()),
    )
    embed.add_field(name="Outcomes", value=outcome_lines(card), inline=False)
    embed.add_field(name="Volume", value=f"{points(card.volume)} pts")
    embed.add_field(name="Traders", value=str(card.traders))
    mechanism = "Pool" if card.mechanism == "pool" else f"LMSR (b = {points(card.liquidity)})"
    embed.add_field(name="Mechanism", value=mechanism)
    embed.add_field(name="Closes", value=when(card.closes_at), inline=False)
    embed.add_field(name="Status", value=status_text(card), inline=False)
    if card.evidence:
        embed.add_field(name="Evidence", value=clip(card.evidence, FIELD_MAX), inline=False)
    footer = "Click an outcome to bet" if card.is_open else "Trading has ended"
    embed.set_footer(text=f"{footer} · predictbot")
    return embed


def _text(result: Result) -> Reply:
    return Reply(content=clip(render(result), CONTENT_MAX))


@singledispatch
def reply(result: Result) -> Reply:
    """Render the answer to the user who ran a command (ephemeral unless the caller decides)."""
    return _text(result)


@reply.register
def _(result: MarketCreated) -> Reply:
    card = result.card
    return Reply(
        content=clip(
            f"Created market #{card.number}: {card.question}\n"
            "Its card, with a button per outcome, is being posted."
            + (f"\n{funding_text(result.funded)}" if result.funded else ""),
            CONTENT_MAX,
        )
    )


@reply.register
def _(result: MarketShown) -> Reply:
    return Reply(embeds=(card_embed(result.card),), card=result.card)


@reply.register
def _(result: MarketList) -> Reply:
    if not result.cards:
        return _text(result)
    lines = []
    for card in result.cards:
        leader = max(card.outcomes, key=lambda o: o.probability)
        deadline = card.closed_at or card.closes_at
        verb = "closes" if card.status == "open" else "closed"
        settled = f" → **{short(card.resolution, LINE_NAME)}**" if card.resolution else ""
        lines.append(
            f"**#{card.number}** {short(card.question, LINE_QUESTION)} — "
            f"{short(leader.name, LINE_NAME)} {percent(leader.probability)}"
            f"{settled} · {verb} <t:{int(deadline.timestamp())}:R>"
        )
    embed = discord.Embed(
        title=f"{result.status.capitalize()} markets",
        description=clip("\n".join(lines + more_line(result)), DESCRIPTION_MAX),
    )
    return Reply(embeds=(embed,))


@reply.register
def _(result: PortfolioShown) -> Reply:
    if not result.positions:
        return _text(result)
    head = f"Balance: {points(result.balance)} points. Positions:"
    lines = []
    for p in result.positions:
        line = (
            f"#{p.market} {short(p.outcome, LINE_NAME)}: {shares_text(p.shares)} shares, cost "
            f"{points(p.net_cost)}, worth {points(p.value)} ({p.status}) — "
        )
        lines.append(line + short(p.question, max(PORTFOLIO_LINE - len(line), 20)))
    more = more_line(result)
    room = CONTENT_MAX - len(head) - sum(len(m) + 1 for m in more) - 1
    return Reply(content="\n".join([head, clip("\n".join(lines), room), *more]))


def user_ids(values: tuple[str, ...]) -> tuple[int, ...]:
    """Keep the values that are Discord user ids (configured moderators may be any text)."""
    return tuple(
        dict.fromkeys(int(v) for v in values if v.isascii() and v.isdigit() and len(v) <= 20)
    )


def mentions(ids: tuple[int, ...]) -> str:
    """Name users as mentions (whether they are pinged is up to the message's allowed mentions)."""
    if not ids:
        return ""
    names = [f"<@{i}>" for i in ids]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def mentions_within(
    ids: tuple[int, ...], budget: int, *, others: str = "moderator"
) -> tuple[str, tuple[int, ...]]:
    """Mention the first users (at most PINGS_MAX) whose mentions fit in `budget` characters
    and say how many `others` are left out; return the text and the users it mentions."""
    for count in range(min(len(ids), PINGS_MAX), 0, -1):
        shown = ids[:count]
        left = len(ids) - count
        text = (
            mentions(shown)
            if not left
            else (", ".join(f"<@{i}>" for i in shown) + f" and {plural(left, f'more {others}')}")
        )
        if len(text) <= budget:
            return text, shown
    return (plural(len(ids), others) if ids else ""), ()


def ago(moment: datetime) -> str:
    return f"<t:{int(moment.timestamp())}:R>"


def question_text(card: MarketCard) -> str:
    return discord.utils.escape_markdown(card.question)


def debts_text(debts: tuple[Payout, ...]) -> str:
    """Name who a reversal left in debt (mentions render as names; nobody is pinged)."""
    return "".join(
        f"\n<@{d.user_id}> is now {points(-d.amount)} points in debt."
        if d.user_id.isdigit()
        else f"\n{discord.utils.escape_markdown(d.display_name)} is now {points(-d.amount)} "
        "points in debt."
        for d in debts
    )


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


@reply.register
def _(result: MarketExtended) -> Reply:
    return Reply(content=extended_text(result))


def extended_text(result: MarketExtended) -> str:
    return (
        f"Market #{result.card.number} now closes {when(result.card.closes_at)}; "
        f"it was <t:{int(result.previous_closes_at.timestamp())}:F>."
    )


def _failed_line(failed: FailedAnnouncement) -> str:
    about = f" of #{failed.market}" if failed.market is not None else ""
    where = f" in <#{failed.channel}>" if failed.channel and failed.channel.isdigit() else ""
    error = short(failed.error or "unknown error", FAILED_ERROR)
    return (
        f"`{failed.kind}`{about}{where} · gave up {ago(failed.failed_at)} after "
        f"{plural(failed.attempts, 'attempt')}: {error}"
    )


def _fields(lines: list[str]) -> list[str]:
    """Group lines into field values of at most FIELD_MAX characters each."""
    values: list[str] = []
    for line in lines:
        if values and len(values[-1]) + 1 + len(line) <= FIELD_MAX:
            values[-1] += "\n" + line
        else:
            values.append(clip(line, FIELD_MAX))
    return values


@reply.register
def _(result: OverdueShown) -> Reply:
    """Closed markets waiting for a resolution (oldest first) and undelivered announcements."""
    if not result.cards and not result.failed:
        return Reply(
            content="No markets are waiting for a resolution, and every announcement was delivered."
        )
    embed = discord.Embed(title="Waiting for a resolution", colour=COLOURS["closed"])
    if result.cards:
        lines = [
            f"**#{card.number}** {short(card.question, LINE_QUESTION)} · closed "
            f"{ago(card.closed_at or card.closes_at)}"
            + (f" · created by <@{card.creator_user}>" if card.creator_user.isdigit() else "")
            for card in result.cards
        ]
        embed.description = clip(
            "\n".join(
                ["Oldest first; resolve with `/market resolve`.", *lines, *more_line(result)]
            ),
            DESCRIPTION_MAX,
        )
    else:
        embed.description = "No markets are waiting for a resolution."
    older = failed_more_text(result)
    failed = [_failed_line(f) for f in result.failed] + ([older] if older else [])
    for n, value in enumerate(_fields(failed) if result.failed else []):
        name = "Announcements that could not be delivered (newest first)"
        embed.add_field(name=name if n == 0 else "…and", value=value, inline=False)
    return Reply(embeds=(embed,))
