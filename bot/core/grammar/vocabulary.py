"""The grammar's words: commands with their usage lines, aliases, list statuses, config keys."""

from __future__ import annotations

import difflib

from bot.core.errors import InvalidInput
from bot.core.validation import shown

# Command name → usage line. Order is the order help lists them in.
USAGE: dict[str, str] = {
    "create": (
        'create "<question>" closes:<when> [outcomes:"A, B, C"] [criteria:"..."] '
        "[mechanism:lmsr|pool] [liquidity:<b>]"
    ),
    "list": "list [open|closed|resolved|cancelled|all] [page:<n>]",
    "show": "show <id>",
    "bet": "bet <id> <outcome> <points>",
    "sell": "sell <id> <outcome> <shares|all>",
    "close": "close <id>",
    "extend": "extend <id> closes:<when>",
    "resolve": "resolve <id> <outcome|na> [evidence:<url>] [known:<when>]",
    "unresolve": "unresolve <id>",
    "cancel": "cancel <id>",
    "balance": "balance [@user]",
    "portfolio": "portfolio [page:<n>]",
    "leaderboard": "leaderboard",
    "daily": "daily",
    "help": "help [command]",
    "config": "config [key:value ...]",
    "overdue": "overdue [page:<n>]",
}
COMMANDS: tuple[str, ...] = tuple(USAGE)

ALIASES: dict[str, str] = {
    "buy": "bet",
    "markets": "list",
    "lb": "leaderboard",
    "top": "leaderboard",
    "bal": "balance",
    "positions": "portfolio",
    "?": "help",
}

LIST_STATUSES: tuple[str, ...] = ("open", "closed", "resolved", "cancelled", "all")
STATUS_ALIASES = {"canceled": "cancelled"}

# Settings a moderator may change with ``config key:value``.
CONFIG_KEYS: tuple[str, ...] = (
    "starting_balance",
    "daily_allowance",
    "default_liquidity",
    "house_liquidity",
    "moderator_liquidity",
    "timezone",
    "moderator_roles",
    "moderators",
    "announce_channel",
    "create_policy",
    "min_duration",
    "date_order",
)


def canonical_command(word: str) -> str | None:
    """The command a word (name or alias, any case) stands for, or None."""
    lowered = word.strip().lower()
    if lowered in USAGE:
        return lowered
    return ALIASES.get(lowered)


def unknown_command(word: str) -> InvalidInput:
    candidates = [*USAGE, *ALIASES]
    close = difflib.get_close_matches(word.lower(), candidates, n=1, cutoff=0.6)
    hint = f" Did you mean `{canonical_command(close[0])}`?" if close else ""
    return InvalidInput(f"Unknown command `{shown(word)}`.{hint} Try `help`.")
