"""Typed errors whose message is safe to show to a chat user."""

from __future__ import annotations


class PredictError(Exception):
    """Refuse a request with a short message meant for the user who sent it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(PredictError):
    """The request could not be understood or has a bad value."""


class NotFound(PredictError):
    """A market, outcome or user named in the request does not exist."""


class MarketNotOpen(PredictError):
    """The market is not in a state that allows this action."""


class NotAllowed(PredictError):
    """The user may not do this."""


class InsufficientFunds(PredictError):
    """The user has too few points (or shares) for this."""


class Conflict(PredictError):
    """The request collides with the current state (e.g. a busy database)."""


class TransientConflict(Conflict):
    """A concurrent transaction got in the way; the command may simply be retried."""


class DeliveryFailed(Exception):
    """An adapter could not post or edit a message; the outbox will try again later."""

    def __init__(self, reason: str, *, retry_after: float | None = None, permanent: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after
        self.permanent = permanent


class StartupError(Exception):
    """predictbot cannot start: the message says, in one line, what is wrong and what to do.

    Raised by whatever reads a setting, opens the database or logs in to a chat platform;
    `predictbot` prints the message alone (no traceback) and exits non-zero."""
