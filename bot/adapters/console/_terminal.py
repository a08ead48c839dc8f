"""Where the console's lines come from: a terminal, with line editing and history, or a stream
(a pipe, a file). Both hand over one line per `read`, and None at the end of input."""

from __future__ import annotations

import asyncio
import contextlib
import queue
import sys
import threading
from pathlib import Path
from typing import Any, Protocol, TextIO

# What `read` returns for a line that was not UTF-8 (a lone surrogate, as surrogateescape
# decoding gives): the session refuses it like any undecodable line.
UNDECODABLE = "\udcff\n"
HISTORY_LENGTH = 1000


class Lines(Protocol):
    """A source of input lines."""

    async def read(self) -> str | None:
        """Return the next line (with its newline), or None at the end of input."""
        ...

    def write(self, text: str) -> None:
        """Print text (a reply or an announcement) without garbling what is being typed."""
        ...

    def close(self) -> None:
        """Release the source (save history, restore the terminal)."""
        ...


class StreamLines:
    """Lines of a stream, read on the default executor; a prompt only when asked for."""

    def __init__(self, stream: TextIO, prompt: str | None = None) -> None:
        self.stream = stream
        self.prompt = prompt

    async def read(self) -> str | None:
        """Return the next line of the stream, or None at its end."""
        if self.prompt:
            sys.stdout.write(self.prompt)
            sys.stdout.flush()
        try:
            raw = await asyncio.get_running_loop().run_in_executor(None, self.stream.readline)
        except UnicodeDecodeError:  # a strict stream: what it had buffered is lost
            return UNDECODABLE
        if not raw:
            if self.prompt:
                sys.stdout.write("\n")
            return None
        return raw

    def write(self, text: str) -> None:
        """Print text on its own lines."""
        print(text, flush=True)

    def close(self) -> None:
        """Nothing to release."""


class TerminalLines:
    """Lines typed at a terminal, with readline's editing and history (kept in a file).

    `input()` runs on a daemon thread, one line per `read`: a read that is waiting never
    keeps the process from exiting, and text written while the user types (an announcement)
    goes above the prompt, which is then drawn again with what was typed so far."""

    def __init__(self, prompt: str, history: Path | None = None) -> None:
        import readline  # only for a terminal: importing it is what gives input() editing

        self._readline = readline
        self.prompt = prompt
        self.history = history
        self._reading = False
        self._requests: queue.SimpleQueue[
            tuple[asyncio.AbstractEventLoop, asyncio.Future[str | None]]
        ] = queue.SimpleQueue()
        self._terminal = _terminal_state()
        readline.set_history_length(HISTORY_LENGTH)
        if history is not None:
            with contextlib.suppress(OSError):
                readline.read_history_file(history)
        threading.Thread(target=self._serve, name="console input", daemon=True).start()

    async def read(self) -> str | None:
        """Return the next line typed, or None at Ctrl-D."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[str | None] = loop.create_future()
        self._requests.put((loop, future))
        return await future

    def _serve(self) -> None:
        while True:
            loop, future = self._requests.get()
            line: str | None
            self._reading = True
            try:
                line = input(self.prompt) + "\n"
            except EOFError:
                line = None
                sys.stdout.write("\n")
            except UnicodeDecodeError:
                line = UNDECODABLE
            finally:
                self._reading = False
            loop.call_soon_threadsafe(_settle, future, line)

    def write(self, text: str) -> None:
        """Print text; while a line is being typed, above it, then redraw the prompt."""
        if self._reading:
            typed = self._readline.get_line_buffer()
            sys.stdout.write(f"\r\x1b[K{text}\n{self.prompt}{typed}")
        else:
            sys.stdout.write(f"{text}\n")
        sys.stdout.flush()

    def close(self) -> None:
        """Save the history and leave the terminal as it was found."""
        if self.history is not None:
            with contextlib.suppress(OSError):
                self.history.parent.mkdir(parents=True, exist_ok=True)
                self._readline.write_history_file(self.history)
        _restore_terminal(self._terminal)


def _settle(future: asyncio.Future[str | None], line: str | None) -> None:
    if not future.done():
        future.set_result(line)


def _terminal_state() -> list[Any] | None:
    try:
        import termios

        return list(termios.tcgetattr(sys.stdin.fileno()))
    except (ImportError, OSError, ValueError):
        return None


def _restore_terminal(state: list[Any] | None) -> None:
    # Ended (quit, Ctrl-C) while readline had the terminal in its own mode: give it back.
    if state is None:
        return
    with contextlib.suppress(ImportError, OSError, ValueError):
        import termios

        termios.tcsetattr(sys.stdin.fileno(), termios.TCSADRAIN, state)
