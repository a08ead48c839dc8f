"""Slack: `/predict`, Block Kit market cards, modals and an App Home (slack-bolt, async)."""

from bot.adapters.slack._adapter import SlackAdapter

__all__ = ["SlackAdapter"]
