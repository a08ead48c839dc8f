"""Claims for scheduled work: due markets, resolution reminders and outbox rows.

On PostgreSQL every claim picks rows with `FOR UPDATE SKIP LOCKED` and stamps a lease
(`claimed_until`) in the same short transaction, so several bot processes on one database share
the work without waiting on each other, and a crashed process's claims expire with their lease.
Whatever a claim leads to is idempotent on its own (closing locks the market and checks its
status; a reminder re-checks `reminded_at` under a row lock; an outbox row is delivered only by
the holder of its current lease), so an expired lease costs at most a repeated attempt.

On SQLite one bot process per database file is assumed: SQLite has no row locks, writers queue
on the store's in-process lock and `BEGIN IMMEDIATE`, and leases only guard against the same
process claiming a row twice.
"""

from __future__ import annotations

from storage.claims.deadlines import DeadlineClaims
from storage.claims.outbox import OutboxClaims
from storage.claims.reminders import ReminderClaims

__all__ = ["SqlClaims"]


class SqlClaims(DeadlineClaims, ReminderClaims, OutboxClaims):
    """Claim scheduled work on the database of a `SqlStore`; implements
    `bot.core.ports.Claims`."""
