"""A local stand-in for Discord (REST + gateway websocket) for end-to-end tests.

It speaks just enough of the Discord API v10 for a discord.py 2.x ``Client`` with an
``app_commands.CommandTree`` (slash commands, autocomplete, buttons, modals, followups)
to log in, connect, sync commands, receive interactions and answer them.  Nothing ever
reaches the real Discord: point discord.py at the stub with :meth:`DiscordStub.patch_discord`.

Typical use::

    stub = DiscordStub()
    guild = stub.add_default_guild()
    await stub.start()
    with stub.patch_discord():
        client = MyClient(intents=discord.Intents.default(), guild_ready_timeout=0.05)
        await client.login("token")
        task = asyncio.create_task(client.connect())
        await client.wait_until_ready()
        await tree.sync(guild=discord.Object(GUILD_ID))
        rec = await stub.send_interaction(stub.slash_command("predict create", {"q": "x"}))
        response = await rec.wait_response(timeout=3)
        assert rec.response_delay < 3
        await client.close()
        await task
    await stub.stop()
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import re
import secrets
import time
import zlib
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import BodyPartReader, WSMsgType, web

from tests.fakes import specs

log = logging.getLogger("discord_stub")

JSON = dict[str, Any]

DISCORD_EPOCH_MS = 1420070400000

APP_ID = 1000
BOT_ID = 1001
BOT_NAME = "predictbot"

# Ids used by :meth:`DiscordStub.add_default_guild`.
GUILD_ID = 2000
CHANNEL_ID = 2001
OTHER_CHANNEL_ID = 2002
MANAGER_ROLE_ID = 2100
MANAGER_USER_ID = 3001
MEMBER_USER_ID = 3002

# Permission bits.
CREATE_INSTANT_INVITE = 1 << 0
ADMINISTRATOR = 1 << 3
MANAGE_CHANNELS = 1 << 4
MANAGE_GUILD = 1 << 5
ADD_REACTIONS = 1 << 6
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
MANAGE_MESSAGES = 1 << 13
EMBED_LINKS = 1 << 14
ATTACH_FILES = 1 << 15
READ_MESSAGE_HISTORY = 1 << 16
USE_EXTERNAL_EMOJIS = 1 << 18
CHANGE_NICKNAME = 1 << 26
USE_APPLICATION_COMMANDS = 1 << 31
SEND_MESSAGES_IN_THREADS = 1 << 38
ALL_PERMISSIONS = (1 << 51) - 1
DEFAULT_EVERYONE_PERMISSIONS = (
    CREATE_INSTANT_INVITE
    | ADD_REACTIONS
    | VIEW_CHANNEL
    | SEND_MESSAGES
    | EMBED_LINKS
    | ATTACH_FILES
    | READ_MESSAGE_HISTORY
    | USE_EXTERNAL_EMOJIS
    | CHANGE_NICKNAME
    | USE_APPLICATION_COMMANDS
    | SEND_MESSAGES_IN_THREADS
)

# Interaction types / callback types.
APPLICATION_COMMAND = 2
MESSAGE_COMPONENT = 3
AUTOCOMPLETE = 4
MODAL_SUBMIT = 5

CHANNEL_MESSAGE = 4
DEFERRED_CHANNEL_MESSAGE = 5
DEFERRED_UPDATE_MESSAGE = 6
UPDATE_MESSAGE = 7
AUTOCOMPLETE_RESULT = 8
MODAL = 9

EPHEMERAL = 1 << 6
LOADING = 1 << 7

# Gateway opcodes.
OP_DISPATCH = 0
OP_HEARTBEAT = 1
OP_IDENTIFY = 2
OP_PRESENCE = 3
OP_VOICE_STATE = 4
OP_RESUME = 6
OP_RECONNECT = 7
OP_REQUEST_MEMBERS = 8
OP_INVALID_SESSION = 9
OP_HELLO = 10
OP_HEARTBEAT_ACK = 11

ZLIB_SUFFIX = b"\x00\x00\xff\xff"


def _now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


def _dumps(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"))


def json_response(
    data: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    """A JSON response whose Content-Type is exactly ``application/json``.

    discord.py's ``json_or_text`` compares the header for equality, so the
    ``; charset=utf-8`` that ``web.json_response`` appends would make it return text.
    """
    hdrs = {"Content-Type": "application/json"}
    if headers:
        hdrs.update(headers)
    return web.Response(body=_dumps(data).encode(), status=status, headers=hdrs)


def error_response(status: int, message: str, code: int = 0) -> web.Response:
    return json_response({"message": message, "code": code}, status=status)


# --------------------------------------------------------------------------- payload makers


def make_user(
    user_id: int, username: str, *, bot: bool = False, global_name: str | None = None
) -> JSON:
    return {
        "id": str(user_id),
        "username": username,
        "global_name": global_name or username,
        "discriminator": "0",
        "avatar": None,
        "bot": bot,
        "public_flags": 0,
        "flags": 0,
    }


def make_role(
    role_id: int, name: str, permissions: int = 0, *, position: int = 1, managed: bool = False
) -> JSON:
    return {
        "id": str(role_id),
        "name": name,
        "permissions": str(permissions),
        "position": position,
        "color": 0,
        "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
        "hoist": False,
        "managed": managed,
        "mentionable": False,
        "icon": None,
        "unicode_emoji": None,
        "flags": 0,
    }


def make_member(
    user_id: int,
    username: str,
    *,
    roles: Sequence[int] = (),
    nick: str | None = None,
    bot: bool = False,
) -> JSON:
    return {
        "user": make_user(user_id, username, bot=bot),
        "nick": nick,
        "avatar": None,
        "roles": [str(r) for r in roles],
        "joined_at": "2024-01-01T00:00:00+00:00",
        "premium_since": None,
        "deaf": False,
        "mute": False,
        "pending": False,
        "flags": 0,
        "communication_disabled_until": None,
    }


def make_text_channel(channel_id: int, name: str, *, position: int = 0) -> JSON:
    return {
        "id": str(channel_id),
        "type": 0,
        "name": name,
        "position": position,
        "permission_overwrites": [],
        "topic": None,
        "nsfw": False,
        "parent_id": None,
        "rate_limit_per_user": 0,
        "last_message_id": None,
        "flags": 0,
    }


@dataclass
class StubGuild:
    id: int
    name: str
    owner_id: int
    roles: list[JSON]
    channels: list[JSON]
    members: list[JSON]

    def role(self, role_id: int) -> JSON | None:
        return next((r for r in self.roles if int(r["id"]) == role_id), None)

    def member(self, user_id: int) -> JSON:
        for m in self.members:
            if int(m["user"]["id"]) == user_id:
                return m
        raise KeyError(f"no member {user_id} in guild {self.id}")

    def channel(self, channel_id: int) -> JSON | None:
        return next((c for c in self.channels if int(c["id"]) == channel_id), None)

    def permissions_of(self, user_id: int) -> int:
        if user_id == self.owner_id:
            return ALL_PERMISSIONS
        member = self.member(user_id)
        everyone = self.role(self.id)
        perms = int(everyone["permissions"]) if everyone else 0
        for rid in member["roles"]:
            role = self.role(int(rid))
            if role is not None:
                perms |= int(role["permissions"])
        if perms & ADMINISTRATOR:
            return ALL_PERMISSIONS
        return perms

    def to_payload(self) -> JSON:
        return {
            "id": str(self.id),
            "name": self.name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "owner_id": str(self.owner_id),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "nsfw_level": 0,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "premium_progress_bar_enabled": False,
            "preferred_locale": "en-US",
            "system_channel_id": None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "safety_alerts_channel_id": None,
            "vanity_url_code": None,
            "features": [],
            "roles": self.roles,
            "emojis": [],
            "stickers": [],
            "channels": [{**c, "guild_id": str(self.id)} for c in self.channels],
            "threads": [],
            "members": self.members,
            "member_count": len(self.members),
            "large": False,
            "unavailable": False,
            "joined_at": "2024-01-01T00:00:00+00:00",
            "voice_states": [],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
            "application_id": None,
            "max_members": 500000,
            "max_video_channel_users": 25,
        }


# --------------------------------------------------------------------------- records


@dataclass
class RequestRecord:
    method: str
    path: str
    query: dict[str, str]
    json: Any
    time: float
    status: int = 0
    forced: bool = False


@dataclass
class EditRecord:
    channel_id: int
    message_id: int
    payload: JSON
    before: JSON
    after: JSON
    time: float
    via: str  # "rest", "webhook" or "callback"


@dataclass
class _Failure:
    method: str
    pattern: re.Pattern[str]
    status: int
    times: int
    retry_after: float | None
    body: Any


class _Notifier:
    """Wakes waiters whenever the stub's recorded state changes."""

    def __init__(self) -> None:
        self._event: asyncio.Event | None = None

    def notify(self) -> None:
        if self._event is not None:
            self._event.set()
            self._event = None

    async def wait_for(self, predicate: Callable[[], Any], timeout: float, what: str) -> Any:  # noqa: ASYNC109
        deadline = time.monotonic() + timeout
        while True:
            result = predicate()
            if result:
                return result
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
            if self._event is None:
                self._event = asyncio.Event()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._event.wait(), remaining)


@dataclass
class InteractionRecord:
    """One interaction sent to the bot and everything the bot did in answer to it."""

    payload: JSON
    _notifier: _Notifier = field(repr=False)
    dispatched_at: float = 0.0
    responded_at: float | None = None
    response: JSON | None = None  # the callback body: {"type": ..., "data": ...}
    callback_status: int | None = None
    original_message_id: int | None = None
    followups: list[JSON] = field(default_factory=list)  # message dicts created via the webhook
    edits: list[JSON] = field(default_factory=list)  # PATCH payloads sent via the webhook
    deleted: list[int] = field(default_factory=list)
    late_callbacks: int = 0

    @property
    def id(self) -> int:
        return int(self.payload["id"])

    @property
    def token(self) -> str:
        return str(self.payload["token"])

    @property
    def type(self) -> int:
        return int(self.payload["type"])

    @property
    def channel_id(self) -> int:
        return int(self.payload["channel_id"])

    @property
    def response_type(self) -> int | None:
        return None if self.response is None else int(self.response["type"])

    @property
    def response_data(self) -> JSON:
        if self.response is None:
            return {}
        return self.response.get("data") or {}

    @property
    def ephemeral(self) -> bool:
        return bool(int(self.response_data.get("flags") or 0) & EPHEMERAL)

    @property
    def response_delay(self) -> float | None:
        """Seconds between dispatching the interaction and the callback arriving."""
        if self.responded_at is None:
            return None
        return self.responded_at - self.dispatched_at

    @property
    def choices(self) -> list[JSON]:
        """Autocomplete choices (callback type 8)."""
        return list(self.response_data.get("choices") or [])

    @property
    def modal(self) -> JSON:
        """The modal definition (callback type 9)."""
        return self.response_data if self.response_type == MODAL else {}

    async def wait_response(self, timeout: float = 3.0) -> JSON:  # noqa: ASYNC109
        await self._notifier.wait_for(
            lambda: self.response is not None,
            timeout,
            f"interaction {self.id} callback",
        )
        assert self.response is not None
        return self.response

    async def wait_followups(self, count: int = 1, timeout: float = 3.0) -> list[JSON]:  # noqa: ASYNC109
        await self._notifier.wait_for(
            lambda: len(self.followups) >= count,
            timeout,
            f"{count} followup(s) for interaction {self.id}",
        )
        return self.followups

    async def wait_edits(self, count: int = 1, timeout: float = 3.0) -> list[JSON]:  # noqa: ASYNC109
        await self._notifier.wait_for(
            lambda: len(self.edits) >= count,
            timeout,
            f"{count} webhook edit(s) for interaction {self.id}",
        )
        return self.edits


class _Connection:
    def __init__(self, ws: web.WebSocketResponse, compress: bool) -> None:
        self.ws = ws
        self.compressor = zlib.compressobj() if compress else None
        self.session: _Session | None = None
        self.lock = asyncio.Lock()
        self.identify: JSON | None = None

    async def send(self, payload: JSON) -> None:
        text = _dumps(payload)
        async with self.lock:
            if self.ws.closed:
                return
            if self.compressor is not None:
                data = self.compressor.compress(text.encode()) + self.compressor.flush(
                    zlib.Z_SYNC_FLUSH
                )
                await self.ws.send_bytes(data)
            else:
                await self.ws.send_str(text)


@dataclass
class _Session:
    id: str
    seq: int = 0
    events: list[JSON] = field(default_factory=list)


Handler = Callable[..., Awaitable[web.StreamResponse]]


# --------------------------------------------------------------------------- the stub


class DiscordStub:
    def __init__(
        self,
        *,
        token: str | None = None,
        heartbeat_interval_ms: int = 41250,
        interaction_timeout: float | None = 3.0,
        echo_message_events: bool = False,
        app_id: int = APP_ID,
        bot_id: int = BOT_ID,
        bot_name: str = BOT_NAME,
    ) -> None:
        self.token = token
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.interaction_timeout = interaction_timeout
        self.echo_message_events = echo_message_events
        self.app_id = app_id
        self.bot_id = bot_id
        self.bot_user = make_user(bot_id, bot_name, bot=True)

        self.guilds: dict[int, StubGuild] = {}
        self.dm_channels: dict[int, JSON] = {}

        # recordings
        self.requests: list[RequestRecord] = []
        self.unhandled: list[tuple[str, str]] = []
        self.errors: list[str] = []
        # Bodies the real Discord would refuse (see tests/fakes/specs.py), answered with 50035.
        self.violations: list[specs.Violation] = []
        self.commands: dict[int | None, list[JSON]] = {}
        self.command_syncs: list[tuple[int | None, list[JSON]]] = []
        self.messages: dict[int, list[JSON]] = {}
        self.message_history: dict[int, list[JSON]] = {}
        self.edits: list[EditRecord] = []
        self.deleted_messages: list[JSON] = []
        self.callbacks: list[tuple[InteractionRecord, JSON]] = []
        self.followups: list[tuple[InteractionRecord, JSON]] = []
        self.interactions: list[InteractionRecord] = []
        self.gateway_received: list[JSON] = []
        self.gateway_queries: list[dict[str, str]] = []
        self.identify_count = 0
        self.resume_count = 0

        self._interactions_by_token: dict[str, InteractionRecord] = {}
        self._interactions_by_id: dict[int, InteractionRecord] = {}
        self._modals: dict[str, JSON] = {}
        self._command_ids: dict[tuple[int | None, str, int], int] = {}
        self._failures: list[_Failure] = []
        self._connections: list[_Connection] = []
        self._sessions: dict[str, _Session] = {}
        self._notifier = _Notifier()
        self._counter = 0
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self._setup_routes()

        self.app = web.Application()
        self.app.router.add_get("/gateway-ws", self._gateway_handler)
        self.app.router.add_route("*", "/api/v10/{tail:.*}", self._rest_handler)
        self.app.router.add_route("*", "/{tail:.*}", self._fallback_handler)

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = self._runner.addresses[0][1]
        log.info("discord stub listening on %s", self.base_url)

    async def stop(self) -> None:
        for conn in list(self._connections):
            with contextlib.suppress(Exception):
                await conn.ws.close(code=1001, message=b"stub shutting down")
        self._connections.clear()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> DiscordStub:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        if self._port is None:
            raise RuntimeError("stub not started")
        return f"http://127.0.0.1:{self._port}"

    @property
    def api_base(self) -> str:
        return f"{self.base_url}/api/v10"

    @property
    def gateway_url(self) -> str:
        if self._port is None:
            raise RuntimeError("stub not started")
        return f"ws://127.0.0.1:{self._port}/gateway-ws"

    @contextlib.contextmanager
    def patch_discord(self) -> Iterator[None]:
        """Point discord.py's REST base and gateway at this stub; restore on exit."""
        import discord.gateway
        import discord.http
        import yarl

        old_base = discord.http.Route.BASE
        old_gateway = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
        discord.http.Route.BASE = self.api_base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(self.gateway_url)
        try:
            yield
        finally:
            discord.http.Route.BASE = old_base
            discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = old_gateway

    # ------------------------------------------------------------------ ids & guilds

    def snowflake(self) -> int:
        self._counter += 1
        ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
        return (ms << 22) | (self._counter & 0x3FFFFF)

    def add_guild(
        self,
        guild_id: int,
        name: str,
        channels: Sequence[JSON | str] = ("general",),
        members: Sequence[JSON] = (),
        roles: Sequence[JSON] = (),
        *,
        owner_id: int | None = None,
        everyone_permissions: int = DEFAULT_EVERYONE_PERMISSIONS,
        bot_permissions: int = ADMINISTRATOR,
    ) -> StubGuild:
        role_list = [dict(r) for r in roles]
        if not any(int(r["id"]) == guild_id for r in role_list):
            role_list.insert(0, make_role(guild_id, "@everyone", everyone_permissions, position=0))
        bot_role_id = self.snowflake()
        role_list.append(make_role(bot_role_id, BOT_NAME, bot_permissions, managed=True))
        channel_list: list[JSON] = []
        for pos, ch in enumerate(channels):
            if isinstance(ch, str):
                channel_list.append(make_text_channel(self.snowflake(), ch, position=pos))
            else:
                channel_list.append(dict(ch))
        member_list = [dict(m) for m in members]
        member_list.append(
            make_member(self.bot_id, self.bot_user["username"], roles=[bot_role_id], bot=True)
        )
        if owner_id is None:
            owner_id = 1  # nobody in particular, so permissions come from roles
        guild = StubGuild(guild_id, name, owner_id, role_list, channel_list, member_list)
        self.guilds[guild_id] = guild
        return guild

    def add_default_guild(self) -> StubGuild:
        """Guild 2000 with #general (2001), #markets (2002), a 'Market Manager' role (Manage
        Server) held by user 3001 ("manager"), and a plain member 3002 ("alice")."""
        return self.add_guild(
            GUILD_ID,
            "Test Guild",
            channels=[
                make_text_channel(CHANNEL_ID, "general", position=0),
                make_text_channel(OTHER_CHANNEL_ID, "markets", position=1),
            ],
            roles=[make_role(MANAGER_ROLE_ID, "Market Manager", MANAGE_GUILD, position=2)],
            members=[
                make_member(MANAGER_USER_ID, "manager", roles=[MANAGER_ROLE_ID]),
                make_member(MEMBER_USER_ID, "alice"),
            ],
        )

    def add_member(self, guild_id: int, member: JSON) -> JSON:
        self.guilds[guild_id].members.insert(-1, member)
        return member

    def default_user_id(self, guild_id: int) -> int:
        """The user interactions come from when no ``user_id`` is given: the first non-bot
        member without Manage Server/Administrator (else the first non-bot member)."""
        guild = self.guilds[guild_id]
        humans = [int(m["user"]["id"]) for m in guild.members if not m["user"].get("bot")]
        if not humans:
            raise ValueError(f"guild {guild_id} has no human members")
        for uid in humans:
            if not guild.permissions_of(uid) & (MANAGE_GUILD | ADMINISTRATOR):
                return uid
        return humans[0]

    def _guild_of_channel(self, channel_id: int) -> StubGuild | None:
        for g in self.guilds.values():
            if g.channel(channel_id) is not None:
                return g
        return None

    def _channel_payload(self, channel_id: int) -> JSON | None:
        guild = self._guild_of_channel(channel_id)
        if guild is not None:
            ch = guild.channel(channel_id)
            assert ch is not None
            return {**ch, "guild_id": str(guild.id)}
        return self.dm_channels.get(channel_id)

    # ------------------------------------------------------------------ waiting helpers

    async def wait_until(self, predicate: Callable[[], Any], timeout: float = 3.0) -> Any:  # noqa: ASYNC109
        return await self._notifier.wait_for(predicate, timeout, "condition")

    async def wait_ready(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Wait until a client has identified and received READY + GUILD_CREATEs."""
        await self._notifier.wait_for(
            lambda: any(c.session is not None for c in self._connections),
            timeout,
            "a gateway client to become ready",
        )

    async def wait_for_message(
        self,
        channel_id: int | None = None,
        predicate: Callable[[JSON], bool] | None = None,
        timeout: float = 3.0,  # noqa: ASYNC109
    ) -> JSON:
        def find() -> JSON | None:
            for cid, msgs in self.messages.items():
                if channel_id is not None and cid != channel_id:
                    continue
                for m in msgs:
                    if predicate is None or predicate(m):
                        return m
            return None

        found: JSON = await self._notifier.wait_for(find, timeout, f"a message in {channel_id}")
        return found

    def all_messages(self) -> list[JSON]:
        return [m for msgs in self.messages.values() for m in msgs]

    def get_message(self, message_id: int) -> JSON | None:
        for msgs in self.messages.values():
            for m in msgs:
                if int(m["id"]) == message_id:
                    return m
        return None

    def take_violations(self) -> list[specs.Violation]:
        """Return and forget the recorded violations (for tests that send bad bodies)."""
        return specs.take(self.violations)

    def assert_accepted(self) -> None:
        """Fail, naming each field and rule, if the bot sent a body Discord would refuse."""
        specs.assert_accepted(self.violations)

    def requests_to(self, method: str, path_regex: str) -> list[RequestRecord]:
        rx = re.compile(path_regex)
        return [r for r in self.requests if r.method == method and rx.search(r.path)]

    # ------------------------------------------------------------------ forced failures

    def fail_next(
        self,
        method: str,
        path_regex: str,
        status: int,
        times: int = 1,
        retry_after: float | None = None,
        body: Any = None,
    ) -> None:
        """Make the next ``times`` matching REST calls fail with ``status``.

        ``path_regex`` is searched in the path below ``/api/v10`` (e.g. ``/channels/1/messages``).
        For 429 the body and headers mimic Discord (``retry_after`` defaults to 0.05 s)."""
        self._failures.append(
            _Failure(method.upper(), re.compile(path_regex), status, times, retry_after, body)
        )

    def _take_failure(self, method: str, path: str) -> web.Response | None:
        for f in self._failures:
            if f.method == method and f.pattern.search(path) and f.times > 0:
                f.times -= 1
                if f.times == 0:
                    self._failures.remove(f)
                return self._failure_response(f)
        return None

    def _failure_response(self, f: _Failure) -> web.Response:
        if f.status == 429:
            retry_after = 0.05 if f.retry_after is None else f.retry_after
            body = f.body or {
                "message": "You are being rate limited.",
                "retry_after": retry_after,
                "global": False,
                "code": 0,
            }
            headers = {
                # discord.py treats a 429 without "Via" as a Cloudflare ban.
                "Via": "1.1 google",
                "Retry-After": str(max(1, int(retry_after + 0.999))),
                "X-RateLimit-Limit": "5",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": f"{time.time() + retry_after:.3f}",
                "X-RateLimit-Reset-After": f"{retry_after:.3f}",
                "X-RateLimit-Bucket": "stub-forced-bucket",
                "X-RateLimit-Scope": "user",
            }
            return json_response(body, status=429, headers=headers)
        body = f.body or {"message": f"{f.status}: forced failure", "code": 0}
        return json_response(body, status=f.status)

    # ------------------------------------------------------------------ HTTP plumbing

    async def _fallback_handler(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        self.unhandled.append((request.method, path))
        log.warning("discord stub: unhandled %s %s", request.method, path)
        self._notifier.notify()
        return error_response(404, "404: Not Found")

    async def _read_body(self, request: web.Request) -> tuple[Any, list[JSON]]:
        files: list[JSON] = []
        if not request.can_read_body:
            return None, files
        ctype = request.content_type
        if ctype == "multipart/form-data":
            payload: Any = None
            reader = await request.multipart()
            while True:
                part = await reader.next()
                if part is None:
                    break
                if not isinstance(part, BodyPartReader):
                    continue
                if part.name == "payload_json":
                    payload = json.loads(await part.text())
                else:
                    data = await part.read()
                    files.append(
                        {
                            "field": part.name,
                            "filename": part.filename or "file",
                            "size": len(data),
                            "content_type": part.headers.get("Content-Type"),
                        }
                    )
            return payload, files
        raw = await request.read()
        if not raw:
            return None, files
        try:
            return json.loads(raw), files
        except ValueError:
            return raw.decode(errors="replace"), files

    async def _rest_handler(self, request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["tail"]
        method = request.method
        body, files = await self._read_body(request)
        rec = RequestRecord(method, path, dict(request.query), body, time.monotonic())
        self.requests.append(rec)
        try:
            sent = {} if body is None and files else body  # files alone are a body too
            refused = specs.record(self.violations, specs.check_discord(method, path, sent))
            if refused:
                rec.status = 400
                return json_response(specs.discord_error_body(refused), status=400)
            forced = self._take_failure(method, path)
            if forced is not None:
                rec.forced = True
                rec.status = forced.status
                return forced
            needs_auth = not path.startswith(("/webhooks/", "/interactions/"))
            auth = request.headers.get("Authorization", "")
            if needs_auth and (
                not auth.startswith("Bot ")
                or (self.token is not None and auth != f"Bot {self.token}")
            ):
                resp: web.StreamResponse = error_response(401, "401: Unauthorized")
            else:
                resp = await self._route(method, path, request, body, files)
            rec.status = resp.status
            return resp
        except Exception as exc:  # a bug in the stub: make it loud but fast
            log.exception("discord stub: error handling %s %s", method, path)
            self.errors.append(f"{method} {path}: {exc!r}")
            rec.status = 400
            return error_response(400, f"stub error: {exc!r}")
        finally:
            self._notifier.notify()

    async def _route(
        self, method: str, path: str, request: web.Request, body: Any, files: list[JSON]
    ) -> web.StreamResponse:
        for m, rx, handler in self._routes:
            if m != method:
                continue
            mo = rx.fullmatch(path)
            if mo is None:
                continue
            return await handler(request, body, files, *mo.groups())
        self.unhandled.append((method, path))
        log.warning("discord stub: unhandled %s %s", method, path)
        return error_response(404, "404: Not Found")

    def _setup_routes(self) -> None:
        sf = r"(\d+)"
        mid = r"(\d+|@original)"
        tok = r"([^/]+)"
        table: list[tuple[str, str, Handler]] = [
            ("GET", r"/users/@me", self._h_get_me),
            ("GET", rf"/users/{sf}", self._h_get_user),
            ("POST", r"/users/@me/channels", self._h_create_dm),
            ("GET", r"/gateway", self._h_gateway),
            ("GET", r"/gateway/bot", self._h_gateway_bot),
            ("GET", r"/oauth2/applications/@me", self._h_app_info),
            ("GET", r"/applications/@me", self._h_app_info),
            ("GET", rf"/applications/{sf}/commands", self._h_get_commands),
            ("PUT", rf"/applications/{sf}/commands", self._h_put_commands),
            ("POST", rf"/applications/{sf}/commands", self._h_post_command),
            ("GET", rf"/applications/{sf}/guilds/{sf}/commands", self._h_get_commands),
            ("PUT", rf"/applications/{sf}/guilds/{sf}/commands", self._h_put_commands),
            ("POST", rf"/applications/{sf}/guilds/{sf}/commands", self._h_post_command),
            ("GET", rf"/applications/{sf}/guilds/{sf}/commands/permissions", self._h_empty_list),
            ("GET", rf"/channels/{sf}", self._h_get_channel),
            ("GET", rf"/channels/{sf}/messages", self._h_list_messages),
            ("POST", rf"/channels/{sf}/messages", self._h_create_message),
            ("GET", rf"/channels/{sf}/messages/{sf}", self._h_get_message),
            ("PATCH", rf"/channels/{sf}/messages/{sf}", self._h_edit_message),
            ("DELETE", rf"/channels/{sf}/messages/{sf}", self._h_delete_message),
            ("POST", rf"/channels/{sf}/typing", self._h_no_content),
            ("PUT", rf"/channels/{sf}/messages/{sf}/reactions/[^/]+/@me", self._h_no_content),
            ("DELETE", rf"/channels/{sf}/messages/{sf}/reactions/[^/]+/@me", self._h_no_content),
            ("GET", rf"/guilds/{sf}", self._h_get_guild),
            ("GET", rf"/guilds/{sf}/channels", self._h_guild_channels),
            ("GET", rf"/guilds/{sf}/roles", self._h_guild_roles),
            ("GET", rf"/guilds/{sf}/members/{sf}", self._h_guild_member),
            ("POST", rf"/interactions/{sf}/{tok}/callback", self._h_interaction_callback),
            ("POST", rf"/webhooks/{sf}/{tok}", self._h_webhook_execute),
            ("GET", rf"/webhooks/{sf}/{tok}/messages/{mid}", self._h_webhook_get_message),
            ("PATCH", rf"/webhooks/{sf}/{tok}/messages/{mid}", self._h_webhook_edit_message),
            ("DELETE", rf"/webhooks/{sf}/{tok}/messages/{mid}", self._h_webhook_delete_message),
        ]
        self._routes = [(m, re.compile(p), h) for m, p, h in table]

    # ------------------------------------------------------------------ simple REST handlers

    async def _h_no_content(self, *_: Any) -> web.Response:
        return web.Response(status=204)

    async def _h_empty_list(self, *_: Any) -> web.Response:
        return json_response([])

    async def _h_get_me(self, *_: Any) -> web.Response:
        return json_response(
            {**self.bot_user, "verified": True, "mfa_enabled": False, "locale": "en-US"}
        )

    async def _h_get_user(self, _r: web.Request, _b: Any, _f: Any, user_id: str) -> web.Response:
        uid = int(user_id)
        if uid == self.bot_id:
            return json_response(self.bot_user)
        for g in self.guilds.values():
            with contextlib.suppress(KeyError):
                return json_response(g.member(uid)["user"])
        return error_response(404, "Unknown User", 10013)

    async def _h_create_dm(self, _r: web.Request, body: Any, _f: Any) -> web.Response:
        recipient = int(body["recipient_id"])
        for ch in self.dm_channels.values():
            if int(ch["recipients"][0]["id"]) == recipient:
                return json_response(ch)
        user: JSON = make_user(recipient, f"user{recipient}")
        for g in self.guilds.values():
            with contextlib.suppress(KeyError):
                user = g.member(recipient)["user"]
        ch = {"id": str(self.snowflake()), "type": 1, "recipients": [user], "last_message_id": None}
        self.dm_channels[int(ch["id"])] = ch
        return json_response(ch)

    async def _h_gateway(self, *_: Any) -> web.Response:
        return json_response({"url": self.gateway_url})

    async def _h_gateway_bot(self, *_: Any) -> web.Response:
        return json_response(
            {
                "url": self.gateway_url,
                "shards": 1,
                "session_start_limit": {
                    "total": 1000,
                    "remaining": 999,
                    "reset_after": 14400000,
                    "max_concurrency": 1,
                },
            }
        )

    def app_info(self) -> JSON:
        return {
            "id": str(self.app_id),
            "name": BOT_NAME,
            "icon": None,
            "description": "",
            "rpc_origins": [],
            "bot_public": True,
            "bot_require_code_grant": False,
            "bot": self.bot_user,
            "owner": make_user(1, "owner"),
            "team": None,
            "verify_key": "0" * 64,
            "flags": 0,
            "tags": [],
            "redirect_uris": [],
            "interactions_endpoint_url": None,
            "approximate_guild_count": len(self.guilds),
            "integration_types_config": {"0": {}},
        }

    async def _h_app_info(self, *_: Any) -> web.Response:
        return json_response(self.app_info())

    # ------------------------------------------------------------------ commands

    def _command_id(self, scope: int | None, name: str, ctype: int) -> int:
        key = (scope, name, ctype)
        if key not in self._command_ids:
            self._command_ids[key] = self.snowflake()
        return self._command_ids[key]

    def _store_command(self, scope: int | None, cmd: JSON) -> JSON:
        ctype = int(cmd.get("type", 1))
        out = {
            "type": 1,
            "description": "",
            "options": [],
            "default_member_permissions": None,
            "nsfw": False,
            **cmd,
            "id": str(self._command_id(scope, cmd["name"], ctype)),
            "application_id": str(self.app_id),
            "version": str(self.snowflake()),
        }
        if scope is not None:
            out["guild_id"] = str(scope)
        return out

    async def _h_get_commands(
        self, _r: web.Request, _b: Any, _f: Any, app_id: str, guild_id: str | None = None
    ) -> web.Response:
        scope = int(guild_id) if guild_id else None
        return json_response(self.commands.get(scope, []))

    async def _h_put_commands(
        self, _r: web.Request, body: Any, _f: Any, app_id: str, guild_id: str | None = None
    ) -> web.Response:
        if int(app_id) != self.app_id:
            return error_response(403, "Missing Access", 50001)
        scope = int(guild_id) if guild_id else None
        self.command_syncs.append((scope, body))
        stored = [self._store_command(scope, c) for c in body]
        self.commands[scope] = stored
        return json_response(stored)

    async def _h_post_command(
        self, _r: web.Request, body: Any, _f: Any, app_id: str, guild_id: str | None = None
    ) -> web.Response:
        scope = int(guild_id) if guild_id else None
        stored = self._store_command(scope, body)
        cmds = [c for c in self.commands.get(scope, []) if c["name"] != body["name"]]
        cmds.append(stored)
        self.commands[scope] = cmds
        return json_response(stored, status=201)

    def command(self, name: str, guild_id: int | None = None) -> JSON | None:
        """A synced command payload by top-level name (guild scope first, then global)."""
        scopes: list[int | None] = [guild_id, None] if guild_id is not None else [None]
        for scope in scopes:
            for c in self.commands.get(scope, []):
                if c["name"] == name and int(c.get("type", 1)) == 1:
                    return c
        return None

    # ------------------------------------------------------------------ channels & messages

    async def _h_get_channel(self, _r: web.Request, _b: Any, _f: Any, cid: str) -> web.Response:
        ch = self._channel_payload(int(cid))
        if ch is None:
            return error_response(404, "Unknown Channel", 10003)
        return json_response(ch)

    def _normalise_embeds(self, embeds: Any) -> list[JSON]:
        return [{"type": "rich", **e} for e in (embeds or [])]

    def build_message(
        self,
        channel_id: int,
        payload: JSON,
        *,
        author: JSON | None = None,
        files: Sequence[JSON] = (),
        interaction: InteractionRecord | None = None,
        flags: int | None = None,
    ) -> JSON:
        """Build (not store) a full message object as Discord would return it."""
        guild = self._guild_of_channel(channel_id)
        msg: JSON = {
            "id": str(self.snowflake()),
            "type": 0,
            "channel_id": str(channel_id),
            "author": author or self.bot_user,
            "content": payload.get("content") or "",
            "embeds": self._normalise_embeds(payload.get("embeds")),
            "components": payload.get("components") or [],
            "attachments": [
                {
                    "id": str(self.snowflake()),
                    "filename": f["filename"],
                    "size": f["size"],
                    "url": f"{self.base_url}/attachments/{f['filename']}",
                    "proxy_url": f"{self.base_url}/attachments/{f['filename']}",
                    "content_type": f.get("content_type"),
                }
                for f in files
            ],
            "mentions": [],
            "mention_roles": [],
            "mention_everyone": False,
            "pinned": False,
            "tts": bool(payload.get("tts", False)),
            "timestamp": _now_iso(),
            "edited_timestamp": None,
            "flags": int(payload.get("flags") or 0) if flags is None else flags,
            "reactions": [],
            "sticker_items": [],
        }
        if guild is not None:
            msg["guild_id"] = str(guild.id)
        if payload.get("nonce") is not None:
            msg["nonce"] = payload["nonce"]
        if payload.get("message_reference"):
            msg["message_reference"] = payload["message_reference"]
            msg["type"] = 19
        if payload.get("poll"):
            msg["poll"] = payload["poll"]
        if interaction is not None:
            ip = interaction.payload
            user = (ip.get("member") or {}).get("user") or ip.get("user")
            msg["webhook_id"] = str(self.app_id)
            msg["application_id"] = str(self.app_id)
            msg["type"] = 20 if interaction.type == APPLICATION_COMMAND else 0
            msg["interaction_metadata"] = {
                "id": str(interaction.id),
                "type": interaction.type,
                "user": user,
                "authorizing_integration_owners": ip.get("authorizing_integration_owners", {}),
            }
        return msg

    def _store_message(self, msg: JSON) -> JSON:
        self.messages.setdefault(int(msg["channel_id"]), []).append(msg)
        self.message_history[int(msg["id"])] = []
        return msg

    def _apply_edit(self, msg: JSON, payload: JSON, files: Sequence[JSON], via: str) -> JSON:
        before = json.loads(_dumps(msg))
        self.message_history.setdefault(int(msg["id"]), []).append(before)
        if "content" in payload:
            msg["content"] = payload["content"] or ""
        if "embeds" in payload:
            msg["embeds"] = self._normalise_embeds(payload["embeds"])
        if "components" in payload:
            msg["components"] = payload["components"] or []
        if "flags" in payload and payload["flags"] is not None:
            msg["flags"] = (int(msg["flags"]) & EPHEMERAL) | int(payload["flags"])
        if "attachments" in payload:
            keep = {str(a.get("id")) for a in payload["attachments"] or []}
            msg["attachments"] = [a for a in msg["attachments"] if a["id"] in keep]
        for f in files:
            msg["attachments"].append(
                {
                    "id": str(self.snowflake()),
                    "filename": f["filename"],
                    "size": f["size"],
                    "url": f"{self.base_url}/attachments/{f['filename']}",
                    "proxy_url": f"{self.base_url}/attachments/{f['filename']}",
                }
            )
        msg["flags"] = int(msg["flags"]) & ~LOADING
        msg["edited_timestamp"] = _now_iso()
        self.edits.append(
            EditRecord(
                int(msg["channel_id"]),
                int(msg["id"]),
                payload,
                before,
                json.loads(_dumps(msg)),
                time.monotonic(),
                via,
            )
        )
        return msg

    async def _echo(self, event: str, data: JSON) -> None:
        if self.echo_message_events and any(c.session for c in self._connections):
            await self.dispatch(event, data)

    async def _h_list_messages(
        self, request: web.Request, _b: Any, _f: Any, cid: str
    ) -> web.Response:
        limit = int(request.query.get("limit", "50"))
        msgs = list(reversed(self.messages.get(int(cid), [])))[:limit]
        return json_response(msgs)

    async def _h_create_message(
        self, _r: web.Request, body: Any, files: list[JSON], cid: str
    ) -> web.Response:
        channel_id = int(cid)
        if self._channel_payload(channel_id) is None:
            return error_response(404, "Unknown Channel", 10003)
        body = body or {}
        if not (
            body.get("content")
            or body.get("embeds")
            or body.get("components")
            or body.get("poll")
            or files
        ):
            return error_response(400, "Cannot send an empty message", 50006)
        msg = self._store_message(self.build_message(channel_id, body, files=files))
        await self._echo("MESSAGE_CREATE", msg)
        return json_response(msg)

    async def _h_get_message(
        self, _r: web.Request, _b: Any, _f: Any, cid: str, mid: str
    ) -> web.Response:
        msg = self.get_message(int(mid))
        if msg is None or int(msg["channel_id"]) != int(cid):
            return error_response(404, "Unknown Message", 10008)
        return json_response(msg)

    async def _h_edit_message(
        self, _r: web.Request, body: Any, files: list[JSON], cid: str, mid: str
    ) -> web.Response:
        msg = self.get_message(int(mid))
        if msg is None or int(msg["channel_id"]) != int(cid):
            return error_response(404, "Unknown Message", 10008)
        if msg["author"]["id"] != str(self.bot_id) and set(body or {}) - {"flags"}:
            return error_response(403, "Cannot edit a message authored by another user", 50005)
        self._apply_edit(msg, body or {}, files, "rest")
        await self._echo("MESSAGE_UPDATE", msg)
        return json_response(msg)

    def _delete(self, msg: JSON) -> None:
        self.messages[int(msg["channel_id"])].remove(msg)
        self.deleted_messages.append(msg)

    async def _h_delete_message(
        self, _r: web.Request, _b: Any, _f: Any, cid: str, mid: str
    ) -> web.Response:
        msg = self.get_message(int(mid))
        if msg is None or int(msg["channel_id"]) != int(cid):
            return error_response(404, "Unknown Message", 10008)
        self._delete(msg)
        await self._echo(
            "MESSAGE_DELETE",
            {"id": msg["id"], "channel_id": msg["channel_id"], "guild_id": msg.get("guild_id")},
        )
        return web.Response(status=204)

    async def _h_get_guild(self, _r: web.Request, _b: Any, _f: Any, gid: str) -> web.Response:
        g = self.guilds.get(int(gid))
        if g is None:
            return error_response(404, "Unknown Guild", 10004)
        payload = g.to_payload()
        for k in ("channels", "members", "threads", "voice_states", "presences"):
            payload.pop(k, None)
        return json_response(payload)

    async def _h_guild_channels(self, _r: web.Request, _b: Any, _f: Any, gid: str) -> web.Response:
        g = self.guilds.get(int(gid))
        if g is None:
            return error_response(404, "Unknown Guild", 10004)
        return json_response([{**c, "guild_id": str(g.id)} for c in g.channels])

    async def _h_guild_roles(self, _r: web.Request, _b: Any, _f: Any, gid: str) -> web.Response:
        g = self.guilds.get(int(gid))
        if g is None:
            return error_response(404, "Unknown Guild", 10004)
        return json_response(g.roles)

    async def _h_guild_member(
        self, _r: web.Request, _b: Any, _f: Any, gid: str, uid: str
    ) -> web.Response:
        g = self.guilds.get(int(gid))
        if g is None:
            return error_response(404, "Unknown Guild", 10004)
        try:
            return json_response(g.member(int(uid)))
        except KeyError:
            return error_response(404, "Unknown Member", 10007)

    # ------------------------------------------------------------------ interactions

    async def _h_interaction_callback(
        self, _r: web.Request, body: Any, files: list[JSON], iid: str, token: str
    ) -> web.Response:
        rec = self._interactions_by_id.get(int(iid))
        if rec is None or rec.token != token:
            return error_response(404, "Unknown interaction", 10062)
        now = time.monotonic()
        if rec.response is not None:
            return error_response(400, "Interaction has already been acknowledged.", 40060)
        if (
            self.interaction_timeout is not None
            and now - rec.dispatched_at > self.interaction_timeout
        ):
            rec.late_callbacks += 1
            log.warning(
                "discord stub: interaction %s answered after %.2fs", rec.id, now - rec.dispatched_at
            )
            return error_response(404, "Unknown interaction", 10062)

        rtype = int(body["type"])
        data: JSON = body.get("data") or {}
        rec.response = body
        rec.responded_at = now
        rec.callback_status = 200
        self.callbacks.append((rec, body))

        resource: JSON = {"type": rtype}
        message: JSON | None = None
        ephemeral = bool(int(data.get("flags") or 0) & EPHEMERAL)
        if rtype == CHANNEL_MESSAGE:
            message = self._store_message(
                self.build_message(rec.channel_id, data, files=files, interaction=rec)
            )
            rec.original_message_id = int(message["id"])
            await self._echo("MESSAGE_CREATE", message)
        elif rtype == DEFERRED_CHANNEL_MESSAGE:
            flags = (EPHEMERAL if ephemeral else 0) | LOADING
            message = self._store_message(
                self.build_message(rec.channel_id, {}, interaction=rec, flags=flags)
            )
            rec.original_message_id = int(message["id"])
        elif rtype in (DEFERRED_UPDATE_MESSAGE, UPDATE_MESSAGE):
            target = rec.payload.get("message")
            if target is None:
                rec.response = None
                rec.responded_at = None
                return error_response(400, "Interaction has no message to update", 50035)
            rec.original_message_id = int(target["id"])
            stored = self.get_message(rec.original_message_id)
            if rtype == UPDATE_MESSAGE:
                if stored is not None:
                    message = self._apply_edit(stored, data, files, "callback")
                    await self._echo("MESSAGE_UPDATE", message)
                else:
                    message = {**target, **data}
            ephemeral = bool(int(target.get("flags") or 0) & EPHEMERAL)
        elif rtype == MODAL:
            self._modals[str(data.get("custom_id"))] = data

        interaction: JSON = {
            "id": str(rec.id),
            "type": rec.type,
            "activity_instance_id": None,
            "response_message_loading": rtype == DEFERRED_CHANNEL_MESSAGE,
            "response_message_ephemeral": ephemeral,
        }
        if rec.original_message_id is not None and rtype in (4, 5, 7):
            interaction["response_message_id"] = str(rec.original_message_id)
        if message is not None:
            resource["message"] = message
        return json_response({"interaction": interaction, "resource": resource})

    def _webhook_record(self, app_id: str, token: str) -> InteractionRecord | None:
        if int(app_id) != self.app_id:
            return None
        return self._interactions_by_token.get(token)

    async def _h_webhook_execute(
        self, request: web.Request, body: Any, files: list[JSON], app_id: str, token: str
    ) -> web.Response:
        rec = self._webhook_record(app_id, token)
        if rec is None or rec.response is None:
            return error_response(404, "Unknown Webhook", 10015)
        body = body or {}
        msg = self._store_message(
            self.build_message(rec.channel_id, body, files=files, interaction=rec)
        )
        rec.followups.append(msg)
        self.followups.append((rec, msg))
        await self._echo("MESSAGE_CREATE", msg)
        if request.query.get("wait") in ("1", "true", "True"):
            return json_response(msg)
        return web.Response(status=204)

    def _webhook_target(self, rec: InteractionRecord, mid: str) -> JSON | None:
        if mid == "@original":
            if rec.original_message_id is None:
                return None
            return self.get_message(rec.original_message_id)
        msg = self.get_message(int(mid))
        if msg is None:
            return None
        ours = {rec.original_message_id} | {int(m["id"]) for m in rec.followups}
        return msg if int(msg["id"]) in ours else None

    async def _h_webhook_get_message(
        self, _r: web.Request, _b: Any, _f: Any, app_id: str, token: str, mid: str
    ) -> web.Response:
        rec = self._webhook_record(app_id, token)
        if rec is None:
            return error_response(404, "Unknown Webhook", 10015)
        msg = self._webhook_target(rec, mid)
        if msg is None:
            return error_response(404, "Unknown Message", 10008)
        return json_response(msg)

    async def _h_webhook_edit_message(
        self, _r: web.Request, body: Any, files: list[JSON], app_id: str, token: str, mid: str
    ) -> web.Response:
        rec = self._webhook_record(app_id, token)
        if rec is None:
            return error_response(404, "Unknown Webhook", 10015)
        msg = self._webhook_target(rec, mid)
        if msg is None:
            return error_response(404, "Unknown Message", 10008)
        rec.edits.append(body or {})
        self._apply_edit(msg, body or {}, files, "webhook")
        await self._echo("MESSAGE_UPDATE", msg)
        return json_response(msg)

    async def _h_webhook_delete_message(
        self, _r: web.Request, _b: Any, _f: Any, app_id: str, token: str, mid: str
    ) -> web.Response:
        rec = self._webhook_record(app_id, token)
        if rec is None:
            return error_response(404, "Unknown Webhook", 10015)
        msg = self._webhook_target(rec, mid)
        if msg is None:
            return error_response(404, "Unknown Message", 10008)
        rec.deleted.append(int(msg["id"]))
        self._delete(msg)
        return web.Response(status=204)

    # ------------------------------------------------------------------ interaction builders

    def _interaction_base(
        self,
        itype: int,
        data: JSON,
        *,
        guild_id: int | None,
        channel_id: int | None,
        user_id: int | None,
        locale: str,
    ) -> JSON:
        if guild_id is None:
            if len(self.guilds) != 1:
                raise ValueError("guild_id is required when the stub has several guilds")
            guild_id = next(iter(self.guilds))
        guild = self.guilds[guild_id]
        if channel_id is None:
            channel_id = int(guild.channels[0]["id"])
        if user_id is None:
            user_id = self.default_user_id(guild.id)
        member = json.loads(_dumps(guild.member(user_id)))
        member["permissions"] = str(guild.permissions_of(user_id))
        channel = self._channel_payload(channel_id)
        if channel is None:
            raise ValueError(f"unknown channel {channel_id}")
        iid = self.snowflake()
        return {
            "id": str(iid),
            "application_id": str(self.app_id),
            "type": itype,
            "data": data,
            "guild_id": str(guild_id),
            "guild": {"id": str(guild_id), "locale": "en-US", "features": []},
            "guild_locale": "en-US",
            "channel_id": str(channel_id),
            "channel": channel,
            "member": member,
            "token": f"itok-{iid}-{secrets.token_hex(8)}",
            "version": 1,
            "app_permissions": str(guild.permissions_of(self.bot_id)),
            "locale": locale,
            "entitlements": [],
            "entitlement_sku_ids": [],
            "authorizing_integration_owners": {"0": str(guild_id)},
            "context": 0,
            "attachment_size_limit": 10 * 1024 * 1024,
        }

    @staticmethod
    def _infer_type(value: Any) -> int:
        if isinstance(value, bool):
            return 5
        if isinstance(value, int):
            return 4
        if isinstance(value, float):
            return 10
        return 3

    def _command_options(
        self,
        path: str,
        options: Mapping[str, Any],
        guild_id: int | None,
        focused: str | None,
    ) -> tuple[JSON, JSON]:
        """Build interaction ``data`` for ``"top [group] sub"`` with ``options``."""
        names = path.split()
        command = self.command(names[0], guild_id)
        data: JSON = {"name": names[0], "type": 1}
        if command is not None:
            data["id"] = command["id"]
            if command.get("guild_id"):
                data["guild_id"] = command["guild_id"]
        else:
            data["id"] = str(self._command_id(guild_id, names[0], 1))
        schema: list[JSON] | None = command.get("options", []) if command else None
        container = data
        for name in names[1:]:
            sub_schema = next((o for o in schema or [] if o["name"] == name), None)
            kind = int(sub_schema["type"]) if sub_schema else (1 if name == names[-1] else 2)
            sub: JSON = {"name": name, "type": kind, "options": []}
            container.setdefault("options", []).append(sub)
            container = sub
            schema = sub_schema.get("options", []) if sub_schema else None
        resolved: JSON = {}
        opts: list[JSON] = []
        for name, value in options.items():
            opt_schema = next((o for o in schema or [] if o["name"] == name), None)
            otype = int(opt_schema["type"]) if opt_schema else self._infer_type(value)
            opt: JSON = {"name": name, "type": otype, "value": value}
            if otype in (6, 7, 8, 9):  # user, channel, role, mentionable
                opt["value"] = str(value)
                self._resolve(otype, int(value), guild_id, resolved)
            if name == focused:
                opt["focused"] = True
                opt["value"] = str(value) if otype == 3 else value
            opts.append(opt)
        container["options"] = opts
        if resolved:
            data["resolved"] = resolved
        return data, resolved

    def _resolve(self, otype: int, value: int, guild_id: int | None, resolved: JSON) -> None:
        guild = self.guilds.get(guild_id) if guild_id is not None else None
        if guild is None:
            return
        if otype in (6, 9):
            with contextlib.suppress(KeyError):
                member = json.loads(_dumps(guild.member(value)))
                user = member.pop("user")
                member["permissions"] = str(guild.permissions_of(value))
                resolved.setdefault("users", {})[str(value)] = user
                resolved.setdefault("members", {})[str(value)] = member
                return
        if otype in (8, 9) and (role := guild.role(value)) is not None:
            resolved.setdefault("roles", {})[str(value)] = role
        if otype == 7 and (ch := guild.channel(value)) is not None:
            resolved.setdefault("channels", {})[str(value)] = {
                "id": ch["id"],
                "name": ch["name"],
                "type": ch["type"],
                "permissions": str(ALL_PERMISSIONS),
            }

    def slash_command(
        self,
        path: str,
        options: Mapping[str, Any] | None = None,
        *,
        guild_id: int | None = None,
        channel_id: int | None = None,
        user_id: int | None = None,
        locale: str = "en-US",
    ) -> JSON:
        """INTERACTION_CREATE payload for ``/path`` (e.g. ``"predict create"``).

        Option types come from the synced command schema when available, else from the
        Python type of each value.  ``user_id`` defaults to :meth:`default_user_id`."""
        gid = guild_id if guild_id is not None else next(iter(self.guilds), None)
        data, _ = self._command_options(path, options or {}, gid, None)
        return self._interaction_base(
            APPLICATION_COMMAND,
            data,
            guild_id=guild_id,
            channel_id=channel_id,
            user_id=user_id,
            locale=locale,
        )

    def autocomplete(
        self,
        path: str,
        options: Mapping[str, Any],
        focused: str,
        *,
        guild_id: int | None = None,
        channel_id: int | None = None,
        user_id: int | None = None,
        locale: str = "en-US",
    ) -> JSON:
        """INTERACTION_CREATE (type 4) with ``focused`` marked as the option being typed."""
        if focused not in options:
            raise ValueError("the focused option must be in options")
        gid = guild_id if guild_id is not None else next(iter(self.guilds), None)
        data, _ = self._command_options(path, options, gid, focused)
        return self._interaction_base(
            AUTOCOMPLETE,
            data,
            guild_id=guild_id,
            channel_id=channel_id,
            user_id=user_id,
            locale=locale,
        )

    def component_click(
        self,
        message: JSON | int,
        custom_id: str,
        *,
        component_type: int = 2,
        values: Sequence[str] | None = None,
        user_id: int | None = None,
        locale: str = "en-US",
    ) -> JSON:
        """INTERACTION_CREATE (type 3) for clicking a button (or choosing select ``values``)
        on ``message`` (a stored message dict or its id)."""
        msg = self.get_message(message) if isinstance(message, int) else message
        if msg is None:
            raise ValueError(f"unknown message {message}")
        data: JSON = {"custom_id": custom_id, "component_type": component_type}
        if values is not None:
            data["values"] = list(values)
        channel_id = int(msg["channel_id"])
        guild = self._guild_of_channel(channel_id)
        return {
            **self._interaction_base(
                MESSAGE_COMPONENT,
                data,
                guild_id=guild.id if guild else None,
                channel_id=channel_id,
                user_id=user_id,
                locale=locale,
            ),
            "message": json.loads(_dumps(msg)),
        }

    button_click = component_click

    def modal_submit(
        self,
        custom_id: str,
        values: Mapping[str, str],
        *,
        guild_id: int | None = None,
        channel_id: int | None = None,
        user_id: int | None = None,
        message: JSON | None = None,
        locale: str = "en-US",
    ) -> JSON:
        """INTERACTION_CREATE (type 5) answering modal ``custom_id`` with text input ``values``
        (custom_id → text).  Mirrors the layout of the modal the bot opened, if seen."""

        def text_input(cid: str) -> JSON:
            return {"type": 4, "custom_id": cid, "value": values.get(cid, "")}

        modal = self._modals.get(custom_id)
        components: list[JSON] = []
        if modal is not None:
            for comp in modal.get("components", []):
                if comp["type"] == 1:
                    row = [
                        text_input(c["custom_id"])
                        for c in comp.get("components", [])
                        if c.get("type") == 4
                    ]
                    components.append({"type": 1, "components": row})
                elif comp["type"] == 18 and comp.get("component", {}).get("type") == 4:
                    components.append(
                        {"type": 18, "component": text_input(comp["component"]["custom_id"])}
                    )
        else:
            components = [{"type": 1, "components": [text_input(k)]} for k in values]
        payload = self._interaction_base(
            MODAL_SUBMIT,
            {"custom_id": custom_id, "components": components},
            guild_id=guild_id,
            channel_id=channel_id,
            user_id=user_id,
            locale=locale,
        )
        if message is not None:
            payload["message"] = message
        return payload

    async def send_interaction(self, payload: JSON) -> InteractionRecord:
        """Dispatch INTERACTION_CREATE and return a record to await the bot's answer on."""
        rec = InteractionRecord(payload, self._notifier)
        self._interactions_by_id[rec.id] = rec
        self._interactions_by_token[rec.token] = rec
        self.interactions.append(rec)
        rec.dispatched_at = time.monotonic()
        await self.dispatch("INTERACTION_CREATE", payload)
        return rec

    async def send_user_message(self, channel_id: int, user_id: int, content: str) -> JSON:
        """Simulate a user posting a message (stored and dispatched as MESSAGE_CREATE)."""
        guild = self._guild_of_channel(channel_id)
        author = guild.member(user_id)["user"] if guild else make_user(user_id, f"user{user_id}")
        msg = self._store_message(
            self.build_message(channel_id, {"content": content}, author=author)
        )
        if guild is not None:
            member = json.loads(_dumps(guild.member(user_id)))
            member.pop("user")
            msg = {**msg, "member": member}
        await self.dispatch("MESSAGE_CREATE", msg)
        return msg

    # ------------------------------------------------------------------ gateway

    def _ready_payload(self, session: _Session) -> JSON:
        return {
            "v": 10,
            "user": {**self.bot_user, "verified": True, "mfa_enabled": False},
            "guilds": [{"id": str(g), "unavailable": True} for g in self.guilds],
            "session_id": session.id,
            "resume_gateway_url": self.gateway_url,
            "application": {"id": str(self.app_id), "flags": 0},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": [],
            "auth": {},
            "user_settings": {},
            "session_type": "normal",
            "_trace": ["discord-stub"],
        }

    async def _send_dispatch(self, conn: _Connection, event: str, data: Any) -> None:
        session = conn.session
        assert session is not None
        session.seq += 1
        payload = {"op": OP_DISPATCH, "t": event, "s": session.seq, "d": data}
        session.events.append(payload)
        if len(session.events) > 500:
            del session.events[:100]
        await conn.send(payload)

    async def dispatch(self, event: str, data: Any, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Send a DISPATCH event to every identified gateway connection."""
        await self.wait_ready(timeout)
        for conn in list(self._connections):
            if conn.session is not None and not conn.ws.closed:
                await self._send_dispatch(conn, event, data)

    async def send_reconnect(self) -> None:
        """Ask connected clients to reconnect (op 7); they will try to RESUME."""
        for conn in list(self._connections):
            await conn.send({"op": OP_RECONNECT, "d": None})

    async def disconnect_clients(self, code: int = 4000) -> None:
        """Drop gateway connections with ``code`` (4000 = resumable unknown error)."""
        for conn in list(self._connections):
            await conn.ws.close(code=code)

    @property
    def connected_clients(self) -> int:
        return sum(1 for c in self._connections if c.session is not None and not c.ws.closed)

    async def _gateway_handler(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(autoping=True, max_msg_size=0)
        await ws.prepare(request)
        self.gateway_queries.append(dict(request.query))
        compress = request.query.get("compress")
        if compress not in (None, "", "zlib-stream"):
            await ws.close(code=4000, message=b"unsupported compression")
            return ws
        if request.query.get("encoding", "json") != "json":
            await ws.close(code=4002, message=b"only json encoding is supported")
            return ws
        conn = _Connection(ws, compress == "zlib-stream")
        self._connections.append(conn)
        try:
            await conn.send(
                {"op": OP_HELLO, "d": {"heartbeat_interval": self.heartbeat_interval_ms}}
            )
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    payload = json.loads(msg.data)
                elif msg.type == WSMsgType.BINARY:
                    payload = json.loads(msg.data.decode())
                else:
                    break
                self.gateway_received.append(payload)
                await self._on_gateway_message(conn, payload)
                self._notifier.notify()
        finally:
            if conn in self._connections:
                self._connections.remove(conn)
            self._notifier.notify()
        return ws

    async def _on_gateway_message(self, conn: _Connection, payload: JSON) -> None:
        op = payload.get("op")
        d: Any = payload.get("d") or {}
        if op == OP_HEARTBEAT:
            await conn.send({"op": OP_HEARTBEAT_ACK, "d": None})
        elif op == OP_IDENTIFY:
            if self.token is not None and d.get("token") != self.token:
                await conn.ws.close(code=4004, message=b"Authentication failed.")
                return
            self.identify_count += 1
            conn.identify = d
            session = _Session(secrets.token_hex(16))
            self._sessions[session.id] = session
            conn.session = session
            await self._send_dispatch(conn, "READY", self._ready_payload(session))
            for guild in self.guilds.values():
                await self._send_dispatch(conn, "GUILD_CREATE", guild.to_payload())
        elif op == OP_RESUME:
            resumed = self._sessions.get(d.get("session_id"))
            seq = d.get("seq") or 0
            if resumed is None or seq > resumed.seq:
                await conn.send({"op": OP_INVALID_SESSION, "d": False})
                return
            self.resume_count += 1
            conn.session = resumed
            for event in resumed.events:
                if event["s"] > seq:
                    await conn.send(event)
            await self._send_dispatch(conn, "RESUMED", {"_trace": ["discord-stub"]})
        elif op == OP_REQUEST_MEMBERS:
            target = self.guilds.get(int(d["guild_id"]))
            members = target.members if target else []
            if d.get("user_ids"):
                wanted = {str(u) for u in d["user_ids"]}
                members = [m for m in members if m["user"]["id"] in wanted]
            elif d.get("query"):
                q = d["query"].lower()
                members = [m for m in members if m["user"]["username"].lower().startswith(q)]
            limit = d.get("limit") or 0
            if limit:
                members = members[:limit]
            chunk: JSON = {
                "guild_id": str(d["guild_id"]),
                "members": members,
                "chunk_index": 0,
                "chunk_count": 1,
                "not_found": [],
            }
            if d.get("nonce"):
                chunk["nonce"] = d["nonce"]
            if conn.session is not None:
                await self._send_dispatch(conn, "GUILD_MEMBERS_CHUNK", chunk)
        elif op in (OP_PRESENCE, OP_VOICE_STATE):
            pass
        else:
            log.warning("discord stub: unknown gateway op %s", op)
            await conn.ws.close(code=4001, message=b"Unknown opcode.")
