"""Logarithmic market scoring rule (Hanson) on integer micro-units; rounding favours the house."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from decimal import (
    MAX_EMAX,
    MIN_EMIN,
    ROUND_CEILING,
    ROUND_FLOOR,
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
    localcontext,
)

__all__ = [
    "cost",
    "cost_of_shares",
    "probabilities",
    "proceeds_of_sale",
    "shares_for_amount",
    "subsidy",
]


# 50 significant digits: q up to ~1e18 micro-shares still leaves > 30 digits after the point,
# far below the micro-point results are rounded to (in the house's favour, which
# `shares_for_amount` checks against the cost function itself); 60 cost 25% more time.
_CONTEXT = Context(
    prec=50,
    rounding=ROUND_HALF_EVEN,
    Emax=MAX_EMAX,
    Emin=MIN_EMIN,
    traps=[InvalidOperation, DivisionByZero, Overflow],
)

_P_MIN = sys.float_info.min
_P_MAX = 1.0 - sys.float_info.epsilon / 2  # largest float below 1.0


def _check_market(q: Sequence[int], b: int) -> None:
    """Validate the outcome vector and the liquidity parameter."""
    if len(q) < 2:
        raise ValueError("a market needs at least 2 outcomes")
    if b <= 0:
        raise ValueError("liquidity b must be positive")


def _check_outcome(q: Sequence[int], outcome: int) -> None:
    """Validate an outcome index against the outcome vector."""
    if not 0 <= outcome < len(q):
        raise ValueError(f"outcome {outcome} out of range 0..{len(q) - 1}")


def _cost(q: Sequence[int], b: int) -> Decimal:
    """C(q) via log-sum-exp shifting; must be called inside the local context."""
    top = max(q)
    bd = Decimal(b)
    total = sum((((Decimal(x - top)) / bd).exp() for x in q), Decimal(0))
    return Decimal(top) + bd * total.ln()


def _weights(q: Sequence[int], b: int) -> list[Decimal]:
    """Normalised exp(qᵢ/b) weights (the exact probabilities); call inside the local context."""
    top = max(q)
    bd = Decimal(b)
    terms = [(Decimal(x - top) / bd).exp() for x in q]
    total = sum(terms, Decimal(0))
    return [t / total for t in terms]


def _moved(q: Sequence[int], outcome: int, delta: int) -> list[int]:
    """Copy of q with delta added to one outcome."""
    moved = list(q)
    moved[outcome] += delta
    return moved


def cost(q: Sequence[int], b: int) -> Decimal:
    """C(q) = b·ln Σ exp(qᵢ/b) in micro-points, as an unrounded Decimal."""
    _check_market(q, b)
    with localcontext(_CONTEXT):
        return _cost(q, b)


def probabilities(q: Sequence[int], b: int) -> list[float]:
    """Display probabilities pᵢ = exp(qᵢ/b)/Σ exp(qⱼ/b), each clamped strictly inside (0, 1)."""
    _check_market(q, b)
    with localcontext(_CONTEXT):
        weights = _weights(q, b)
    return [min(max(float(w), _P_MIN), _P_MAX) for w in weights]


def shares_for_amount(q: Sequence[int], b: int, outcome: int, amount: int) -> int:
    """Largest micro-share count Δ with C(q+Δ·eᵢ) − C(q) ≤ amount."""
    _check_market(q, b)
    _check_outcome(q, outcome)
    if amount <= 0:
        raise ValueError("amount must be positive")
    with localcontext(_CONTEXT):
        bd = Decimal(b)
        top = max(q)
        terms = [(Decimal(x - top) / bd).exp() for x in q]
        total = sum(terms, Decimal(0))
        p = terms[outcome] / total
        log_p = Decimal(q[outcome] - top) / bd - total.ln()
        growth = (Decimal(amount) / bd).exp() - 1
        # b·ln(1 + g/p) written as b·(ln(p + g) − ln p) so a vanishing p cannot divide by zero.
        estimate = bd * ((p + growth).ln() - log_p)
        delta = max(int(estimate.to_integral_value(rounding=ROUND_FLOOR)), 0)
        base = _cost(q, b)
        limit = Decimal(amount)

        def fits(d: int) -> bool:
            """Whether d micro-shares cost at most the amount."""
            return _cost(_moved(q, outcome, d), b) - base <= limit

        while delta > 0 and not fits(delta):
            delta -= 1
        while fits(delta + 1):
            delta += 1
        return delta


def cost_of_shares(q: Sequence[int], b: int, outcome: int, shares: int) -> int:
    """C(q+Δ·eᵢ) − C(q) rounded up to a micro-point."""
    _check_market(q, b)
    _check_outcome(q, outcome)
    if shares <= 0:
        raise ValueError("shares must be positive")
    with localcontext(_CONTEXT):
        diff = _cost(_moved(q, outcome, shares), b) - _cost(q, b)
        return int(diff.to_integral_value(rounding=ROUND_CEILING))


def proceeds_of_sale(q: Sequence[int], b: int, outcome: int, shares: int) -> int:
    """C(q) − C(q−Δ·eᵢ) rounded down to a micro-point."""
    _check_market(q, b)
    _check_outcome(q, outcome)
    if shares <= 0:
        raise ValueError("shares must be positive")
    with localcontext(_CONTEXT):
        diff = _cost(q, b) - _cost(_moved(q, outcome, -shares), b)
        return int(diff.to_integral_value(rounding=ROUND_FLOOR))


def subsidy(b: int, n: int) -> int:
    """Maximum house loss b·ln n rounded up to a micro-point."""
    if n < 2:
        raise ValueError("a market needs at least 2 outcomes")
    if b <= 0:
        raise ValueError("liquidity b must be positive")
    with localcontext(_CONTEXT):
        loss = Decimal(b) * Decimal(n).ln()
        return int(loss.to_integral_value(rounding=ROUND_CEILING))
