"""Market numbers storage can't hold, on every Discord path: options, autocomplete, buttons."""

from __future__ import annotations

import copy
import logging

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.adapters.discord.conftest import Harness, content
from tests.fakes.discord_stub import AUTOCOMPLETE_RESULT, MANAGER_USER_ID, MODAL
from tests.helpers import snapshot

BEYOND = [2**31, 2**53]  # a 32-bit column's limit + 1; the largest integer Discord sends


def _tracebacks(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Log records with a traceback (at any level) or at ERROR and above."""
    return [
        f"{r.name}: {r.getMessage()}"
        for r in caplog.records
        if r.exc_info or r.levelno >= logging.ERROR
    ]


@pytest.mark.parametrize("number", BEYOND)
async def test_slash_commands_answer_no_market(
    harness: Harness, engine: AsyncEngine, caplog: pytest.LogCaptureFixture, number: int
) -> None:
    caplog.set_level(logging.DEBUG)
    await harness.create_market()
    before = await snapshot(engine)
    calls: list[tuple[str, dict[str, object]]] = [
        ("bet", {"market": number, "outcome": "yes", "points": 10}),
        ("sell", {"market": number, "outcome": "yes", "shares": "all"}),
        ("market show", {"market": number}),
        ("market close", {"market": number}),
        ("market extend", {"market": number, "closes": "2026-04-01"}),
        ("market resolve", {"market": number, "outcome": "yes"}),
        ("market cancel", {"market": number}),
        ("market unresolve", {"market": number}),
    ]
    for path, options in calls:
        rec = await harness.slash(path, options, user=MANAGER_USER_ID)
        assert rec.ephemeral, (path, rec.response)
        assert f"There is no market #{number}" in content(rec), (path, content(rec))
    assert await snapshot(engine) == before
    assert _tracebacks(caplog) == []


@pytest.mark.parametrize("number", BEYOND)
async def test_outcome_autocomplete_offers_nothing(
    harness: Harness, caplog: pytest.LogCaptureFixture, number: int
) -> None:
    caplog.set_level(logging.DEBUG)
    await harness.create_market()
    for market in (number, str(number), "9" * 90):
        rec = await harness.stub.send_interaction(
            harness.stub.autocomplete("bet", {"market": market, "outcome": ""}, focused="outcome")
        )
        await rec.wait_response()
        assert rec.response_type == AUTOCOMPLETE_RESULT and rec.choices == []
    assert _tracebacks(caplog) == []


@pytest.mark.parametrize(
    "custom_id", ["predictbot:bet:2147483648:1", "predictbot:bet:" + "9" * 80 + ":1"]
)
async def test_a_button_for_such_a_market_says_there_is_none(
    harness: Harness, engine: AsyncEngine, caplog: pytest.LogCaptureFixture, custom_id: str
) -> None:
    caplog.set_level(logging.DEBUG)
    card = await harness.create_market()
    before = await snapshot(engine)
    # A forged (or very old) card whose first button carries the custom id.
    forged = copy.deepcopy(card)
    forged["components"][0]["components"][0]["custom_id"] = custom_id
    click = await harness.stub.send_interaction(harness.stub.button_click(forged, custom_id))
    await click.wait_response()
    assert click.response_type != MODAL
    assert click.ephemeral and "There is no market #" in content(click)
    assert await snapshot(engine) == before
    assert _tracebacks(caplog) == []
