"""Plain-text rendering of results (the console, logs, and platform fallbacks)."""

from __future__ import annotations

from collections.abc import Callable
from functools import singledispatch

from bot.core.money import points, shares_text
from bot.core.timeparse import format_local, format_utc
from bot.core.views import (
    AnnouncementFailed,
    BalanceShown,
    BetPlaced,
    ConfigShown,
    DailyClaimed,
    HelpShown,
    LeaderboardShown,
    MarketCancelled,
    MarketCard,
    MarketClosed,
    MarketCreated,
    MarketExtended,
    MarketList,
    MarketResolved,
    MarketShown,
    MarketUnresolved,
    ModeratorClaimed,
    OverdueShown,
    Page,
    Payout,
    PortfolioShown,
    ResolutionReminder,
    Result,
    SharesSold,
)

BAR_WIDTH = 20


def balance_text(micro: int) -> str:
    """Say a balance: `1,038 points`, or `400 points in debt` below zero."""
    if micro < 0 and points(micro) != "0":
        return f"{points(-micro)} points in debt"
    return f"{points(max(micro, 0))} points"


def funding_text(funded: int) -> str | None:
    """Tell a creator what they paid towards their market's subsidy, or None."""
    if funded <= 0:
        return None
    return (
        f"You funded {points(funded)} points of its subsidy; your share of what the market "
        "maker doesn't lose comes back to you when it settles."
    )


def debts_text(debts: tuple[Payout, ...]) -> str | None:
    """Say who a reversal left in debt: `Bob is now 400 points in debt.`, or None."""
    if not debts:
        return None
    return " ".join(f"{d.display_name} is now {points(-d.amount)} points in debt." for d in debts)


def bar(probability: float, width: int = BAR_WIDTH) -> str:
    """Draw a probability as a bar of block characters."""
    filled = round(probability * width)
    return "█" * filled + "░" * (width - filled)


def percent(probability: float) -> str:
    """Format a probability as a percentage for chat (never 0% or 100% for open odds)."""
    value = probability * 100
    if 0 < value < 1:
        return "<1%"
    if 99 < value < 100:
        return ">99%"
    return f"{value:.0f}%"


def more_text(page: Page | None, command: Callable[[int], str]) -> str | None:
    """Say what a page of a longer list leaves out and how to see it, or None when it shows
    everything: `Showing 11–20 of 65 — `list open page:3` for more.` `command(n)` is how
    the reader asks for page n on their platform."""
    if page is None or page.pages == 1:
        return None
    if page.next is None:
        return f"{showing(page)} — the last page; `{command(1)}` goes back."
    return f"{showing(page)} — `{command(page.next)}` for more."


def showing(page: Page) -> str:
    """Say which items of a list a page shows: `Showing 10 of 65`, `Showing 11–20 of 65`."""
    shown = f"{page.last}" if page.number == 1 else f"{page.first}–{page.last}"
    return f"Showing {shown} of {page.total:,}"


def failed_more_text(result: OverdueShown) -> str | None:
    """Say how many undelivered announcements the overdue list leaves out, or None."""
    total = result.failed_total
    if total is None or total <= len(result.failed):
        return None
    return f"Showing the newest {len(result.failed)} of {total:,}; older ones are not listed."


def page_command(result: MarketList | PortfolioShown | OverdueShown, number: int) -> str:
    """The command, in the text grammar, that shows another page of a list."""
    if isinstance(result, MarketList):
        return f"list {result.status} page:{number}"
    if isinstance(result, PortfolioShown):
        return f"portfolio page:{number}"
    return f"overdue page:{number}"


def _with_more(lines: list[str], result: MarketList | PortfolioShown | OverdueShown) -> str:
    more = more_text(result.page, lambda n: page_command(result, n))
    return "\n".join([*lines, more] if more else lines)


def status_line(card: MarketCard) -> str:
    """Describe a market's state and deadline in one line."""
    if card.status == "open":
        return f"Open · closes {format_local(card.closes_at, card.timezone)}"
    if card.status == "closed":
        closed = format_local(card.closed_at or card.closes_at, card.timezone)
        return f"Closed {closed} · awaiting resolution"
    if card.status == "cancelled":
        return "Cancelled (N/A) · everyone refunded"
    return f"Resolved: {card.resolution}"


def card_text(card: MarketCard) -> str:
    """Render a market card as plain text."""
    lines = [f"#{card.number} {card.question}"]
    if card.criteria:
        lines.append(f"  Criteria: {card.criteria}")
    width = max(len(o.name) for o in card.outcomes)
    for outcome in card.outcomes:
        marker = " ✓" if card.resolution == outcome.name else ""
        lines.append(
            f"  {outcome.index}. {outcome.name.ljust(width)}  {bar(outcome.probability)} "
            f"{percent(outcome.probability):>4}{marker}"
        )
    mechanism = "pool" if card.mechanism == "pool" else f"LMSR b={points(card.liquidity)}"
    lines.append(
        f"  Volume {points(card.volume)} pts · {card.traders} trader"
        f"{'s' if card.traders != 1 else ''} · {mechanism}"
    )
    lines.append(f"  {status_line(card)}")
    if card.evidence:
        lines.append(f"  Evidence: {card.evidence}")
    return "\n".join(lines)


@singledispatch
def render(result: Result) -> str:
    """Render any result as plain text."""
    raise TypeError(f"no text rendering for {type(result).__name__}")


@render.register
def _(result: MarketCreated) -> str:
    funding = funding_text(result.funded)
    head = f"Market #{result.card.number} created." + (f" {funding}" if funding else "")
    return f"{head}\n{card_text(result.card)}"


@render.register
def _(result: MarketShown) -> str:
    return card_text(result.card)


@render.register
def _(result: MarketList) -> str:
    if not result.cards:
        return f"No {result.status} markets." if result.status != "all" else "No markets yet."
    lines = [f"{result.status.capitalize()} markets:"]
    for card in result.cards:
        leader = max(card.outcomes, key=lambda o: o.probability)
        lines.append(
            f"  #{card.number} {card.question} — {leader.name} {percent(leader.probability)}"
            f" · {status_line(card)}"
        )
    return _with_more(lines, result)


@render.register
def _(result: BetPlaced) -> str:
    return (
        f"Bought {shares_text(result.shares)} shares of {result.outcome} in #{result.card.number} "
        f"for {points(result.points)} points. {result.outcome}: {percent(result.prob_before)} → "
        f"{percent(result.prob_after)}. Balance: {points(result.balance)} points."
    )


@render.register
def _(result: SharesSold) -> str:
    return (
        f"Sold {shares_text(result.shares)} shares of {result.outcome} in #{result.card.number} "
        f"for {points(result.proceeds)} points. {result.outcome}: {percent(result.prob_before)} → "
        f"{percent(result.prob_after)}. Balance: {points(result.balance)} points."
    )


@render.register
def _(result: MarketClosed) -> str:
    late = " (its deadline passed while the bot was offline)" if result.late else ""
    if result.automatic and not result.late:
        late = " at its deadline"
    return f"Market #{result.card.number} closed{late}. Waiting for a resolution.\n" + card_text(
        result.card
    )


@render.register
def _(result: MarketExtended) -> str:
    return (
        f"Market #{result.card.number} now closes "
        f"{format_local(result.card.closes_at, result.card.timezone)} "
        f"(was {format_local(result.previous_closes_at, result.card.timezone)})."
    )


@render.register
def _(result: MarketResolved) -> str:
    lines = [f"Market #{result.card.number} resolved: {result.outcome}."]
    if result.evidence:
        lines.append(f"Evidence: {result.evidence}")
    if result.voided_trades:
        lines.append(f"{result.voided_trades} trade(s) after the outcome was known were voided.")
    lines.append(f"Paid out {points(result.total_paid)} points.")
    for n, winner in enumerate(result.winners, 1):
        lines.append(f"  {n}. {winner.display_name} +{points(winner.amount)}")
    debts = debts_text(result.debts)
    if debts:
        lines.append(debts)
    return "\n".join(lines)


@render.register
def _(result: MarketCancelled) -> str:
    text = (
        f"Market #{result.card.number} cancelled (N/A). Refunded "
        f"{points(result.total_refunded)} points to {result.accounts_refunded} trader"
        f"{'s' if result.accounts_refunded != 1 else ''}."
    )
    debts = debts_text(result.debts)
    return f"{text}\n{debts}" if debts else text


@render.register
def _(result: MarketUnresolved) -> str:
    text = (
        f"Market #{result.card.number} unresolved (was {result.previous}); "
        f"{points(result.total_reversed)} points taken back. It is closed and awaits resolution."
    )
    debts = debts_text(result.debts)
    return f"{text}\n{debts}" if debts else text


@render.register
def _(result: BalanceShown) -> str:
    extra = f" (+{points(result.invested)} in open positions)" if result.invested else ""
    if result.balance < 0 and points(result.balance) != "0":
        who = "You are" if result.own else f"{result.display_name} is"
        return (
            f"{who} {balance_text(result.balance)}{extra}. Bets and new markets wait until "
            "the balance is above zero; `daily` pays the debt down."
        )
    who = "You have" if result.own else f"{result.display_name} has"
    return f"{who} {balance_text(result.balance)}{extra}."


@render.register
def _(result: PortfolioShown) -> str:
    if not result.positions:
        return f"No open positions. Balance: {points(result.balance)} points."
    lines = [f"Balance: {points(result.balance)} points. Positions:"]
    for p in result.positions:
        lines.append(
            f"  #{p.market} {p.outcome}: {shares_text(p.shares)} shares, cost "
            f"{points(p.net_cost)}, worth {points(p.value)} ({p.status}) — {p.question}"
        )
    return _with_more(lines, result)


@render.register
def _(result: LeaderboardShown) -> str:
    if not result.rows:
        return "Nobody has traded yet."
    lines = ["Leaderboard (net worth):"]
    for row in result.rows:
        lines.append(f"  {row.rank}. {row.display_name} — {points(row.net_worth)}")
    return "\n".join(lines)


@render.register
def _(result: DailyClaimed) -> str:
    return (
        f"+{points(result.amount)} points. Balance: {points(result.balance)} points. "
        f"Next allowance from {format_utc(result.next_at)}."
    )


@render.register
def _(result: HelpShown) -> str:
    return result.text


@render.register
def _(result: ConfigShown) -> str:
    head = f"Updated {', '.join(result.changed)}. " if result.changed else ""
    lines = [f"{head}Settings:"]
    lines += [f"  {key}: {value}" for key, value in result.settings]
    return "\n".join(lines)


@render.register
def _(result: OverdueShown) -> str:
    lines = []
    if result.cards:
        lines.append("Waiting for a resolution (oldest first):")
        for card in result.cards:
            closed = format_local(card.closed_at or card.closes_at, card.timezone)
            lines.append(f"  #{card.number} {card.question} — closed {closed}")
        more = more_text(result.page, lambda n: page_command(result, n))
        if more:
            lines.append(more)
    else:
        lines.append("No markets are waiting for a resolution.")
    if result.failed:
        lines.append("Announcements that could not be delivered (newest first):")
        for f in result.failed:
            about = f" about #{f.market}" if f.market is not None else ""
            lines.append(
                f"  {f.kind}{about} — gave up {format_utc(f.failed_at)} after {f.attempts} "
                f"attempt{'s' if f.attempts != 1 else ''}: {f.error or 'unknown error'}"
            )
        older = failed_more_text(result)
        if older:
            lines.append(older)
    return "\n".join(lines)


@render.register
def _(result: ResolutionReminder) -> str:
    who = ", ".join(result.resolvers) or "moderators"
    return (
        f"Reminder for {who}: market #{result.card.number} closed "
        f"{format_local(result.due_since, result.card.timezone)} and still waits for a resolution. "
        f"Resolve it with `resolve {result.card.number} <outcome>` (or `na`).\n"
        + card_text(result.card)
    )


@render.register
def _(result: AnnouncementFailed) -> str:
    who = ", ".join(result.moderators) or "Moderators"
    what = f"the {result.kind} announcement"
    if result.market is not None:
        what += f" of market #{result.market}"
        if result.question:
            what += f" ({result.question})"
    return (
        f"{who}: {what} could not be posted after {result.attempts} attempt"
        f"{'s' if result.attempts != 1 else ''}: {result.error}"
    )


@render.register
def _(result: ModeratorClaimed) -> str:
    if result.granted:
        return (
            f"{result.user_id} is the first moderator of this new community: moderators "
            "resolve, cancel and configure (`config moderators:NAME` adds others)."
        )
    if result.moderator:
        return f"{result.user_id} is a moderator of this community."
    return f"{result.user_id} is not a moderator of this community."
