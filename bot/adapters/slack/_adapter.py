"""The Slack adapter: a slack-bolt async app served over HTTP or Socket Mode, and the announcer."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.slack import actions, announcements, blocks, commands, home, views
from bot.adapters.slack._bridge import PLATFORM, Bridge
from bot.adapters.slack._http import events_app
from bot.core.errors import DeliveryFailed, StartupError
from bot.core.ports import OutboxMessage
from bot.core.service import Service
from bot.core.views import MarketCard, MarketCreated, Result
from bot.settings import SlackSettings

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
# Errors that another attempt cannot fix: the outbox should give up on the message.
_PERMANENT = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "msg_too_long",
        "invalid_blocks",
        "invalid_auth",
        "account_inactive",
        "token_revoked",
        "no_permission",
        "missing_scope",
        "restricted_action",
        "message_not_found",
        "cant_update_message",
        "edit_window_closed",
    }
)


def _token_unused(record: logging.LogRecord) -> bool:
    # Bolt reads SLACK_BOT_TOKEN from the environment itself and warns that the client's
    # token wins: the same token, so the warning is noise.
    return "`token` will be unused" not in record.getMessage()


_TOKEN_UNUSED = _token_unused


def _secret(value: Any) -> str:
    return str(value.get_secret_value()) if value is not None else ""


class SlackAdapter:
    """Serve predictbot in one Slack workspace and post its announcements there."""

    platform = PLATFORM

    def __init__(
        self,
        service: Service,
        settings: SlackSettings,
        *,
        card_interval: float = 3.0,
        user_ttl: float = 60.0,
        rate_limit_retries: int = 2,
        host: str = "0.0.0.0",
    ) -> None:
        self.service = service
        self.settings = settings
        self.host = host
        self.client = AsyncWebClient(
            token=_secret(settings.slack_bot_token),
            base_url=settings.slack_api_url,
            retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=rate_limit_retries)],
        )
        bolt_log = logging.getLogger("predictbot.slack.bolt")
        bolt_log.addFilter(_TOKEN_UNUSED)
        self.app = AsyncApp(
            client=self.client,
            signing_secret=_secret(settings.slack_signing_secret),
            logger=bolt_log,
        )
        self.bridge = Bridge(service, self.client, card_interval=card_interval, user_ttl=user_ttl)
        for listeners in (commands, actions, views, home):
            listeners.register(self.app, self.bridge)
        self.app.error(self._on_error)
        self.port: int | None = None
        self._runner: web.AppRunner | None = None
        self._socket: AsyncSocketModeHandler | None = None

    async def _on_error(self, error: Exception, body: dict[str, Any]) -> None:
        log.error("slack listener failed: %s", error, exc_info=error)

    async def start(self) -> None:
        """Check the tokens, then serve: Socket Mode when an app token is set, else HTTP on
        `slack_port`. A token Slack rejects is reported now, not at the first request."""
        async with _starting("SLACK_BOT_TOKEN", self.settings.slack_api_url):
            await self.client.auth_test()
        if self.settings.socket_mode:
            app_token = _secret(self.settings.slack_app_token)
            self._socket = AsyncSocketModeHandler(self.app, app_token=app_token)
            async with _starting("SLACK_APP_TOKEN", self.settings.slack_api_url):
                # The client would retry a rejected token forever; ask for its URL here.
                opened = await self.client.apps_connections_open(app_token=app_token)
            self._socket.client.wss_uri = opened["url"]
            await self._socket.connect_async()  # type: ignore[no-untyped-call]
            log.info("slack: connected in Socket Mode")
            return
        served = events_app(self.app, _secret(self.settings.slack_signing_secret), EVENTS_PATH)
        runner = web.AppRunner(served, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.settings.slack_port)
        try:
            await site.start()
        except OSError as error:
            await runner.cleanup()
            raise StartupError(
                f"Cannot listen on {self.host}:{self.settings.slack_port} for Slack "
                f"({error.strerror or error}): stop what uses that port or choose another "
                "SLACK_PORT."
            ) from error
        self._runner = runner
        self.port = int(runner.addresses[0][1])
        log.info("slack: serving %s on port %s", EVENTS_PATH, self.port)

    async def stop(self) -> None:
        """Stop taking requests, let acknowledged work finish, land pending card edits."""
        if self._socket is not None:
            await self._socket.close_async()  # type: ignore[no-untyped-call]
            self._socket = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        await self.bridge.inflight.wait_idle(within=10)
        try:
            async with asyncio.timeout(5):
                await self.bridge.cards.flush()
        except TimeoutError:
            log.warning("slack: pending card edits abandoned at shutdown")
        self.bridge.cards.close()

    async def announce(self, message: OutboxMessage, result: Result) -> str | None:
        """Post an announcement (a new market's card for `created`); return `channel:ts`."""
        card: MarketCard | None = getattr(result, "card", None)
        channel = message.channel or (card.channel if card else None)
        if not channel:
            raise DeliveryFailed("no channel to announce in", permanent=True)
        if isinstance(result, MarketCreated):
            text, body = blocks.card_fallback(result.card), blocks.card_blocks(result.card)
        else:
            text, body = announcements.announcement(message.kind, result)
        async with _delivery():
            posted = await self.client.chat_postMessage(
                channel=channel, text=text, blocks=body, unfurl_links=False
            )
        return f"{posted['channel']}:{posted['ts']}"

    async def refresh_card(self, card: MarketCard) -> None:
        """Edit the market's posted card in place to show its current state."""
        async with _delivery():
            await self.bridge.edit_card(card)


_REJECTED = frozenset(
    {"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired"}
)


@contextlib.asynccontextmanager
async def _starting(setting: str, api_url: str) -> AsyncIterator[None]:
    """Turn a token Slack rejects, or a Slack that can't be reached, into a `StartupError`."""
    try:
        yield
    except SlackApiError as error:
        reason = str(error.response.get("error") or f"HTTP {error.response.status_code}")
        if reason in _REJECTED:
            raise StartupError(
                f"Slack rejected {setting} ({reason}): copy it again from the app's settings "
                "at https://api.slack.com/apps (see README, Slack), and reinstall the app if "
                "the token was revoked."
            ) from error
        raise StartupError(f"Slack refused {setting} ({reason}): see README, Slack.") from error
    except (aiohttp.ClientError, OSError) as error:
        raise StartupError(
            f"Cannot reach Slack at {api_url} ({error}): check the network, or SLACK_API_URL."
        ) from error


class _delivery:
    """Translate Slack and network failures into the outbox's `DeliveryFailed`."""

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, kind: type[BaseException] | None, error: Any, tb: Any) -> bool:
        if isinstance(error, SlackApiError):
            response = error.response
            reason = str(response.get("error") or f"HTTP {response.status_code}")
            if response.status_code == 429:
                headers = {k.lower(): v for k, v in (response.headers or {}).items()}
                retry_after = float(headers.get("retry-after", 1) or 1)
                raise DeliveryFailed(reason, retry_after=retry_after) from error
            raise DeliveryFailed(reason, permanent=reason in _PERMANENT) from error
        if isinstance(error, aiohttp.ClientError | TimeoutError):
            raise DeliveryFailed(f"{type(error).__name__}: {error}") from error
        return False
