from __future__ import annotations

import shlex

import pytest

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
from bot.core.grammar import (
    ALIASES,
    COMMANDS,
    CONFIG_KEYS,
    USAGE,
    canonical_command,
    parse,
    parse_market_id,
    parse_points,
    parse_shares,
)
from bot.core.grammar.tokens import split

S400 = "Will Turkey take delivery of S-400 systems by 2019-12-31?"


def refused(text: str) -> str:
    with pytest.raises(InvalidInput) as info:
        parse(text)
    message = info.value.message
    assert message and len(message) < 400
    return message


# --- create ------------------------------------------------------------------------------------


def test_create_minimal() -> None:
    assert parse(f'create "{S400}" closes:2019-12-31') == CreateMarket(
        question=S400, closes="2019-12-31"
    )


def test_create_all_options_any_order_any_case() -> None:
    text = (
        'CREATE liquidity:250 Mechanism:POOL criteria:"Reuters reports delivery." '
        f'outcomes:"S-400, Patriot , ,Neither," "{S400}" CLOSES:"in 3 days"'
    )
    assert parse(text) == CreateMarket(
        question=S400,
        closes="in 3 days",
        outcomes=("S-400", "Patriot", "Neither"),
        criteria="Reuters reports delivery.",
        mechanism="pool",
        liquidity=250,
    )


def test_create_unquoted_question_is_joined() -> None:
    assert parse("create Will it rain   tomorrow? closes:3d") == CreateMarket(
        question="Will it rain tomorrow?", closes="3d"
    )


def test_create_key_space_value() -> None:
    assert parse('create "Q?" closes: "in 3 days" mechanism: lmsr') == CreateMarket(
        question="Q?", closes="in 3 days", mechanism="lmsr"
    )


def test_create_quoted_question_with_colon_is_not_an_option() -> None:
    assert parse('create "Update: will it rain?" closes:3d').question == "Update: will it rain?"
    assert parse("create 'closes:soon is the title' closes:3d").question == (
        "closes:soon is the title"
    )


def test_create_curly_quotes_and_apostrophes() -> None:
    cmd = parse("create “Will Turkey’s S-400 arrive?” closes:‘in 3 days’ outcomes:“Yes, No”")
    assert cmd == CreateMarket(
        question="Will Turkey’s S-400 arrive?", closes="in 3 days", outcomes=("Yes", "No")
    )


def test_create_lenient_apostrophe_outside_quotes() -> None:
    assert parse("create Won't it rain? closes:3d").question == "Won't it rain?"


def test_create_liquidity_with_thousands() -> None:
    assert parse('create "Q?" closes:3d liquidity:1,000').liquidity == 1000  # type: ignore[union-attr]


def test_create_criteria_with_newlines_and_escapes() -> None:
    cmd = parse('create "Q \\"quoted\\"?" closes:3d criteria:"line one\nline two"')
    assert cmd == CreateMarket(question='Q "quoted"?', closes="3d", criteria="line one\nline two")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("create", "Missing the question. Usage: `create "),
        ("create closes:3d", "Missing the question."),
        ('create "Q?"', 'Missing `closes:` — add it, like `closes:"in 7 days"`. Usage: `create'),
        ('create "Q?" closes:""', "Missing `closes:`"),
        ('create "Q?" closes:', "Option `closes` needs a value, like `closes:...`."),
        ('create "Q?" closes: mechanism:pool', "Option `closes` needs a value"),
        ('create "Q?" closes:3d closes:4d', "Option `closes` is given twice — give it once."),
        ('create "Q?" closes:3d Closes:4d', "Option `closes` is given twice"),
        (
            'create "Q?" closes:3d color:red',
            "Unknown option `color` for `create` — valid options: closes, outcomes, criteria, "
            "mechanism, liquidity. (Put text that contains a colon in quotes.)",
        ),
        ("create Update: rain? closes:3d", "Unknown option `update` for `create`"),
        (
            'create "Q?" closes:3d outcomes:" , ,"',
            'List the outcomes separated by commas, like `outcomes:"Red, Green, Blue"`.',
        ),
        ('create "Q?" closes:3d mechanism:cda', "`cda` is not a mechanism — use lmsr or pool."),
        ('create "Q?" closes:3d liquidity:0', "Liquidity must be more than 0."),
        ('create "Q?" closes:3d liquidity:-5', "Liquidity must be more than 0."),
        ('create "Q?" closes:3d liquidity:2.5', "`2.5` is not a whole number — use a whole"),
        ('create "Q?" closes:3d liquidity:lots', "`lots` is not a number — use a whole number"),
        ('create "Q?" closes:3d liquidity:10000000000000', "`10000000000000` is too large"),
        ('create "Q?" closes:3d criteria:""', "Option `criteria` needs a value"),
        ('create "Will it rain? closes:3d', "A quote is never closed"),
        ("create 'Will it rain? closes:3d", "A quote is never closed"),
    ],
)
def test_create_refusals(text: str, expected: str) -> None:
    assert expected in refused(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "create Will it rain tomorrow? closes:Dec 31",
            'Is `Dec 31` the deadline? A time of several words goes in quotes: `closes:"Dec 31"`.'
            " If `31` belongs to the question, put the question in quotes instead.",
        ),
        ("create Will it rain? closes:next friday", '`closes:"next friday"`'),
        ("create Will it rain? closes: next friday", '`closes:"next friday"`'),
        ("create Will it rain? closes:in 3 days", '`closes:"in 3 days"`'),
        ("create Will it rain? closes:tomorrow 17:00", '`closes:"tomorrow 17:00"`'),
        ("create Will it rain? closes:tomorrow at 5pm", '`closes:"tomorrow at 5pm"`'),
        ("create Will it rain? closes:2026-12-31 17:00", '`closes:"2026-12-31 17:00"`'),
        ("create Will it rain? closes:Dec 31, 2027", '`closes:"Dec 31, 2027"`'),
        ("create closes:next friday Will it rain?", '`closes:"next friday"`'),
        ("create closes:next friday 17:00 Will it rain?", '`closes:"next friday 17:00"`'),
        ('create "Will it rain?" closes:March 20', '`closes:"March 20"`'),
        (
            "extend 3 closes:next friday",
            "Is `next friday` the new deadline? A time of several words goes in quotes: "
            '`closes:"next friday"`.',
        ),
        ("extend closes:Dec 31", '`closes:"Dec 31"`'),
        ("extend closes:next friday", '`closes:"next friday"`'),
        ("resolve 3 yes known:2026-03-01 09:00", '`known:"2026-03-01 09:00"`'),
        (
            'create "Will it rain?" closes:3d outcomes:Yes, No, Maybe',
            'A list with spaces goes in quotes: `outcomes:"Yes, No, Maybe"`.'
            " If `No, Maybe` belongs to the question, put the question in quotes instead.",
        ),
        ("create Will it rain? closes:3d outcomes:Yes, No", '`outcomes:"Yes, No"`'),
        (
            "create Will it rain? closes:3d outcomes:New York, Boston",
            '`outcomes:"New York, Boston"`',
        ),
        ("create Will it rain? closes:3d outcomes:Red,Green, Blue", '`outcomes:"Red,Green, Blue"`'),
        ("create Will it rain? closes:3d criteria:Met Office says so", '`criteria:"Met Office'),
        # Is "Will it rain?" part of the criteria? Only quotes can say.
        ("create closes:3d criteria:Reuters Will it rain?", "Text of several words goes in quotes"),
        ('create Will it rain? closes:Dec 31 "quoted"', '`closes:"Dec 31"`'),
    ],
)
def test_unquoted_values_of_several_words_are_refused_with_the_quotes_they_need(
    text: str, expected: str
) -> None:
    assert expected in refused(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('create Will it rain? closes:"Dec 31"', CreateMarket("Will it rain?", "Dec 31")),
        ("create Will it rain? closes:'next friday'", CreateMarket("Will it rain?", "next friday")),
        ("create closes:tomorrow Will it rain?", CreateMarket("Will it rain?", "tomorrow")),
        ('create closes:3d "31 people will come?"', CreateMarket("31 people will come?", "3d")),
        ("create Will it rain tomorrow? closes:3d", CreateMarket("Will it rain tomorrow?", "3d")),
        (
            "create Will it rain? outcomes:Yes,No closes:3d",
            CreateMarket("Will it rain?", "3d", outcomes=("Yes", "No")),
        ),
        (
            'create outcomes:"Yes, No, Maybe" Will it rain? closes:3d',
            CreateMarket("Will it rain?", "3d", outcomes=("Yes", "No", "Maybe")),
        ),
        ("extend 3 closes:'next friday'", ExtendMarket(3, "next friday")),
        ("extend closes:2d 12", ExtendMarket(12, "2d")),
        ("resolve 3 New York known:yesterday", ResolveMarket(3, "New York", known="yesterday")),
    ],
)
def test_values_that_end_where_they_should_still_parse(text: str, expected: Command) -> None:
    assert parse(text) == expected


# --- list / show / id ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("list", "open"),
        ("list open", "open"),
        ("list CLOSED", "closed"),
        ("list resolved", "resolved"),
        ("list cancelled", "cancelled"),
        ("list canceled", "cancelled"),
        ("list all", "all"),
        ("markets all", "all"),
    ],
)
def test_list(text: str, status: str) -> None:
    assert parse(text) == ListMarkets(status=status)


def test_list_refusals() -> None:
    assert refused("list pending") == (
        "`pending` is not a market status — use open, closed, resolved, cancelled or all."
    )
    assert refused("list open closed") == (
        "Unexpected `closed`. Usage: `list [open|closed|resolved|cancelled|all] [page:<n>]`"
    )


@pytest.mark.parametrize(("raw", "number"), [("12", 12), ("#12", 12), ("#1", 1), ("007", 7)])
def test_market_id(raw: str, number: int) -> None:
    assert parse_market_id(raw) == number
    assert parse(f"show {raw}") == ShowMarket(market=number)


@pytest.mark.parametrize("raw", ["abc", "0", "#0", "-3", "1.5", "##12", "#", "12a", "١٢", "9" * 30])
def test_bad_market_id(raw: str) -> None:
    message = refused(f"show {raw}")
    assert message.endswith(
        "is not a market number — use the number shown on the market, like 12 or #12."
    )


def test_bad_market_id_exact_message() -> None:
    assert refused("show abc") == (
        "`abc` is not a market number — use the number shown on the market, like 12 or #12."
    )


def test_show_refusals() -> None:
    assert refused("show") == "Missing the market number. Usage: `show <id>`"
    assert refused("show 3 4 5") == "Unexpected `4 5`. Usage: `show <id>`"


# --- bet -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("bet 12 Yes 50", PlaceBet(12, "Yes", 50)),
        ("BET #12 yes 50", PlaceBet(12, "yes", 50)),
        ("buy 12 2 100", PlaceBet(12, "2", 100)),
        ("bet 12 no 1,000", PlaceBet(12, "no", 1000)),
        ("bet 12 no 1,000,000", PlaceBet(12, "no", 1_000_000)),
        ("bet 12 no 1_000", PlaceBet(12, "no", 1000)),
        ("bet 12 no +5", PlaceBet(12, "no", 5)),
        ('bet 3 "New York" 50', PlaceBet(3, "New York", 50)),
        ("bet 3 New York 50", PlaceBet(3, "New York", 50)),
        ("bet 3 “New York City” 50", PlaceBet(3, "New York City", 50)),
        ("bet 3 key:value 5", PlaceBet(3, "key:value", 5)),
        ("  bet 3 Yes 5  ", PlaceBet(3, "Yes", 5)),
        (f"bet 3 Yes {10**12}", PlaceBet(3, "Yes", 10**12)),
    ],
)
def test_bet(text: str, expected: Command) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("bet", "Missing the market number. Usage: `bet <id> <outcome> <points>`"),
        ("bet 3", "Missing the outcome and the points. Usage: `bet <id> <outcome> <points>`"),
        ("bet 3 50", "Missing the outcome or the points. Usage: `bet <id> <outcome> <points>`"),
        (
            "bet 1 yes",
            "Missing the points — how many to stake, like `bet 1 yes 50`. "
            "Usage: `bet <id> <outcome> <points>`",
        ),
        ('bet 3 "" 50', "Missing the outcome. Usage: `bet <id> <outcome> <points>`"),
        ("bet x Yes 50", "`x` is not a market number"),
        ("bet 3 Yes 2.5", "`2.5` is not a whole number — bet whole points, like 50."),
        ("bet 3 Yes 1,000.5", "`1,000.5` is not a whole number — bet whole points, like 50."),
        ("bet 3 Yes -5", "Points must be more than 0."),
        ("bet 3 Yes 0", "Points must be more than 0."),
        ("bet 3 Yes 0,000", "Points must be more than 0."),
        ("bet 3 Yes abc", "`abc` is not a number — bet whole points, like 50."),
        ("bet 3 Yes 1,00", "`1,00` is not a number — bet whole points, like 50."),
        ("bet 3 Yes 1e5", "`1e5` is not a number"),
        ("bet 3 Yes ５", "`５` is not a number"),
        (
            "bet 3 Yes 1000000000001",
            "`1000000000001` is too large — points can be at most 1,000,000,000,000.",
        ),
    ],
)
def test_bet_refusals(text: str, expected: str) -> None:
    message = refused(text)
    assert message == expected or (message.startswith(expected) and not expected.endswith("."))


def test_parse_points_directly() -> None:
    assert parse_points(" 42 ") == 42
    with pytest.raises(InvalidInput):
        parse_points("")


# --- sell ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "micro"),
    [
        ("sell 12 Yes 10", 10_000_000),
        ("sell 12 Yes 2.5", 2_500_000),
        ("sell 12 Yes 0.000001", 1),
        ("sell 12 Yes .5", 500_000),
        ("sell 12 Yes 5.", 5_000_000),
        ("sell 12 Yes 148.988012", 148_988_012),
        ("sell 12 Yes 1,000.25", 1_000_250_000),
        ("sell 12 Yes all", None),
        ("sell 12 Yes ALL", None),
        ("sell 12 Yes All", None),
    ],
)
def test_sell(text: str, micro: int | None) -> None:
    assert parse(text) == SellShares(market=12, outcome="Yes", micro_shares=micro)


def test_sell_multiword_outcome() -> None:
    assert parse("sell #3 New York 1.5") == SellShares(3, "New York", 1_500_000)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sell", "Missing the market number. Usage: `sell <id> <outcome> <shares|all>`"),
        ("sell 3", "Missing the outcome and the shares. Usage: `sell <id> <outcome> <shares|all>`"),
        (
            "sell 3 all",
            "Missing the outcome or the shares. Usage: `sell <id> <outcome> <shares|all>`",
        ),
        (
            "sell 3 Yes",
            "Missing the shares — how many to sell, like `sell 3 Yes 10`. "
            "Usage: `sell <id> <outcome> <shares|all>`",
        ),
        ("sell 3 Yes 1.1234567", "Shares can have at most 6 decimal places."),
        ("sell 3 Yes 0", "The number of shares must be more than 0."),
        ("sell 3 Yes 0.0000000", "Shares can have at most 6 decimal places."),
        ("sell 3 Yes 0.000000", "The number of shares must be more than 0."),
        ("sell 3 Yes -2", "The number of shares must be more than 0."),
        ("sell 3 Yes .", "The number of shares must be more than 0."),
        (
            "sell 3 Yes lots",
            "`lots` is not a number of shares — use a number like 10 or 2.5, or `all`.",
        ),
        ("sell 3 Yes 1.2.3", "`1.2.3` is not a number of shares"),
        ("sell 3 Yes NaN", "`NaN` is not a number of shares"),
        ("sell 3 Yes inf", "`inf` is not a number of shares"),
        ("sell 3 Yes 1e3", "`1e3` is not a number of shares"),
        ("sell 3 Yes 1,00.5", "`1,00.5` is not a number of shares"),
        ("sell 3 Yes 10000000000000", "`10000000000000` shares is far too many."),
    ],
)
def test_sell_refusals(text: str, expected: str) -> None:
    message = refused(text)
    assert message == expected or (message.startswith(expected) and not expected.endswith("."))


def test_parse_shares_is_exact() -> None:
    # Decimal arithmetic: no float rounding anywhere.
    assert parse_shares("0.1") == 100_000
    assert parse_shares("0.3") == 300_000
    assert parse_shares("999999.999999") == 999_999_999_999


# --- market actions ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("close 12", CloseMarket(12)),
        ("cancel #12", CancelMarket(12)),
        ("unresolve 12", UnresolveMarket(12)),
        ("extend 12 closes:2020-06-30", ExtendMarket(12, "2020-06-30")),
        ('extend #12 closes:"in 2 weeks"', ExtendMarket(12, "in 2 weeks")),
        ("extend closes:2d 12", ExtendMarket(12, "2d")),
    ],
)
def test_market_actions(text: str, expected: Command) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("close", "Missing the market number. Usage: `close <id>`"),
        ("close 1 2", "Unexpected `2`. Usage: `close <id>`"),
        ("cancel", "Missing the market number. Usage: `cancel <id>`"),
        ("cancel 1 now", "Unexpected `now`. Usage: `cancel <id>`"),
        ("unresolve", "Missing the market number. Usage: `unresolve <id>`"),
        ("unresolve x", "`x` is not a market number"),
        (
            "extend 12",
            'Missing `closes:` — add it, like `closes:"in 7 days"`. '
            "Usage: `extend <id> closes:<when>`",
        ),
        ("extend 12 tomorrow", "Unexpected `tomorrow`. Usage: `extend <id> closes:<when>`"),
        (
            "extend 12 closes:1d evidence:http://x",
            "Unknown option `evidence` for `extend` — valid options: closes.",
        ),
        ("close 12 closes:3d", "Unexpected `closes:3d`. Usage: `close <id>`"),
    ],
)
def test_market_action_refusals(text: str, expected: str) -> None:
    assert refused(text).startswith(expected)


# --- resolve -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("resolve 12 Yes", ResolveMarket(12, "Yes")),
        ("resolve 12 na", ResolveMarket(12, "na")),
        ("resolve 12 N/A", ResolveMarket(12, "N/A")),
        ("resolve 12 2", ResolveMarket(12, "2")),
        ("resolve 12 New York", ResolveMarket(12, "New York")),
        (
            'resolve #12 Yes evidence:https://example.com/a?b=c known:"2019-07-12 09:00"',
            ResolveMarket(12, "Yes", "https://example.com/a?b=c", "2019-07-12 09:00"),
        ),
        (
            "resolve 12 known:2019-07-12 Yes EVIDENCE:HTTP://example.com",
            ResolveMarket(12, "Yes", "HTTP://example.com", "2019-07-12"),
        ),
        ('resolve 12 "Option: A"', ResolveMarket(12, "Option: A")),
    ],
)
def test_resolve(text: str, expected: Command) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("resolve", "Missing the market number. Usage: `resolve <id>"),
        ("resolve 12", "Missing the outcome (or `na` to cancel). Usage: `resolve <id>"),
        (
            "resolve 12 Yes evidence:example.com",
            "Evidence must be a link starting with http:// or https://.",
        ),
        (
            "resolve 12 Yes evidence:ftp://example.com",
            "Evidence must be a link starting with http:// or https://.",
        ),
        ('resolve 12 Yes known:""', "Option `known` needs a value"),
        (
            "resolve 12 Yes source:https://x.com",
            "Unknown option `source` for `resolve` — valid options: evidence, known.",
        ),
        ("resolve 12 Yes https://x.com", "Unknown option `https` for `resolve`"),
    ],
)
def test_resolve_refusals(text: str, expected: str) -> None:
    assert refused(text).startswith(expected)


# --- personal & misc -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("balance", ShowBalance()),
        ("bal", ShowBalance()),
        ("balance @alice", ShowBalance("@alice")),
        ("balance <@123456>", ShowBalance("<@123456>")),
        ("balance <@U123|bob>", ShowBalance("<@U123|bob>")),
        ("balance @Mary Ann", ShowBalance("@Mary Ann")),
        ("portfolio", ShowPortfolio()),
        ("positions", ShowPortfolio()),
        ("leaderboard", ShowLeaderboard()),
        ("lb", ShowLeaderboard()),
        ("TOP", ShowLeaderboard()),
        ("daily", ClaimDaily()),
        ("overdue", ListOverdue()),
        ("help", ShowHelp()),
        ("?", ShowHelp()),
        ("help bet", ShowHelp("bet")),
        ("help BUY", ShowHelp("bet")),
        ("help lb", ShowHelp("leaderboard")),
        ("", ShowHelp()),
        ("   \n\t ", ShowHelp()),
        ("config", Configure()),
    ],
)
def test_simple_commands(text: str, expected: Command) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("portfolio mine", "Unexpected `mine`. Usage: `portfolio [page:<n>]`"),
        ("leaderboard 10", "Unexpected `10`. Usage: `leaderboard`"),
        ("daily please", "Unexpected `please`. Usage: `daily`"),
        ("overdue 3", "Unexpected `3`. Usage: `overdue [page:<n>]`"),
        ("help bet sell", "Unexpected `sell`. Usage: `help [command]`"),
        ("help frobnicate", "Unknown command `frobnicate`. Try `help`."),
        ("help bett", "Unknown command `bett`. Did you mean `bet`? Try `help`."),
    ],
)
def test_simple_refusals(text: str, expected: str) -> None:
    assert refused(text) == expected


def test_config_changes_in_order() -> None:
    cmd = parse(
        'config Timezone:Europe/Istanbul daily_allowance:100 moderator_roles:"Mods, Admins" '
        "create-policy: moderators announce_channel:''"
    )
    assert cmd == Configure(
        changes=(
            ("timezone", "Europe/Istanbul"),
            ("daily_allowance", "100"),
            ("moderator_roles", "Mods, Admins"),
            ("create_policy", "moderators"),
            ("announce_channel", ""),
        )
    )


def test_config_accepts_every_documented_key() -> None:
    for key in CONFIG_KEYS:
        assert parse(f"config {key}:1") == Configure(changes=((key, "1"),))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "config colour:blue",
            "Unknown setting `colour` — settings are: starting_balance, daily_allowance, "
            "default_liquidity, house_liquidity, moderator_liquidity, timezone, "
            "moderator_roles, moderators, announce_channel, create_policy, min_duration, "
            "date_order.",
        ),
        (
            "config timezone Europe/Berlin",
            "Unexpected `timezone Europe/Berlin` — settings are written key:value. "
            "Usage: `config [key:value ...]`",
        ),
        ("config timezone:", "Option `timezone` needs a value, like `timezone:...`."),
        ("config timezone:UTC timezone:CET", "Option `timezone` is given twice — give it once."),
    ],
)
def test_config_refusals(text: str, expected: str) -> None:
    assert refused(text) == expected


# --- command words -------------------------------------------------------------------------------


def test_unknown_command() -> None:
    assert refused("foo") == "Unknown command `foo`. Try `help`."
    assert refused("bett 3 yes 5") == "Unknown command `bett`. Did you mean `bet`? Try `help`."
    assert refused("leaderbord") == (
        "Unknown command `leaderbord`. Did you mean `leaderboard`? Try `help`."
    )
    assert refused("portfollio") == (
        "Unknown command `portfollio`. Did you mean `portfolio`? Try `help`."
    )
    # An alias's suggestion names the real command.
    assert "Did you mean `bet`?" in refused("buyy 3 yes 5")


def test_unknown_command_echo_is_safe() -> None:
    message = refused("`@everyone` hi")
    assert "``" not in message
    long = refused("x" * 500)
    assert len(long) < 100


def test_unterminated_quote_message() -> None:
    assert refused('bet 3 "Yes 5') == (
        "A quote is never closed — check that every opening \" or ' has a matching one."
    )


def test_aliases_and_canonical_names() -> None:
    assert set(COMMANDS) == set(USAGE)
    for alias, target in ALIASES.items():
        assert target in USAGE
        assert canonical_command(alias.upper()) == target
    assert canonical_command("nope") is None
    assert {"buy", "markets", "lb", "top", "bal", "positions"} <= set(ALIASES)


def test_usage_lines_start_with_their_command() -> None:
    for name, line in USAGE.items():
        assert line.split()[0] == name


@pytest.mark.parametrize(
    "text",
    [
        'a "b c" d',
        "a 'b \"c\" d' e",
        'a "b \\" c" d\\ e',
        "a b\\'c",
        'key:"value with space" other',
        'x"y z"w',
        "  lots   of   space  ",
        'tab\tseparated\n"and newline"',
        '"" empty',
    ],
)
def test_tokenizer_matches_shlex(text: str) -> None:
    assert [t.text for t in split(text)] == shlex.split(text, posix=True)


# --- numbers the fuzzer found ----------------------------------------------------------------

HUGE = "9" * 5000  # more digits than Python converts to an int (4,300)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"bet 1 yes {HUGE}", "is too large"),
        ("bet 1 yes 1," + ",".join(["000"] * 2000), "is too large"),
        (f"bet 1 yes 1_{'_'.join(['000'] * 2000)}", "is too large"),
        (f"sell 1 yes {HUGE}", "far too many"),
        (f"sell 1 yes {HUGE}.5", "far too many"),
        (f"show {HUGE}", "is not a market number"),
        (f"close #{HUGE}", "is not a market number"),
        (f'create "{S400}" closes:2026-12-31 liquidity:{HUGE}', "is too large"),
    ],
)
def test_numbers_longer_than_python_converts_are_refused(text: str, expected: str) -> None:
    message = refused(text)
    assert expected in message
    assert HUGE not in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("bet 1 yes ²", "is not a number"),
        ("bet 1 yes ١٠", "is not a number"),
        ("sell 1 yes ³", "is not a number of shares"),
        ("sell 1 yes 1.٣", "is not a number of shares"),
        ("show ²", "is not a market number"),
    ],
)
def test_unicode_digits_are_not_numbers(text: str, expected: str) -> None:
    assert expected in refused(text)


def test_market_numbers_stop_where_storage_does() -> None:
    assert parse("show 2147483647") == ShowMarket(market=2**31 - 1)
    assert "`2147483648` is not a market number" in refused("show 2147483648")


def test_control_characters_are_not_echoed() -> None:
    message = refused("frob\x00nicate")
    assert "\x00" not in message and "frob�nicate" in message
    assert "\udcff" not in refused("show \udcff")
