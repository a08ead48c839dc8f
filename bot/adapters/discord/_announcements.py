"""Announcements posted in a market's channel, rendered as Discord messages (pure, no I/O)."""

from __future__ import annotations

from functools import singledispatch

import discord

from bot.adapters.discord._embeds import (
    COLOURS,
    CONTENT_MAX,
    DESCRIPTION_MAX,
    FIELD_MAX,
    TITLE_MAX,
    Reply,
    ago,
    card_embed,
    clip,
    debts_text,
    mentions_within,
    plural,
    question_text,
    user_ids,
    when,
)
from bot.core.money import points
from bot.core.text import render
from bot.core.views import (
    AnnouncementFailed,
    MarketCancelled,
    MarketClosed,
    MarketCreated,
    MarketExtended,
    MarketResolved,
    MarketUnresolved,
    ResolutionReminder,
    Result,
)


@singledispatch
def announcement(result: Result) -> Reply:
    """Render an announcement posted in a market's channel (never ephemeral)."""
    return Reply(content=clip(render(result), CONTENT_MAX), ephemeral=False)


@announcement.register
def _(result: MarketCreated) -> Reply:
    return Reply(embeds=(card_embed(result.card),), card=result.card, ephemeral=False)


@announcement.register
def _(result: MarketClosed) -> Reply:
    card = result.card
    if result.late:
        how = "closed late: the deadline passed while the bot was offline"
    elif result.automatic:
        how = "closed at its deadline"
    else:
        how = "closed early"
    head = (
        f"🔒 Market #{card.number} {how}.\n**{question_text(card)}**\n"
        "Trading has ended. Waiting for "
    )
    tail = " to resolve it with `/market resolve`."
    resolvers = user_ids(result.resolvers)
    budget = CONTENT_MAX - len(head) - len(tail) - len(" or a moderator")
    who, named = mentions_within(resolvers, budget)
    if len(named) == len(resolvers):  # everyone is named: say anyone else may resolve too
        who = f"{who or 'its creator'} or a moderator"
    return Reply(content=clip(f"{head}{who}{tail}", CONTENT_MAX), ephemeral=False)


@announcement.register
def _(result: MarketResolved) -> Reply:
    card = result.card
    embed = discord.Embed(
        title=clip(f"Market #{card.number} resolved: {result.outcome}", TITLE_MAX),
        description=clip(card.question, DESCRIPTION_MAX),
        colour=COLOURS["resolved"],
    )
    embed.add_field(name="Paid out", value=f"{points(result.total_paid)} pts")
    if result.winners:
        winners = "\n".join(
            f"{n}. <@{w.user_id}> +{points(w.amount)}" for n, w in enumerate(result.winners, 1)
        )
        embed.add_field(name="Top winners", value=clip(winners, FIELD_MAX), inline=False)
    if result.evidence:
        embed.add_field(name="Evidence", value=clip(result.evidence, FIELD_MAX), inline=False)
    if result.voided_trades:
        embed.add_field(
            name="Voided",
            value=f"{result.voided_trades} trade(s) placed after the outcome was known",
            inline=False,
        )
    if result.debts:
        embed.add_field(
            name="In debt", value=clip(debts_text(result.debts).strip(), FIELD_MAX), inline=False
        )
    content = f"🏁 Market #{card.number} resolved: {result.outcome}"
    return Reply(content=clip(content, CONTENT_MAX), embeds=(embed,), ephemeral=False)


@announcement.register
def _(result: MarketCancelled) -> Reply:
    card = result.card
    refunds = (
        f"Refunded {points(result.total_refunded)} points to "
        f"{plural(result.accounts_refunded, 'trader')}."
        if result.accounts_refunded
        else "Nobody had traded, so there was nothing to refund."
    )
    voided = (
        f" {plural(result.voided_trades, 'trade')} placed after the outcome was known were voided."
        if result.voided_trades
        else ""
    )
    return Reply(
        content=clip(
            f"⚪ Market #{card.number} was cancelled (N/A).\n**{question_text(card)}**\n"
            f"{refunds}{voided}{debts_text(result.debts)}",
            CONTENT_MAX,
        ),
        ephemeral=False,
    )


@announcement.register
def _(result: MarketUnresolved) -> Reply:
    card = result.card
    previous = discord.utils.escape_markdown(result.previous)
    return Reply(
        content=clip(
            f"↩️ Market #{card.number}'s resolution ({previous}) was reversed.\n"
            f"**{question_text(card)}**\n{points(result.total_reversed)} points of payouts were "
            "taken back. The market is closed again and waits for a new resolution."
            f"{debts_text(result.debts)}",
            CONTENT_MAX,
        ),
        ephemeral=False,
    )


@announcement.register
def _(result: MarketExtended) -> Reply:
    card = result.card
    return Reply(
        content=clip(
            f"⏳ Market #{card.number} stays open longer: it now closes {when(card.closes_at)} "
            f"instead of <t:{int(result.previous_closes_at.timestamp())}:F>.\n"
            f"**{question_text(card)}**",
            CONTENT_MAX,
        ),
        ephemeral=False,
    )


@announcement.register
def _(result: ResolutionReminder) -> Reply:
    """Remind the people who may resolve a closed market: the only message that pings."""
    card = result.card
    text = (
        f": market #{card.number} closed {ago(result.due_since)} and is still "
        f"waiting for a resolution.\n**{question_text(card)}**\n"
        f"Resolve it with `/market resolve market:{card.number} outcome:…` "
        "(or outcome `na` to cancel and refund everyone)."
    )
    # However many may resolve, the number and question stay: name as many as fit.
    who, pinged = mentions_within(user_ids(result.resolvers), CONTENT_MAX - len(text) - 2)
    return Reply(
        content=clip(f"⏰ {who or 'Moderators'}{text}", CONTENT_MAX),
        ephemeral=False,
        pings=pinged,
    )


@announcement.register
def _(result: AnnouncementFailed) -> Reply:
    what = f"the `{result.kind}` announcement"
    if result.market is not None:
        what += f" of market #{result.market}"
        if result.question:
            what += f" ({discord.utils.escape_markdown(result.question)})"
    error = discord.utils.escape_markdown(result.error)
    text = (
        f": {what} could not be posted after "
        f"{plural(result.attempts, 'attempt')}: {clip(error, 300)}\n"
        "`/market overdue` lists what was not delivered."
    )
    who, _ = mentions_within(user_ids(result.moderators), CONTENT_MAX - len(text) - 3)
    return Reply(content=clip(f"⚠️ {who or 'Moderators'}{text}", CONTENT_MAX), ephemeral=False)
