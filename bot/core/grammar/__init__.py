"""The text command grammar shared by the Slack and console adapters (DESIGN.md §4).

``parse(text)`` turns what follows ``/predict`` into a typed command from ``bot.core.commands``,
or raises ``InvalidInput`` with a short message meant for the user. Values that need the
community's context (deadlines, outcome names, user references) stay raw strings; the services
interpret them.
"""

from __future__ import annotations

from bot.core.commands import Command, ShowHelp
from bot.core.grammar.builders import BUILDERS, OPTIONS
from bot.core.grammar.tokens import split, split_args
from bot.core.grammar.values import MAX_POINTS, parse_market_id, parse_points, parse_shares
from bot.core.grammar.vocabulary import (
    ALIASES,
    COMMANDS,
    CONFIG_KEYS,
    LIST_STATUSES,
    USAGE,
    canonical_command,
    unknown_command,
)

__all__ = [
    "ALIASES",
    "COMMANDS",
    "CONFIG_KEYS",
    "LIST_STATUSES",
    "MAX_POINTS",
    "USAGE",
    "canonical_command",
    "parse",
    "parse_market_id",
    "parse_points",
    "parse_shares",
]


def parse(text: str) -> Command:
    """Parse one command line (without the ``/predict`` prefix) into a typed command."""
    tokens = split(text)
    if not tokens:
        return ShowHelp()
    word = tokens[0].text
    name = canonical_command(word)
    if name is None:
        raise unknown_command(word)
    args = split_args(name, tokens[1:], OPTIONS.get(name))
    return BUILDERS[name](args)
