"""A local stand-in for Slack, for end-to-end tests of the Slack adapter.

Nothing here talks to the real Slack. Three pieces:

* :class:`SlackWebStub` - an aiohttp server on 127.0.0.1 (random port) that answers the
  Web API methods the bot uses (``{stub.base_url}<method>``), records every call, keeps the
  state of posted messages / views, can inject 429/500 failures, serves ``response_url``
  endpoints and (via :attr:`SlackWebStub.socket`) a Socket Mode websocket.
* Signing helpers and request-body builders that produce requests exactly as Slack sends them
  to an app's HTTP endpoint (:func:`sign`, :func:`slash_command_body`, ...).
* :func:`serve_bolt_app` - serve a real ``AsyncApp`` over HTTP on a random local port.

Typical use::

    async with SlackWebStub(token="xoxb-test") as stub:
        client = AsyncWebClient(token="xoxb-test", base_url=stub.base_url)
        app = AsyncApp(client=client, signing_secret=SECRET)
        ...
        async with serve_bolt_app(app) as events_url, aiohttp.ClientSession() as http:
            body = slash_command_body(text="list", response_url=stub.response_url_for("r1"))
            async with http.post(events_url, data=body, headers=signed_headers(body, SECRET)):
                ...
        await stub.wait_for_call("chat.postMessage")
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import inspect
import itertools
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from aiohttp import WSMsgType, web

from tests.fakes import specs

__all__ = [
    "FORM_CONTENT_TYPE",
    "JSON_CONTENT_TYPE",
    "ApiCall",
    "ResponsePost",
    "SlackWebStub",
    "SocketModeStub",
    "StoredMessage",
    "app_home_opened_body",
    "block_actions_body",
    "block_actions_payload",
    "date_value",
    "event_callback_body",
    "option_value",
    "plain_text_value",
    "serve_bolt_app",
    "sign",
    "signed_headers",
    "slash_command_body",
    "slash_command_payload",
    "time_value",
    "url_verification_body",
    "view_submission_body",
    "view_submission_payload",
]

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
JSON_CONTENT_TYPE = "application/json"

# Form-encoded Web API calls carry these as JSON strings; decode them so tests see dicts.
_JSON_FIELDS = frozenset({"blocks", "attachments", "view", "metadata", "user_auth_blocks"})
# Methods whose blocks or view are checked against Block Kit (see tests/fakes/specs.py).
_MESSAGE_METHODS = frozenset({"chat.postMessage", "chat.update", "chat.postEphemeral"})
_VIEW_METHODS = frozenset({"views.open", "views.push", "views.update", "views.publish"})
# Methods that must be called with an app-level (xapp-) token.
_APP_TOKEN_METHODS = frozenset({"apps.connections.open"})

Handler = Callable[[dict[str, Any]], dict[str, Any] | Awaitable[dict[str, Any]]]


# --------------------------------------------------------------------------------------------
# Recorded data
# --------------------------------------------------------------------------------------------


@dataclass
class ApiCall:
    """One Web API request received by the stub. Unpacks as ``method, params, time``."""

    method: str
    params: dict[str, Any]
    time: float
    status: int = 200
    response: dict[str, Any] = field(default_factory=dict)
    token: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == 200 and bool(self.response.get("ok"))

    def __iter__(self) -> Iterator[Any]:
        return iter((self.method, self.params, self.time))


@dataclass
class StoredMessage:
    """Current state of a message the bot posted; ``history`` holds earlier versions."""

    channel: str
    ts: str
    text: str | None
    blocks: list[dict[str, Any]] | None
    user: str
    thread_ts: str | None = None
    metadata: dict[str, Any] | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    deleted: bool = False

    @property
    def updated(self) -> bool:
        return bool(self.history)

    def snapshot(self) -> dict[str, Any]:
        return {"text": self.text, "blocks": self.blocks, "metadata": self.metadata}

    def to_api(self, bot_id: str, team_id: str) -> dict[str, Any]:
        msg: dict[str, Any] = {
            "type": "message",
            "user": self.user,
            "bot_id": bot_id,
            "team": team_id,
            "ts": self.ts,
            "text": self.text or "",
        }
        if self.blocks is not None:
            msg["blocks"] = self.blocks
        if self.thread_ts:
            msg["thread_ts"] = self.thread_ts
        if self.metadata is not None:
            msg["metadata"] = self.metadata
        return msg


@dataclass
class ResponsePost:
    """A POST to a ``response_url`` handed out by :meth:`SlackWebStub.response_url_for`."""

    name: str
    body: dict[str, Any]
    time: float


@dataclass
class _Failure:
    status: int
    retry_after: int
    error: str
    remaining: int


# --------------------------------------------------------------------------------------------
# Web API stub
# --------------------------------------------------------------------------------------------


class SlackWebStub:
    """Slack Web API stand-in on ``127.0.0.1:<random port>``.

    Pass :attr:`base_url` as ``AsyncWebClient(base_url=...)``. Use as ``async with`` or call
    :meth:`start` / :meth:`stop`.
    """

    def __init__(
        self,
        token: str = "xoxb-test-token",
        *,
        app_token: str = "xapp-test-token",
        team_id: str = "T0STUB",
        team_name: str = "Stub Team",
        bot_user_id: str = "U0BOT",
        bot_user_name: str = "predictbot",
        bot_id: str = "B0BOT",
        app_id: str = "A0STUB",
    ) -> None:
        self.token = token
        self.app_token = app_token
        self.team_id = team_id
        self.team_name = team_name
        self.bot_user_id = bot_user_id
        self.bot_user_name = bot_user_name
        self.bot_id = bot_id
        self.app_id = app_id

        self.calls: list[ApiCall] = []
        self.unhandled: list[ApiCall] = []
        # Payloads the real Slack would refuse or mis-render (kept across :meth:`reset`).
        self.violations: list[specs.Violation] = []
        self.responses: list[ResponsePost] = []
        self.messages: dict[str, dict[str, StoredMessage]] = {}
        self.ephemerals: list[dict[str, Any]] = []
        self.views: dict[str, dict[str, Any]] = {}
        self.view_history: dict[str, list[dict[str, Any]]] = {}
        self.home_views: dict[str, dict[str, Any]] = {}
        self.users: dict[str, dict[str, Any]] = {}
        self.channels: dict[str, dict[str, Any]] = {}

        self._failures: dict[str, list[_Failure]] = {}
        self._handlers: dict[str, Handler] = {}
        self._response_targets: dict[str, tuple[str, str]] = {}
        self._ts_counter = itertools.count(1_700_000_000_000_100, 100)
        self._id_counter = itertools.count(1)
        self._changed: asyncio.Condition | None = None

        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self.socket = SocketModeStub(self)

        self._builtin: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.delete": self._chat_delete,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "views.open": self._views_open,
            "views.push": self._views_open,
            "views.update": self._views_update,
            "views.publish": self._views_publish,
            "users.info": self._users_info,
            "conversations.info": self._conversations_info,
            "conversations.open": self._conversations_open,
            "apps.connections.open": self._apps_connections_open,
        }

    # ---- lifecycle ------------------------------------------------------------------------

    async def start(self) -> SlackWebStub:
        self._changed = asyncio.Condition()
        app = web.Application()
        app.add_routes(
            [
                web.route("*", "/api/{method}", self._handle_api),
                web.post("/response/{name}", self._handle_response_url),
                web.get("/socket", self.socket._handle_ws),
            ]
        )
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = _bound_port(self._runner)
        return self

    async def stop(self) -> None:
        await self.socket.close_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> SlackWebStub:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("SlackWebStub is not started")
        return self._port

    @property
    def root_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """Exactly what to pass as ``AsyncWebClient(base_url=...)`` (trailing slash included:
        slack_sdk joins it with the method name via ``urljoin``)."""
        return f"{self.root_url}/api/"

    @property
    def socket_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/socket"

    # ---- configuration ---------------------------------------------------------------------

    def add_user(
        self,
        user_id: str,
        name: str,
        is_admin: bool = False,
        is_owner: bool = False,
        tz: str = "UTC",
        *,
        real_name: str | None = None,
        is_bot: bool = False,
    ) -> dict[str, Any]:
        offset = datetime.now(ZoneInfo(tz)).utcoffset()
        user = {
            "id": user_id,
            "team_id": self.team_id,
            "name": name,
            "deleted": False,
            "real_name": real_name or name,
            "tz": tz,
            "tz_label": tz,
            "tz_offset": int(offset.total_seconds()) if offset is not None else 0,
            "is_admin": is_admin,
            "is_owner": is_owner,
            "is_primary_owner": False,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "is_bot": is_bot,
            "is_app_user": False,
            "profile": {
                "real_name": real_name or name,
                "display_name": name,
                "team": self.team_id,
            },
        }
        self.users[user_id] = user
        return user

    def add_channel(
        self, channel_id: str, name: str, *, is_private: bool = False, is_im: bool = False
    ) -> dict[str, Any]:
        channel = {
            "id": channel_id,
            "name": name,
            "is_channel": not is_private and not is_im,
            "is_group": False,
            "is_im": is_im,
            "is_private": is_private,
            "is_archived": False,
            "is_member": True,
            "context_team_id": self.team_id,
        }
        self.channels[channel_id] = channel
        return channel

    def set_handler(self, method: str, handler: Handler) -> None:
        """Answer ``method`` with ``handler(params) -> response dict`` (sync or async)."""
        self._handlers[method] = handler

    def fail_next(
        self,
        method: str,
        status: int = 500,
        times: int = 1,
        retry_after: int = 1,
        error: str | None = None,
    ) -> None:
        """Make the next ``times`` calls of ``method`` fail.

        429 -> ``Retry-After: <retry_after>`` header and ``{"ok": false, "error": "ratelimited"}``;
        other statuses -> that status with ``{"ok": false, "error": "internal_error"}``.
        """
        default_error = "ratelimited" if status == 429 else "internal_error"
        self._failures.setdefault(method, []).append(
            _Failure(status, retry_after, error or default_error, times)
        )

    def reset(self) -> None:
        """Forget recorded calls, messages, views and pending failures (users/channels stay)."""
        self.calls.clear()
        self.unhandled.clear()
        self.responses.clear()
        self.messages.clear()
        self.ephemerals.clear()
        self.views.clear()
        self.view_history.clear()
        self.home_views.clear()
        self._failures.clear()

    def response_url_for(
        self, name: str, *, channel: str | None = None, ts: str | None = None
    ) -> str:
        """A ``response_url`` that records POSTs in :attr:`responses` (as ``name``).

        When bound to a posted message (``channel`` + ``ts``), a post with
        ``replace_original: true`` updates that stored message and ``delete_original``
        marks it deleted, like Slack does.
        """
        if channel is not None and ts is not None:
            self._response_targets[name] = (channel, ts)
        return f"{self.root_url}/response/{name}"

    # ---- inspection ------------------------------------------------------------------------

    def take_violations(self) -> list[specs.Violation]:
        """Return and forget the recorded violations (for tests that send bad payloads)."""
        return specs.take(self.violations)

    def assert_accepted(self) -> None:
        """Fail, naming each field and rule, if the bot sent what Slack would refuse."""
        specs.assert_accepted(self.violations)

    def _check(self, method: str, params: dict[str, Any]) -> dict[str, Any] | None:
        """Record what Slack would object to; return its error answer if it would refuse."""
        error: str | None = None
        if method in _MESSAGE_METHODS:
            error, found = specs.check_slack_message(method, params)
        elif method in _VIEW_METHODS:
            found = specs.check_slack_view(
                method, params.get("view"), home=method == "views.publish"
            )
            error = "invalid_arguments" if found else None
        else:
            return None
        specs.record(self.violations, found)
        if error is None:
            return None
        messages = specs.slack_messages(found)
        return {"ok": False, "error": error, "response_metadata": {"messages": messages}}

    def calls_of(self, method: str, *, ok_only: bool = False) -> list[ApiCall]:
        return [c for c in self.calls if c.method == method and (c.ok or not ok_only)]

    def responses_for(self, name: str) -> list[ResponsePost]:
        return [r for r in self.responses if r.name == name]

    def channel_messages(self, channel: str) -> list[StoredMessage]:
        """Messages in ``channel`` in posting order (deleted ones excluded)."""
        msgs = self.messages.get(channel, {})
        return [m for _, m in sorted(msgs.items(), key=lambda kv: float(kv[0])) if not m.deleted]

    def message(self, channel: str, ts: str) -> StoredMessage:
        return self.messages[channel][ts]

    def last_message(self, channel: str | None = None) -> StoredMessage:
        pool = (
            self.channel_messages(channel)
            if channel is not None
            else [m for ch in self.messages for m in self.channel_messages(ch)]
        )
        if not pool:
            raise LookupError(f"no messages posted{f' in {channel}' if channel else ''}")
        return max(pool, key=lambda m: float(m.ts))

    async def wait_until(self, predicate: Callable[[], bool], within: float = 5.0) -> None:
        """Wait until ``predicate()`` holds (re-checked whenever the stub records something)."""
        assert self._changed is not None, "SlackWebStub is not started"
        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(predicate)

    async def wait_for_call(
        self, method: str, count: int = 1, *, ok_only: bool = True, within: float = 5.0
    ) -> ApiCall:
        """Wait for ``count`` (successful, by default) calls of ``method``; return the last."""
        try:
            await self.wait_until(
                lambda: len(self.calls_of(method, ok_only=ok_only)) >= count, within
            )
        except TimeoutError:
            seen = [c.method for c in self.calls]
            raise AssertionError(
                f"timed out waiting for {count}x {method}; calls: {seen}"
            ) from None
        return self.calls_of(method, ok_only=ok_only)[count - 1]

    async def wait_for_response(
        self, name: str | None = None, count: int = 1, within: float = 5.0
    ) -> ResponsePost:
        def matching() -> list[ResponsePost]:
            return [r for r in self.responses if name is None or r.name == name]

        try:
            await self.wait_until(lambda: len(matching()) >= count, within)
        except TimeoutError:
            raise AssertionError(f"timed out waiting for response_url post {name!r}") from None
        return matching()[count - 1]

    async def _notify(self) -> None:
        if self._changed is not None:
            async with self._changed:
                self._changed.notify_all()

    # ---- HTTP handlers ---------------------------------------------------------------------

    async def _handle_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await _read_params(request)
        token = _bearer(request) or params.pop("token", None)
        params.pop("token", None)
        call = ApiCall(method, params, time.time(), token=token)
        self.calls.append(call)
        try:
            return await self._answer(method, params, token, call)
        finally:
            await self._notify()

    async def _answer(
        self, method: str, params: dict[str, Any], token: str | None, call: ApiCall
    ) -> web.Response:
        def reply(body: dict[str, Any], status: int = 200, **headers: str) -> web.Response:
            call.status, call.response = status, body
            return web.json_response(body, status=status, headers=headers or None)

        if not token:
            return reply({"ok": False, "error": "not_authed"})
        allowed = {self.app_token} if method in _APP_TOKEN_METHODS else {self.token}
        if token not in allowed:
            if token in (self.token, self.app_token):
                return reply({"ok": False, "error": "not_allowed_token_type"})
            return reply({"ok": False, "error": "invalid_auth"})

        refusal = self._check(method, params)
        if refusal is not None:
            return reply(refusal)

        failures = self._failures.get(method)
        if failures:
            failure = failures[0]
            failure.remaining -= 1
            if failure.remaining <= 0:
                failures.pop(0)
            body = {"ok": False, "error": failure.error}
            if failure.status == 429:
                return reply(body, 429, **{"Retry-After": str(failure.retry_after)})
            return reply(body, failure.status)

        custom = self._handlers.get(method)
        if custom is not None:
            result = custom(params)
            if inspect.isawaitable(result):
                result = await result
            return reply(result)
        builtin = self._builtin.get(method)
        if builtin is None:
            self.unhandled.append(call)
            return reply({"ok": False, "error": "unknown_method"})
        return reply(builtin(params))

    async def _handle_response_url(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        raw = await request.read()
        try:
            body = json.loads(raw) if raw else {}
        except json.JSONDecodeError:
            body = {"raw": raw.decode("utf-8", "replace")}
        self.responses.append(ResponsePost(name, body, time.time()))
        error, found = specs.check_slack_message("response_url", body)
        specs.record(self.violations, found)
        if error is not None:
            await self._notify()
            return web.Response(status=400, text=error, content_type="text/plain")
        target = self._response_targets.get(name)
        if target is not None:
            stored = self.messages.get(target[0], {}).get(target[1])
            if stored is not None and _truthy(body.get("delete_original")):
                stored.deleted = True
            elif stored is not None and _truthy(body.get("replace_original")):
                stored.history.append(stored.snapshot())
                stored.text = body.get("text", stored.text)
                stored.blocks = body.get("blocks", stored.blocks)
        await self._notify()
        return web.Response(text="ok", content_type="text/plain")

    # ---- built-in methods ------------------------------------------------------------------

    def _next_ts(self) -> str:
        value = next(self._ts_counter)
        return f"{value // 1_000_000}.{value % 1_000_000:06d}"

    def _next_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._id_counter):08d}STUB"

    def _auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": f"https://{self.team_name.lower().replace(' ', '-')}.slack.com/",
            "team": self.team_name,
            "user": self.bot_user_name,
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "app_id": self.app_id,
            "is_enterprise_install": False,
        }

    def _chat_post_message(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = params.get("channel")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if not params.get("text") and not params.get("blocks") and not params.get("attachments"):
            return {"ok": False, "error": "no_text"}
        ts = self._next_ts()
        stored = StoredMessage(
            channel=channel,
            ts=ts,
            text=params.get("text"),
            blocks=params.get("blocks"),
            user=self.bot_user_id,
            thread_ts=params.get("thread_ts"),
            metadata=params.get("metadata"),
        )
        self.messages.setdefault(channel, {})[ts] = stored
        return {
            "ok": True,
            "channel": channel,
            "ts": ts,
            "message": stored.to_api(self.bot_id, self.team_id),
        }

    def _find_message(self, params: dict[str, Any]) -> StoredMessage | None:
        stored = self.messages.get(params.get("channel") or "", {}).get(params.get("ts") or "")
        return None if stored is None or stored.deleted else stored

    def _chat_update(self, params: dict[str, Any]) -> dict[str, Any]:
        if not params.get("channel"):
            return {"ok": False, "error": "channel_not_found"}
        stored = self._find_message(params)
        if stored is None:
            return {"ok": False, "error": "message_not_found"}
        stored.history.append(stored.snapshot())
        if "text" in params:
            stored.text = params["text"]
        if "blocks" in params:
            stored.blocks = params["blocks"]
        if "metadata" in params:
            stored.metadata = params["metadata"]
        return {
            "ok": True,
            "channel": stored.channel,
            "ts": stored.ts,
            "text": stored.text or "",
            "message": stored.to_api(self.bot_id, self.team_id),
        }

    def _chat_delete(self, params: dict[str, Any]) -> dict[str, Any]:
        stored = self._find_message(params)
        if stored is None:
            return {"ok": False, "error": "message_not_found"}
        stored.deleted = True
        return {"ok": True, "channel": stored.channel, "ts": stored.ts}

    def _chat_post_ephemeral(self, params: dict[str, Any]) -> dict[str, Any]:
        if not params.get("channel"):
            return {"ok": False, "error": "channel_not_found"}
        if not params.get("user"):
            return {"ok": False, "error": "user_not_in_channel"}
        if not params.get("text") and not params.get("blocks") and not params.get("attachments"):
            return {"ok": False, "error": "no_text"}
        message_ts = self._next_ts()
        self.ephemerals.append(
            {
                "channel": params["channel"],
                "user": params["user"],
                "text": params.get("text"),
                "blocks": params.get("blocks"),
                "message_ts": message_ts,
            }
        )
        return {"ok": True, "message_ts": message_ts}

    def _build_view(self, view: dict[str, Any], view_id: str, root: str | None) -> dict[str, Any]:
        return {
            "id": view_id,
            "team_id": self.team_id,
            "type": view.get("type", "modal"),
            "blocks": view.get("blocks", []),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "state": {"values": {}},
            "hash": uuid.uuid4().hex[:20],
            "title": view.get("title"),
            "close": view.get("close"),
            "submit": view.get("submit"),
            "clear_on_close": view.get("clear_on_close", False),
            "notify_on_close": view.get("notify_on_close", False),
            "root_view_id": root or view_id,
            "previous_view_id": None,
            "app_id": self.app_id,
            "external_id": view.get("external_id", ""),
            "app_installed_team_id": self.team_id,
            "bot_id": self.bot_id,
        }

    def _views_open(self, params: dict[str, Any]) -> dict[str, Any]:
        if not params.get("trigger_id"):
            return {"ok": False, "error": "invalid_trigger_id"}
        view = params.get("view")
        if not isinstance(view, dict):
            return {"ok": False, "error": "invalid_arguments"}
        built = self._build_view(view, self._next_id("V"), None)
        self.views[built["id"]] = built
        self.view_history[built["id"]] = [built]
        return {"ok": True, "view": built}

    def _views_update(self, params: dict[str, Any]) -> dict[str, Any]:
        view = params.get("view")
        if not isinstance(view, dict):
            return {"ok": False, "error": "invalid_arguments"}
        view_id = params.get("view_id")
        if not view_id and params.get("external_id"):
            view_id = next(
                (k for k, v in self.views.items() if v["external_id"] == params["external_id"]),
                None,
            )
        if not view_id or view_id not in self.views:
            return {"ok": False, "error": "not_found"}
        built = self._build_view(view, view_id, self.views[view_id]["root_view_id"])
        self.views[view_id] = built
        self.view_history[view_id].append(built)
        return {"ok": True, "view": built}

    def _views_publish(self, params: dict[str, Any]) -> dict[str, Any]:
        user_id = params.get("user_id")
        view = params.get("view")
        if not user_id:
            return {"ok": False, "error": "user_not_found"}
        if not isinstance(view, dict):
            return {"ok": False, "error": "invalid_arguments"}
        previous = self.home_views.get(user_id)
        view_id = previous["id"] if previous else self._next_id("V")
        built = self._build_view({"type": "home", **view}, view_id, None)
        self.home_views[user_id] = built
        self.views[view_id] = built
        self.view_history.setdefault(view_id, []).append(built)
        return {"ok": True, "view": built}

    def _users_info(self, params: dict[str, Any]) -> dict[str, Any]:
        user = self.users.get(params.get("user") or "")
        if user is None:
            return {"ok": False, "error": "user_not_found"}
        return {"ok": True, "user": user}

    def _conversations_info(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self.channels.get(params.get("channel") or "")
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        return {"ok": True, "channel": channel}

    def _conversations_open(self, params: dict[str, Any]) -> dict[str, Any]:
        users = params.get("users")
        if params.get("channel"):
            return {"ok": True, "channel": {"id": params["channel"]}}
        if not users:
            return {"ok": False, "error": "users_list_not_supplied"}
        first = str(users).split(",")[0].strip()
        return {"ok": True, "channel": {"id": "D" + first.lstrip("UW")}}

    def _apps_connections_open(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "url": self.socket_url}


# --------------------------------------------------------------------------------------------
# Socket Mode stub
# --------------------------------------------------------------------------------------------


class SocketModeStub:
    """Socket Mode server side, served at ``/socket`` on the :class:`SlackWebStub`.

    slack_sdk's ``SocketModeClient`` gets this URL from ``apps.connections.open`` (called
    through the web client's ``base_url`` with the xapp- token), connects, receives
    ``hello``, then gets envelopes from :meth:`push_envelope` and acks them.
    """

    def __init__(self, web_stub: SlackWebStub) -> None:
        self._web = web_stub
        self._sockets: list[web.WebSocketResponse] = []
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.received: list[dict[str, Any]] = []
        self.connections = 0

    @property
    def connected(self) -> bool:
        return any(not ws.closed for ws in self._sockets)

    async def wait_connected(self, within: float = 5.0) -> None:
        await self._web.wait_until(lambda: self.connected, within)

    async def push_envelope(
        self,
        type: str,
        payload: dict[str, Any],
        *,
        accepts_response_payload: bool | None = None,
        within: float = 5.0,
    ) -> dict[str, Any]:
        """Send an envelope to the newest connection and return the client's ack message."""
        sockets = [ws for ws in self._sockets if not ws.closed]
        if not sockets:
            raise RuntimeError("no Socket Mode client is connected")
        if accepts_response_payload is None:
            accepts_response_payload = type != "events_api"
        envelope_id = str(uuid.uuid4())
        envelope: dict[str, Any] = {
            "envelope_id": envelope_id,
            "type": type,
            "payload": payload,
            "accepts_response_payload": accepts_response_payload,
        }
        if type == "events_api":
            envelope.update(retry_attempt=0, retry_reason="")
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[envelope_id] = future
        try:
            await sockets[-1].send_str(json.dumps(envelope))
            async with asyncio.timeout(within):
                return await future
        finally:
            self._pending.pop(envelope_id, None)

    async def disconnect_clients(self) -> None:
        """Ask clients to reconnect, as Slack does (``{"type": "disconnect"}``)."""
        for ws in list(self._sockets):
            if not ws.closed:
                await ws.send_str(json.dumps({"type": "disconnect", "reason": "refresh_requested"}))

    async def close_all(self) -> None:
        for ws in list(self._sockets):
            await ws.close()
        for future in self._pending.values():
            future.cancel()

    async def _handle_ws(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._sockets.append(ws)
        self.connections += 1
        await ws.send_str(
            json.dumps(
                {
                    "type": "hello",
                    "num_connections": len(self._sockets),
                    "debug_info": {"host": "slack-stub", "approximate_connection_time": 3600},
                    "connection_info": {"app_id": self._web.app_id},
                }
            )
        )
        await self._web._notify()
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                try:
                    data = json.loads(msg.data)
                except json.JSONDecodeError:
                    continue
                self.received.append(data)
                future = self._pending.get(data.get("envelope_id", ""))
                if future is not None and not future.done():
                    future.set_result(data)
        finally:
            self._sockets.remove(ws)
            await self._web._notify()
        return ws


# --------------------------------------------------------------------------------------------
# Serving a bolt app over real HTTP
# --------------------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def serve_bolt_app(app: Any, path: str = "/slack/events") -> AsyncIterator[str]:
    """Serve a ``slack_bolt.async_app.AsyncApp`` with bolt's own aiohttp server
    (``app.web_app(path=...)``, i.e. ``AsyncSlackAppServer``) on 127.0.0.1:<random>.

    Yields the full events URL, e.g. ``http://127.0.0.1:54321/slack/events``.
    """
    runner = web.AppRunner(app.web_app(path=path), handle_signals=False)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        yield f"http://127.0.0.1:{_bound_port(runner)}{path}"
    finally:
        await runner.cleanup()


# --------------------------------------------------------------------------------------------
# Signing and request bodies (as Slack sends them to the app)
# --------------------------------------------------------------------------------------------


def sign(body: bytes | str, secret: str, timestamp: int | None = None) -> dict[str, str]:
    """Slack request-signing headers: ``v0=`` + hex HMAC-SHA256 of ``v0:{ts}:{body}``."""
    raw = body.encode() if isinstance(body, str) else body
    ts = int(time.time()) if timestamp is None else int(timestamp)
    base = f"v0:{ts}:".encode() + raw
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": str(ts), "X-Slack-Signature": f"v0={digest}"}


def signed_headers(
    body: bytes | str,
    secret: str,
    timestamp: int | None = None,
    content_type: str | None = None,
) -> dict[str, str]:
    """:func:`sign` plus the ``Content-Type`` Slack uses for that body (JSON if it looks
    like a JSON object, form-encoded otherwise)."""
    raw = body.encode() if isinstance(body, str) else body
    if content_type is None:
        content_type = JSON_CONTENT_TYPE if raw.lstrip().startswith(b"{") else FORM_CONTENT_TYPE
    return {"Content-Type": content_type, **sign(raw, secret, timestamp)}


def slash_command_payload(
    command: str = "/predict",
    text: str = "",
    user_id: str = "U0USER",
    user_name: str = "alice",
    team_id: str = "T0STUB",
    channel_id: str = "C0CHAN",
    trigger_id: str | None = None,
    response_url: str = "http://127.0.0.1:9/response/unset",
    *,
    team_domain: str = "stub-team",
    channel_name: str = "general",
    api_app_id: str = "A0STUB",
    verification_token: str = "verification-token",
) -> dict[str, str]:
    """Fields of a slash command (form fields over HTTP; the payload over Socket Mode)."""
    return {
        "token": verification_token,
        "team_id": team_id,
        "team_domain": team_domain,
        "channel_id": channel_id,
        "channel_name": channel_name,
        "user_id": user_id,
        "user_name": user_name,
        "command": command,
        "text": text,
        "api_app_id": api_app_id,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id or _trigger_id(),
    }


def slash_command_body(
    command: str = "/predict",
    text: str = "",
    user_id: str = "U0USER",
    user_name: str = "alice",
    team_id: str = "T0STUB",
    channel_id: str = "C0CHAN",
    trigger_id: str | None = None,
    response_url: str = "http://127.0.0.1:9/response/unset",
    **extra: Any,
) -> bytes:
    """``application/x-www-form-urlencoded`` body of a slash command request."""
    fields = slash_command_payload(
        command=command,
        text=text,
        user_id=user_id,
        user_name=user_name,
        team_id=team_id,
        channel_id=channel_id,
        trigger_id=trigger_id,
        response_url=response_url,
        **extra,
    )
    return urlencode(fields).encode()


def block_actions_body(payload: dict[str, Any]) -> bytes:
    """Interactivity body: form field ``payload=<json>``."""
    return urlencode({"payload": json.dumps(payload)}).encode()


def view_submission_body(payload: dict[str, Any]) -> bytes:
    """Interactivity body: form field ``payload=<json>``."""
    return urlencode({"payload": json.dumps(payload)}).encode()


def block_actions_payload(
    action_id: str,
    value: str | None = None,
    *,
    block_id: str = "actions",
    button_text: str = "Click",
    action_type: str = "button",
    action_extra: dict[str, Any] | None = None,
    user_id: str = "U0USER",
    user_name: str = "alice",
    team_id: str = "T0STUB",
    team_domain: str = "stub-team",
    channel_id: str = "C0CHAN",
    channel_name: str = "general",
    message_ts: str | None = "1700000000.000100",
    message_text: str = "",
    message_blocks: list[dict[str, Any]] | None = None,
    view: dict[str, Any] | None = None,
    trigger_id: str | None = None,
    response_url: str = "http://127.0.0.1:9/response/unset",
    api_app_id: str = "A0STUB",
) -> dict[str, Any]:
    """A ``block_actions`` payload for a click on a button.

    With ``view`` (e.g. the App Home view) the container is that view and there is no
    message/channel/response_url, as for clicks in a home tab or modal.
    """
    action_ts = f"{time.time():.6f}"
    action: dict[str, Any] = {
        "action_id": action_id,
        "block_id": block_id,
        "type": action_type,
        "action_ts": action_ts,
    }
    if action_type == "button":
        action["text"] = {"type": "plain_text", "text": button_text, "emoji": True}
    if value is not None:
        action["value"] = value
    action.update(action_extra or {})
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": user_id, "username": user_name, "name": user_name, "team_id": team_id},
        "api_app_id": api_app_id,
        "token": "verification-token",
        "trigger_id": trigger_id or _trigger_id(),
        "team": {"id": team_id, "domain": team_domain},
        "enterprise": None,
        "is_enterprise_install": False,
        "actions": [action],
    }
    if view is not None:
        payload["container"] = {"type": "view", "view_id": view.get("id", "V0VIEW")}
        payload["view"] = view
        payload["state"] = view.get("state", {"values": {}})
    else:
        payload["container"] = {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel_id,
            "is_ephemeral": False,
        }
        payload["channel"] = {"id": channel_id, "name": channel_name}
        payload["message"] = {
            "type": "message",
            "user": "U0BOT",
            "bot_id": "B0BOT",
            "ts": message_ts,
            "text": message_text,
            "blocks": message_blocks or [],
        }
        payload["state"] = {"values": {}}
        payload["response_url"] = response_url
    return payload


def view_submission_payload(
    callback_id: str,
    values: dict[str, dict[str, dict[str, Any]]],
    *,
    private_metadata: str = "",
    view_id: str = "V0VIEW",
    user_id: str = "U0USER",
    user_name: str = "alice",
    team_id: str = "T0STUB",
    team_domain: str = "stub-team",
    trigger_id: str | None = None,
    response_urls: list[dict[str, Any]] | None = None,
    blocks: list[dict[str, Any]] | None = None,
    api_app_id: str = "A0STUB",
) -> dict[str, Any]:
    """A ``view_submission`` payload. ``values`` is ``state.values``:
    ``{block_id: {action_id: plain_text_value("x") | date_value(...) | ...}}``."""
    return {
        "type": "view_submission",
        "team": {"id": team_id, "domain": team_domain},
        "user": {"id": user_id, "username": user_name, "name": user_name, "team_id": team_id},
        "api_app_id": api_app_id,
        "token": "verification-token",
        "trigger_id": trigger_id or _trigger_id(),
        "view": {
            "id": view_id,
            "team_id": team_id,
            "type": "modal",
            "blocks": blocks or [],
            "private_metadata": private_metadata,
            "callback_id": callback_id,
            "state": {"values": values},
            "hash": "1700000000.abcdef",
            "title": {"type": "plain_text", "text": "Modal"},
            "clear_on_close": False,
            "notify_on_close": False,
            "close": None,
            "submit": {"type": "plain_text", "text": "Submit"},
            "previous_view_id": None,
            "root_view_id": view_id,
            "app_id": api_app_id,
            "external_id": "",
            "app_installed_team_id": team_id,
            "bot_id": "B0BOT",
        },
        "response_urls": response_urls or [],
        "is_enterprise_install": False,
        "enterprise": None,
    }


def plain_text_value(value: str | None) -> dict[str, Any]:
    return {"type": "plain_text_input", "value": value}


def date_value(selected_date: str | None) -> dict[str, Any]:
    """``selected_date`` is ``YYYY-MM-DD``."""
    return {"type": "datepicker", "selected_date": selected_date}


def time_value(selected_time: str | None, timezone: str | None = None) -> dict[str, Any]:
    """``selected_time`` is ``HH:mm``."""
    out: dict[str, Any] = {"type": "timepicker", "selected_time": selected_time}
    if timezone is not None:
        out["timezone"] = timezone
    return out


def option_value(
    value: str | None, text: str | None = None, type: str = "static_select"
) -> dict[str, Any]:
    selected = (
        None
        if value is None
        else {"text": {"type": "plain_text", "text": text or value, "emoji": True}, "value": value}
    )
    return {"type": type, "selected_option": selected}


def event_callback_body(
    event: dict[str, Any],
    *,
    team_id: str = "T0STUB",
    api_app_id: str = "A0STUB",
    event_id: str | None = None,
    event_time: int | None = None,
) -> bytes:
    """JSON body of an Events API ``event_callback``."""
    return json.dumps(
        {
            "token": "verification-token",
            "team_id": team_id,
            "api_app_id": api_app_id,
            "event": event,
            "type": "event_callback",
            "event_id": event_id or f"Ev{uuid.uuid4().hex[:10].upper()}",
            "event_time": event_time or int(time.time()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": team_id,
                    "user_id": "U0BOT",
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
        }
    ).encode()


def app_home_opened_body(
    user_id: str = "U0USER",
    *,
    team_id: str = "T0STUB",
    tab: str = "home",
    channel: str = "D0HOME",
    view: dict[str, Any] | None = None,
    event_id: str | None = None,
) -> bytes:
    event: dict[str, Any] = {
        "type": "app_home_opened",
        "user": user_id,
        "channel": channel,
        "tab": tab,
        "event_ts": f"{time.time():.6f}",
    }
    if view is not None:
        event["view"] = view
    return event_callback_body(event, team_id=team_id, event_id=event_id)


def url_verification_body(challenge: str = "challenge-token") -> bytes:
    return json.dumps(
        {"token": "verification-token", "challenge": challenge, "type": "url_verification"}
    ).encode()


# --------------------------------------------------------------------------------------------
# internals
# --------------------------------------------------------------------------------------------


def _trigger_id() -> str:
    return f"{int(time.time())}.{uuid.uuid4().int % 10**12}.{uuid.uuid4().hex}"


def _truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() in ("true", "1"))


def _bound_port(runner: web.AppRunner) -> int:
    address = runner.addresses[0]
    return int(address[1])


def _bearer(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return None


async def _read_params(request: web.Request) -> dict[str, Any]:
    params: dict[str, Any] = dict(request.query)
    if request.can_read_body:
        if request.content_type == "application/json":
            body = await request.json()
            if isinstance(body, dict):
                params.update(body)
        elif request.content_type in (FORM_CONTENT_TYPE, "multipart/form-data"):
            form = await request.post()
            params.update({k: v for k, v in form.items() if isinstance(v, str)})
    for key in _JSON_FIELDS & params.keys():
        value = params[key]
        if isinstance(value, str) and value[:1] in ("[", "{"):
            with contextlib.suppress(json.JSONDecodeError):
                params[key] = json.loads(value)
    return params
