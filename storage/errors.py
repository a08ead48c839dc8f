"""The one place database errors become core errors: deadlocks and serialization failures
are transient conflicts the service retries; everything else is a bug and propagates."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import DBAPIError

from bot.core.errors import TransientConflict

RETRYABLE_SQLSTATES = {"40001", "40P01"}
BUSY = "The market is busy right now; please try again in a moment."


def is_retryable(error: DBAPIError) -> bool:
    """Tell whether a database error is a deadlock or serialization failure."""
    orig = error.orig
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if code is None and orig is not None:
        code = getattr(getattr(orig, "__cause__", None), "sqlstate", None)
    return code in RETRYABLE_SQLSTATES


@contextmanager
def translated() -> Iterator[None]:
    """Raise a deadlock or serialization failure inside the block as `TransientConflict`."""
    try:
        yield
    except DBAPIError as error:
        if is_retryable(error):
            raise TransientConflict(BUSY) from error
        raise
