"""predictbot on Discord: slash commands, live market cards with bet buttons, announcements."""

from bot.adapters.discord._adapter import DiscordAdapter

__all__ = ["DiscordAdapter"]
