"""The `predictbot` command: console, run, migrate."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import io
import logging
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot.core.errors import StartupError
from bot.settings import Settings, data_dir, load_settings, log_level_name

if TYPE_CHECKING:
    from bot.adapters.console import ConsoleSession, Lines

log = logging.getLogger("predictbot")

NO_PLATFORM = """predictbot run: no chat platform is configured.

Set DISCORD_TOKEN for Discord, and/or SLACK_BOT_TOKEN with SLACK_SIGNING_SECRET (HTTP mode)
or SLACK_APP_TOKEN (Socket Mode) for Slack, in the environment or in .env (see .env.example).
To try predictbot without a chat platform, run:  predictbot console
"""


def _settings(db: str | None) -> Settings:
    if db:
        os.environ["DATABASE_URL"] = db
    return load_settings()


def _default_user() -> str:
    try:
        return getpass.getuser() or "you"
    except (KeyError, OSError):
        return "you"


def _console_streams() -> None:
    """Read stdin as UTF-8 whatever the locale, undecodable bytes kept as surrogates for the
    session to refuse line by line; never fail writing a reply the terminal can't encode."""
    if isinstance(sys.stdin, io.TextIOWrapper):
        sys.stdin.reconfigure(encoding="utf-8", errors="surrogateescape")
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(errors="backslashreplace")


async def _console(args: argparse.Namespace) -> int:
    from bot.adapters.console import ConsoleAnnouncer, ConsoleSession
    from bot.runtime import Runtime
    from storage.engine import shown_url

    _console_streams()
    settings = _settings(args.db)
    user = args.user or _default_user()
    interactive = sys.stdin.isatty()
    lines = _console_lines(user, interactive)
    runtime = Runtime(settings)
    runtime.announcers.append(ConsoleAnnouncer(lines.write))
    runtime.add_scheduler()
    try:
        await runtime.start()
        session = ConsoleSession(runtime.service, user, set(args.moderator), lines.write)
        note = await _moderation(session, args)
        if interactive:
            lines.write(
                f"predictbot console on {shown_url(settings.database.database_url)} as "
                f"{user}.{note} Type `help`; `quit`, `exit` or Ctrl-D ends it."
            )
        await session.run(lines)
    finally:
        lines.close()
        await runtime.stop()
    return 0


def _console_lines(user: str, interactive: bool) -> Lines:
    """A terminal gets line editing and history; a pipe or a file is read as it is."""
    from bot.adapters.console import StreamLines, TerminalLines

    prompt = f"{user}> "
    if interactive and sys.stdout.isatty():
        return TerminalLines(prompt, history=data_dir() / "console-history")
    return StreamLines(sys.stdin, prompt if interactive else None)


async def _moderation(session: ConsoleSession, args: argparse.Namespace) -> str:
    """Without --user or --moderator, the local user claims a fresh community (one with no
    markets and no moderators yet) as its first moderator; say how that went."""
    if args.user is not None or args.moderator:
        return ""
    claim = await session.claim_moderator()
    if claim.granted:
        return " You are the first moderator of this new community."
    if claim.moderator:
        return " You are a moderator here."
    return f" You are not a moderator here: start with --moderator {claim.user_id} to act as one."


async def _migrate(args: argparse.Namespace) -> int:
    from bot.runtime import Runtime
    from storage.engine import shown_url

    runtime = Runtime(_settings(args.db))
    await runtime.migrate()
    await runtime.engine.dispose()
    print(f"Database is up to date: {shown_url(runtime.settings.database.database_url)}")
    return 0


async def _run(args: argparse.Namespace) -> int:
    settings = load_settings()
    if not (settings.discord.enabled or settings.slack.enabled):
        sys.stderr.write(NO_PLATFORM)
        return 2
    from bot.runtime import serve

    return await serve(settings)


async def _start(args: argparse.Namespace) -> int:
    settings = load_settings()
    if settings.discord.enabled or settings.slack.enabled:
        return await _run(args)
    return await _console(args)


def build_parser() -> argparse.ArgumentParser:
    """Describe the command line."""
    parser = argparse.ArgumentParser(
        prog="predictbot", description="Play-money prediction markets for chat communities."
    )
    parser.set_defaults(command="start", db=None, user=None, moderator=[])
    sub = parser.add_subparsers(
        dest="command",
        metavar="{console,run,migrate}",
        help="with no command: `run` when a chat platform is configured, else `console`",
    )
    console = sub.add_parser(
        "console",
        help="play in the terminal (one command per line on stdin)",
        description=(
            "Read one command per line from stdin. A leading /predict is optional, "
            "`@name command` runs as that user, blank lines and # comments are skipped. "
            f"Without --db the data lives in {data_dir() / 'predictbot.db'} "
            "(DATABASE_URL or PREDICTBOT_DATA_DIR change that)."
        ),
    )
    console.add_argument("--db", help="database URL (sqlite:///path.db or postgresql://...)")
    console.add_argument(
        "--user",
        help=(
            "who you are (default: $USER, who becomes the first moderator of a new "
            "community: one with no markets and no moderators yet)"
        ),
    )
    console.add_argument(
        "--moderator", action="append", default=[], metavar="NAME", help="a moderator (repeat)"
    )
    sub.add_parser("run", help="serve the configured chat platforms (Discord, Slack)")
    migrate = sub.add_parser("migrate", help="create or upgrade the database schema")
    migrate.add_argument("--db", help="database URL")
    return parser


def _log_level(command: str) -> str:
    """LOG_LEVEL from the environment; else, for `run` and `migrate`, from `.env` too (the
    console stays quiet unless asked)."""
    explicit = os.environ.get("LOG_LEVEL")
    if explicit:
        try:
            return log_level_name(explicit)
        except ValueError as error:
            raise StartupError(f"LOG_LEVEL={explicit!r} is not valid: {error}.") from None
    if command in ("console", "start"):
        return "WARNING"
    return load_settings().log_level


# Alembic's set-up chatter at every start ("setup plugin …", "Context impl …"): noise beside
# the "Running upgrade …" lines, which stay.
_ALEMBIC_SETUP = ("Context impl ", "Will assume ")


def _not_alembic_setup(record: logging.LogRecord) -> bool:
    return not record.getMessage().startswith(_ALEMBIC_SETUP)


def _configure_logging(level: str) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if level != "DEBUG":
        logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
        logging.getLogger("alembic.runtime.migration").addFilter(_not_alembic_setup)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the predictbot command line."""
    args = build_parser().parse_args(argv)
    # The subcommand is optional; argparse leaves dest None (not the default) when it's absent.
    args.command = args.command or "start"
    handlers = {"console": _console, "run": _run, "migrate": _migrate, "start": _start}
    try:
        _configure_logging(_log_level(args.command))
        return asyncio.run(handlers[args.command](args))
    except StartupError as error:
        # What is wrong and what to do, in one line: a traceback would only hide it.
        sys.stderr.write(f"predictbot: {error}\n")
        return 1
    except KeyboardInterrupt:
        if sys.stdout.isatty():
            sys.stdout.write("\n")  # leave the shell's prompt a line of its own
        return 130


if __name__ == "__main__":
    sys.exit(main())
