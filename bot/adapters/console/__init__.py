"""The console adapter: the whole bot on stdin/stdout, no chat token needed."""

from bot.adapters.console._adapter import ConsoleAnnouncer, ConsoleSession, parse_line

__all__ = ["ConsoleAnnouncer", "ConsoleSession", "parse_line"]
