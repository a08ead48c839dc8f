"""Card and announcement rendering: pure functions of the core's view models."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import discord

from bot.adapters.discord._announcements import announcement
from bot.adapters.discord._buttons import card_view
from bot.adapters.discord._embeds import card_embed, reply
from bot.core.money import MICRO
from bot.core.views import (
    AnnouncementFailed,
    FailedAnnouncement,
    MarketCancelled,
    MarketCard,
    MarketClosed,
    MarketCreated,
    MarketExtended,
    MarketList,
    MarketResolved,
    MarketUnresolved,
    OutcomeView,
    OverdueShown,
    Payout,
    ResolutionReminder,
)

CLOSES = datetime(2026, 3, 10, 23, 59, 59, tzinfo=UTC)


def make_card(outcomes: int = 2, **changes: object) -> MarketCard:
    card = MarketCard(
        community="2000",
        number=7,
        question="Will the @everyone question render safely and fully?",
        criteria="Per the rules.",
        outcomes=tuple(
            OutcomeView(i + 1, f"Outcome {i + 1}", 1 / outcomes, 0) for i in range(outcomes)
        ),
        mechanism="lmsr",
        liquidity=100 * MICRO,
        volume=1234 * MICRO,
        traders=3,
        closes_at=CLOSES,
        status="open",
        creator_user="3001",
    )
    return replace(card, **changes)  # type: ignore[arg-type]


def fields(embed: discord.Embed) -> dict[str, str]:
    return {f.name or "": f.value or "" for f in embed.fields}


def test_card_embed_shows_everything_a_card_needs() -> None:
    embed = card_embed(make_card())
    assert embed.title == "#7 · Will the @everyone question render safely and fully?"
    assert embed.description == "**Resolution criteria**\nPer the rules."
    shown = fields(embed)
    assert shown["Outcomes"].splitlines()[0] == "`██████░░░░░░` **50%** 1. Outcome 1"
    assert shown["Volume"] == "1,234 pts" and shown["Traders"] == "3"
    assert shown["Mechanism"] == "LMSR (b = 100)"
    stamp = int(CLOSES.timestamp())
    assert shown["Closes"] == f"<t:{stamp}:F> (<t:{stamp}:R>)"
    assert "Open" in shown["Status"]


def test_ten_outcomes_make_two_rows_of_five_buttons() -> None:
    view = card_view(make_card(10))
    rows = view.to_components()
    assert [len(r["components"]) for r in rows] == [5, 5]
    ids = [b["custom_id"] for r in rows for b in r["components"]]
    assert ids[0] == "predictbot:bet:7:1" and ids[-1] == "predictbot:bet:7:10"
    assert view.timeout is None and view.is_persistent()


def test_a_settled_card_disables_its_buttons_and_says_why() -> None:
    resolved = make_card(status="resolved", resolution="Outcome 2", evidence="https://x.org")
    assert all(b["disabled"] for r in card_view(resolved).to_components() for b in r["components"])
    shown = fields(card_embed(resolved))
    assert "Resolved: **Outcome 2**" in shown["Status"]
    assert "2. Outcome 2 ✅" in shown["Outcomes"]
    assert shown["Evidence"] == "https://x.org"


def test_long_texts_are_clipped_to_discord_limits() -> None:
    card = make_card(question="Q" * 300, criteria="C" * 5000)
    embed = card_embed(card)
    assert embed.title is not None and len(embed.title) == 256 and embed.title.endswith("…")
    assert embed.description is not None and len(embed.description) == 4096


def test_announcements_and_replies() -> None:
    card = make_card(status="resolved", resolution="Outcome 1")
    resolved = announcement(
        MarketResolved(
            card, "Outcome 1", None, 150 * MICRO, (Payout("3002", "alice", 150 * MICRO),)
        )
    )
    assert not resolved.ephemeral and resolved.content == "🏁 Market #7 resolved: Outcome 1"
    assert fields(resolved.embeds[0])["Top winners"] == "1. <@3002> +150"
    closed = announcement(MarketClosed(make_card(status="closed"), late=True))
    assert closed.content is not None and "while the bot was offline" in closed.content
    extended = announcement(MarketExtended(make_card(), datetime(2026, 3, 5, tzinfo=UTC)))
    assert extended.content is not None and f"<t:{int(CLOSES.timestamp())}:F>" in extended.content
    created = announcement(MarketCreated(make_card()))
    assert created.card is not None and created.embeds and not created.ephemeral
    listing = reply(MarketList("open", (make_card(),)))
    assert listing.embeds[0].description is not None
    assert listing.embeds[0].description.startswith("**#7** Will the @everyone")
    empty = reply(MarketList("open", ()))
    assert empty.content == "No open markets."


def test_closing_says_how_the_market_closed_and_who_resolves_without_pinging() -> None:
    card = make_card(status="closed", closed_at=CLOSES)
    texts = {
        "deadline": announcement(MarketClosed(card, resolvers=("3001",), automatic=True)),
        "late": announcement(MarketClosed(card, late=True, resolvers=("3001",), automatic=True)),
        "early": announcement(MarketClosed(card, resolvers=("3001", "4004", "carol"))),
    }
    assert texts["deadline"].content is not None
    assert texts["deadline"].content.startswith("🔒 Market #7 closed at its deadline.\n")
    assert texts["late"].content is not None and texts["late"].content.startswith(
        "🔒 Market #7 closed late: the deadline passed while the bot was offline."
    )
    early = texts["early"].content
    assert early is not None and early.startswith("🔒 Market #7 closed early.")
    assert "Waiting for <@3001> and <@4004> or a moderator" in early and "carol" not in early
    assert "\\@everyone" not in early and "**Will the @everyone question" in early
    for reply_ in texts.values():
        assert not reply_.ephemeral and reply_.pings == ()
        assert reply_.allowed_mentions.to_dict() == {"parse": []}


def test_a_reminder_pings_exactly_the_resolvers_with_discord_ids() -> None:
    card = make_card(status="closed", closed_at=CLOSES)
    post = announcement(ResolutionReminder(card, CLOSES, ("3001", "4004", "carol", "<@5>")))
    assert post.content is not None
    assert post.content.startswith("⏰ <@3001> and <@4004>: market #7 closed <t:")
    assert "/market resolve market:7" in post.content
    assert post.pings == (3001, 4004)
    assert post.allowed_mentions.to_dict() == {"parse": [], "users": [3001, 4004]}
    nobody = announcement(ResolutionReminder(card, CLOSES, ("carol",)))
    assert nobody.content is not None and nobody.content.startswith("⏰ Moderators: market #7")
    assert nobody.allowed_mentions.to_dict() == {"parse": []}


def test_many_resolvers_are_named_within_discord_limits_and_the_question_stays() -> None:
    question = "Will *this* question, as long as a question may be, " + "x" * 247
    card = make_card(question=question, status="closed", closed_at=CLOSES)
    moderators = tuple(str(10**17 + n) for n in range(150))
    reminder = announcement(ResolutionReminder(card, CLOSES, ("3001", *moderators)))
    closed = announcement(MarketClosed(card, resolvers=("3001", *moderators)))
    failed = announcement(AnnouncementFailed("closed", 7, question, "403", 10, moderators))
    for post in (reminder, closed, failed):
        assert post.content is not None and len(post.content) <= 2000
        assert "#7" in post.content and "x" * 247 in post.content
        assert " more moderators" in post.content
    text = reminder.content or ""
    assert 0 < len(reminder.pings) <= 100 and reminder.pings[0] == 3001
    assert reminder.allowed_mentions.to_dict()["users"] == list(reminder.pings)
    assert text.count("<@") == len(reminder.pings)  # exactly the pinged are named
    assert f"and {151 - len(reminder.pings)} more moderators: market #7 closed" in text
    assert closed.pings == () and failed.pings == ()


def test_failure_notice_cancel_unresolve_texts() -> None:
    failed = announcement(
        AnnouncementFailed("closed", 7, "Will it *rain*?", "Discord answered 403", 10, ("3001",))
    )
    assert failed.content is not None and failed.pings == ()
    assert failed.content.startswith(
        "⚠️ <@3001>: the `closed` announcement of market #7 (Will it \\*rain\\*?) could not be "
        "posted after 10 attempts: Discord answered 403"
    )
    assert "`/market overdue`" in failed.content
    card = make_card(status="cancelled")
    cancelled = announcement(MarketCancelled(card, 30 * MICRO, 2))
    assert cancelled.content is not None
    assert cancelled.content.startswith("⚪ Market #7 was cancelled (N/A).\n**Will the")
    assert cancelled.content.endswith("Refunded 30 points to 2 traders.")
    unresolved = announcement(MarketUnresolved(make_card(status="closed"), "Outcome 1", 40 * MICRO))
    assert unresolved.content is not None
    assert unresolved.content.startswith("↩️ Market #7's resolution (Outcome 1) was reversed.")
    assert "40 points of payouts were taken back" in unresolved.content


def test_overdue_lists_markets_oldest_first_and_failed_announcements() -> None:
    old = make_card(number=3, status="closed", closed_at=datetime(2026, 3, 1, tzinfo=UTC))
    new = make_card(number=5, status="closed", closed_at=datetime(2026, 3, 2, tzinfo=UTC))
    gave_up = FailedAnnouncement(
        "resolved", 4, "2001", 10, datetime(2026, 3, 2, 9, tzinfo=UTC), "Discord answered 403"
    )
    shown = reply(OverdueShown((old, new), (gave_up,)))
    assert shown.ephemeral
    (embed,) = shown.embeds
    assert embed.description is not None
    lines = embed.description.splitlines()
    assert lines[1].startswith("**#3** ") and lines[2].startswith("**#5** ")
    assert "created by <@3001>" in lines[1]
    failed = fields(embed)["Announcements that could not be delivered (newest first)"]
    assert failed.startswith("`resolved` of #4 in <#2001> · gave up <t:")
    assert failed.endswith("after 10 attempts: Discord answered 403")
    only_failed = reply(OverdueShown((), (gave_up,)))
    assert only_failed.embeds[0].description == "No markets are waiting for a resolution."
    empty = reply(OverdueShown(()))
    assert empty.content is not None and empty.content.startswith("No markets are waiting")
