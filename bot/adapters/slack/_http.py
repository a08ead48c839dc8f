"""The HTTP endpoint Slack posts to: checked before slack-bolt sees it, so that nothing a
client sends becomes a 500 with a traceback.

slack-bolt parses the body before it verifies the signature, and both steps raise on some
input (`int()` of the timestamp header, `json.loads` of a `payload` field, a JSON value that is
not an object). Here a request is answered 401 unless its timestamp is a number and its
signature valid, and 400 unless its body is UTF-8 holding a JSON object (or a form) the way
bolt reads it; only then does bolt dispatch it.
"""

from __future__ import annotations

import logging

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.request.internals import (
    build_normalized_headers,
    extract_content_type,
    parse_body,
)
from slack_sdk.signature import SignatureVerifier

log = logging.getLogger(__name__)

# Ten digits cover Unix time until the year 2286; anything longer is not a timestamp.
_TIMESTAMP_DIGITS = 10


def events_app(app: AsyncApp, signing_secret: str, path: str) -> web.Application:
    """Serve `app` at `path`, refusing malformed requests with 400 or 401."""
    verifier = SignatureVerifier(signing_secret)

    async def events(request: web.Request) -> web.Response:
        raw = await request.read()
        timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
        signature = request.headers.get("X-Slack-Signature", "")
        if not (
            timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= _TIMESTAMP_DIGITS
        ):
            return _refuse(401, "invalid request")
        try:
            body = raw.decode("utf-8")
        except UnicodeDecodeError:
            return _refuse(400, "the body is not UTF-8")
        if not verifier.is_valid(body, timestamp, signature):
            return _refuse(401, "invalid request")
        headers = build_normalized_headers(dict(request.headers))
        try:
            payload = parse_body(body, extract_content_type(headers))
        except ValueError:  # json.JSONDecodeError
            payload = None
        if not isinstance(payload, dict):
            log.warning("slack: a signed request whose body is not a Slack payload; answered 400")
            return _refuse(400, "the body is not a Slack payload")
        try:
            bolt_request = AsyncBoltRequest(body=body, query=request.query_string, headers=headers)
        except (AttributeError, KeyError, IndexError, TypeError, ValueError) as error:
            log.warning("slack: a signed payload bolt can't read (%s); answered 400", error)
            return _refuse(400, "the body is not a Slack payload")
        return await to_aiohttp_response(await app.async_dispatch(bolt_request))

    web_app = web.Application()
    web_app.router.add_post(path, events)
    return web_app


def _refuse(status: int, reason: str) -> web.Response:
    return web.json_response({"error": reason}, status=status)
