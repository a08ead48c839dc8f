"""Announcements and the overdue list in Block Kit: pure functions of the core's view models."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from bot.adapters.slack import blocks
from bot.adapters.slack.announcements import announcement
from bot.core.money import MICRO
from bot.core.views import (
    AnnouncementFailed,
    FailedAnnouncement,
    MarketCancelled,
    MarketCard,
    MarketClosed,
    MarketExtended,
    MarketResolved,
    MarketUnresolved,
    OutcomeView,
    OverdueShown,
    Payout,
    ResolutionReminder,
)

CLOSES = datetime(2026, 3, 10, 17, 30, tzinfo=UTC)
STAMP = int(CLOSES.timestamp())


def make_card(**changes: object) -> MarketCard:
    card = MarketCard(
        community="T0STUB",
        number=7,
        question="Will <!channel> and @here get pinged?",
        criteria=None,
        outcomes=(OutcomeView(1, "Yes", 0.5, 0), OutcomeView(2, "No", 0.5, 0)),
        mechanism="lmsr",
        liquidity=100 * MICRO,
        volume=0,
        traders=0,
        closes_at=CLOSES,
        status="closed",
        creator_user="U0ALICE",
        closed_at=CLOSES,
    )
    return replace(card, **changes)  # type: ignore[arg-type]


def shown(rendered: tuple[str, list[blocks.Block]]) -> str:
    text, body = rendered
    return text + "\n" + str(body)


def test_closing_says_how_and_pings_nobody() -> None:
    card = make_card()
    resolvers = ("U0ALICE", "U0ADMIN")
    deadline = shown(announcement("closed", MarketClosed(card, False, resolvers, True)))
    late = shown(announcement("closed", MarketClosed(card, True, resolvers, True)))
    early = shown(announcement("closed", MarketClosed(card, False, resolvers, False)))
    assert deadline.startswith(":lock: Market #7 closed at its deadline.\n")
    assert late.startswith(
        ":lock: Market #7 closed late: the deadline passed while the bot was offline."
    )
    assert early.startswith(":lock: Market #7 closed early.")
    for text in (deadline, late, early):
        assert "<@" not in text and "<!channel>" not in text and "`/predict resolve 7" in text


def test_a_reminder_mentions_only_real_slack_ids() -> None:
    reminder = ResolutionReminder(make_card(), CLOSES, ("U0ALICE", "W0MOD", "carol", "U0ALICE"))
    text, body = announcement("reminder", reminder)
    assert text.startswith(f":alarm_clock: <@U0ALICE>, <@W0MOD>: market #7 closed <!date^{STAMP}^")
    assert "carol" not in text and "<!channel>" not in str(body)
    assert "`/predict resolve 7 &lt;outcome&gt;`" in text
    nobody = announcement("reminder", ResolutionReminder(make_card(), CLOSES, ("bob",)))
    assert nobody[0].startswith(":alarm_clock: Moderators: market #7") and "<@" not in nobody[0]


def test_failure_notice_results_and_other_announcements() -> None:
    failed = AnnouncementFailed("closed", 7, "Will <@U0BOB> win?", "channel_not_found", 1, ("U0A",))
    text, _ = announcement("delivery_failed", failed)
    assert text.startswith(
        ":warning: Moderators: the `closed` announcement of market #7 (Will @U0BOB win?) "
        "could not be posted after 1 attempt: channel_not_found"
    )
    assert "<@" not in text and "`/predict overdue`" in text
    resolved = MarketResolved(
        make_card(status="resolved", resolution="Yes"),
        "Yes",
        "https://example.org/<!here>",
        149 * MICRO,
        (Payout("U0BOB", "bob <!channel>", 149 * MICRO),),
    )
    text, body = announcement("resolved", resolved)
    assert text == "Market #7 resolved: Yes"
    section, winners = body[0]["text"]["text"], body[1]["elements"][0]["text"]
    assert "Paid out 149 points." in section and "Evidence: https://example.org/@" in section
    assert winners == "Top winners: 1. bob @\u2060channel +149"
    assert "<!" not in section + winners and "<@" not in section + winners
    cancelled = announcement("cancelled", MarketCancelled(make_card(), 30 * MICRO, 2))
    assert cancelled[0].startswith(":white_circle: Market #7 was cancelled (N/A).")
    assert cancelled[0].endswith("Refunded 30 points to 2 traders.")
    unresolved = announcement("unresolved", MarketUnresolved(make_card(), "Yes", 9 * MICRO))
    assert "resolution (Yes) was reversed" in unresolved[0]
    extended = announcement(
        "extended", MarketExtended(make_card(status="open"), datetime(2026, 3, 5, tzinfo=UTC))
    )
    assert f"now closes <!date^{STAMP}^" in extended[0]


def test_overdue_lists_markets_oldest_first_and_failed_announcements() -> None:
    old = make_card(number=3, closed_at=datetime(2026, 3, 1, tzinfo=UTC))
    new = make_card(number=5, closed_at=datetime(2026, 3, 2, tzinfo=UTC))
    gave_up = FailedAnnouncement(
        "resolved", 4, "C0CHAN", 10, datetime(2026, 3, 2, 9, tzinfo=UTC), "channel_not_found"
    )
    text, body = blocks.reply(OverdueShown((old, new), (gave_up,)))
    assert text == "2 markets waiting for a resolution. 1 announcement could not be delivered."
    assert body is not None
    listing = body[0]["text"]["text"]
    assert listing.index("*#3*") < listing.index("*#5*") and "<!channel>" not in listing
    failed = body[2]["text"]["text"]
    assert failed.startswith("*Announcements that could not be delivered* (newest first)\n")
    assert "• `resolved` of #4 in <#C0CHAN> · gave up <!date^" in failed
    assert failed.endswith("after 10 attempts: channel_not_found")
    empty_text, empty = blocks.reply(OverdueShown(()))
    assert empty_text == "No markets are waiting for a resolution." and empty is not None
