"""The Alembic migrations build exactly the schema the SQLModel tables describe."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel

import storage.tables  # noqa: F401  (registers the tables)
from bot.core import lmsr
from bot.core.money import MICRO
from storage.engine import alembic_config, migrate


async def test_migrated_schema_matches_the_tables(engine: AsyncEngine) -> None:
    def diff(conn: Connection) -> list[object]:
        context = MigrationContext.configure(conn)
        return list(compare_metadata(context, SQLModel.metadata))

    async with engine.connect() as conn:
        differences = await conn.run_sync(diff)
    assert differences == []


async def test_migrating_twice_is_harmless(engine: AsyncEngine) -> None:
    await migrate(engine)
    await migrate(engine)


async def test_trade_probabilities_are_filled_in_for_existing_trades(engine: AsyncEngine) -> None:
    """0004 replays each market's trades to store every outcome's probability after each."""

    def downgrade(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, "0003")

    async with engine.begin() as conn:
        await conn.run_sync(downgrade)
        now = datetime(2026, 3, 2, tzinfo=UTC)
        await conn.execute(
            text(
                "INSERT INTO community (id, platform, external_id, settings_json, "
                "next_market_number, created_at) VALUES (1, 'console', 'c', '{}', 2, :t)"
            ),
            {"t": now},
        )
        await conn.execute(
            text(
                "INSERT INTO account (id, community_id, kind, display_name, balance, created_at) "
                "VALUES (1, 1, 'escrow', 'e', 0, :t), (2, 1, 'user', 'u', 0, :t)"
            ),
            {"t": now},
        )
        await conn.execute(
            text(
                "INSERT INTO market (id, community_id, number, question, outcomes_json, q_json, "
                "mechanism, liquidity, creator_account_id, creator_user, escrow_account_id, "
                "status, created_at, closes_at, volume, traders, settlement, escrow_before, "
                "creator_subsidy) VALUES (1, 1, 1, 'Will the backfill work?', "
                "'[\"Yes\", \"No\"]', '[0, 0]', 'lmsr', :b, 2, 'u', 1, 'open', :t, :t, 0, 1, 0, "
                "0, 0)"
            ),
            {"t": now, "b": 100 * MICRO},
        )
        shares = [148_988_012, -50_000_000]
        for n, delta in enumerate(shares, 1):
            await conn.execute(
                text(
                    "INSERT INTO trade (id, market_id, account_id, outcome, side, amount, shares, "
                    "prob_before, prob_after, created_at, voided) "
                    "VALUES (:i, 1, 2, 0, :s, 1, :n, 0, 0, :t, false)"
                ),
                {"i": n, "s": "buy" if delta > 0 else "sell", "n": abs(delta), "t": now},
            )
    await migrate(engine)
    async with engine.connect() as conn:
        stored = [
            json.loads(p)
            for (p,) in (await conn.execute(text("SELECT probs_json FROM trade ORDER BY id")))
        ]
    first = lmsr.probabilities([148_988_012, 0], 100 * MICRO)
    second = lmsr.probabilities([98_988_012, 0], 100 * MICRO)
    assert stored == [[round(p * MICRO) for p in first], [round(p * MICRO) for p in second]]
    assert stored[0][0] == 816_060  # DESIGN.md's worked example: 0.816060 after 100 points
