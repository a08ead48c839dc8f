"""One builder per command: from its arguments to the typed command of `bot.core.commands`."""

from __future__ import annotations

from collections.abc import Callable

from bot.core.commands import (
    CancelMarket,
    ClaimDaily,
    CloseMarket,
    Command,
    Configure,
    CreateMarket,
    ExtendMarket,
    ListMarkets,
    ListOverdue,
    PlaceBet,
    ResolveMarket,
    SellShares,
    ShowBalance,
    ShowHelp,
    ShowLeaderboard,
    ShowMarket,
    ShowPortfolio,
    UnresolveMarket,
)
from bot.core.errors import InvalidInput
from bot.core.grammar.tokens import Args
from bot.core.grammar.values import (
    check_list_quoted,
    check_text_quoted,
    check_time_quoted,
    is_dangling,
    optional_text,
    parse_market_id,
    parse_points,
    parse_shares,
    positive_whole,
    require_option,
    whole_number,
)
from bot.core.grammar.vocabulary import (
    CONFIG_KEYS,
    LIST_STATUSES,
    STATUS_ALIASES,
    canonical_command,
    unknown_command,
)
from bot.core.validation import bounded_int, shown

MECHANISMS = ("lmsr", "pool")
# What a trade's amount is for, and an example of one.
AMOUNTS = {"points": ("stake", "50"), "shares": ("sell", "10")}


def _create(args: Args) -> Command:
    question = " ".join(args.positional).strip()
    if not question:
        raise args.usage_error("Missing the question.")
    closes = require_option(args, "closes", '"in 7 days"')
    check_time_quoted(args, "closes", "the deadline", "the question")
    if "outcomes" in args.options:
        check_list_quoted(args, "outcomes", "the question")
    if "criteria" in args.options:
        check_text_quoted(args, "criteria", "the question")
    outcomes: tuple[str, ...] | None = None
    raw_outcomes = args.options.get("outcomes")
    if raw_outcomes is not None:
        outcomes = tuple(item.strip() for item in raw_outcomes.split(",") if item.strip())
        if not outcomes:
            raise InvalidInput(
                'List the outcomes separated by commas, like `outcomes:"Red, Green, Blue"`.'
            )
    mechanism: str | None = None
    raw_mechanism = args.options.get("mechanism")
    if raw_mechanism is not None:
        mechanism = raw_mechanism.strip().lower()
        if mechanism not in MECHANISMS:
            raise InvalidInput(f"`{shown(raw_mechanism)}` is not a mechanism — use lmsr or pool.")
    liquidity: int | None = None
    raw_liquidity = args.options.get("liquidity")
    if raw_liquidity is not None:
        liquidity = positive_whole(
            raw_liquidity, "Liquidity", "use a whole number, like liquidity:100"
        )
    return CreateMarket(
        question=question,
        closes=closes,
        outcomes=outcomes,
        criteria=optional_text(args, "criteria"),
        mechanism=mechanism,
        liquidity=liquidity,
    )


def _page(args: Args) -> int:
    """The `page:N` option of a command that lists a page at a time (1 when absent)."""
    raw = args.options.get("page")
    if raw is None:
        return 1
    number = bounded_int(raw.strip())
    if number is None or number == 0:
        raise InvalidInput(
            f"`{shown(raw)}` is not a page number — pages are numbered from 1, like `page:2`."
        )
    return number


def _list(args: Args) -> Command:
    args.no_more_than(1)
    if not args.positional:
        return ListMarkets(page=_page(args))
    raw = args.positional[0]
    status = raw.lower()
    status = STATUS_ALIASES.get(status, status)
    if status not in LIST_STATUSES:
        raise InvalidInput(
            f"`{shown(raw)}` is not a market status — use open, closed, resolved, cancelled or all."
        )
    return ListMarkets(status=status, page=_page(args))


def _market_only(factory: Callable[[int], Command]) -> Callable[[Args], Command]:
    def build(args: Args) -> Command:
        raw = args.require(0, "the market number")
        args.no_more_than(1)
        return factory(parse_market_id(raw))

    return build


def _id_outcome_amount(args: Args, amount_name: str) -> tuple[int, str, str]:
    """``<id> <outcome words...> <amount>``: words between id and amount form the outcome."""
    market = parse_market_id(args.require(0, "the market number"))
    if len(args.positional) < 2:
        raise args.usage_error(f"Missing the outcome and the {amount_name}.")
    if len(args.positional) < 3:
        given = args.positional[1]
        if not _is_amount(given, amount_name):  # a name: what is missing is the amount
            verb, amount = AMOUNTS[amount_name]
            example = f"{args.command} {args.positional[0]} {shown(given)} {amount}"
            raise args.usage_error(
                f"Missing the {amount_name} — how many to {verb}, like `{example}`."
            )
        raise args.usage_error(f"Missing the outcome or the {amount_name}.")
    outcome = " ".join(args.positional[1:-1]).strip()
    if not outcome:
        raise args.usage_error("Missing the outcome.")
    return market, outcome, args.positional[-1]


def _is_amount(word: str, amount_name: str) -> bool:
    if amount_name == "points":
        return whole_number(word.strip().removeprefix("+")) is not None
    try:
        parse_shares(word)
    except InvalidInput:
        return False
    return True


def _bet(args: Args) -> Command:
    market, outcome, amount = _id_outcome_amount(args, "points")
    return PlaceBet(market=market, outcome=outcome, points=parse_points(amount))


def _sell(args: Args) -> Command:
    market, outcome, amount = _id_outcome_amount(args, "shares")
    return SellShares(market=market, outcome=outcome, micro_shares=parse_shares(amount))


def _extend(args: Args) -> Command:
    first = args.require(0, "the market number")
    # `extend closes:2d 12` names market 12; `extend closes:Dec 31` can't mean market 31.
    after = args.follows.get("closes", ())
    if after and (len(args.positional) > 1 or is_dangling(args.options["closes"])):
        check_time_quoted(args, "closes", "the new deadline", None)
    market = parse_market_id(first)
    args.no_more_than(1)
    return ExtendMarket(market=market, closes=require_option(args, "closes", '"in 7 days"'))


def _resolve(args: Args) -> Command:
    market = parse_market_id(args.require(0, "the market number"))
    if len(args.positional) < 2:
        raise args.usage_error("Missing the outcome (or `na` to cancel).")
    if "known" in args.options:
        check_time_quoted(args, "known", "when the outcome became known", "the outcome")
    outcome = " ".join(args.positional[1:]).strip()
    evidence = optional_text(args, "evidence")
    if evidence is not None and not evidence.lower().startswith(("http://", "https://")):
        raise InvalidInput("Evidence must be a link starting with http:// or https://.")
    return ResolveMarket(
        market=market, outcome=outcome, evidence=evidence, known=optional_text(args, "known")
    )


def _balance(args: Args) -> Command:
    user = " ".join(args.positional).strip()
    return ShowBalance(user=user or None)


def _no_args(factory: Callable[[], Command]) -> Callable[[Args], Command]:
    def build(args: Args) -> Command:
        args.no_more_than(0)
        return factory()

    return build


def _paged(factory: Callable[[int], Command]) -> Callable[[Args], Command]:
    def build(args: Args) -> Command:
        args.no_more_than(0)
        return factory(_page(args))

    return build


def _help(args: Args) -> Command:
    args.no_more_than(1)
    if not args.positional:
        return ShowHelp()
    word = args.positional[0]
    name = canonical_command(word)
    if name is None:
        raise unknown_command(word)
    return ShowHelp(command=name)


def _config(args: Args) -> Command:
    if args.positional:
        raise args.usage_error(
            f"Unexpected `{shown(' '.join(args.positional))}` — settings are written key:value."
        )
    return Configure(changes=tuple((key, value.strip()) for key, value in args.options.items()))


OPTIONS: dict[str, tuple[str, ...]] = {
    "create": ("closes", "outcomes", "criteria", "mechanism", "liquidity"),
    "extend": ("closes",),
    "resolve": ("evidence", "known"),
    "config": CONFIG_KEYS,
    "list": ("page",),
    "portfolio": ("page",),
    "overdue": ("page",),
}

BUILDERS: dict[str, Callable[[Args], Command]] = {
    "create": _create,
    "list": _list,
    "show": _market_only(lambda m: ShowMarket(market=m)),
    "bet": _bet,
    "sell": _sell,
    "close": _market_only(lambda m: CloseMarket(market=m)),
    "extend": _extend,
    "resolve": _resolve,
    "unresolve": _market_only(lambda m: UnresolveMarket(market=m)),
    "cancel": _market_only(lambda m: CancelMarket(market=m)),
    "balance": _balance,
    "portfolio": _paged(lambda n: ShowPortfolio(page=n)),
    "leaderboard": _no_args(ShowLeaderboard),
    "daily": _no_args(ClaimDaily),
    "help": _help,
    "config": _config,
    "overdue": _paged(lambda n: ListOverdue(page=n)),
}
