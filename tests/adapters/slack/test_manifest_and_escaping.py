"""The shipped manifest matches what the adapter serves; user text is rendered inert."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]
from hypothesis import given
from hypothesis import strategies as st

from bot.adapters.slack._adapter import EVENTS_PATH
from bot.adapters.slack._replies import local_deadline
from bot.adapters.slack.blocks import sections, text_reply
from bot.adapters.slack.commands import COMMAND
from bot.adapters.slack.escape import clip_mrkdwn, escape_mrkdwn, escape_plain, unescape_incoming
from tests.fakes import specs

MANIFEST = Path(__file__).parents[3] / "slack-manifest.yml"


def test_manifest_declares_what_the_adapter_serves() -> None:
    manifest: dict[str, Any] = yaml.safe_load(MANIFEST.read_text())
    features, settings = manifest["features"], manifest["settings"]
    [command] = features["slash_commands"]
    assert command["command"] == COMMAND
    assert command["should_escape"] is True
    urls = {
        command["url"],
        settings["interactivity"]["request_url"],
        settings["event_subscriptions"]["request_url"],
    }
    assert urls == {f"https://YOUR-HOST{EVENTS_PATH}"}
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["event_subscriptions"]["bot_events"] == ["app_home_opened"]
    assert features["app_home"]["home_tab_enabled"] is True
    assert features["app_home"]["messages_tab_enabled"] is False
    assert settings["socket_mode_enabled"] is False
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert {"commands", "chat:write", "chat:write.public", "users:read"} <= scopes


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("hi <!channel>", "hi @\u2060channel"),
        ("<!here|here> and <!everyone>", "@\u2060here and @\u2060everyone"),
        ("@everyone @Here @channel", "@\u2060everyone @\u2060Here @\u2060channel"),
        ("ask <@U0BOB|bob> or <@U0ALICE>", "ask @bob or @U0ALICE"),
        ("<!subteam^S1|@admins> in <#C1|general>", "@admins in #general"),
        ("see <https://x.test/a?b=1&c=2|the page>", "see the page"),
        ("R&D <b>bold</b> 1 < 2 > 0", "R&amp;D &lt;b&gt;bold&lt;/b&gt; 1 &lt; 2 &gt; 0"),
        ("me@here.com", "me@here.com"),
    ],
)
def test_escape_mrkdwn(raw: str, shown: str) -> None:
    assert escape_mrkdwn(raw) == shown


def test_plain_text_and_incoming_text() -> None:
    assert escape_plain("R&D <!here>") == "R&D @\u2060here"
    assert unescape_incoming("a &amp;lt; b &lt;@U1|x&gt; &amp; c") == "a &lt; b <@U1|x> & c"


def test_local_deadline_keeps_the_pickers_zone() -> None:
    assert local_deadline("2026-03-10", "18:30", "Europe/Berlin") == "2026-03-10T18:30:00+01:00"
    assert local_deadline("2026-07-10", "18:30", "Europe/Berlin") == "2026-07-10T18:30:00+02:00"
    assert local_deadline("2026-07-10", "09:05", "Not/AZone") == "2026-07-10T09:05:00+00:00"


@pytest.mark.skipif(specs.missing_reason() is not None, reason=str(specs.missing_reason()))
@given(st.text(alphabet="ab &<>\n@U1|!#", max_size=20_000), st.integers(1, 3000))
def test_cut_text_stays_well_formed_and_a_reply_fits_a_message(raw: str, limit: int) -> None:
    clipped = clip_mrkdwn(escape_mrkdwn(raw), limit)
    assert len(clipped) <= limit and specs.mrkdwn_problem(clipped) is None
    fallback, blocks = text_reply(raw)
    assert specs.check_slack_message("reply", {"text": fallback, "blocks": blocks}) == (None, [])


@pytest.mark.skipif(specs.missing_reason() is not None, reason=str(specs.missing_reason()))
def test_sections_never_split_a_control_sequence_even_one_longer_than_a_section() -> None:
    link = "<https://example.com/" + "a" * 3000 + "|the report>"
    for text in (link + " after", "x" * 100 + "\n" + link, "&amp;" * 700 + link):
        found = sections(text, 12_000)
        assert found and all(specs.mrkdwn_problem(b["text"]["text"]) is None for b in found)
