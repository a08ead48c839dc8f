"""Splitting a line like a shell (quotes, escapes, curly quotes), and separating `key:value`
options from positional words."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.core.errors import InvalidInput
from bot.core.grammar.vocabulary import USAGE
from bot.core.validation import shown

OPTION = re.compile(r"([A-Za-z][A-Za-z0-9_-]*):(.*)", re.DOTALL)
_CURLY = str.maketrans({"“": '"', "”": '"', "„": '"', "«": '"', "»": '"', "‘": "'"})
# A curly apostrophe between letters ("Turkey’s") is an apostrophe, not a quote.
_CURLY_CLOSE = re.compile(r"(?<!\w)’|’(?!\w)")


@dataclass(frozen=True, slots=True)
class Token:
    text: str
    plain: int  # how many leading characters came from unquoted, unescaped input
    quoted: bool  # whether any part of the token was quoted or escaped


def tokenize(text: str, lenient: bool) -> list[Token]:
    """Split like ``shlex.split(posix=True)``, remembering which characters were quoted.

    With ``lenient``, an apostrophe between two letters outside quotes ("don't") is literal.
    """
    tokens: list[Token] = []
    buf: list[str] = []
    plain = 0
    still_plain = True
    quoted = False
    in_token = False
    i, n = 0, len(text)

    def finish() -> None:
        nonlocal buf, plain, still_plain, quoted, in_token
        if in_token:
            tokens.append(Token("".join(buf), plain, quoted))
        buf, plain, still_plain, quoted, in_token = [], 0, True, False, False

    while i < n:
        ch = text[i]
        if ch.isspace():
            finish()
            i += 1
            continue
        in_token = True
        if ch == "\\":
            if i + 1 < n:
                buf.append(text[i + 1])
            still_plain, quoted = False, True
            i += 2
            continue
        if (
            ch == "'"
            and lenient
            and buf
            and buf[-1].isalnum()
            and i + 1 < n
            and text[i + 1].isalnum()
        ):
            buf.append(ch)
            if still_plain:
                plain += 1
            i += 1
            continue
        if ch in "\"'":
            end = i + 1
            part: list[str] = []
            while True:
                if end >= n:
                    raise ValueError("unterminated quote")
                c = text[end]
                if c == ch:
                    break
                if ch == '"' and c == "\\" and end + 1 < n and text[end + 1] in '"\\':
                    part.append(text[end + 1])
                    end += 2
                    continue
                part.append(c)
                end += 1
            buf.extend(part)
            still_plain, quoted = False, True
            i = end + 1
            continue
        buf.append(ch)
        if still_plain:
            plain += 1
        i += 1
    finish()
    return tokens


def split(text: str) -> list[Token]:
    text = _CURLY_CLOSE.sub("'", text.translate(_CURLY))
    try:
        return tokenize(text, lenient=False)
    except ValueError:
        pass
    try:
        return tokenize(text, lenient=True)
    except ValueError:
        raise InvalidInput(
            "A quote is never closed — check that every opening \" or ' has a matching one."
        ) from None


# --- arguments --------------------------------------------------------------------------------


@dataclass(slots=True)
class Args:
    command: str
    positional: list[str]
    options: dict[str, str]
    # Option → the unquoted words right after its unquoted value (`closes:Dec 31` gives
    # closes → ("31",)): they may be the rest of a value that needed quotes.
    follows: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def usage_error(self, problem: str) -> InvalidInput:
        return InvalidInput(f"{problem} Usage: `{USAGE[self.command]}`")

    def no_more_than(self, count: int) -> None:
        if len(self.positional) > count:
            extra = " ".join(self.positional[count:])
            raise self.usage_error(f"Unexpected `{shown(extra)}`.")

    def require(self, index: int, what: str) -> str:
        if len(self.positional) <= index:
            raise self.usage_error(f"Missing {what}.")
        return self.positional[index]


def split_args(command: str, tokens: list[Token], allowed: tuple[str, ...] | None) -> Args:
    """Separate ``key:value`` options from positional words.

    ``allowed`` None means the command takes no options: every word is positional.
    """
    positional: list[str] = []
    options: dict[str, str] = {}
    follows: dict[str, list[str]] = {}
    bare: str | None = None  # the option whose unquoted value the next plain words follow
    i = 0
    while i < len(tokens):
        token = tokens[i]
        i += 1
        match = OPTION.fullmatch(token.text) if allowed is not None else None
        # Only an unquoted "key:" counts: "Update: will it rain?" in quotes is a question.
        if allowed is None or match is None or match.end(1) >= token.plain:
            positional.append(token.text)
            if bare is not None and not token.quoted:
                follows[bare].append(token.text)
            else:
                bare = None
            continue
        key = match.group(1).lower().replace("-", "_")
        value = match.group(2)
        if key not in allowed:
            valid = ", ".join(allowed)
            if command == "config":
                raise InvalidInput(f"Unknown setting `{shown(key)}` — settings are: {valid}.")
            raise InvalidInput(
                f"Unknown option `{shown(key)}` for `{command}` — valid options: {valid}. "
                "(Put text that contains a colon in quotes.)"
            )
        quoted = token.quoted
        if value == "" and not token.quoted:
            # Accept "closes: tomorrow" as well as "closes:tomorrow".
            nxt = tokens[i] if i < len(tokens) else None
            if nxt is None or (OPTION.fullmatch(nxt.text) and nxt.plain > nxt.text.find(":")):
                raise InvalidInput(f"Option `{key}` needs a value, like `{key}:...`.")
            value, quoted = nxt.text, nxt.quoted
            i += 1
        if key in options:
            raise InvalidInput(f"Option `{key}` is given twice — give it once.")
        options[key] = value
        bare = None if quoted else key
        follows[key] = []
    return Args(command, positional, options, {k: tuple(v) for k, v in follows.items() if v})
