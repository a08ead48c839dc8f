"""The transaction's community: its settings."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from sqlalchemy import update

from bot.core.models import CommunitySettings
from storage import tables as t
from storage.rows import settings_to_json

if TYPE_CHECKING:
    from storage.tx import SqlTx


class SqlCommunities:
    """Implements `bot.core.ports.Communities`."""

    def __init__(self, tx: SqlTx) -> None:
        self.tx = tx

    async def save_settings(self, settings: CommunitySettings) -> None:
        """Store the community's settings."""
        await self.tx.exec(
            update(t.community)
            .where(t.community.c.id == self.tx.community.id)
            .values(settings_json=settings_to_json(settings))
        )
        self.tx.community = dataclasses.replace(self.tx.community, settings=settings)
