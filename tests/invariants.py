"""The money invariants of DESIGN.md §3, checked from a store's raw rows.

Every check reads rows through a `Probe` (one method: all rows of a table), so the same checks
run on SQLite, PostgreSQL and the in-memory store. `expected_balances` is the model the
metamorphic tests compare against: each user's balance computed from the trades that stand and
the markets' states alone, never from the ledger's settlement entries.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Protocol

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core import lmsr, pool

Row = Mapping[str, Any]

TABLES = (
    "community",
    "account",
    "market",
    "position",
    "trade",
    "ledger_entry",
    "request",
    "outbox",
)

# Ledger kinds that reverse earlier movements: only these may take a user below zero.
REVERSAL_KINDS = frozenset({"void", "clawback", "reverse"})
# Ledger kinds that move points by a rule unrelated to any market.
ALLOWANCE_KINDS = frozenset({"grant", "daily"})


class Probe(Protocol):
    """Read a store's raw rows, for checks."""

    async def rows(self, table: str) -> list[Row]:
        """Return every row of a table, ordered by id."""
        ...


class SqlProbe:
    """Read rows of a SQL database."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def rows(self, table: str) -> list[Row]:
        """Return every row of a table, ordered by id."""
        async with self.engine.connect() as conn:
            result = await conn.execute(text(f"SELECT * FROM {table} ORDER BY id"))
            return [dict(r._mapping) for r in result]


async def snapshot(probe: Probe) -> dict[str, list[tuple[object, ...]]]:
    """Return every row of every table, to prove a refused request changed nothing."""
    return {name: [tuple(r.values()) for r in await probe.rows(name)] for name in TABLES}


def house_funded(market: Row) -> int:
    """The part of a market's subsidy the house paid."""
    if market["mechanism"] != "lmsr":
        return 0
    n = len(json.loads(market["outcomes_json"]))
    return lmsr.subsidy(int(market["liquidity"]), n) - int(market["creator_subsidy"])


async def check_ledger(probe: Probe) -> dict[str, int]:
    """Assert the ledger invariants; return user balances by user id.

    Every community's balances sum to 0 and every cached balance equals its ledger history;
    replayed in order, only a reversal ever takes a user below zero or deeper into debt; no
    escrow is negative and every settled market's escrow is empty; on no market did the house
    lose more than the part of the subsidy it funded."""
    accounts = {int(a["id"]): a for a in await probe.rows("account")}
    sums: dict[int, int] = {}
    for account in accounts.values():
        community = int(account["community_id"])
        sums[community] = sums.get(community, 0) + int(account["balance"])
    assert all(s == 0 for s in sums.values()), f"community sums not zero: {sums}"
    running: dict[int, int] = {}
    house_net: dict[int, int] = {}  # market id → the house's net on it
    for entry in await probe.rows("ledger_entry"):
        source, target = int(entry["from_account"]), int(entry["to_account"])
        amount = int(entry["amount"])
        assert amount > 0, f"ledger entry {entry['id']} moves {amount}"
        running[target] = running.get(target, 0) + amount
        before = running.get(source, 0)
        running[source] = before - amount
        if accounts[source]["kind"] == "user" and running[source] < 0:
            assert entry["kind"] in REVERSAL_KINDS, (
                f"a {entry['kind']} entry ({entry['id']}) took user account {source} from "
                f"{before} to {running[source]}: only reversals may make a balance negative"
            )
        if entry["market_id"] is not None:
            market = int(entry["market_id"])
            for account, sign in ((target, 1), (source, -1)):
                if accounts[account]["kind"] == "house":
                    house_net[market] = house_net.get(market, 0) + sign * amount
    bad = [
        (i, int(a["balance"]), running.get(i, 0))
        for i, a in accounts.items()
        if running.get(i, 0) != int(a["balance"])
    ]
    assert not bad, f"cached balance differs from ledger (id, cached, derived): {bad}"
    for market in await probe.rows("market"):
        number, held = market["number"], int(accounts[int(market["escrow_account_id"])]["balance"])
        assert held >= 0, f"market #{number}'s escrow is negative: {held}"
        if market["status"] in ("resolved", "cancelled"):
            assert held == 0, f"settled market #{number} has {held} left in escrow"
        loss = -house_net.get(int(market["id"]), 0)
        funded = house_funded(market)
        assert loss <= funded, (
            f"the house lost {loss} on market #{number}, more than the {funded} it funded"
        )
    return {str(a["user_id"]): int(a["balance"]) for a in accounts.values() if a["kind"] == "user"}


async def expected_balances(probe: Probe) -> dict[str, int]:
    """Compute every user's balance from the trades that stand and the markets' states.

    A user holds their starting grant and daily allowances, minus the net cost of their
    standing trades and the subsidy they funded on markets not yet settled; a resolved LMSR
    market pays one point per winning share and gives its creator their share of what the
    subsidy did not lose; a pool splits its pot among the winning stakes (earliest stake first
    on ties) or refunds everyone; a cancelled market leaves everyone as if it never existed."""
    accounts = {int(a["id"]): a for a in await probe.rows("account")}
    balance = {i: 0 for i, a in accounts.items() if a["kind"] == "user"}
    for entry in await probe.rows("ledger_entry"):
        if entry["kind"] in ALLOWANCE_KINDS:
            balance[int(entry["to_account"])] += int(entry["amount"])
    trades: dict[int, list[Row]] = {}
    for trade in await probe.rows("trade"):
        if not trade["voided"]:
            trades.setdefault(int(trade["market_id"]), []).append(trade)
    for market in await probe.rows("market"):
        standing = trades.get(int(market["id"]), [])
        for account, effect in _market_effects(market, standing).items():
            balance[account] += effect
    return {str(accounts[i]["user_id"]): b for i, b in balance.items()}


def _market_effects(market: Row, trades: list[Row]) -> dict[int, int]:
    """What a market did to each user's balance, from its standing trades and its state."""
    cost: dict[int, int] = {}
    shares: dict[tuple[int, int], int] = {}
    first_buy: dict[tuple[int, int], int] = {}
    for trade in trades:
        account, outcome = int(trade["account_id"]), int(trade["outcome"])
        sign = 1 if trade["side"] == "buy" else -1
        cost[account] = cost.get(account, 0) + sign * int(trade["amount"])
        shares[(account, outcome)] = shares.get((account, outcome), 0) + sign * int(trade["shares"])
        if sign > 0:
            first_buy.setdefault((account, outcome), int(trade["id"]))
    creator, funded = int(market["creator_account_id"]), int(market["creator_subsidy"])
    status = market["status"]
    if status == "cancelled":
        return {}
    effects = {account: -spent for account, spent in cost.items()}
    if status in ("open", "closed"):
        if funded:
            effects[creator] = effects.get(creator, 0) - funded
        return effects
    winner = int(market["resolution"])
    if market["mechanism"] == "pool":
        stakes = sorted(
            (
                (first_buy[key], key[0], held)
                for key, held in shares.items()
                if key[1] == winner and held > 0
            ),
            key=lambda s: s[0],
        )
        if not stakes or sum(s for _, _, s in stakes) == 0:
            return {}  # nobody backed the winner: everyone is refunded
        pot = sum(cost.values())
        for account, paid in pool.split_pot(pot, [(a, s) for _, a, s in stakes]).items():
            effects[account] = effects.get(account, 0) + paid
        return effects
    won = {key[0]: held for key, held in shares.items() if key[1] == winner and held > 0}
    for account, held in won.items():
        effects[account] = effects.get(account, 0) + held
    if funded:
        total = lmsr.subsidy(int(market["liquidity"]), len(json.loads(market["outcomes_json"])))
        left = total + sum(cost.values()) - sum(won.values())
        effects[creator] = effects.get(creator, 0) - funded + left * funded // total
    return effects


async def check_markets(probe: Probe) -> None:
    """Assert that every market's outstanding shares, volume and trader count, and every
    position's shares, net cost and first stake, follow from the trades that stand."""
    positions: dict[tuple[int, int, int], Row] = {
        (int(p["market_id"]), int(p["account_id"]), int(p["outcome"])): p
        for p in await probe.rows("position")
    }
    derived: dict[tuple[int, int, int], list[int]] = {}  # shares, net cost, first buy id
    volume: dict[int, int] = {}
    traders: dict[int, set[int]] = {}
    for trade in await probe.rows("trade"):
        if trade["voided"]:
            continue
        market, account = int(trade["market_id"]), int(trade["account_id"])
        key = (market, account, int(trade["outcome"]))
        sign = 1 if trade["side"] == "buy" else -1
        held = derived.setdefault(key, [0, 0, 0])
        held[0] += sign * int(trade["shares"])
        held[1] += sign * int(trade["amount"])
        if sign > 0 and not held[2]:
            held[2] = int(trade["id"])
        volume[market] = volume.get(market, 0) + int(trade["amount"])
        traders.setdefault(market, set()).add(account)
    for key, position in positions.items():
        shares, cost, first = derived.get(key, [0, 0, 0])
        assert (int(position["shares"]), int(position["net_cost"])) == (shares, cost), (
            f"position {key} holds {position['shares']} shares at {position['net_cost']}; "
            f"its standing trades make {shares} at {cost}"
        )
        assert position["first_trade_id"] == (first or None), (key, position, first)
    assert set(derived) <= set(positions), "a standing trade has no position"
    for market in await probe.rows("market"):
        market_id = int(market["id"])
        q = json.loads(market["q_json"])
        held = [
            sum(int(p["shares"]) for k, p in positions.items() if k[0] == market_id and k[2] == i)
            for i in range(len(q))
        ]
        assert q == held, f"market #{market['number']} shows {q}, its positions hold {held}"
        assert all(x >= 0 for x in q)
        assert int(market["volume"]) == volume.get(market_id, 0), market
        assert int(market["traders"]) == len(traders.get(market_id, ())), market
