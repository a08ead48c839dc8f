"""Help texts for the command grammar. Examples are written without the ``/predict`` prefix.

Every example works when pasted, on any day: deadlines are relative phrases, never dates that
will pass (tests/core/test_help.py runs each one through the grammar and the service)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.errors import InvalidInput
from bot.core.grammar import ALIASES, USAGE, canonical_command

__all__ = ["EXAMPLES", "help_text"]

_S400 = "Will Turkey take delivery of S-400 systems by 2019-12-31?"


@dataclass(frozen=True, slots=True)
class _Entry:
    summary: str  # one line for the overview
    detail: str  # 2-4 sentences: what it does and who may use it
    examples: tuple[str, ...]
    moderator: bool = False


_ENTRIES: dict[str, _Entry] = {
    "create": _Entry(
        "Open a market on a question with a deadline.",
        "Creates a market that people can bet on until `closes:` — an ISO date (the end of that "
        'day in the community\'s timezone), a date and time, or a phrase like "in 3 days". '
        "Outcomes default to Yes and No; give 2–10 comma-separated names with `outcomes:`, the "
        "rules for deciding with `criteria:`, and `mechanism:pool` for a parimutuel pot instead "
        "of the default market maker (lmsr, with liquidity b from `liquidity:`). "
        "Anyone may create markets unless the community limits it to moderators.",
        (
            f'create "{_S400}" closes:"in 30 days"',
            f'create "{_S400}" closes:"in 3 months" criteria:"Deliveries reported by Reuters or '
            'the Turkish government count." liquidity:200',
            'create "Which system reaches Turkey first?" closes:"in 30 days" '
            'outcomes:"S-400, Patriot, Neither" mechanism:pool',
        ),
    ),
    "list": _Entry(
        "List markets (open by default).",
        "Lists the community's markets with the given status: open (the default), closed, "
        "resolved, cancelled, or all. Anyone may use it.",
        ("list", "list resolved", "markets all"),
    ),
    "show": _Entry(
        "Show one market with its current probabilities.",
        "Shows a market's card: question, outcomes with their probabilities, deadline and "
        "status. Use the market number, with or without `#`. Anyone may use it.",
        ("show 12", "show #12"),
    ),
    "bet": _Entry(
        "Stake whole points on an outcome.",
        "Spends the given number of whole points on an outcome, named (any case) or by its "
        "number in the list. In an lmsr market you receive shares that pay 1 point each if "
        "the outcome wins; in a pool market you take a share of the pot. Anyone may bet while "
        "the market is open.",
        ("bet 12 Yes 50", "bet #12 2 100", "buy 12 no 1,000"),
    ),
    "sell": _Entry(
        "Sell shares of an outcome back to the market.",
        "Sells some or `all` of your shares in an outcome back to the market maker at the "
        "current price; shares may have up to 6 decimals. Pool markets do not allow selling. "
        "Anyone holding shares may sell while the market is open.",
        ("sell 12 Yes 10", "sell 12 yes 2.5", "sell #12 Yes all"),
    ),
    "close": _Entry(
        "Stop trading on a market before its deadline.",
        "Closes the market to bets and sales now instead of at its deadline; it then waits to "
        "be resolved. Only the market's creator or a moderator may close it.",
        ("close 12",),
    ),
    "extend": _Entry(
        "Move a market's deadline later.",
        "Sets a new, later deadline for a market, written like the one for `create`. Only the "
        "market's creator or a moderator may extend it.",
        ('extend 12 closes:"in 6 weeks"', 'extend #12 closes:"in 2 weeks"'),
    ),
    "resolve": _Entry(
        "Decide a market's outcome and pay the winners.",
        "Resolves the market to an outcome (name or number) and pays out; `na` cancels it and "
        "refunds everyone. `evidence:` takes a link to the source, and `known:` the time the "
        "result became public — trades placed after it are voided and refunded. A moderator "
        "may resolve, or the creator when the creator holds no position in the market.",
        (
            "resolve 12 Yes evidence:https://www.reuters.com/article/us-russia-turkey-missiles",
            'resolve 12 Yes known:"2 hours ago"',
            "resolve 12 na",
        ),
    ),
    "unresolve": _Entry(
        "Undo a resolution and reverse its payouts.",
        "Reverses a resolved market's payouts and puts it back to closed, ready to be resolved "
        "again. Moderators only.",
        ("unresolve 12",),
        moderator=True,
    ),
    "cancel": _Entry(
        "Cancel a market and refund everyone (N/A).",
        "Cancels the market: everyone gets back what they spent on it, and profit taken by "
        "selling is clawed back. A moderator may cancel it, or the creator when the creator "
        "holds no position in the market.",
        ("cancel 12",),
    ),
    "balance": _Entry(
        "Show your points, or another user's.",
        "Shows your balance in points, or that of the user you mention. Anyone may use it.",
        ("balance", "balance @alice"),
    ),
    "portfolio": _Entry(
        "Show your open positions.",
        "Lists the markets you hold shares or stakes in, with what you paid and what they are "
        "worth at current probabilities. Anyone may use it.",
        ("portfolio",),
    ),
    "leaderboard": _Entry(
        "Show the community's top forecasters.",
        "Ranks the community's members by points. Anyone may use it.",
        ("leaderboard", "top"),
    ),
    "daily": _Entry(
        "Claim today's free points.",
        "Adds the community's daily allowance to your balance, once per day. Anyone may use it.",
        ("daily",),
    ),
    "help": _Entry(
        "Explain the commands, or one command.",
        "Without a command, lists every command; with one, explains it with examples. Anyone "
        "may use it.",
        ("help", "help bet"),
    ),
    "config": _Entry(
        "Show or change community settings.",
        "Without arguments, shows the settings; with `key:value` pairs, changes them. Keys: "
        "starting_balance, daily_allowance and default_liquidity (whole points), "
        "house_liquidity (the liquidity up to which the house funds a market's subsidy; "
        "`default` follows default_liquidity) and moderator_liquidity (the same for "
        "moderators' markets), timezone "
        "(IANA name like Europe/Berlin), moderator_roles and moderators (comma-separated), "
        "announce_channel, create_policy (anyone or moderators), min_duration (like 1m or "
        "1h), date_order (how 05/06/2027 reads: dmy, mdy or ymd). Moderators only.",
        (
            "config",
            "config timezone:Europe/Istanbul daily_allowance:100",
            "config date_order:mdy",
            'config create_policy:moderators min_duration:1h moderator_roles:"Mods, Admins"',
        ),
        moderator=True,
    ),
    "overdue": _Entry(
        "List closed markets still waiting to be resolved.",
        "Lists markets whose deadline has passed but that nobody has resolved yet, oldest "
        "first. Moderators only.",
        ("overdue",),
        moderator=True,
    ),
}

assert set(_ENTRIES) == set(USAGE), "every command needs help"

# Command name → example lines, for tests and adapters that want them.
EXAMPLES: dict[str, tuple[str, ...]] = {name: entry.examples for name, entry in _ENTRIES.items()}


def _aliases_of(name: str) -> list[str]:
    return [alias for alias, target in ALIASES.items() if target == name and alias.isalpha()]


def _overview() -> str:
    lines = ["Prediction-market commands — type `help <command>` for details:"]
    for moderator in (False, True):
        if moderator:
            lines.append("Moderators:")
        for name, entry in _ENTRIES.items():
            if entry.moderator == moderator:
                lines.append(f"  `{name}` — {entry.summary}")
    lines.append(f"Example: `{_ENTRIES['create'].examples[0]}`")
    return "\n".join(lines)


def help_text(command: str | None = None) -> str:
    """The overview of all commands, or the help for one command (name or alias)."""
    if command is None or not command.strip():
        return _overview()
    name = canonical_command(command.strip().removeprefix("/"))
    if name is None:
        shown = command.strip().replace("`", "'")[:40]
        raise InvalidInput(f"Unknown command `{shown}`. Commands: {', '.join(USAGE)}.")
    entry = _ENTRIES[name]
    lines = [f"`{USAGE[name]}`", entry.detail]
    aliases = _aliases_of(name)
    if aliases:
        lines.append("Also: " + ", ".join(f"`{alias}`" for alias in aliases) + ".")
    lines.extend(f"Example: `{example}`" for example in entry.examples)
    return "\n".join(lines)
