"""What the real Discord and Slack accept, checked on every payload the stand-ins receive.

The platforms' own published descriptions live beside the project in ``../shared/specs``
(Discord's OpenAPI 3.1 description of its HTTP API, a JSON Schema of Slack's Block Kit; see
SOURCES.md there). This module validates request bodies against them, adds the documented
limits neither file expresses, and reports each problem as a :class:`Violation` naming the
field (a JSON path) and the rule. The stand-ins record violations and answer the way the real
platform would (a 50035 Invalid Form Body, ``invalid_blocks``, ``msg_too_long``…); the test
fixtures then fail the test that sent the payload.

Validators are built once per process: the schemas are big. Without ``../shared/specs``
nothing is validated (the test session header says so); ``PREDICTBOT_REQUIRE_SPECS=1`` turns
that into an error, as CI does.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, ValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

log = logging.getLogger("specs")

ROOT = Path(__file__).resolve().parents[2]
SPECS_DIR = ROOT.parent / "shared" / "specs"
DISCORD_SPEC = "discord-openapi.json"
SLACK_SPEC = "slack-block-kit.schema.json"
REQUIRE_SPECS = os.environ.get("PREDICTBOT_REQUIRE_SPECS") == "1"
# The benchmarks switch validation off (PREDICTBOT_VALIDATE_SPECS=0): they time the bot, and
# the stand-ins share its event loop.
VALIDATE = os.environ.get("PREDICTBOT_VALIDATE_SPECS", "1") != "0"

# Documented limits that the schemas do not express.
DISCORD_CONTENT_MAX = 2000
DISCORD_EMBEDS_TOTAL_MAX = 6000
DISCORD_MENTIONED_USERS_MAX = 100
SLACK_MESSAGE_BLOCKS_MAX = 50
SLACK_VIEW_BLOCKS_MAX = 100
SLACK_VIEW_LABEL_MAX = 24
SLACK_PRIVATE_METADATA_MAX = 3000
SLACK_TEXT_MAX = 40_000
SLACK_MESSAGE_TOTAL_TEXT_MAX = 12_000

JSON = dict[str, Any]


@dataclass(frozen=True)
class Violation:
    """One thing the real platform would refuse: where it was sent, which field, which rule."""

    where: str  # "POST /channels/{channel_id}/messages", "chat.postMessage", "response_url"
    field: str  # a JSON path into the body, e.g. "$.embeds[0].title"
    rule: str  # e.g. "maxLength 256: 'Will it…' is too long"

    def __str__(self) -> str:
        return f"{self.where}: {self.field}: {self.rule}"

    @property
    def pointer(self) -> str:
        """The field as a JSON pointer (what Slack names in its error messages)."""
        return _pointer(_path_parts(self.field))


# Every violation a stand-in records until a test reports it (see tests/conftest.py: whatever
# a test's own fixtures did not report fails it at teardown).
_PENDING: list[Violation] = []


def record(into: list[Violation], found: Iterable[Violation]) -> list[Violation]:
    """Add violations to a stand-in's list and to the ones no test has reported yet."""
    found = list(found)
    into.extend(found)
    _PENDING.extend(found)
    for violation in found:
        log.warning("the real platform would refuse this: %s", violation)
    return found


def take(violations: list[Violation]) -> list[Violation]:
    """Return and forget a stand-in's violations: the caller reports (or expected) them."""
    taken = list(violations)
    violations.clear()
    for violation in taken:
        if violation in _PENDING:
            _PENDING.remove(violation)
    return taken


def take_pending() -> list[Violation]:
    """Return and forget every violation no test has reported yet."""
    taken = list(_PENDING)
    _PENDING.clear()
    return taken


def describe(violations: Sequence[Violation]) -> str:
    """Explain violations, one a line, for a failing test."""
    return f"{len(violations)} payload(s) the real platform would refuse:\n" + "\n".join(
        f"  {v}" for v in violations
    )


def assert_accepted(violations: list[Violation]) -> None:
    """Fail, naming each field and rule, if a stand-in recorded any violation."""
    found = take(violations)
    assert not found, describe(found)


# --------------------------------------------------------------------------- availability


def missing_reason() -> str | None:
    """Why payloads cannot be validated here (None when both schemas are present)."""
    absent = [name for name in (DISCORD_SPEC, SLACK_SPEC) if not (SPECS_DIR / name).is_file()]
    if not absent:
        return None
    return f"{', '.join(absent)} not found in {SPECS_DIR}: platform payloads are not validated"


def status_line() -> str:
    """One line for the test session header: what payloads are checked against."""
    reason = missing_reason()
    if reason is None:
        return f"platform schemas: {SPECS_DIR} (Discord OpenAPI, Slack Block Kit)"
    return f"platform schemas: SKIPPED, {reason}"


@functools.cache
def _enabled() -> bool:
    if not VALIDATE:
        return False
    reason = missing_reason()
    if reason is None:
        return True
    if REQUIRE_SPECS:
        raise RuntimeError(f"PREDICTBOT_REQUIRE_SPECS=1 but {reason}")
    log.warning("%s", reason)
    return False


# --------------------------------------------------------------------------- reporting


def _path_parts(path: str) -> list[str | int]:
    parts: list[str | int] = []
    for name, index in re.findall(r"\.([^.\[\]]+)|\[(\d+)\]", path):
        parts.append(int(index) if index else name)
    return parts


def _pointer(parts: Iterable[str | int]) -> str:
    return "".join(f"/{str(p).replace('~', '~0').replace('/', '~1')}" for p in parts)


def _json_path(parts: Iterable[str | int]) -> str:
    out = "$"
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def _is_discriminator(error: ValidationError) -> bool:
    """Whether a union branch failed because the instance is another kind altogether."""
    where = list(error.relative_path)
    if error.validator == "type" and not where:
        return True  # e.g. the {"type": "null"} branch of a nullable object
    return error.validator in ("const", "enum") and where == ["type"]


def _explain(error: ValidationError) -> list[ValidationError]:
    """Follow an anyOf/oneOf failure into the branch the instance was meant for (the one
    branch that did not fail on the instance's kind) and report what is wrong there."""
    if error.validator in ("anyOf", "oneOf") and error.context:
        branches: dict[Any, list[ValidationError]] = {}
        for sub in error.context:
            branches.setdefault(sub.relative_schema_path[0], []).append(sub)
        fitting = [errs for errs in branches.values() if not any(map(_is_discriminator, errs))]
        explained = [[leaf for sub in errs for leaf in _explain(sub)] for errs in fitting]
        kinds = {frozenset((tuple(e.absolute_path), e.validator) for e in es) for es in explained}
        if len(kinds) == 1:  # one branch fits, or all fail the same way: report that
            return explained[0]
    return [error]  # no branch fits better than another: report the union itself


def _short(value: Any, limit: int = 60) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _rule(error: ValidationError) -> str:
    value = error.validator_value
    shown = f" {value}" if isinstance(value, int | float | bool) else ""
    if error.validator in ("enum", "const", "type"):
        shown = f" {_short(value)}"
    if error.validator in ("maxLength", "minLength", "maxItems", "minItems"):
        size = len(error.instance) if isinstance(error.instance, str | list) else "?"
        return f"{error.validator}{shown}: got {size}: {_short(error.instance)}"
    message = error.message if len(error.message) <= 200 else error.message[:199] + "…"
    return f"{error.validator}{shown}: {message}"


def _violations(where: str, errors: Iterable[ValidationError]) -> list[Violation]:
    leaves = [leaf for error in errors for leaf in _explain(error)]
    leaves.sort(
        key=lambda e: [(0, p, "") if isinstance(p, int) else (1, 0, p) for p in e.absolute_path]
    )
    out = [Violation(where, _json_path(leaf.absolute_path), _rule(leaf)) for leaf in leaves]
    return list(dict.fromkeys(out))


_CHECKED: dict[tuple[str, int, str | None, str], tuple[Violation, ...]] = {}


def _schema_violations(
    where: str, validator: Draft202012Validator, instance: Any, prefix: str | None = None
) -> list[Violation]:
    """Validate an instance (as the field ``prefix`` of the request, when given), remembering
    the answer: the same bodies come again and again (command syncs, card edits)."""
    key = (where, id(validator), prefix, json.dumps(instance, sort_keys=True, default=str))
    if key not in _CHECKED:
        if len(_CHECKED) > 4096:
            _CHECKED.clear()
        errors = validator.iter_errors(instance)
        if prefix is not None:
            errors = _prefixed(errors, prefix)
        _CHECKED[key] = tuple(_violations(where, errors))
    return list(_CHECKED[key])


def _unless_named(found: list[Violation], extra: Iterable[Violation]) -> list[Violation]:
    """Add documented limits, except on fields the schema already found fault with."""
    named = {v.field for v in found}
    return found + [v for v in extra if v.field not in named]


# --------------------------------------------------------------------------- Discord

_DISCORD_URI = "urn:predictbot:discord-openapi"


@dataclass(frozen=True)
class _Route:
    method: str
    template: str
    pattern: re.Pattern[str]
    literal_segments: int
    body: JSON | None  # the operation's requestBody


@functools.cache
def _discord_doc() -> JSON:
    doc: JSON = json.loads((SPECS_DIR / DISCORD_SPEC).read_text())
    # Discord reads a snowflake sent as a JSON integer too (its own file-upload example sends
    # attachment ids as 0, 1…, and discord.py sends every id it puts in a body that way), while
    # the description only lists the string form.
    schemas = doc["components"]["schemas"]
    schemas["SnowflakeType"] = {
        "anyOf": [schemas["SnowflakeType"], {"type": "integer", "minimum": 0}]
    }
    return doc


@functools.cache
def _discord_routes() -> tuple[_Route, ...]:
    routes = []
    for template, item in _discord_doc()["paths"].items():
        segments = template.strip("/").split("/")
        regex = "/".join(
            "[^/]+" if seg.startswith("{") and seg.endswith("}") else re.escape(seg)
            for seg in segments
        )
        literal = sum(not seg.startswith("{") for seg in segments)
        for method, operation in item.items():
            if method in ("parameters", "summary", "description", "servers"):
                continue
            routes.append(
                _Route(
                    method.upper(),
                    template,
                    re.compile("/" + regex),
                    literal,
                    operation.get("requestBody"),
                )
            )
    # A literal segment beats a parameter: /messages/@original before /messages/{message_id}.
    routes.sort(key=lambda r: -r.literal_segments)
    return tuple(routes)


def discord_route(method: str, path: str) -> str | None:
    """The OpenAPI path template a request goes to (None if Discord has no such route)."""
    route = _find_route(method, path)
    return route.template if route else None


def _find_route(method: str, path: str) -> _Route | None:
    return next(
        (r for r in _discord_routes() if r.method == method and r.pattern.fullmatch(path)), None
    )


@functools.cache
def _discord_registry() -> Registry[Any]:
    resource = Resource.from_contents(_discord_doc(), default_specification=DRAFT202012)
    return Registry().with_resource(_DISCORD_URI, resource)


@functools.cache
def _discord_validator(method: str, template: str) -> Draft202012Validator:
    pointer = _pointer(
        ["paths", template, method.lower(), "requestBody", "content", "application/json"]
    )
    return Draft202012Validator(
        {"$ref": f"{_DISCORD_URI}#{pointer}/schema"}, registry=_discord_registry()
    )


def check_discord(method: str, path: str, body: Any) -> list[Violation]:
    """Check a request body the bot sent to Discord (``path`` below ``/api/v10``; for a
    multipart request, its ``payload_json``) against its route's schema and Discord's limits."""
    if not _enabled():
        return []
    route = _find_route(method, path)
    if route is None:
        if body is None:
            return []
        return [Violation(f"{method} {path}", "$", "route: Discord has no such route")]
    where = f"{method} {route.template}"
    if route.body is None:
        return []
    if body is None:
        if route.body.get("required"):
            return [Violation(where, "$", "required: this route needs a JSON body")]
        return []
    if "application/json" not in route.body.get("content", {}):
        return [Violation(where, "$", "content type: the route takes no JSON body")]
    found = _schema_violations(where, _discord_validator(method, route.template), body)
    limits = [
        Violation(where, field, rule)
        for prefix, message in _discord_messages(route.template, body)
        for field, rule in _message_limits(prefix, message)
    ]
    return _unless_named(found, limits)


def _discord_messages(template: str, body: Any) -> Iterator[tuple[list[str | int], JSON]]:
    """The message objects in a request body (with their JSON path)."""
    if not isinstance(body, dict):
        return
    if template.endswith("/callback"):
        data = body.get("data")
        if isinstance(data, dict) and body.get("type") in (4, 7):
            yield ["data"], data
    elif template.startswith(("/channels/", "/webhooks/")):
        yield [], body


def _embed_text(embed: Any) -> int:
    if not isinstance(embed, dict):
        return 0
    size = 0
    for key in ("title", "description"):
        size += len(embed.get(key) or "")
    for key in ("footer", "author"):
        part = embed.get(key) or {}
        size += len((part.get("text") if key == "footer" else part.get("name")) or "")
    for field in embed.get("fields") or []:
        if isinstance(field, dict):
            size += len(field.get("name") or "") + len(field.get("value") or "")
    return size


def _message_limits(prefix: list[str | int], message: JSON) -> Iterator[tuple[str, str]]:
    content = message.get("content")
    if isinstance(content, str) and len(content) > DISCORD_CONTENT_MAX:
        yield (
            _json_path([*prefix, "content"]),
            f"content at most {DISCORD_CONTENT_MAX} characters: got {len(content)}",
        )
    embeds = message.get("embeds")
    if isinstance(embeds, list):
        total = sum(_embed_text(e) for e in embeds)
        if total > DISCORD_EMBEDS_TOTAL_MAX:
            yield (
                _json_path([*prefix, "embeds"]),
                f"embeds at most {DISCORD_EMBEDS_TOTAL_MAX} characters in all "
                f"(titles, descriptions, fields, footers, authors): got {total}",
            )
    mentions = message.get("allowed_mentions")
    users = mentions.get("users") if isinstance(mentions, dict) else None
    if isinstance(users, list) and len(users) > DISCORD_MENTIONED_USERS_MAX:
        yield (
            _json_path([*prefix, "allowed_mentions", "users"]),
            f"allowed_mentions.users at most {DISCORD_MENTIONED_USERS_MAX} ids: got {len(users)}",
        )


_DISCORD_CODES = {
    "maxLength": "BASE_TYPE_MAX_LENGTH",
    "minLength": "BASE_TYPE_MIN_LENGTH",
    "maxItems": "BASE_TYPE_MAX_LENGTH",
    "minItems": "BASE_TYPE_MIN_LENGTH",
    "required": "BASE_TYPE_REQUIRED",
    "type": "BASE_TYPE_BAD_TYPE",
    "enum": "BASE_TYPE_CHOICES",
}


def discord_error_body(violations: Sequence[Violation]) -> JSON:
    """Discord's answer to an invalid body: code 50035 with an ``errors`` tree by field."""
    errors: JSON = {}
    for violation in violations:
        node = errors
        for part in _path_parts(violation.field):
            node = node.setdefault(str(part), {})
        keyword = violation.rule.split(" ", 1)[0].rstrip(":")
        node.setdefault("_errors", []).append(
            {"code": _DISCORD_CODES.get(keyword, "BASE_TYPE_INVALID"), "message": violation.rule}
        )
    return {"message": "Invalid Form Body", "code": 50035, "errors": errors}


# --------------------------------------------------------------------------- Slack


@functools.cache
def _slack_schema() -> JSON:
    return json.loads((SPECS_DIR / SLACK_SPEC).read_text())  # type: ignore[no-any-return]


@functools.cache
def _slack_validator(definition: str | None) -> Draft202012Validator:
    """The Block Kit validator: of the top-level block array, or of one ``$defs`` entry."""
    schema = _slack_schema()
    if definition is None:
        return Draft202012Validator(schema)
    resource = Resource.from_contents(schema, default_specification=DRAFT202012)
    registry: Registry[Any] = Registry().with_resource(schema["$id"], resource)
    return Draft202012Validator({"$ref": f"{schema['$id']}#/$defs/{definition}"}, registry=registry)


# What Slack itself turns into markup in mrkdwn; any other `&`, `<` or `>` must be escaped.
_CONTROL = re.compile(
    r"<(?:"
    r"[@#][A-Z0-9]+(?:\|[^<>]*)?"  # <@U123>, <@U123|alice>, <#C123>, <#C123|general>
    r"|!(?:here|channel|everyone)(?:\|[^<>]*)?"  # <!here>
    r"|!subteam\^[A-Z0-9]+(?:\|[^<>]*)?"  # <!subteam^S123|@team>
    r"|!date\^-?\d+\^[^<>|^]*(?:\^[^<>|]+)?\|[^<>]*"  # <!date^1700000000^{date}|fallback>
    r"|(?:https?://|mailto:)[^<>|\s]+(?:\|[^<>]*)?"  # <https://x.y>, <https://x.y|label>
    r")>"
)
_ENTITY = re.compile(r"&(?:amp|lt|gt);")
_QUOTE = re.compile(r"(?m)^>")  # a block quote marker at the start of a line


def mrkdwn_problem(text: str) -> str | None:
    """Why a mrkdwn text would not show as intended: a raw `&`, `<` or `>` outside a control
    sequence (None when it is well formed)."""
    masked = _CONTROL.sub(lambda m: "\0" * len(m.group()), text)
    masked = _ENTITY.sub(lambda m: "\0" * len(m.group()), masked)
    masked = _QUOTE.sub("\0", masked)
    for index, char in enumerate(masked):
        if char in "&<>":
            entity = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}[char]
            excerpt = text[max(0, index - 20) : index + 20]
            return (
                f"mrkdwn: {char!r} outside a control sequence must be escaped as {entity} "
                f"(at {index}: {excerpt!r})"
            )
    return None


def _walk(value: Any, path: list[str | int]) -> Iterator[tuple[list[str | int], JSON]]:
    if isinstance(value, dict):
        yield path, value
        for key, item in value.items():
            yield from _walk(item, [*path, key])
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, [*path, index])


def _block_text(blocks: Any, path: list[str | int]) -> Iterator[tuple[str, str]]:
    """(field, rule) for every mrkdwn text object in blocks that is not properly escaped."""
    for where, node in _walk(blocks, path):
        text = node.get("text")
        if node.get("type") == "mrkdwn" and isinstance(text, str):
            problem = mrkdwn_problem(text)
            if problem:
                yield _json_path([*where, "text"]), problem


def _total_text(blocks: Any) -> int:
    return sum(
        len(node["text"])
        for _, node in _walk(blocks, [])
        if node.get("type") in ("mrkdwn", "plain_text", "markdown")
        and isinstance(node.get("text"), str)
    )


def check_slack_message(where: str, params: JSON) -> tuple[str | None, list[Violation]]:
    """Check a message (chat.postMessage, chat.update, chat.postEphemeral or a response_url
    post). Return the error Slack answers (``invalid_blocks``, ``msg_too_long``; None when it
    takes the message, as it does one whose text is merely mis-escaped) and the violations."""
    if not _enabled():
        return None, []
    error: str | None = None
    found: list[Violation] = []
    blocks = params.get("blocks")
    if blocks is not None:
        if isinstance(blocks, list):
            found = _schema_violations(where, _slack_validator(None), blocks, "blocks")
            if len(blocks) > SLACK_MESSAGE_BLOCKS_MAX:
                limit = Violation(
                    where,
                    "$.blocks",
                    f"maxItems {SLACK_MESSAGE_BLOCKS_MAX}: a message has at most "
                    f"{SLACK_MESSAGE_BLOCKS_MAX} blocks, got {len(blocks)}",
                )
                found = _unless_named(found, [limit])
            found += [Violation(where, f, r) for f, r in _block_text(blocks, ["blocks"])]
        else:
            found = [Violation(where, "$.blocks", "type: blocks must be a JSON array")]
        error = "invalid_blocks" if found else None
    text = params.get("text")
    if isinstance(text, str):
        if len(text) > SLACK_TEXT_MAX:
            error = "msg_too_long"
            found.append(
                Violation(
                    where, "$.text", f"maxLength {SLACK_TEXT_MAX}: got {len(text)} characters"
                )
            )
        if params.get("mrkdwn") not in (False, "false") and (problem := mrkdwn_problem(text)):
            found.append(Violation(where, "$.text", problem))
    total = (len(text) if isinstance(text, str) else 0) + _total_text(blocks)
    if total > SLACK_MESSAGE_TOTAL_TEXT_MAX:
        error = "msg_too_long"
        found.append(
            Violation(
                where,
                "$",
                f"total text at most {SLACK_MESSAGE_TOTAL_TEXT_MAX} characters (text and every "
                f"text object in blocks): got {total}",
            )
        )
    return error, found


def check_slack_view(where: str, view: Any, *, home: bool = False) -> list[Violation]:
    """Check a view (views.open/push/update: a modal; views.publish: a Home tab) against
    Block Kit's view schema, its blocks, and the limits of views."""
    if not _enabled():
        return []
    if not isinstance(view, dict):
        return [Violation(where, "$.view", "type: view must be a JSON object")]
    kind = view.get("type")
    definition = "home_view" if kind == "home" or (home and kind is None) else "modal_view"
    found = _schema_violations(where, _slack_validator(definition), view, "view")
    limits = []
    blocks = view.get("blocks")
    if isinstance(blocks, list) and len(blocks) > SLACK_VIEW_BLOCKS_MAX:
        limits.append(
            Violation(
                where,
                "$.view.blocks",
                f"maxItems {SLACK_VIEW_BLOCKS_MAX}: a view has at most {SLACK_VIEW_BLOCKS_MAX} "
                f"blocks, got {len(blocks)}",
            )
        )
    for key in ("title", "submit", "close"):
        part = view.get(key)
        label = part.get("text") if isinstance(part, dict) else None
        if isinstance(label, str) and len(label) > SLACK_VIEW_LABEL_MAX:
            limits.append(
                Violation(
                    where,
                    f"$.view.{key}.text",
                    f"maxLength {SLACK_VIEW_LABEL_MAX}: got {len(label)}: {_short(label)}",
                )
            )
    metadata = view.get("private_metadata")
    if isinstance(metadata, str) and len(metadata) > SLACK_PRIVATE_METADATA_MAX:
        limits.append(
            Violation(
                where,
                "$.view.private_metadata",
                f"maxLength {SLACK_PRIVATE_METADATA_MAX}: got {len(metadata)}",
            )
        )
    found = _unless_named(found, limits)
    return found + [Violation(where, f, r) for f, r in _block_text(blocks, ["view", "blocks"])]


def _prefixed(errors: Iterable[ValidationError], key: str) -> Iterator[ValidationError]:
    """Place errors under the field ``key`` of the request, so their paths start there."""
    for error in errors:
        error.path.appendleft(key)
        yield error


def slack_messages(violations: Sequence[Violation]) -> list[str]:
    """``response_metadata.messages`` as Slack words them: the rule and a JSON pointer."""
    return [f"[ERROR] {v.rule} [json-pointer:{v.pointer}]" for v in violations]
