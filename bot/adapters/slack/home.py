"""The App Home tab: balance, open positions and the workspace's open markets."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.adapters.slack._bridge import Bridge


def register(app: AsyncApp, bridge: Bridge) -> None:
    """Register the App Home listener."""

    @app.event("app_home_opened")
    async def home_opened(event: dict[str, Any], body: dict[str, Any]) -> None:
        """Publish the user's home tab when they open it."""
        if event.get("tab", "home") != "home":
            return
        ctx = await bridge.context(body["team_id"], event["user"], None, None)
        await bridge.publish_home(ctx)
