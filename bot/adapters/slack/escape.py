"""Make user-provided text safe for Slack mrkdwn: it must never ping anyone."""

from __future__ import annotations

import re

# A word joiner after "@" keeps the text readable while Slack no longer sees a mention.
_JOINER = "\u2060"
# Only what Slack itself turns into markup: mentions, channels, specials, links.
_ANGLE = re.compile(r"<([@#!][^<>]*|(?:https?|mailto):[^<>]*)>")
_BARE = re.compile(r"(?<![\w.])@(everyone|here|channel)\b", re.IGNORECASE)
_SLACK_ENTITIES = (("&lt;", "<"), ("&gt;", ">"), ("&amp;", "&"))
# What a cut must not split in escaped mrkdwn: an entity, or a control sequence (<@U1>, <!date…>).
_UNIT = re.compile(r"&(?:amp|lt|gt);|<[^<>]*>")


def _defuse_token(match: re.Match[str]) -> str:
    inner = match.group(1)
    target, _, label = inner.partition("|")
    if target.startswith("@"):  # <@U123> or <@U123|alice>
        return f"@{label or target[1:]}"
    if target.startswith("!"):  # <!channel>, <!here|here>, <!subteam^S1|@team>, <!date^…|x>
        word = target[1:].split("^", 1)[0]
        if word == "date":
            return label
        return f"@{(label or word).lstrip('@')}"
    if target.startswith("#"):  # <#C123|general>
        return f"#{label or target[1:]}"
    return label or target  # <https://example.com|label>


def escape_mrkdwn(text: str) -> str:
    """Return text that shows as typed in mrkdwn: no mention, broadcast or markup pings."""
    text = _ANGLE.sub(_defuse_token, text)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _BARE.sub(lambda m: f"@{_JOINER}{m.group(1)}", text)


def escape_plain(text: str) -> str:
    """Return text for plain_text fields (which never ping) without broadcast look-alikes."""
    return _BARE.sub(lambda m: f"@{_JOINER}{m.group(1)}", _ANGLE.sub(_defuse_token, text))


def unescape_incoming(text: str) -> str:
    """Undo Slack's HTML escaping of `&`, `<` and `>` in slash-command text."""
    for entity, char in _SLACK_ENTITIES:
        text = text.replace(entity, char)
    return text


def safe_cut(text: str, at: int) -> int:
    """Return the last position at or before `at` that splits no entity or control sequence
    of escaped mrkdwn (cutting inside one would leave a raw `&` or `<`)."""
    for unit in _UNIT.finditer(text):
        if unit.start() >= at:
            break
        if at < unit.end():
            return unit.start()
    return at


def clip_mrkdwn(text: str, limit: int) -> str:
    """Shorten escaped mrkdwn to at most `limit` characters, marking the cut with an ellipsis."""
    if len(text) <= limit:
        return text
    return text[: safe_cut(text, limit - 1)] + "…"
