"""Announcements and card edits: posted through the Web API, failures told to the outbox."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.adapters.slack import SlackAdapter
from bot.core.errors import DeliveryFailed
from bot.core.ports import OutboxMessage
from bot.core.service import Service
from bot.core.views import MarketCreated
from tests.adapters.slack.harness import BOB, CHANNEL, TEAM, SlackDriver

CREATE = 'create "Will the S-400 arrive by March?" closes:2026-03-10'


async def test_rate_limited_post_is_retried(slack: SlackDriver) -> None:
    await slack.reply_text(CREATE)
    slack.stub.fail_next("chat.postMessage", status=429, retry_after=0)
    [ref] = await slack.deliver()
    assert [c.status for c in slack.stub.calls_of("chat.postMessage")] == [429, 200]
    assert ref == f"{CHANNEL}:{slack.stub.last_message(CHANNEL).ts}"


async def test_rate_limited_card_edit_is_retried(slack: SlackDriver, adapter: SlackAdapter) -> None:
    await slack.reply_text(CREATE)
    [ref] = await slack.deliver()
    slack.stub.fail_next("chat.update", status=429, retry_after=0)
    await slack.reply_text("bet 1 yes 10", BOB)
    await slack.stub.wait_for_call("chat.update")
    await adapter.bridge.cards.flush()
    assert [c.status for c in slack.stub.calls_of("chat.update")] == [429, 200]
    assert ref is not None
    assert "Volume 10 pts" in str(slack.stub.message(*ref.split(":")).blocks)


async def _created_message(service: Service, slack: SlackDriver) -> tuple[OutboxMessage, object]:
    await slack.reply_text(CREATE)
    card = await service.card("slack", TEAM, 1)
    assert card is not None
    message = OutboxMessage(1, "slack", TEAM, "created", CHANNEL, "", "m1:created:1", 0)
    return message, MarketCreated(card)


async def test_failures_become_delivery_failed(
    slack: SlackDriver, adapter: SlackAdapter, service: Service
) -> None:
    message, result = await _created_message(service, slack)
    assert isinstance(result, MarketCreated)
    slack.stub.fail_next("chat.postMessage", status=429, times=3, retry_after=0)
    with pytest.raises(DeliveryFailed) as limited:
        await adapter.announce(message, result)
    assert (limited.value.retry_after, limited.value.permanent) == (0.0, False)

    slack.stub.fail_next("chat.postMessage", status=200, error="channel_not_found")
    with pytest.raises(DeliveryFailed) as missing:
        await adapter.announce(message, result)
    assert missing.value.permanent

    slack.stub.fail_next("chat.postMessage", status=500)
    with pytest.raises(DeliveryFailed) as broken:
        await adapter.announce(message, result)
    assert not broken.value.permanent

    nowhere = OutboxMessage(1, "slack", TEAM, "created", None, "", "k", 0)
    with pytest.raises(DeliveryFailed) as lost:
        await adapter.announce(nowhere, replace(result, card=replace(result.card, channel=None)))
    assert lost.value.permanent


async def test_refresh_card_edits_in_place(
    slack: SlackDriver, adapter: SlackAdapter, service: Service
) -> None:
    await slack.reply_text(CREATE)
    unposted = await service.card("slack", TEAM, 1)
    assert unposted is not None
    await adapter.refresh_card(unposted)  # never posted: nothing to edit
    assert slack.stub.calls_of("chat.update") == []
    [ref] = await slack.deliver()
    card = await service.card("slack", TEAM, 1)
    assert card is not None and card.card_ref == ref
    await adapter.refresh_card(card)
    assert len(slack.stub.calls_of("chat.update", ok_only=True)) == 1
    slack.stub.fail_next("chat.update", status=200, error="message_not_found")
    with pytest.raises(DeliveryFailed) as gone:
        await adapter.refresh_card(card)
    assert gone.value.permanent


async def test_closing_announcement_says_how_and_pings_nobody(slack: SlackDriver) -> None:
    await slack.reply_text(CREATE)
    await slack.deliver()
    assert (await slack.reply_text("close 1")).startswith("Market #1 closed")
    await slack.deliver()
    closing = slack.stub.last_message(CHANNEL)
    assert closing.text is not None and closing.text.startswith(":lock: Market #1 closed early.")
    # The resolution reminder that follows a closing pings the resolvers; this does not.
    assert "<@" not in str(closing.blocks) and "<!" not in closing.text
