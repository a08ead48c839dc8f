from __future__ import annotations

import re

import pytest

from bot.core import commands as c
from bot.core.errors import InvalidInput, NotAllowed
from bot.core.grammar import ALIASES, CONFIG_KEYS, USAGE, canonical_command, parse
from bot.core.help import EXAMPLES, help_text
from bot.core.service import Service
from bot.core.views import HelpShown
from tests.flow import MOD, bet, create, run

EXPECTED_TYPE: dict[str, type] = {
    "create": c.CreateMarket,
    "list": c.ListMarkets,
    "show": c.ShowMarket,
    "bet": c.PlaceBet,
    "sell": c.SellShares,
    "close": c.CloseMarket,
    "extend": c.ExtendMarket,
    "resolve": c.ResolveMarket,
    "unresolve": c.UnresolveMarket,
    "cancel": c.CancelMarket,
    "balance": c.ShowBalance,
    "portfolio": c.ShowPortfolio,
    "leaderboard": c.ShowLeaderboard,
    "daily": c.ClaimDaily,
    "help": c.ShowHelp,
    "config": c.Configure,
    "overdue": c.ListOverdue,
}
MODERATOR_ONLY = {"unresolve", "config", "overdue"}
EXAMPLE_LINE = re.compile(r"Example: `(.+)`$", re.MULTILINE)


def test_every_command_has_an_expected_type() -> None:
    assert set(EXPECTED_TYPE) == set(USAGE)


def test_overview_lists_every_command_once() -> None:
    text = help_text()
    for name in USAGE:
        assert text.count(f"`{name}` — ") == 1, name
    assert help_text("") == text
    assert help_text("   ") == text


def test_overview_marks_moderator_commands() -> None:
    text = help_text()
    head, _, moderators = text.partition("\nModerators:\n")
    assert moderators
    for name in USAGE:
        section = moderators if name in MODERATOR_ONLY else head
        assert f"`{name}` — " in section, name


def test_overview_is_compact() -> None:
    text = help_text()
    assert len(text.splitlines()) <= len(USAGE) + 4
    assert all(len(line) <= 120 for line in text.splitlines())


@pytest.mark.parametrize("name", list(USAGE))
def test_command_help_shape(name: str) -> None:
    text = help_text(name)
    lines = text.splitlines()
    assert lines[0] == f"`{USAGE[name]}`"
    sentences = [s for s in re.split(r"(?<=[.!?])\s+(?=[A-Z`])", lines[1]) if s]
    assert 2 <= len(sentences) <= 4, sentences
    assert EXAMPLE_LINE.search(text), "at least one example"
    assert "/predict" not in text


@pytest.mark.parametrize("name", list(USAGE))
def test_command_help_says_who_may_use_it(name: str) -> None:
    detail = help_text(name).splitlines()[1]
    if name in MODERATOR_ONLY:
        assert "Moderators only." in detail
    elif name in {"close", "extend"}:
        assert "creator or a moderator" in detail
    elif name == "resolve":
        assert "A moderator may resolve, or the creator when the creator holds no position" in (
            detail
        )
    elif name == "cancel":  # as settlement._settleable decides (test_cancel_help_is_true)
        assert "A moderator may cancel it, or the creator when the creator holds no position" in (
            detail
        )
    else:
        assert "Anyone" in detail


def test_aliases_give_the_same_help() -> None:
    for alias, target in ALIASES.items():
        assert help_text(alias) == help_text(target)
    assert help_text("BET") == help_text("bet")
    assert help_text(" /bet ") == help_text("bet")
    assert "Also: `buy`." in help_text("bet")
    assert "Also: `lb`, `top`." in help_text("leaderboard")


def test_create_help_uses_the_s400_market() -> None:
    text = help_text("create")
    assert (
        'Example: `create "Will Turkey take delivery of S-400 systems by 2019-12-31?" '
        'closes:"in 30 days"`'
    ) in text


def test_config_help_documents_every_key() -> None:
    text = help_text("config")
    for key in CONFIG_KEYS:
        assert key in text, key
    assert "anyone or moderators" in text
    assert "1m or 1h" in text


def test_unknown_command_is_refused_with_the_list() -> None:
    with pytest.raises(InvalidInput) as info:
        help_text("frobnicate")
    assert info.value.message == (
        "Unknown command `frobnicate`. Commands: create, list, show, bet, sell, close, extend, "
        "resolve, unresolve, cancel, balance, portfolio, leaderboard, daily, help, config, "
        "overdue."
    )


def _all_example_lines() -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for name in [None, *USAGE]:
        for line in EXAMPLE_LINE.findall(help_text(name)):
            found.append((name or "create", line))
    return found


def test_examples_are_extracted() -> None:
    lines = [line for _, line in _all_example_lines()]
    assert len(lines) >= len(USAGE) + 1
    for examples in EXAMPLES.values():
        for example in examples:
            assert example in lines


@pytest.mark.parametrize(("name", "line"), _all_example_lines())
def test_every_example_parses_to_its_command(name: str, line: str) -> None:
    command = parse(line)
    assert isinstance(command, EXPECTED_TYPE[name]), (line, command)
    word = line.split()[0]
    assert canonical_command(word) == name


async def _prepare(service: Service, line: str) -> None:
    """Set up what an example needs: market #12 (with a position to sell, or resolved to
    unresolve), and the user it names."""
    if re.search(r"(?<![\d.])#?12\b", line):
        for n in range(12):
            await create(service, MOD, f"Will example market {n + 1} come true?", "in 7 days")
    if line.startswith("sell"):
        await bet(service, MOD, 12, "yes", 200)
    if line.startswith("unresolve"):
        await run(service, c.ResolveMarket(12, "yes"), MOD)
    if "@alice" in line:
        await run(service, c.ShowBalance(), "alice")


@pytest.mark.parametrize(("name", "line"), _all_example_lines())
async def test_every_example_works_when_pasted(service: Service, name: str, line: str) -> None:
    """Each example of every help entry, on a fresh community, is carried out: no refusal,
    and no deadline that has passed. Run by a moderator, with the market it names."""
    await _prepare(service, line)
    result = await run(service, parse(line), MOD)
    assert isinstance(result, HelpShown) == (name == "help"), (line, result)


async def test_cancel_help_is_true(service: Service) -> None:
    """Who may cancel is what the help says: a moderator, or the creator while holding no
    position; nobody else."""
    for n in range(3):
        await create(service, "al", f"Will cancel example {n + 1} come true?", "in 7 days")
    with pytest.raises(NotAllowed):
        await run(service, c.CancelMarket(1), "bo")
    await run(service, c.CancelMarket(1), "al")  # the creator, with no position
    await bet(service, "al", 2, "yes", 10)
    with pytest.raises(NotAllowed):
        await run(service, c.CancelMarket(2), "al")  # the creator, holding a position
    await run(service, c.CancelMarket(2), MOD)
    await run(service, c.CancelMarket(3), MOD)
