"""One rule says why a market takes no more trades: commands and stale buttons share it."""

from __future__ import annotations

from datetime import timedelta

from bot.core.service import Service
from tests.helpers import FakeClock


def test_trading_ended_reasons(service: Service, clock: FakeClock) -> None:
    later, earlier = clock.now() + timedelta(hours=1), clock.now() - timedelta(minutes=1)
    assert service.trading_ended(1, "open", later, None) is None
    past_deadline = service.trading_ended(1, "open", earlier, None)
    assert past_deadline is not None and "closed at" in past_deadline
    closed = service.trading_ended(2, "closed", later, earlier)
    assert closed is not None and "Market #2 closed at" in closed and "trading has ended" in closed
    resolved = service.trading_ended(3, "resolved", later, earlier)
    assert resolved == "Market #3 is resolved; trading has ended."
    cancelled = service.trading_ended(4, "cancelled", later, earlier)
    assert cancelled is not None and "cancelled" in cancelled
