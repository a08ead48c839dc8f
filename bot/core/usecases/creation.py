"""Create a market: check the question, outcomes and deadline, and fund its subsidy."""

from __future__ import annotations

from bot.core import lmsr
from bot.core.commands import CreateMarket
from bot.core.errors import InsufficientFunds, InvalidInput, NotAllowed
from bot.core.models import AnnouncementKind, CommunitySettings, EntryKind, Mechanism
from bot.core.money import MICRO, points, points_up
from bot.core.ports import MarketDraft
from bot.core.usecases._shared import Request, deadline
from bot.core.views import MarketCreated, Result

QUESTION_MIN, QUESTION_MAX = 10, 300
CRITERIA_MAX = 2000
OUTCOME_MAX_LEN = 50
OUTCOMES_MIN, OUTCOMES_MAX = 2, 10
LIQUIDITY_MIN, LIQUIDITY_MAX = 10, 100_000
NA_WORDS = {"na", "n/a", "none", "cancel"}


async def create(cmd: CreateMarket, r: Request) -> Result:
    """Open a market; the house funds its subsidy up to the community's limit, the creator
    the rest."""
    settings = r.settings
    if settings.create_policy == "moderators" and not r.is_moderator:
        raise NotAllowed("Only moderators may create markets in this community.")
    question = _question(cmd.question)
    criteria = (cmd.criteria or "").strip() or None
    if criteria is not None and len(criteria) > CRITERIA_MAX:
        raise InvalidInput(
            f"The criteria are {len(criteria)} characters long; the limit is {CRITERIA_MAX}."
        )
    outcomes = check_outcomes(cmd.outcomes or ("Yes", "No"))
    mechanism = (cmd.mechanism or Mechanism.LMSR).lower()
    if mechanism not in tuple(Mechanism):
        raise InvalidInput(f"Unknown mechanism `{cmd.mechanism}`. Use lmsr or pool.")
    liquidity = settings.default_liquidity
    if cmd.liquidity is not None:
        if not LIQUIDITY_MIN <= cmd.liquidity <= LIQUIDITY_MAX:
            raise InvalidInput(
                f"Liquidity must be between {LIQUIDITY_MIN} and {LIQUIDITY_MAX:,} points."
            )
        liquidity = cmd.liquidity * MICRO
    closes_at = deadline(cmd.closes, settings, r.now)
    creator = await r.tx.accounts.ensure(r.actor.user_id, r.actor.display_name)
    if creator.balance < 0:
        raise InsufficientFunds(
            f"You are {points(-creator.balance)} points in debt: you can't create markets "
            "until your balance is above zero. `daily` pays the debt down."
        )
    house_part, funded = 0, 0
    if mechanism == Mechanism.LMSR:
        house_part, funded = subsidy_split(settings, r.is_moderator, liquidity, len(outcomes))
        if funded > creator.balance:
            raise InsufficientFunds(_funding_refusal(liquidity, outcomes, house_part, funded))
    market = await r.tx.markets.add(
        MarketDraft(
            question=question,
            criteria=criteria,
            outcomes=outcomes,
            mechanism=Mechanism(mechanism),
            liquidity=liquidity,
            creator_account_id=creator.id,
            creator_user=r.actor.user_id,
            created_at=r.now,
            closes_at=closes_at,
            channel=r.ctx.channel,
            creator_subsidy=funded,
        )
    )
    ledger = r.tx.ledger
    if house_part > 0:
        await ledger.transfer(
            r.tx.community.house_account_id,
            market.escrow_account_id,
            house_part,
            EntryKind.SUBSIDY,
            market_id=market.id,
        )
    if funded > 0 and not await ledger.transfer(
        creator.id,
        market.escrow_account_id,
        funded,
        EntryKind.SUBSIDY,
        market_id=market.id,
        require_funds=True,
    ):
        raise InsufficientFunds(_funding_refusal(liquidity, outcomes, house_part, funded))
    result = MarketCreated(r.card(market), funded=funded)
    await r.announce(AnnouncementKind.CREATED, market, result, "1")
    return result


def subsidy_split(
    settings: CommunitySettings, moderator: bool, liquidity: int, outcomes: int
) -> tuple[int, int]:
    """Split an LMSR market's subsidy b·ln n into what the house funds and what the creator
    funds: the house covers liquidity up to `house_liquidity` (a moderator's market up to
    `moderator_liquidity`), the creator the rest."""
    covered = settings.house_funded_liquidity
    if moderator:
        covered = max(covered, settings.moderator_liquidity)
    total = lmsr.subsidy(liquidity, outcomes)
    house_part = lmsr.subsidy(min(liquidity, covered), outcomes) if covered > 0 else 0
    return house_part, total - house_part


def _question(text: str) -> str:
    question = " ".join(text.split())
    if len(question) < QUESTION_MIN:
        raise InvalidInput(
            f"The question is too short ({len(question)} characters); "
            f"write at least {QUESTION_MIN}."
        )
    if len(question) > QUESTION_MAX:
        raise InvalidInput(
            f"The question is {len(question)} characters long; the limit is {QUESTION_MAX}."
        )
    return question


def _funding_refusal(liquidity: int, outcomes: tuple[str, ...], house: int, funded: int) -> str:
    return (
        f"A market with liquidity {points(liquidity)} and {len(outcomes)} outcomes needs a "
        f"subsidy of {points_up(house + funded)} points. The house funds {points(house)} of it; "
        f"you would fund the other {points_up(funded)}, and you don't have that many. "
        "Lower the liquidity, or ask a moderator to create it."
    )


def check_outcomes(names: tuple[str, ...]) -> tuple[str, ...]:
    """Clean and check outcome names: 2–10 of them, unique ignoring case, not reserved."""
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
