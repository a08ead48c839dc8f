"""The core's behaviour tests run on every store: here `service` is the world's service.

A test that asks for `service` (or `world`) runs on the in-memory store, on SQLite and on
PostgreSQL (`store_kind`); on the SQL stores it is a contract test of `storage/`."""

from __future__ import annotations

import pytest

from bot.core.service import Service
from tests.world import World


@pytest.fixture
def service(world: World) -> Service:
    """Return the service on a fresh store of `store_kind`, with the fake clock."""
    return world.service
