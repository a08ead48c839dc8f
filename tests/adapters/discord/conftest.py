"""A running predictbot Discord adapter, connected to the Discord stand-in, on a fresh database."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.adapters.discord import DiscordAdapter
from bot.core import serialize
from bot.core.ports import OutboxMessage
from bot.core.service import Service
from bot.scheduling.dispatcher import REFRESH_KINDS
from bot.settings import DiscordSettings
from tests.fakes.discord_stub import (
    CHANNEL_ID,
    DEFERRED_CHANNEL_MESSAGE,
    GUILD_ID,
    MEMBER_USER_ID,
    MODAL,
    DiscordStub,
    InteractionRecord,
    make_member,
    make_role,
)

JSON = dict[str, Any]
TOKEN = "test-token"
# A role without Manage Server, and a member holding it, for `moderator_roles`.
FORECAST_ROLE_ID = 2200
ROLE_USER_ID = 3003


def settings_for(stub: DiscordStub, guild_ids: str = str(GUILD_ID)) -> DiscordSettings:
    """Return Discord settings pointing at the stand-in."""
    return DiscordSettings(
        discord_token=SecretStr(TOKEN),
        discord_guild_ids=guild_ids,
        discord_api_base=stub.api_base,
        discord_gateway_url=stub.gateway_url,
    )


async def start_adapter(
    stub: DiscordStub, service: Service, *, guild_ids: str = str(GUILD_ID), **options: Any
) -> DiscordAdapter:
    """Start an adapter against the stand-in, with a short edit interval for fast tests."""
    options.setdefault("edit_interval", 0.05)
    options.setdefault("guild_ready_timeout", 0.05)
    adapter = DiscordAdapter(service, settings_for(stub, guild_ids), **options)
    await adapter.start()
    return adapter


async def deliver_outbox(engine: AsyncEngine, service: Service, adapter: DiscordAdapter) -> int:
    """Deliver pending announcements the way the outbox dispatcher does (posting, then
    redrawing the card after a state change); return how many."""
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT o.id, c.platform, c.external_id, o.kind, o.channel, o.payload_json,"
                    " o.dedupe_key, o.attempts FROM outbox o"
                    " JOIN community c ON c.id = o.community_id"
                    " WHERE o.delivered_at IS NULL ORDER BY o.id"
                )
            )
        ).all()
    for row in rows:
        message = OutboxMessage(*row)
        result = serialize.loads(message.payload)
        ref = await adapter.announce(message, result)
        card = getattr(result, "card", None)
        if message.kind == "created" and ref is not None:
            number = result.card.number  # type: ignore[union-attr]
            await service.set_card_ref(message.platform, message.community, number, ref)
        elif message.kind in REFRESH_KINDS and card is not None:
            shown = await service.card(message.platform, message.community, card.number)
            if shown is not None:
                await adapter.refresh_card(shown)
        async with engine.begin() as conn:
            await conn.execute(
                text("UPDATE outbox SET delivered_at = created_at WHERE id = :id"),
                {"id": message.id},
            )
    return len(rows)


@dataclass
class Harness:
    """Drive the adapter through the stand-in like Discord users would."""

    stub: DiscordStub
    service: Service
    engine: AsyncEngine
    adapter: DiscordAdapter

    async def slash(
        self,
        path: str,
        options: Mapping[str, Any] | None = None,
        *,
        user: int = MEMBER_USER_ID,
        channel: int = CHANNEL_ID,
    ) -> InteractionRecord:
        """Run a slash command and wait for its answer (after a deferral, the edit)."""
        rec = await self.stub.send_interaction(
            self.stub.slash_command(path, options or {}, user_id=user, channel_id=channel)
        )
        await answered(rec)
        return rec

    async def deliver(self) -> int:
        """Deliver pending announcements and land pending card edits."""
        count = await deliver_outbox(self.engine, self.service, self.adapter)
        await self.adapter.cards.flush()
        return count

    async def create_market(
        self, question: str = "Will it rain in Paris on 1 May?", **opts: Any
    ) -> JSON:
        """Create a market as the moderator, deliver its card, and return the card message."""
        rec = await self.slash(
            "market create", {"question": question, "closes": "2026-03-10", **opts}, user=3001
        )
        assert rec.ephemeral, rec.response
        await self.deliver()
        return self.stub.all_messages()[-1]

    async def bet_by_button(
        self, card: JSON, custom_id: str, points: str, *, user: int
    ) -> InteractionRecord:
        """Click an outcome button, fill in the modal, and return the submit's record."""
        click = await self.stub.send_interaction(
            self.stub.button_click(card, custom_id, user_id=user)
        )
        await click.wait_response()
        assert click.response_type == MODAL, click.response
        submit = await self.stub.send_interaction(
            self.stub.modal_submit(
                click.modal["custom_id"], {"points": points}, user_id=user, message=card
            )
        )
        await answered(submit)
        return submit


async def answered(rec: InteractionRecord, timeout: float = 3.0) -> InteractionRecord:  # noqa: ASYNC109
    """Wait for an interaction's answer: its callback and, if that deferred, the one message
    that replaces the "thinking…" (an edit, or a private follow-up after a public deferral)."""
    await rec.wait_response(timeout)
    if rec.response_type == DEFERRED_CHANNEL_MESSAGE:
        await rec._notifier.wait_for(
            lambda: rec.edits or rec.followups, timeout, f"interaction {rec.id} answer"
        )
    return rec


def content(rec: InteractionRecord) -> str:
    """Return the text an interaction's user sees: the first callback's, or after a deferral
    the one edit or follow-up that answered it (never more than one)."""
    if rec.response_type != DEFERRED_CHANNEL_MESSAGE:
        return str(rec.response_data.get("content") or "")
    answers = rec.edits + rec.followups
    assert len(answers) <= 1, answers  # the answer is sent once, never changed again
    return str(answers[0].get("content") or "") if answers else ""


@pytest.fixture
async def stub() -> AsyncIterator[DiscordStub]:
    """Start the Discord stand-in with the default guild plus a role-holding member."""
    s = DiscordStub(token=TOKEN)
    guild = s.add_default_guild()
    guild.roles.append(make_role(FORECAST_ROLE_ID, "Forecast Mods", 0, position=3))
    s.add_member(GUILD_ID, make_member(ROLE_USER_ID, "bob", roles=[FORECAST_ROLE_ID]))
    await s.start()
    yield s
    await s.stop()
    s.assert_accepted()


@pytest.fixture
async def harness(
    stub: DiscordStub, service: Service, engine: AsyncEngine
) -> AsyncIterator[Harness]:
    """Run the adapter against the stand-in on a fresh database (SQLite and PostgreSQL)."""
    adapter = await start_adapter(stub, service)
    try:
        yield Harness(stub, service, engine, adapter)
    finally:
        await adapter.stop()
    assert stub.errors == []
    assert stub.unhandled == []
