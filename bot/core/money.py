"""Points and shares: integers in millionths, and how chat shows them."""

from __future__ import annotations

# Points and shares are both counted in millionths (micro-points, micro-shares).
MICRO = 1_000_000


def points(micro: int) -> str:
    """Format micro-points as whole points, rounded to the nearest point."""
    whole = (abs(micro) + MICRO // 2) // MICRO
    return f"{'-' if micro < 0 and whole else ''}{whole:,}"


def points_up(micro: int) -> str:
    """Format micro-points as whole points, rounded up: what a user needs to have."""
    return f"{-(-micro // MICRO):,}"


def shares_text(micro: int) -> str:
    """Format micro-shares with up to two decimals."""
    return f"{micro / MICRO:,.2f}".rstrip("0").rstrip(".")


def ppm(probability: float) -> int:
    """A probability in parts per million, as trades store it."""
    return round(probability * 1_000_000)
