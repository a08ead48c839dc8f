"""The console adapter: the whole bot on stdin/stdout, no chat token needed."""

from bot.adapters.console._adapter import ConsoleAnnouncer, ConsoleSession, parse_line
from bot.adapters.console._terminal import Lines, StreamLines, TerminalLines

__all__ = [
    "ConsoleAnnouncer",
    "ConsoleSession",
    "Lines",
    "StreamLines",
    "TerminalLines",
    "parse_line",
]
