"""What fuzzed lines are made of: real command words and options, good values, and the
values that broke predictbot before (huge and Unicode numbers, NUL, calendar edges, bad zones).

Both the hypothesis test (`tests/storage/test_fuzz_lines.py`) and the standalone runner
(`python -m tests.fuzz`) draw from these lists, so a value added here is fuzzed by both.
"""

from __future__ import annotations

from bot.core.grammar import ALIASES, COMMANDS, CONFIG_KEYS

MODERATOR = "mod"
USERS = ("al", "bo", "cy", MODERATOR)  # al creates the seed markets; mod moderates
# Ids a platform would never send but the console lets anyone type after `@`.
ODD_USERS = ("u" * 64, "u" * 65, "a\x00b", "a\udcffb", "é" * 64, "<@U1>", "@", "#1")

COMMAND_WORDS = (*COMMANDS, *ALIASES, "BET", "Resolve", "frobnicate", "", "/predict")
OPTION_KEYS = (
    "closes",
    "outcomes",
    "criteria",
    "mechanism",
    "liquidity",
    "evidence",
    "known",
    *CONFIG_KEYS,
    "colour",
    "CLOSES",
    "min-duration",
)

QUESTIONS = (
    "Will it rain in Paris tomorrow?",
    "Will Turkey take delivery of S-400 systems by 2019-12-31?",
    "Which team wins the cup final?",
    "Short?",
    "x" * 300,
    "x" * 301,
    "Ünïcödé question 🌧️ with emoji?",
    "Update: will it rain?",
    "Will <!channel> and @everyone see <@U0BOB|bob> win?",
)
OUTCOME_LISTS = (
    "Yes, No",
    "Red, Green, Blue",
    "A, B, C, D, E, F, G, H, I, J, K",
    "Only",
    "Yes, yes",
    "Yes, 2",
    "Yes, N/A",
    "n" * 51 + ", No",
    ", , ,",
)
OUTCOMES = ("yes", "no", "Yes", "1", "2", "3", "11", "0", "-1", "na", "n/a", "none", "cancel")
MECHANISMS = ("lmsr", "pool", "LMSR", "dutch", "")

NUMBERS = (
    "0",
    "1",
    "2",
    "5",
    "10",
    "50",
    "100",
    "999",
    "1000",
    "-1",
    "+5",
    "-0",
    "1.5",
    ".5",
    "2.",
    "0.0000001",
    "1e3",
    "1,000",
    "1_000",
    "10,00",
    "1,000,000,000,000,000",
    "0x10",
    "NaN",
    "inf",
    "2147483647",
    "2147483648",
    "9223372036854775807",
    "9223372036854775808",
    "18446744073709551616",
    "1" + "0" * 30,
    "9" * 4301,
    "9" * 5000,
    "0" * 5000 + "1",
    "1." + "5" * 5000,
    "²",
    "³",
    "¹⁰",
    "١٢",
    "１２",
    "٣",
    "all",
    "ALL",
)
MARKET_REFS = ("1", "2", "3", "4", "5", "6", "7", "#1", "#2", "##1", "#", "0", "99")

DATES = (
    "2026-03-10",
    "2027-12-31",
    "2028-06-30",
    "2030-01-01 12:00",
    "in 800 days",
    "2026-3-4",
    "2026-02-30",
    "2026-13-01",
    "2020-01-01",
    "9999-12-31",
    "9999-12-30",
    "0001-01-01",
    "9999-12-31T23:00-05:00",
    "9999-12-31T23:59:59Z",
    "0001-01-01T00:00+05:00",
    "2026-03-02T12:00:30Z",
    "2026-12-31 17:00",
    "2026-12-31T17:00+14:00",
    "2026-12-31 5pm",
    "tomorrow",
    "yesterday",
    "now",
    "next friday",
    "tomorrow 17:00",
    "17:00 UTC",
    "March 20",
    "in 3 days",
    "in 0 days",
    "30m",
    "2h",
    "1w",
    "1d12h",
    "99999999w",
    "in " + "9" * 5000 + " days",
    "9" * 5000 + "h",
    "٣d",
    "in ² days",
    "2026-03-10\x00",
)
ZONES = (
    "UTC",
    "Europe/Berlin",
    "europe/berlin",
    "America/New_York",
    "Asia/Kolkata",
    "Pacific/Kiritimati",
    "Etc/GMT+12",
    "America",
    "Factory",
    "posixrules",
    "posix/Europe/Berlin",
    "right/UTC",
    "localtime",
    "Mars/Olympus",
    "../../etc/passwd",
    "A" * 300,
)
SETTING_VALUES = (
    "0",
    "100",
    "none",
    "anyone",
    "moderators",
    "everyone",
    "1h",
    "0s",
    "30d",
    "31d",
    "soon",
    "#predictions",
    "<#C123|general>",
    "c" * 64,
    "c" * 65,
    "<@U1>, <@U2>",
    ", ".join(f"<@U{i}>" for i in range(60)),
    "u" * 65,
    "two words",
)
NASTY = (
    "\x00",
    "\x01",
    "\x07",
    "\x08",
    "\x0b",
    "\x1b",
    "\x7f",
    "\x85",
    "\u2028",
    "\ufeff",
    "\u200b",
    "\u202e",
    "\udcff",
    "\ud800",
    "\ufffd",
    "𝟙",
    "`",
    "``",
    "\\",
    '"',
    "'",
    "“",
    "”",
    "’",
    ":",
    "::",
    "key:",
    ":value",
    "@",
    "@everyone",
    "<!channel>",
    "<@",
    "#",
    "x" * 5000,
)
TEXT = (*QUESTIONS, *OUTCOMES, *NASTY, "https://example.com/news", "ftp://x.org", "see the news")

# Console lines that give a community markets in every state (run as the user named first),
# numbered from `first` on: m1 open (bo holds Yes), m2 pool, m3 three outcomes and small
# liquidity, m4 closed, m5 resolved, m6 cancelled, m7 open, its creator (al) holding a position.
SEED = (
    (MODERATOR, "config create_policy:anyone min_duration:60 timezone:UTC announce_channel:none"),
    (MODERATOR, "config starting_balance:1000 daily_allowance:50 moderators:none"),
    ("al", 'create "Will it rain in Paris tomorrow?" closes:2027-12-31'),
    ("al", 'create "Will the pool market pay out?" closes:2027-12-31 mechanism:pool'),
    (
        "al",
        'create "Which team wins the cup final?" closes:2027-12-31 '
        'outcomes:"Reds, Blues, Draw" liquidity:10 criteria:"The official result."',
    ),
    ("al", 'create "Will this market close early?" closes:2027-12-31'),
    ("al", 'create "Will this market resolve?" closes:2027-12-31'),
    ("al", 'create "Will this market be cancelled?" closes:2027-12-31'),
    ("al", 'create "Will its creator trade in it?" closes:2027-12-31'),
    ("bo", "bet {m1} yes 10"),
    ("bo", "bet {m2} no 5"),
    ("bo", "bet {m3} blues 5"),
    ("cy", "bet {m3} draw 20"),
    ("bo", "bet {m4} yes 5"),
    ("bo", "bet {m5} yes 5"),
    ("cy", "bet {m6} no 5"),
    ("al", "bet {m7} no 5"),
    ("al", "close {m4}"),
    (MODERATOR, "resolve {m5} no"),
    (MODERATOR, "cancel {m6}"),
)
SEED_MARKETS = 7


def seed_lines(first: int) -> list[tuple[str, str]]:
    """The seed lines for markets numbered from `first` on."""
    numbers = {f"m{i}": first + i - 1 for i in range(1, SEED_MARKETS + 1)}
    return [(user, line.format(**numbers)) for user, line in SEED]
