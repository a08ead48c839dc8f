"""The service layer: every rule of predictbot, applied inside one storage transaction."""

from __future__ import annotations

import asyncio
import random
import re
import zoneinfo
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from bot.core import lmsr, pool, serialize, validation
from bot.core.commands import (
    MICRO,
    MUTATING,
    CancelMarket,
    ClaimDaily,
    CloseMarket,
    Command,
    Configure,
    CreateMarket,
    ExtendMarket,
    ListMarkets,
    ListOverdue,
    PlaceBet,
    ResolveMarket,
    SellShares,
    ShowBalance,
    ShowHelp,
    ShowLeaderboard,
    ShowMarket,
    ShowPortfolio,
    UnresolveMarket,
)
from bot.core.errors import (
    InsufficientFunds,
    InvalidInput,
    MarketNotOpen,
    NotAllowed,
    NotFound,
    TransientConflict,
)
from bot.core.help import help_text
from bot.core.models import (
    NA,
    STATUSES,
    Account,
    Clock,
    Community,
    CommunitySettings,
    Context,
    Market,
    Position,
    Trade,
    Transfer,
)
from bot.core.ports import Announcement, DueClose, MarketDraft, Store, Tx
from bot.core.timeparse import MAX_AHEAD, format_utc, parse_when, timezone_name
from bot.core.views import (
    BalanceShown,
    BetPlaced,
    ConfigShown,
    DailyClaimed,
    HelpShown,
    LeaderboardRow,
    LeaderboardShown,
    MarketCancelled,
    MarketCard,
    MarketClosed,
    MarketCreated,
    MarketExtended,
    MarketList,
    MarketResolved,
    MarketShown,
    MarketUnresolved,
    OutcomeView,
    OverdueShown,
    Payout,
    PortfolioShown,
    PositionView,
    Result,
    SharesSold,
)

QUESTION_MIN, QUESTION_MAX = 10, 300
CRITERIA_MAX = 2000
OUTCOME_MAX_LEN = 50
OUTCOMES_MIN, OUTCOMES_MAX = 2, 10
LIQUIDITY_MIN, LIQUIDITY_MAX = 10, 100_000
POINTS_MAX = 10**9
LIST_LIMIT = 25
LEADERBOARD_SIZE = 10
TOP_WINNERS = 5
RETRIES = 8
FAILED_SHOWN = 10
NA_WORDS = {"na", "n/a", "none", "cancel"}
SETTING_LIST_MAX = 50  # ids in moderators or moderator_roles


def points(micro: int) -> str:
    """Format micro-points as whole points, rounded to the nearest point."""
    whole = (abs(micro) + MICRO // 2) // MICRO
    return f"{'-' if micro < 0 and whole else ''}{whole:,}"


def shares_text(micro: int) -> str:
    """Format micro-shares with up to two decimals."""
    return f"{micro / MICRO:,.2f}".rstrip("0").rstrip(".")


def probabilities(market: Market) -> list[float]:
    """Return the current probability of every outcome of a market."""
    if market.mechanism == "pool":
        return pool.probabilities(market.q)
    return lmsr.probabilities(market.q, market.liquidity)


def outcome_name(market: Market, resolution: int | None) -> str | None:
    """Name a stored resolution: an outcome, N/A, or None when unresolved."""
    if resolution is None:
        return None
    return "N/A" if resolution == NA else market.outcomes[resolution]


def card_of(market: Market, community: Community) -> MarketCard:
    """Build a market's card."""
    probs = probabilities(market)
    return MarketCard(
        community=community.external_id,
        number=market.number,
        question=market.question,
        criteria=market.criteria,
        outcomes=tuple(
            OutcomeView(i + 1, name, probs[i], market.q[i])
            for i, name in enumerate(market.outcomes)
        ),
        mechanism=market.mechanism,
        liquidity=market.liquidity,
        volume=market.volume,
        traders=market.traders,
        closes_at=market.closes_at,
        status=market.status,
        creator_user=market.creator_user,
        channel=market.channel,
        card_ref=market.card_ref,
        resolution=outcome_name(market, market.resolution),
        evidence=market.evidence,
        closed_at=market.closed_at,
        resolved_at=market.resolved_at,
    )


def position_value(market: Market, position: Position) -> int:
    """Value a position at the market's current probability, in micro-points."""
    if market.mechanism == "pool":
        return position.net_cost
    prob = probabilities(market)[position.outcome]
    return int(position.shares * prob)


def normalise_user_ref(ref: str) -> str:
    """Strip mention syntax (`<@123>`, `<@!1>`, `<@&role>`, `<@U1|name>`, `@name`) to an id."""
    ref = ref.strip()
    match = re.fullmatch(r"<[@#][!&]?([^|>]+)(?:\|[^>]*)?>", ref)
    if match:
        return match.group(1)
    return ref.removeprefix("@")


def _ppm(prob: float) -> int:
    return round(prob * 1_000_000)


class Service:
    """Run commands against the store: parse nothing, decide everything."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self.store = store
        self.clock = clock
        # Called after a commit that queued announcements (the outbox dispatcher's wake-up).
        self.on_outbox: Callable[[], None] | None = None
        self._announced = False
        self._handlers: dict[type, Callable[[Tx, Any, Context], Awaitable[Result]]] = {
            CreateMarket: self._create,
            ListMarkets: self._list,
            ShowMarket: self._show,
            PlaceBet: self._bet,
            SellShares: self._sell,
            CloseMarket: self._close,
            ExtendMarket: self._extend,
            ResolveMarket: self._resolve,
            UnresolveMarket: self._unresolve,
            CancelMarket: self._cancel,
            ShowBalance: self._balance,
            ShowPortfolio: self._portfolio,
            ShowLeaderboard: self._leaderboard,
            ClaimDaily: self._daily,
            Configure: self._configure,
            ListOverdue: self._overdue,
        }

    async def execute(self, command: Command, ctx: Context) -> Result:
        """Run one command for one user; a repeated request id returns the first answer."""
        ctx = validation.check_context(ctx)
        validation.check_command(command)
        if isinstance(command, ShowHelp):
            return HelpShown(help_text(command.command))
        for attempt in range(RETRIES):
            try:
                return await self._run(command, ctx)
            except TransientConflict:
                if attempt == RETRIES - 1:
                    raise
                await asyncio.sleep(random.uniform(0.005, 0.05) * (attempt + 1))
        raise AssertionError("unreachable")

    async def _run(self, command: Command, ctx: Context) -> Result:
        handler = self._handlers[type(command)]
        mutating = isinstance(command, MUTATING)
        async with self.store.transaction(ctx.platform, ctx.community, write=True) as tx:
            if mutating and ctx.request_id:
                earlier = await tx.claim_request(
                    ctx.request_id, ctx.actor.user_id, type(command).__name__
                )
                if earlier is not None:
                    return serialize.loads(earlier)
            result = await handler(tx, command, ctx)
            if mutating and ctx.request_id:
                await tx.finish_request(ctx.request_id, serialize.dumps(result))
            await tx.commit()
        self._committed()
        return result

    def _committed(self) -> None:
        if self._announced:
            self._announced = False
            if self.on_outbox is not None:
                self.on_outbox()

    async def card(self, platform: str, community: str, number: int) -> MarketCard | None:
        """Return a market's current card, or None if there is no such market."""
        if not validation.is_market_number(number):
            return None
        async with self.store.transaction(platform, community, write=False) as tx:
            market = await tx.get_market(number)
            return None if market is None else card_of(market, tx.community)

    async def open_markets(self, platform: str, community: str) -> list[MarketCard]:
        """Return the open markets of a community, newest first."""
        async with self.store.transaction(platform, community, write=False) as tx:
            markets = await tx.list_markets(["open"], 100)
            return [card_of(m, tx.community) for m in markets]

    async def set_card_ref(self, platform: str, community: str, number: int, ref: str) -> None:
        """Remember where a market's card was posted, so it can be edited later."""
        async with self.store.transaction(platform, community, write=True) as tx:
            market = await tx.get_market(number, lock=True)
            if market is not None:
                market.card_ref = ref
                await tx.save_market(market)
                await tx.commit()

    async def close_due(self, platform: str, community: str, number: int) -> MarketClosed | None:
        """Close a market whose deadline has passed; do nothing if it is not due or not open."""
        async with self.store.transaction(platform, community, write=True) as tx:
            market = await tx.get_market(number, lock=True)
            now = self.clock.now()
            if market is None or market.status != "open" or market.closes_at > now:
                return None
            late = now - market.closes_at > timedelta(seconds=60)
            result = await self._do_close(tx, market, late=late, automatic=True)
            await tx.commit()
        self._committed()
        return result

    def close_due_batch(
        self, community: Community, markets: Sequence[Market], now: datetime
    ) -> list[DueClose]:
        """Decide how to close a batch of locked markets of one community whose deadline passed.

        Pure logic, no I/O: returns, per market still open and due at `now`, the closed market
        and the `closed` announcement exactly as `close_due` writes them (late when closed more
        than a minute after the deadline, automatic, the same dedupe key). The caller writes
        them all in one transaction and then calls `on_outbox`."""
        resolvers_of = community.settings.moderators
        closes: list[DueClose] = []
        for market in markets:
            if market.status != "open" or market.closes_at > now:
                continue
            late = now - market.closes_at > timedelta(seconds=60)
            closed_at = min(now, market.closes_at) if late else now
            closed = replace(market, status="closed", closed_at=closed_at)
            result = MarketClosed(
                card_of(closed, community),
                late=late,
                resolvers=(closed.creator_user, *resolvers_of),
                automatic=True,
            )
            key = f"m{closed.id}:closed:{closed_at.isoformat()}"
            closes.append(
                DueClose(closed, result, (Announcement("closed", serialize.dumps(result), key),))
            )
        return closes

    # -- helpers -------------------------------------------------------------------------

    def _is_moderator(self, ctx: Context, settings: CommunitySettings) -> bool:
        actor = ctx.actor
        return (
            actor.is_moderator
            or actor.user_id in settings.moderators
            or any(role in settings.moderator_roles for role in actor.roles)
        )

    async def _market(self, tx: Tx, number: int, *, lock: bool = False) -> Market:
        if not validation.is_market_number(number):
            raise validation.no_market(number)
        market = await tx.get_market(number, lock=lock)
        if market is None:
            raise validation.no_market(number)
        return market

    def _outcome(self, market: Market, text: str) -> int:
        wanted = text.strip().casefold()
        for i, name in enumerate(market.outcomes):
            if name.casefold() == wanted:
                return i
        index = validation.bounded_int(wanted)
        if index is not None and 1 <= index <= len(market.outcomes):
            return index - 1
        listing = ", ".join(f"{i + 1}. {n}" for i, n in enumerate(market.outcomes))
        raise NotFound(
            f"Market #{market.number} has no outcome `{validation.shown(text)}`. "
            f"Its outcomes: {listing}."
        )

    def _require_trading(self, market: Market) -> None:
        reason = self.trading_ended(
            market.number, market.status, market.closes_at, market.closed_at
        )
        if reason is not None:
            raise MarketNotOpen(reason)

    def trading_ended(
        self, number: int, status: str, closes_at: datetime, closed_at: datetime | None
    ) -> str | None:
        """Say why a market takes no more trades, or None while it does (buttons use this)."""
        if status == "open" and closes_at > self.clock.now():
            return None
        if status in ("open", "closed"):
            when = format_utc(closed_at or closes_at)
            return f"Market #{number} closed at {when}; trading has ended."
        return f"Market #{number} is {status}; trading has ended."

    def _when(self, text: str, settings: CommunitySettings) -> datetime:
        now = self.clock.now()
        when = parse_when(text, now, settings.timezone)
        if when <= now:
            raise InvalidInput(
                f"The deadline {format_utc(when)} is in the past. Pick a time in the future."
            )
        if when < now + timedelta(seconds=settings.min_duration):
            raise InvalidInput(
                f"The deadline {format_utc(when)} is too soon: markets must stay open at least "
                f"{_duration_text(settings.min_duration)}."
            )
        if when > now + MAX_AHEAD:
            raise InvalidInput(
                f"The deadline {format_utc(when)} is more than 100 years away. Pick a nearer time."
            )
        return when

    def _may_resolve(self, ctx: Context, tx: Tx, market: Market, has_position: bool) -> bool:
        if self._is_moderator(ctx, tx.community.settings):
            return True
        return market.creator_user == ctx.actor.user_id and not has_position

    async def _announce(self, tx: Tx, kind: str, market: Market, result: Result, key: str) -> None:
        self._announced = True
        await tx.add_outbox(kind, market, serialize.dumps(result), f"m{market.id}:{kind}:{key}")

    # -- markets -------------------------------------------------------------------------

    async def _create(self, tx: Tx, cmd: CreateMarket, ctx: Context) -> Result:
        settings = tx.community.settings
        if settings.create_policy == "moderators" and not self._is_moderator(ctx, settings):
            raise NotAllowed("Only moderators may create markets in this community.")
        question = " ".join(cmd.question.split())
        if len(question) < QUESTION_MIN:
            raise InvalidInput(
                f"The question is too short ({len(question)} characters); "
                f"write at least {QUESTION_MIN}."
            )
        if len(question) > QUESTION_MAX:
            raise InvalidInput(
                f"The question is {len(question)} characters long; the limit is {QUESTION_MAX}."
            )
        criteria = (cmd.criteria or "").strip() or None
        if criteria is not None and len(criteria) > CRITERIA_MAX:
            raise InvalidInput(
                f"The criteria are {len(criteria)} characters long; the limit is {CRITERIA_MAX}."
            )
        outcomes = _check_outcomes(cmd.outcomes or ("Yes", "No"))
        mechanism = (cmd.mechanism or "lmsr").lower()
        if mechanism not in ("lmsr", "pool"):
            raise InvalidInput(f"Unknown mechanism `{cmd.mechanism}`. Use lmsr or pool.")
        liquidity = settings.default_liquidity
        if cmd.liquidity is not None:
            if not LIQUIDITY_MIN <= cmd.liquidity <= LIQUIDITY_MAX:
                raise InvalidInput(
                    f"Liquidity must be between {LIQUIDITY_MIN} and {LIQUIDITY_MAX:,} points."
                )
            liquidity = cmd.liquidity * MICRO
        closes_at = self._when(cmd.closes, settings)
        creator = await tx.ensure_account(ctx.actor.user_id, ctx.actor.display_name)
        market = await tx.create_market(
            MarketDraft(
                question=question,
                criteria=criteria,
                outcomes=outcomes,
                mechanism="pool" if mechanism == "pool" else "lmsr",
                liquidity=liquidity,
                creator_account_id=creator.id,
                creator_user=ctx.actor.user_id,
                created_at=self.clock.now(),
                closes_at=closes_at,
                channel=ctx.channel,
            )
        )
        if market.mechanism == "lmsr":
            await tx.transfer(
                tx.community.house_account_id,
                market.escrow_account_id,
                lmsr.subsidy(market.liquidity, len(outcomes)),
                "subsidy",
                market_id=market.id,
            )
        result = MarketCreated(card_of(market, tx.community))
        await self._announce(tx, "created", market, result, "1")
        return result

    async def _list(self, tx: Tx, cmd: ListMarkets, ctx: Context) -> Result:
        status = cmd.status.lower()
        if status != "all" and status not in STATUSES:
            raise InvalidInput(f"Unknown status `{cmd.status}`. Use open, closed, resolved or all.")
        statuses = list(STATUSES) if status == "all" else [status]
        markets = await tx.list_markets(statuses, LIST_LIMIT)
        return MarketList(status, tuple(card_of(m, tx.community) for m in markets))

    async def _show(self, tx: Tx, cmd: ShowMarket, ctx: Context) -> Result:
        return MarketShown(card_of(await self._market(tx, cmd.market), tx.community))

    async def _bet(self, tx: Tx, cmd: PlaceBet, ctx: Context) -> Result:
        if not 0 < cmd.points <= POINTS_MAX:
            raise InvalidInput(f"Bet a whole number of points between 1 and {POINTS_MAX:,}.")
        market = await self._market(tx, cmd.market, lock=True)
        self._require_trading(market)
        i = self._outcome(market, cmd.outcome)
        amount = cmd.points * MICRO
        before = probabilities(market)[i]
        if market.mechanism == "lmsr":
            shares = lmsr.shares_for_amount(market.q, market.liquidity, i, amount)
        else:
            shares = amount
        # Finds (or creates) the account and debits it: one statement for a known bettor.
        account, paid = await tx.spend(
            ctx.actor.user_id,
            ctx.actor.display_name,
            market.escrow_account_id,
            amount,
            "bet",
            market_id=market.id,
        )
        if not paid:
            raise InsufficientFunds(
                f"You have {account.balance // MICRO:,} points; this bet needs {cmd.points:,}."
            )
        held = await tx.positions(market.id, account.id)
        market.q[i] += shares
        market.volume += amount
        if not held:
            market.traders += 1
        after = probabilities(market)[i]
        now = self.clock.now()
        trade_id = await tx.add_trade(
            Trade(
                market.id,
                account.id,
                i,
                "buy",
                amount,
                shares,
                _ppm(before),
                _ppm(after),
                now,
                ctx.request_id,
            )
        )
        position = next((p for p in held if p.outcome == i), None) or Position(
            market.id, account.id, i
        )
        position.shares += shares
        position.net_cost += amount
        if position.first_trade_id is None:
            position.first_trade_id = trade_id
        await tx.save_position(position)
        await tx.save_market(market)
        return BetPlaced(
            card=card_of(market, tx.community),
            user_id=ctx.actor.user_id,
            outcome=market.outcomes[i],
            points=amount,
            shares=shares,
            prob_before=before,
            prob_after=after,
            balance=account.balance,  # read back by the debit, so never stale
        )

    async def _sell(self, tx: Tx, cmd: SellShares, ctx: Context) -> Result:
        market = await self._market(tx, cmd.market, lock=True)
        if market.mechanism == "pool":
            raise InvalidInput(
                f"Market #{market.number} is a pool market: stakes stay in until it resolves."
            )
        self._require_trading(market)
        i = self._outcome(market, cmd.outcome)
        account = await tx.ensure_account(ctx.actor.user_id, ctx.actor.display_name)
        position = next(
            (p for p in await tx.positions(market.id, account.id) if p.outcome == i), None
        )
        held = position.shares if position else 0
        wanted = held if cmd.micro_shares is None else cmd.micro_shares
        if held <= 0 or position is None:
            raise InsufficientFunds(
                f"You hold no shares of {market.outcomes[i]} in market #{market.number}."
            )
        if wanted <= 0:
            raise InvalidInput("Sell a positive number of shares, or `all`.")
        if wanted > held:
            raise InsufficientFunds(
                f"You hold {shares_text(held)} shares of {market.outcomes[i]} in market "
                f"#{market.number}; you asked to sell {shares_text(wanted)}."
            )
        before = probabilities(market)[i]
        proceeds = lmsr.proceeds_of_sale(market.q, market.liquidity, i, wanted)
        market.q[i] -= wanted
        market.volume += proceeds
        after = probabilities(market)[i]
        trade_id = await tx.add_trade(
            Trade(
                market.id,
                account.id,
                i,
                "sell",
                proceeds,
                wanted,
                _ppm(before),
                _ppm(after),
                self.clock.now(),
                ctx.request_id,
            )
        )
        if proceeds > 0:
            await tx.transfer(
                market.escrow_account_id,
                account.id,
                proceeds,
                "sell",
                market_id=market.id,
                trade_id=trade_id,
            )
        position.shares -= wanted
        position.net_cost -= proceeds
        await tx.save_position(position)
        await tx.save_market(market)
        return SharesSold(
            card=card_of(market, tx.community),
            user_id=ctx.actor.user_id,
            outcome=market.outcomes[i],
            shares=wanted,
            proceeds=proceeds,
            prob_before=before,
            prob_after=after,
            balance=account.balance + proceeds,
        )

    async def _do_close(
        self, tx: Tx, market: Market, *, late: bool = False, automatic: bool = False
    ) -> MarketClosed:
        now = self.clock.now()
        market.status = "closed"
        market.closed_at = min(now, market.closes_at) if late else now
        await tx.save_market(market)
        settings = tx.community.settings
        resolvers = (market.creator_user, *settings.moderators)
        result = MarketClosed(
            card_of(market, tx.community), late=late, resolvers=resolvers, automatic=automatic
        )
        await self._announce(tx, "closed", market, result, market.closed_at.isoformat())
        return result

    async def _close(self, tx: Tx, cmd: CloseMarket, ctx: Context) -> Result:
        market = await self._market(tx, cmd.market, lock=True)
        if market.creator_user != ctx.actor.user_id and not self._is_moderator(
            ctx, tx.community.settings
        ):
            raise NotAllowed("Only the market's creator or a moderator may close it early.")
        if market.status != "open":
            raise MarketNotOpen(f"Market #{market.number} is already {market.status}.")
        return await self._do_close(tx, market)

    async def _extend(self, tx: Tx, cmd: ExtendMarket, ctx: Context) -> Result:
        market = await self._market(tx, cmd.market, lock=True)
        if market.creator_user != ctx.actor.user_id and not self._is_moderator(
            ctx, tx.community.settings
        ):
            raise NotAllowed("Only the market's creator or a moderator may change its deadline.")
        if market.status not in ("open", "closed"):
            raise MarketNotOpen(
                f"Market #{market.number} is {market.status}; its deadline can't change."
            )
        when = self._when(cmd.closes, tx.community.settings)
        if market.status == "open" and when <= market.closes_at:
            raise InvalidInput(
                f"Market #{market.number} already closes at {format_utc(market.closes_at)}; "
                "extend moves the deadline later (use `close` to end it now)."
            )
        previous = market.closes_at
        market.closes_at = when
        market.status = "open"
        market.closed_at = None
        await tx.save_market(market)
        result = MarketExtended(card_of(market, tx.community), previous)
        await self._announce(tx, "extended", market, result, when.isoformat())
        return result

    async def _settleable(self, tx: Tx, number: int, ctx: Context, verb: str) -> Market:
        """Lock a market the user may resolve or cancel now, or refuse."""
        market = await self._market(tx, number, lock=True)
        account = await tx.find_account(ctx.actor.user_id)
        held = bool(
            account and any(p.shares > 0 for p in await tx.positions(market.id, account.id))
        )
        if not self._may_resolve(ctx, tx, market, held):
            raise NotAllowed(
                f"Only a moderator may {verb} this market (its creator may too, "
                "but only while holding no position in it)."
            )
        if market.status not in ("open", "closed"):
            raise MarketNotOpen(
                f"Market #{market.number} is already {market.status}. "
                "A moderator can `unresolve` it first."
            )
        return market

    async def _resolve(self, tx: Tx, cmd: ResolveMarket, ctx: Context) -> Result:
        market = await self._settleable(tx, cmd.market, ctx, "resolve")
        if cmd.outcome.strip().casefold() in NA_WORDS:
            return await self._settle_cancel(tx, market)
        i = self._outcome(market, cmd.outcome)
        evidence = cmd.evidence
        if evidence is not None and not re.match(r"https?://\S+$", evidence):
            raise InvalidInput("Evidence must be a link starting with http:// or https://.")
        known = self._known_at(cmd.known, market, tx.community.settings)
        market.known_at = known
        voided = await self._void_after(tx, market, known) if known else 0
        batch = self._open_settlement(market)
        market.escrow_before = await tx.balance(market.escrow_account_id)
        if market.mechanism == "lmsr":
            await tx.pay_winning_shares(market, i, batch)
        else:
            stakes = await tx.winning_stakes(market.id, i)
            pot = sum(market.q)
            if stakes and sum(s for _, s in stakes) > 0:
                payouts = pool.split_pot(pot, stakes)
                await tx.bulk_transfer(
                    [
                        Transfer(market.escrow_account_id, a, amt)
                        for a, amt in payouts.items()
                        if amt > 0
                    ],
                    "payout",
                    market.id,
                    batch,
                )
            else:
                await tx.refund_net_spend(market, batch)
        await tx.sweep_escrow(market, 0, batch)
        summary = await tx.batch_summary(batch, TOP_WINNERS)
        self._mark_settled(market, "resolved", i, evidence)
        await tx.save_market(market)
        result = MarketResolved(
            card=card_of(market, tx.community),
            outcome=market.outcomes[i],
            evidence=evidence,
            total_paid=summary.total,
            winners=tuple(Payout(u, n, a) for u, n, a in summary.top if a > 0),
            voided_trades=voided,
        )
        await self._announce(tx, "resolved", market, result, str(market.settlement))
        return result

    async def _cancel(self, tx: Tx, cmd: CancelMarket, ctx: Context) -> Result:
        market = await self._settleable(tx, cmd.market, ctx, "cancel")
        return await self._settle_cancel(tx, market)

    async def _settle_cancel(self, tx: Tx, market: Market) -> Result:
        batch = self._open_settlement(market)
        market.escrow_before = await tx.balance(market.escrow_account_id)
        await tx.refund_net_spend(market, batch)
        await tx.sweep_escrow(market, 0, batch)
        summary = await tx.batch_summary(batch, TOP_WINNERS)
        self._mark_settled(market, "cancelled", NA, None)
        await tx.save_market(market)
        result = MarketCancelled(
            card=card_of(market, tx.community),
            total_refunded=summary.total,
            accounts_refunded=summary.accounts,
        )
        await self._announce(tx, "cancelled", market, result, str(market.settlement))
        return result

    def _open_settlement(self, market: Market) -> str:
        market.settlement += 1
        return f"m{market.id}.s{market.settlement}"

    def _mark_settled(
        self, market: Market, status: str, resolution: int, evidence: str | None
    ) -> None:
        now = self.clock.now()
        market.status = "resolved" if status == "resolved" else "cancelled"
        market.resolution = resolution
        market.evidence = evidence
        market.resolved_at = now
        if market.closed_at is None:
            market.closed_at = min(now, market.closes_at)

    def _known_at(
        self, text: str | None, market: Market, settings: CommunitySettings
    ) -> datetime | None:
        if text is None:
            return None
        known = parse_when(text, self.clock.now(), settings.timezone)
        if known > self.clock.now():
            raise InvalidInput(f"known: {format_utc(known)} is in the future; it must be past.")
        if known < market.created_at:
            return market.created_at
        return known

    async def _void_after(self, tx: Tx, market: Market, known: datetime) -> int:
        """Reverse, newest first, every trade placed after the outcome became public."""
        trades = await tx.trades_after(market.id, known)
        for trade in trades:
            assert trade.id is not None
            positions = {p.outcome: p for p in await tx.positions(market.id, trade.account_id)}
            position = positions[trade.outcome]
            if trade.side == "buy":
                await tx.transfer(
                    market.escrow_account_id,
                    trade.account_id,
                    trade.amount,
                    "void",
                    market_id=market.id,
                    trade_id=trade.id,
                )
                position.shares -= trade.shares
                position.net_cost -= trade.amount
                market.q[trade.outcome] -= trade.shares
            else:
                back = min(trade.amount, await tx.balance(trade.account_id))
                if back > 0:
                    await tx.transfer(
                        trade.account_id,
                        market.escrow_account_id,
                        back,
                        "void",
                        market_id=market.id,
                        trade_id=trade.id,
                    )
                position.shares += trade.shares
                position.net_cost += trade.amount
                market.q[trade.outcome] += trade.shares
            market.volume -= trade.amount
            await tx.save_position(position)
            await tx.void_trade(trade.id)
        return len(trades)

    async def _unresolve(self, tx: Tx, cmd: UnresolveMarket, ctx: Context) -> Result:
        market = await self._market(tx, cmd.market, lock=True)
        if not self._is_moderator(ctx, tx.community.settings):
            raise NotAllowed("Only a moderator may unresolve a market.")
        if market.status not in ("resolved", "cancelled"):
            raise MarketNotOpen(f"Market #{market.number} is {market.status}, not resolved.")
        previous = outcome_name(market, market.resolution) or "?"
        batch = f"m{market.id}.s{market.settlement}"
        undo = f"m{market.id}.u{market.settlement}"
        await tx.reverse_batch(market, batch, undo)
        await tx.sweep_escrow(market, market.escrow_before, undo)
        summary = await tx.batch_summary(undo, 0)
        market.status = "closed"
        market.resolution = None
        market.evidence = None
        market.resolved_at = None
        market.known_at = None
        await tx.save_market(market)
        result = MarketUnresolved(card_of(market, tx.community), previous, -summary.total)
        await self._announce(tx, "unresolved", market, result, str(market.settlement))
        return result

    async def _overdue(self, tx: Tx, cmd: ListOverdue, ctx: Context) -> Result:
        if not self._is_moderator(ctx, tx.community.settings):
            raise NotAllowed("Only moderators may list overdue markets.")
        markets = await tx.overdue_markets()
        failed = await tx.failed_announcements(FAILED_SHOWN)
        return OverdueShown(tuple(card_of(m, tx.community) for m in markets), tuple(failed))

    # -- people --------------------------------------------------------------------------

    async def _balance(self, tx: Tx, cmd: ShowBalance, ctx: Context) -> Result:
        own = cmd.user is None or normalise_user_ref(cmd.user) == ctx.actor.user_id
        account: Account | None
        if own:
            account = await tx.ensure_account(ctx.actor.user_id, ctx.actor.display_name)
        else:
            assert cmd.user is not None
            account = await tx.find_account(normalise_user_ref(cmd.user))
            if account is None:
                raise NotFound(
                    f"{validation.shown(cmd.user)} has no points yet: "
                    "they haven't used predictbot here."
                )
        holdings = await tx.holdings(account.id)
        invested = sum(position_value(h.market, h.position) for h in holdings)
        assert account.user_id is not None
        return BalanceShown(account.user_id, account.display_name, account.balance, invested, own)

    async def _portfolio(self, tx: Tx, cmd: ShowPortfolio, ctx: Context) -> Result:
        account = await tx.ensure_account(ctx.actor.user_id, ctx.actor.display_name)
        rows = tuple(
            PositionView(
                market=h.market.number,
                question=h.market.question,
                status=h.market.status,
                outcome=h.market.outcomes[h.position.outcome],
                shares=h.position.shares,
                net_cost=h.position.net_cost,
                value=position_value(h.market, h.position),
            )
            for h in await tx.holdings(account.id)
        )
        return PortfolioShown(ctx.actor.user_id, account.balance, rows)

    async def _leaderboard(self, tx: Tx, cmd: ShowLeaderboard, ctx: Context) -> Result:
        worth: dict[int, int] = {}
        for h in await tx.holdings(None):
            worth[h.position.account_id] = worth.get(h.position.account_id, 0) + position_value(
                h.market, h.position
            )
        accounts = await tx.user_accounts()
        ranked = sorted(
            accounts, key=lambda a: (-(a.balance + worth.get(a.id, 0)), a.display_name.casefold())
        )
        rows = tuple(
            LeaderboardRow(
                rank=n + 1,
                user_id=a.user_id or "",
                display_name=a.display_name,
                balance=a.balance,
                net_worth=a.balance + worth.get(a.id, 0),
            )
            for n, a in enumerate(ranked[:LEADERBOARD_SIZE])
        )
        return LeaderboardShown(rows)

    async def _daily(self, tx: Tx, cmd: ClaimDaily, ctx: Context) -> Result:
        settings = tx.community.settings
        account = await tx.ensure_account(ctx.actor.user_id, ctx.actor.display_name)
        zone = zoneinfo.ZoneInfo(settings.timezone)
        local_now = self.clock.now().astimezone(zone)
        tomorrow = (local_now + timedelta(days=1)).replace(
            hour=0, minute=0, second=0, microsecond=0
        )
        next_at = tomorrow.astimezone(self.clock.now().tzinfo)
        if settings.daily_allowance <= 0:
            raise NotAllowed("This community has no daily allowance.")
        if not await tx.claim_daily(account.id, local_now.date().isoformat()):
            raise NotAllowed(
                f"You already claimed today's allowance. The next one is available from "
                f"{format_utc(next_at)}."
            )
        await tx.transfer(
            tx.community.house_account_id, account.id, settings.daily_allowance, "daily"
        )
        return DailyClaimed(
            settings.daily_allowance, account.balance + settings.daily_allowance, next_at
        )

    async def _configure(self, tx: Tx, cmd: Configure, ctx: Context) -> Result:
        settings = tx.community.settings
        if not self._is_moderator(ctx, settings):
            raise NotAllowed("Only moderators may view or change the settings.")
        changed: list[str] = []
        for key, value in cmd.changes:
            settings = _apply_setting(settings, key, value)
            changed.append(key)
        if changed:
            await tx.save_settings(settings)
        return ConfigShown(settings_items(settings), tuple(changed))


def settings_items(settings: CommunitySettings) -> tuple[tuple[str, str], ...]:
    """List settings as user-facing key/value text."""
    return (
        ("starting_balance", points(settings.starting_balance)),
        ("daily_allowance", points(settings.daily_allowance)),
        ("default_liquidity", points(settings.default_liquidity)),
        ("timezone", settings.timezone),
        ("moderator_roles", ", ".join(settings.moderator_roles) or "(none)"),
        ("moderators", ", ".join(settings.moderators) or "(none)"),
        ("announce_channel", settings.announce_channel or "(where each market was created)"),
        ("create_policy", settings.create_policy),
        ("min_duration", _duration_text(settings.min_duration)),
    )


def _seconds(text: str) -> int:
    """Parse a setting's duration: `0`, `90`, `90s`, `1m`, `2h`, `3d` or `1w`, in seconds.

    Unlike deadline shorthand, seconds and bare numbers are allowed here (`min_duration:0`)."""
    match = re.fullmatch(r"\s*([0-9]+)\s*([smhdw]?)\s*", text.lower())
    if not match:
        raise InvalidInput(
            f"`{validation.shown(text)}` is not a duration. Use e.g. 0, 30s, 1m, 2h or 3d."
        )
    unit = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[match.group(2)]
    return (validation.bounded_int(match.group(1)) or 0) * unit


def _duration_text(seconds: int) -> str:
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            n = seconds // size
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return f"{seconds} second{'s' if seconds != 1 else ''}"


def _whole_points(key: str, value: str, low: int, high: int) -> int:
    number = validation.bounded_int(value.replace(",", "").replace("_", "").strip())
    if number is None or not low <= number <= high:
        raise InvalidInput(f"{key} must be a whole number of points from {low} to {high:,}.")
    return number * MICRO


def _list_value(key: str, value: str) -> tuple[str, ...]:
    if value.strip().lower() in ("", "none", "-"):
        return ()
    ids = tuple(
        dict.fromkeys(normalise_user_ref(v) for v in re.split(r"[,\s]+", value) if v.strip())
    )
    if len(ids) > SETTING_LIST_MAX:
        raise InvalidInput(f"{key} can list at most {SETTING_LIST_MAX} ids; you gave {len(ids)}.")
    for item in ids:
        if not item or len(item) > validation.USER_ID_MAX:
            raise InvalidInput(
                f"{key}: `{validation.shown(item)}` is not an id — ids are 1 to "
                f"{validation.USER_ID_MAX} characters; mention the user or role."
            )
    return ids


def _apply_setting(settings: CommunitySettings, key: str, value: str) -> CommunitySettings:
    key = key.lower()
    if key == "starting_balance":
        return settings.with_changes(starting_balance=_whole_points(key, value, 0, 10**9))
    if key == "daily_allowance":
        return settings.with_changes(daily_allowance=_whole_points(key, value, 0, 10**9))
    if key == "default_liquidity":
        return settings.with_changes(
            default_liquidity=_whole_points(key, value, LIQUIDITY_MIN, LIQUIDITY_MAX)
        )
    if key == "timezone":
        zone = timezone_name(value)
        if zone is None:
            raise InvalidInput(
                f"`{validation.shown(value)}` is not a timezone. "
                "Use an IANA name like Europe/Berlin."
            )
        return settings.with_changes(timezone=zone)
    if key == "moderator_roles":
        return settings.with_changes(moderator_roles=_list_value(key, value))
    if key == "moderators":
        return settings.with_changes(moderators=_list_value(key, value))
    if key == "announce_channel":
        channel = value.strip()
        match = re.fullmatch(r"<#([^|>]+)(?:\|[^>]*)?>", channel)
        channel = match.group(1) if match else channel.removeprefix("#")
        if len(channel) > validation.CHANNEL_MAX or len(channel.split()) > 1:
            raise InvalidInput(
                f"announce_channel takes one channel of at most {validation.CHANNEL_MAX} "
                "characters — mention it, like #predictions, or give its id."
            )
        return settings.with_changes(
            announce_channel=None if channel.lower() in ("", "none") else channel
        )
    if key == "create_policy":
        policy = value.strip().lower()
        if policy not in ("anyone", "moderators"):
            raise InvalidInput("create_policy must be `anyone` or `moderators`.")
        return settings.with_changes(create_policy=policy)
    if key == "min_duration":
        seconds = _seconds(value)
        if seconds > 30 * 86400:
            raise InvalidInput("min_duration can be at most 30 days.")
        return settings.with_changes(min_duration=seconds)
    keys = ", ".join(k for k, _ in settings_items(settings))
    raise InvalidInput(f"Unknown setting `{key}`. Settings: {keys}.")


def _check_outcomes(names: tuple[str, ...]) -> tuple[str, ...]:
    cleaned = tuple(" ".join(n.split()) for n in names if n.strip())
    if not OUTCOMES_MIN <= len(cleaned) <= OUTCOMES_MAX:
        raise InvalidInput(
            f"A market needs {OUTCOMES_MIN} to {OUTCOMES_MAX} outcomes; you gave {len(cleaned)}."
        )
    seen: set[str] = set()
    for name in cleaned:
        if len(name) > OUTCOME_MAX_LEN:
            raise InvalidInput(
                f"The outcome `{name[:20]}…` is too long; "
                f"the limit is {OUTCOME_MAX_LEN} characters."
            )
        if name.isdigit() or name.casefold() in NA_WORDS:
            raise InvalidInput(f"`{name}` can't be an outcome name: numbers and N/A are reserved.")
        if name.casefold() in seen:
            raise InvalidInput(f"The outcome `{name}` appears twice (outcomes ignore case).")
        seen.add(name.casefold())
    return cleaned
