"""The console at a terminal: line editing and history (readline), quit and Ctrl-D, the first
moderator of a new community, and announcements that arrive while a line is being typed.
The real `predictbot console` on a pseudo-terminal, read until what a person would see."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import subprocess
import sys
import termios
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
ESCAPES = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[=>]|\r")
TIMEOUT = 30.0

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")


class Terminal:
    """A `predictbot console` whose stdin, stdout and stderr are a pseudo-terminal."""

    def __init__(self, tmp_path: Path, *args: str, login: str = "dora", **env: str) -> None:
        keep = ("PATH", "HOME", "LANG", "TMPDIR")
        environment = {k: v for k, v in os.environ.items() if k in keep}
        environment.update(
            PYTHONPATH=str(ROOT),
            TERM="dumb",
            INPUTRC=os.devnull,  # no developer key bindings
            PREDICTBOT_DATA_DIR=str(tmp_path / "data"),
            LOGNAME=login,
            USER=login,
            **env,
        )
        db = f"sqlite:///{tmp_path / 'console.db'}"
        main, child = pty.openpty()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", "console", "--db", db, *args],
            stdin=child,
            stdout=child,
            stderr=child,
            env=environment,
            cwd=tmp_path,
            start_new_session=True,
            preexec_fn=_controlling_terminal,  # so that Ctrl-C is a SIGINT, as in a shell
        )
        self.fd = main
        self.settings = termios.tcgetattr(child)  # the terminal as the console found it
        os.close(child)
        self.raw = ""

    @property
    def screen(self) -> str:
        """What was printed, without the terminal's control sequences."""
        return ESCAPES.sub("", self.raw)

    def expect(self, text: str, after: int = 0) -> int:
        """Wait until `text` is on the screen after position `after`; return where it ends."""
        deadline = time.monotonic() + TIMEOUT
        while (found := self.screen.find(text, after)) < 0:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self.fd], [], [], max(left, 0))
            if not ready:
                raise AssertionError(f"{text!r} never appeared:\n{self.screen}")
            try:
                data = os.read(self.fd, 65536)
            except OSError:  # the child closed the terminal
                data = b""
            if not data:
                raise AssertionError(f"the console ended before {text!r}:\n{self.screen}")
            self.raw += data.decode(errors="replace")
        return found + len(text)

    def type(self, keys: str) -> None:
        os.write(self.fd, keys.encode())

    def wait(self) -> int:
        """Wait for the console to end by itself; return its exit status."""
        deadline = time.monotonic() + TIMEOUT
        while self.process.poll() is None:
            ready, _, _ = select.select([self.fd], [], [], max(deadline - time.monotonic(), 0))
            if not ready:
                raise AssertionError(f"the console did not end:\n{self.screen}")
            try:
                self.raw += os.read(self.fd, 65536).decode(errors="replace")
            except OSError:
                break
        return self.process.wait(TIMEOUT)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(TIMEOUT)
        os.close(self.fd)


def _controlling_terminal() -> None:
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


@pytest.fixture
def terminals(tmp_path: Path) -> Iterator[list[Terminal]]:
    opened: list[Terminal] = []
    yield opened
    for terminal in opened:
        terminal.close()


def start(
    terminals: list[Terminal], tmp_path: Path, *args: str, login: str = "dora", **env: str
) -> Terminal:
    terminal = Terminal(tmp_path, *args, login=login, **env)
    terminals.append(terminal)
    return terminal


def test_lines_can_be_edited_and_recalled_and_quit_ends(
    terminals: list[Terminal], tmp_path: Path
) -> None:
    console = start(terminals, tmp_path, "--user", "alice")
    at = console.expect("alice> ")
    console.type("helq\x7fp\r")  # a typo, rubbed out with backspace
    at = console.expect("alice> ", console.expect("Prediction-market commands", at))
    console.type("alance\x01b\r")  # Ctrl-A: to the start of the line, to add the "b"
    at = console.expect("alice> ", console.expect("You have 1,000 points.", at))
    console.type("\x10\r")  # Ctrl-P: the previous line again
    at = console.expect("alice> ", console.expect("You have 1,000 points.", at))
    console.type("quit\r")
    assert console.wait() == 0, console.screen
    assert "Traceback" not in console.screen
    history = (tmp_path / "data" / "console-history").read_text()
    assert "alance" not in history.split() and "balance" in history.split(), history


def test_ctrl_d_ends_the_console(terminals: list[Terminal], tmp_path: Path) -> None:
    console = start(terminals, tmp_path, "--user", "alice")
    console.expect("alice> ")
    console.type("\x04")
    assert console.wait() == 0, console.screen


def test_ctrl_c_ends_the_console_and_gives_the_terminal_back(
    terminals: list[Terminal], tmp_path: Path
) -> None:
    console = start(terminals, tmp_path, "--user", "alice")
    at = console.expect("alice> ")
    console.type("bal")
    console.expect("bal", at)
    console.type("\x03")
    assert console.wait() == 130, console.screen
    assert "Traceback" not in console.screen
    assert termios.tcgetattr(console.fd) == console.settings  # echo and line mode restored


def test_the_local_user_becomes_the_first_moderator_of_a_new_community(
    terminals: list[Terminal], tmp_path: Path
) -> None:
    first = start(terminals, tmp_path)
    at = first.expect("as dora. You are the first moderator of this new community.")
    first.expect("dora> ", at)
    first.type('create "Will the first run go smoothly?" closes:"in 3 days"\r')
    at = first.expect("dora> ", first.expect("Market #1 created.", at))
    first.type("config\r")
    at = first.expect("dora> ", first.expect("moderators: dora", at))
    first.type("exit\r")
    assert first.wait() == 0, first.screen
    # Someone else starting a console on the same community is told how to moderate.
    second = start(terminals, tmp_path, login="eve")
    at = second.expect("You are not a moderator here: start with --moderator eve to act as one.")
    at = second.expect("eve> ", at)
    second.type("close 1\r")
    at = second.expect("Only the market's creator or a moderator may close it", at)
    second.expect("eve> ", at)
    second.type("\x04")
    assert second.wait() == 0, second.screen
    # The first user is still its moderator.
    again = start(terminals, tmp_path)
    again.expect("as dora. You are a moderator here.")


def test_an_announcement_while_typing_redraws_the_prompt_and_the_line(
    terminals: list[Terminal], tmp_path: Path
) -> None:
    console = start(
        terminals, tmp_path, "--user", "alice", "--moderator", "alice", MIN_MARKET_DURATION="0"
    )
    at = console.expect("alice> ")
    soon = (datetime.now(UTC) + timedelta(seconds=4)).strftime("%Y-%m-%dT%H:%M:%SZ")
    console.type(f'create "Will this market close while alice types?" closes:{soon}\r')
    at = console.expect("Market #1 created.", at)
    at = console.expect("alice> ", at)
    console.type("bala")  # half a line, not yet sent
    at = console.expect("alice> bala", at - len("alice> "))
    at = console.expect("[announcement] Market #1 closed at its deadline.", at)
    at = console.expect("alice> bala", at)  # drawn again below the announcement
    console.type("nce\r")
    console.expect("alice> ", console.expect("You have 1,000 points.", at))
    console.type("quit\r")
    assert console.wait() == 0, console.screen
