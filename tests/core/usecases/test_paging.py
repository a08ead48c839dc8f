"""Long lists come a page at a time, each saying how many there are in all and how to see the
rest; a page that does not exist is refused (on every store)."""

from __future__ import annotations

import pytest

from bot.core import grammar
from bot.core.commands import (
    CloseMarket,
    ListMarkets,
    ListOverdue,
    ShowPortfolio,
)
from bot.core.errors import InvalidInput
from bot.core.service import Service
from bot.core.text import render
from bot.core.views import MarketList, OverdueShown, Page, PortfolioShown
from tests.flow import MOD, bet, create, expect, run
from tests.helpers import FakeClock
from tests.world import World


async def markets(service: Service, count: int, **options: object) -> list[int]:
    return [
        await create(service, question=f"Will market number {n} resolve yes?", **options)
        for n in range(1, count + 1)
    ]


async def test_markets_are_listed_a_page_at_a_time_newest_first(service: Service) -> None:
    await markets(service, 23)
    await run(service, CloseMarket(1), "al")

    first = expect(await run(service, ListMarkets("open"), "bo"), MarketList)
    assert [c.number for c in first.cards] == list(range(23, 13, -1))
    assert first.page == Page(1, 10, 22)
    assert render(first).endswith("Showing 10 of 22 — `list open page:2` for more.")
    second = expect(await run(service, ListMarkets("open", page=2), "bo"), MarketList)
    assert [c.number for c in second.cards] == list(range(13, 3, -1))
    assert render(second).endswith("Showing 11–20 of 22 — `list open page:3` for more.")
    last = expect(await run(service, ListMarkets("open", page=3), "bo"), MarketList)
    assert [c.number for c in last.cards] == [3, 2]
    assert render(last).endswith(
        "Showing 21–22 of 22 — the last page; `list open page:1` goes back."
    )
    every = expect(await run(service, ListMarkets("all", page=3), "bo"), MarketList)
    assert [c.number for c in every.cards] == [3, 2, 1] and every.page == Page(3, 10, 23)
    closed = expect(await run(service, ListMarkets("closed"), "bo"), MarketList)
    assert render(closed) == (
        "Closed markets:\n  #1 Will market number 1 resolve yes? — Yes 50% · "
        "Closed Mon 2 Mar 2026 12:00 UTC · awaiting resolution"
    )  # everything fits on one page: nothing to say


async def test_a_page_past_the_end_is_refused_and_changes_nothing(
    service: Service, world: World
) -> None:
    await markets(service, 11)
    await run(service, ListMarkets(), "bo")  # bo's first contact
    before = await world.snapshot()
    with pytest.raises(InvalidInput) as past:
        await run(service, ListMarkets("open", page=3), "bo")
    assert past.value.message == "There is no page 3: there are 11 open markets, on pages 1 to 2."
    with pytest.raises(InvalidInput) as empty:
        await run(service, ListMarkets("resolved", page=2), "bo")
    assert empty.value.message == "There is no page 2: there are no resolved markets."
    with pytest.raises(InvalidInput) as zero:
        await run(service, ListMarkets("open", page=0), "bo")
    assert zero.value.message == "Pages are numbered from 1: use `page:1`, `page:2` and so on."
    assert await world.snapshot() == before
    nothing = expect(await run(service, ListMarkets("resolved"), "bo"), MarketList)
    assert render(nothing) == "No resolved markets."


async def test_a_portfolio_is_shown_a_page_at_a_time(service: Service, world: World) -> None:
    numbers = await markets(service, 4, outcomes=("Red", "Green", "Blue"))
    for number in numbers:
        for outcome in ("Red", "Green", "Blue"):
            await bet(service, "bo", number, outcome, 5)
    first = expect(await run(service, ShowPortfolio(), "bo"), PortfolioShown)
    assert [(p.market, p.outcome) for p in first.positions][:4] == [
        (1, "Red"),
        (1, "Green"),
        (1, "Blue"),
        (2, "Red"),
    ]
    assert first.page == Page(1, 10, 12) and len(first.positions) == 10
    assert render(first).endswith("Showing 10 of 12 — `portfolio page:2` for more.")
    second = expect(await run(service, ShowPortfolio(page=2), "bo"), PortfolioShown)
    assert [(p.market, p.outcome) for p in second.positions] == [(4, "Green"), (4, "Blue")]
    assert second.balance == first.balance == 940_000_000
    before = await world.snapshot()
    with pytest.raises(InvalidInput) as past:
        await run(service, ShowPortfolio(page=3), "bo")
    assert past.value.message == "There is no page 3: there are 12 open positions, on pages 1 to 2."
    assert await world.snapshot() == before


async def test_overdue_markets_are_listed_a_page_at_a_time(
    service: Service, world: World, clock: FakeClock
) -> None:
    for number in await markets(service, 12):
        await run(service, CloseMarket(number), "al")
    await world.fail_announcements("closed", at=clock.now(), attempts=8, error="gone")
    first = expect(await run(service, ListOverdue(), MOD), OverdueShown)
    assert [c.number for c in first.cards] == list(range(1, 11))
    assert first.page == Page(1, 10, 12)
    assert len(first.failed) == 10 and first.failed_total == 12
    text = render(first)
    assert "Showing 10 of 12 — `overdue page:2` for more." in text
    assert text.endswith("Showing the newest 10 of 12; older ones are not listed.")
    second = expect(await run(service, ListOverdue(page=2), MOD), OverdueShown)
    assert [c.number for c in second.cards] == [11, 12]
    assert second.failed == ()  # listed on the first page only
    before = await world.snapshot()
    with pytest.raises(InvalidInput) as past:
        await run(service, ListOverdue(page=3), MOD)
    assert past.value.message == (
        "There is no page 3: there are 12 markets waiting for a resolution, on pages 1 to 2."
    )
    assert await world.snapshot() == before


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("list page:2", ListMarkets("open", page=2)),
        ("list closed page:3", ListMarkets("closed", page=3)),
        ("markets page:1 all", ListMarkets("all", page=1)),
        ("portfolio page:2", ShowPortfolio(page=2)),
        ("positions PAGE:4", ShowPortfolio(page=4)),
        ("overdue page: 2", ListOverdue(page=2)),
    ],
)
def test_the_grammar_reads_a_page(text: str, command: object) -> None:
    assert grammar.parse(text) == command


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("list page:0", "`0` is not a page number — pages are numbered from 1, like `page:2`."),
        ("list open page:abc", "`abc` is not a page number — pages are numbered from 1, like "),
        ("portfolio page:-1", "`-1` is not a page number"),
        ("overdue page:1.5", "`1.5` is not a page number"),
        ("portfolio page:2 page:3", "Option `page` is given twice"),
        ("portfolio 2", "Unexpected `2`. Usage: `portfolio [page:<n>]`"),
        ("leaderboard page:2", "Unexpected `page:2`. Usage: `leaderboard`"),
    ],
)
def test_the_grammar_refuses_a_bad_page(text: str, message: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        grammar.parse(text)
    assert refused.value.message.startswith(message)
