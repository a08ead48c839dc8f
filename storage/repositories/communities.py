"""The transaction's community: its settings."""

from __future__ import annotations

import dataclasses

from sqlalchemy import update

from bot.core.models import CommunitySettings
from storage import tables as t
from storage.rows import settings_to_json
from storage.session import Session


class SqlCommunities:
    """Implements `bot.core.ports.Communities`."""

    def __init__(self, tx: Session) -> None:
        self.tx = tx

    async def save_settings(self, settings: CommunitySettings) -> None:
        """Store the community's settings."""
        await self.tx.exec(
            update(t.community)
            .where(t.community.c.id == self.tx.community.id)
            .values(settings_json=settings_to_json(settings))
        )
        self.tx.community = dataclasses.replace(self.tx.community, settings=settings)
