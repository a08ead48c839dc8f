"""Announcements posted in a channel: closes, reminders, resolutions, cancels, unresolves,
extensions and failure notices."""

from __future__ import annotations

from bot.adapters.slack.blocks import (
    TEXT_LIMIT,
    Block,
    context,
    date_token,
    plural,
    section,
    slack_users,
)
from bot.adapters.slack.escape import clip_mrkdwn, escape_mrkdwn
from bot.core.money import points
from bot.core.text import debts_text, render
from bot.core.views import (
    AnnouncementFailed,
    MarketCancelled,
    MarketCard,
    MarketClosed,
    MarketExtended,
    MarketResolved,
    MarketUnresolved,
    Payout,
    ResolutionReminder,
    Result,
)


def _debts(debts: tuple[Payout, ...]) -> str:
    text = debts_text(debts)
    return f"\n{escape_mrkdwn(text)}" if text else ""


def _market_line(card: MarketCard) -> str:
    return f"*{escape_mrkdwn(card.question)}*"


def _announce(text: str, *more: Block, fallback: str | None = None) -> tuple[str, list[Block]]:
    return clip_mrkdwn(fallback or text, TEXT_LIMIT), [section(text), *more]


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
            f"{plural(result.accounts_refunded, 'trader')}."
            if result.accounts_refunded
            else "Nobody had traded, so there was nothing to refund."
        )
        if result.voided_trades:
            refunds += (
                f" {plural(result.voided_trades, 'trade')} placed after the outcome was known "
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
    text = (
        f": market #{card.number} closed {date_token(result.due_since)} "
        f"and is still waiting for a resolution.\n{_market_line(card)}\n"
        f"Resolve it with `/predict resolve {card.number} &lt;outcome&gt;` "
        "(or `na` to cancel and refund everyone)."
    )
    head = ":alarm_clock: "
    who = _mentions_within(slack_users(result.resolvers), TEXT_LIMIT - len(head) - len(text))
    return _announce(f"{head}{who or 'Moderators'}{text}")


def _mentions_within(people: tuple[str, ...], budget: int) -> str:
    """Mention the first resolvers whose mentions fit in `budget` characters, then say how many
    more there are: however many moderators, the market's number and question stay."""
    for count in range(len(people), 0, -1):
        names = ", ".join(f"<@{u}>" for u in people[:count])
        left = len(people) - count
        text = f"{names} and {plural(left, 'more moderator')}" if left else names
        if len(text) <= budget:
            return text
    return plural(len(people), "moderator") if people else ""


def _failed(result: AnnouncementFailed) -> tuple[str, list[Block]]:
    what = f"the `{escape_mrkdwn(result.kind)}` announcement"
    if result.market is not None:
        what += f" of market #{result.market}"
        if result.question:
            what += f" ({escape_mrkdwn(result.question)})"
    return _announce(
        f":warning: Moderators: {what} could not be posted after "
        f"{plural(result.attempts, 'attempt')}: {escape_mrkdwn(result.error[:300])}\n"
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
            f"{plural(result.voided_trades, 'trade')} placed after the outcome was known "
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
        more.append(context(f"Top winners: {winners}"))
    fallback = f"Market #{card.number} resolved: {escape_mrkdwn(result.outcome)}"
    return _announce("\n".join(lines), *more, fallback=fallback)
