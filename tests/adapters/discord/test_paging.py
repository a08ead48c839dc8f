"""Long lists on Discord: `/market list`, `/portfolio` and `/market overdue` say what they
leave out and take a `page`; each page fits Discord's limits even with the longest texts; a
page that does not exist is refused privately, changing nothing."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.commands import CloseMarket, Command, CreateMarket, PlaceBet
from bot.core.models import Actor, Context
from tests.adapters.discord.conftest import Harness, content
from tests.adapters.discord.test_odds import answer
from tests.fakes.discord_stub import GUILD_ID, MANAGER_USER_ID, MEMBER_USER_ID
from tests.helpers import snapshot

JSON = dict[str, Any]
# As long as the core allows, every character one that Discord markdown must escape.
LONG = "Will *this* _really_ ship? " + "*_" * 135
NAME = "No *way* " + "_" * 40


async def as_user(harness: Harness, user: int, command: Command) -> None:
    actor = Actor(str(user), f"user{user}", is_moderator=user == MANAGER_USER_ID)
    await harness.service.execute(command, Context("discord", str(GUILD_ID), actor))


async def seed(harness: Harness, count: int, question: str = "Will market {n} resolve?") -> None:
    for n in range(1, count + 1):
        text = question.format(n=f"{n:02}")
        await as_user(
            harness, MANAGER_USER_ID, CreateMarket(text, "2026-03-10", outcomes=("Yes", NAME))
        )


def description(rec: Any) -> str:
    [embed] = answer(rec)["embeds"]
    return str(embed["description"])


async def test_the_list_says_how_many_more_and_pages(harness: Harness) -> None:
    await seed(harness, 23)
    first = description(await harness.slash("market list"))
    assert "**#23**" in first and "**#14**" in first and "**#13**" not in first
    assert first.endswith("Showing 10 of 23 — `/market list status:open page:2` for more.")
    last = description(await harness.slash("market list", {"page": 3}))
    assert "**#3**" in last and "**#1**" in last and "**#4**" not in last
    assert last.endswith(
        "Showing 21–23 of 23 — the last page; `/market list status:open page:1` goes back."
    )
    every = description(await harness.slash("market list", {"status": "all", "page": 2}))
    assert "`/market list status:all page:3` for more." in every


async def test_a_page_of_the_longest_markets_fits_an_embed(harness: Harness) -> None:
    await seed(harness, 12, LONG[:-2] + "{n}")
    shown = description(await harness.slash("market list"))
    assert len(shown) <= 4096
    lines = shown.split("\n")
    assert [line.split("**")[1] for line in lines[:-1]] == [f"#{n}" for n in range(12, 2, -1)]
    assert all(
        line.startswith("**#") and "Will \\*this\\* \\_really\\_ ship?" in line
        for line in lines[:-1]
    )
    assert lines[-1] == "Showing 10 of 12 — `/market list status:open page:2` for more."


async def test_the_portfolio_says_how_many_more_and_fits_a_message(harness: Harness) -> None:
    await seed(harness, 12, LONG[:-2] + "{n}")
    for n in range(1, 13):
        await as_user(harness, MEMBER_USER_ID, PlaceBet(n, "2", 5))
    first = await harness.slash("portfolio")
    assert first.ephemeral
    text = content(first)
    assert len(text) <= 2000
    lines = text.split("\n")
    assert lines[0] == "Balance: 940 points. Positions:"
    assert [line.split(" ")[0] for line in lines[1:-1]] == [f"#{n}" for n in range(1, 11)]
    assert all(
        "No \\*way\\* \\_" in line and "shares, cost 5, worth" in line for line in lines[1:-1]
    )
    assert lines[-1] == "Showing 10 of 12 — `/portfolio page:2` for more."
    second = content(await harness.slash("portfolio", {"page": 2}))
    assert [line.split(" ")[0] for line in second.split("\n")[1:-1]] == ["#11", "#12"]
    assert second.endswith("Showing 11–12 of 12 — the last page; `/portfolio page:1` goes back.")


async def test_overdue_says_how_many_more_and_pages(harness: Harness) -> None:
    await seed(harness, 12, LONG[:-2] + "{n}")
    for n in range(1, 13):
        await as_user(harness, MANAGER_USER_ID, CloseMarket(n))
    first = await harness.slash("market overdue", user=MANAGER_USER_ID)
    assert first.ephemeral
    shown = description(first)
    assert len(shown) <= 4096
    lines = shown.split("\n")
    assert [line.split("**")[1] for line in lines[1:-1]] == [f"#{n}" for n in range(1, 11)]
    assert lines[-1] == "Showing 10 of 12 — `/market overdue page:2` for more."
    second = description(await harness.slash("market overdue", {"page": 2}, user=MANAGER_USER_ID))
    assert [line.split("**")[1] for line in second.split("\n")[1:-1]] == ["#11", "#12"]


async def test_bad_pages_are_refused_privately_and_change_nothing(
    harness: Harness, engine: AsyncEngine
) -> None:
    await seed(harness, 3)
    await harness.slash("portfolio")  # the member's first contact
    before = await snapshot(engine)
    cases: list[tuple[str, dict[str, object], int, str]] = [
        ("market list", {"page": 0}, MEMBER_USER_ID, "Pages are numbered from 1"),
        ("market list", {"page": -2}, MEMBER_USER_ID, "Pages are numbered from 1"),
        (
            "market list",
            {"page": 2},
            MEMBER_USER_ID,
            "There is no page 2: there are 3 open markets, on page 1.",
        ),
        (
            "market list",
            {"status": "resolved", "page": 2},
            MEMBER_USER_ID,
            "there are no resolved markets",
        ),
        ("market list", {"page": 2**53}, MEMBER_USER_ID, "There is no page 9,007,199,254,740,992"),
        (
            "portfolio",
            {"page": 2},
            MEMBER_USER_ID,
            "There is no page 2: there are no open positions.",
        ),
        ("portfolio", {"page": 0}, MEMBER_USER_ID, "Pages are numbered from 1"),
        ("market overdue", {"page": 2}, MANAGER_USER_ID, "no markets waiting for a resolution"),
        ("market overdue", {"page": 2}, MEMBER_USER_ID, "Only moderators"),
    ]
    for path, options, user, expected in cases:
        rec = await harness.slash(path, options, user=user)
        assert rec.ephemeral or (rec.followups and rec.followups[0]["flags"] & 64), (path, options)
        assert expected in content(rec), (path, options, content(rec))
    assert await snapshot(engine) == before
