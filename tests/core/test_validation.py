"""The checks every request passes before storage: bounded numbers, storable text and ids."""

from __future__ import annotations

import re

import pytest

from bot.core.commands import Configure, CreateMarket, PlaceBet, ResolveMarket, ShowBalance
from bot.core.errors import InvalidInput
from bot.core.models import Actor, Context
from bot.core.validation import (
    EVIDENCE_MAX,
    MARKET_NUMBER_MAX,
    bounded_int,
    check_command,
    check_context,
    clean_display_name,
    is_market_number,
    shown,
)


def test_bounded_int_reads_ascii_digits_only_and_caps_huge_ones() -> None:
    assert bounded_int("0") == 0
    assert bounded_int("007") == 7
    assert bounded_int("0" * 5000 + "12") == 12
    assert bounded_int("9" * 5000) == 10**30
    for text in ("", "-1", "1.5", "²", "١٢", "１２", " 1", "1e3"):
        assert bounded_int(text) is None, text


def test_market_numbers_are_what_a_32_bit_column_holds() -> None:
    assert MARKET_NUMBER_MAX == 2**31 - 1
    assert is_market_number(1) and is_market_number(2**31 - 1)
    assert not any(is_market_number(n) for n in (0, -1, 2**31, 2**63))


def test_shown_is_short_and_safe_inside_backticks() -> None:
    assert shown("a`b") == "a'b"
    assert shown("x" * 50) == "x" * 39 + "…"
    assert shown("x" * 40) == "x" * 40
    assert shown("a\x00b\udcffc\nd") == "a�b�c d"


def ctx(user: str = "bo", name: str = "Bo", **fields: str | None) -> Context:
    return Context("console", fields.pop("community", None) or "c", Actor(user, name), **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("context", "words"),
    [
        (ctx("x" * 65), "1 to 64 characters"),
        (ctx(""), "1 to 64 characters"),
        (ctx("a\x00b"), "control character (U+0000)"),
        (ctx("a\tb"), "control character (U+0009)"),
        (ctx("a\udcffb"), "not valid text"),
        (ctx(request_id="r" * 101), "request id"),
        (ctx(channel="c" * 65), "channel"),
        (ctx(community="t" * 65), "community id"),
    ],
)
def test_ids_storage_cannot_hold_are_refused(context: Context, words: str) -> None:
    with pytest.raises(InvalidInput, match=re.escape(words)):
        check_context(context)


def test_the_longest_ids_pass_and_display_names_are_cleaned() -> None:
    fine = ctx("u" * 64, request_id="r" * 100, channel="c" * 64)
    assert check_context(fine) is fine
    cleaned = check_context(ctx("bo", "B\x00o\u200d\udcff\x1b  bo " + "x" * 200))
    assert cleaned.actor.display_name == "Bo\u200d bo " + "x" * 93
    assert clean_display_name("\x00\x01", "bo") == "bo"


@pytest.mark.parametrize(
    "command",
    [
        CreateMarket("Will it\x00 rain?", "2026-12-31"),
        CreateMarket("Will it rain in Paris?", "2026-12-31", outcomes=("a\x7f", "b")),
        CreateMarket("Will it rain in Paris?", "2026-12-31", criteria="\x00"),
        PlaceBet(1, "y\x00es", 10),
        ResolveMarket(1, "yes", evidence="https://example.com/" + "e" * EVIDENCE_MAX),
        ShowBalance("@b\udcffo"),
        Configure((("announce_channel", "\x00"),)),
    ],
)
def test_typed_text_storage_cannot_keep_is_refused(command: object) -> None:
    with pytest.raises(InvalidInput):
        check_command(command)  # type: ignore[arg-type]


def test_layout_whitespace_and_emoji_are_fine() -> None:
    check_command(
        CreateMarket("Will it\train in\r\nParis? 🌧️", "in 3 days", criteria="Line 1\nLine 2")
    )
