"""What the core needs from the outside, typed as protocols.

`store` is the unit of work (a transaction per command) with its repositories, one per
aggregate (`repositories`); `claims` is what the scheduler and the outbox dispatcher need;
`records` are the plain values that cross these boundaries. Storage implements them
(`storage/`), and so does the in-memory store of the tests (`tests/fakes/memory_store.py`).
"""

from bot.core.ports.claims import Claims, FailedMessage, OutboxClaim
from bot.core.ports.records import (
    Announcement,
    BatchSummary,
    DueClose,
    MarketDraft,
    MarketRef,
    OutboxMessage,
)
from bot.core.ports.repositories import (
    Accounts,
    Communities,
    Ledger,
    Markets,
    Outbox,
    Positions,
    Requests,
    Trades,
)
from bot.core.ports.store import Announcer, Store, Tx, WriteRequired

__all__ = [
    "Accounts",
    "Announcement",
    "Announcer",
    "BatchSummary",
    "Claims",
    "Communities",
    "DueClose",
    "FailedMessage",
    "Ledger",
    "MarketDraft",
    "MarketRef",
    "Markets",
    "Outbox",
    "OutboxClaim",
    "OutboxMessage",
    "Positions",
    "Requests",
    "Store",
    "Trades",
    "Tx",
    "WriteRequired",
]
