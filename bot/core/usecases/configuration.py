"""Show and change a community's settings (moderators)."""

from __future__ import annotations

import re

from bot.core import validation
from bot.core.commands import ClaimModerator, Configure
from bot.core.errors import InvalidInput, NotAllowed
from bot.core.models import CommunitySettings
from bot.core.money import MICRO, points
from bot.core.timeparse import DATE_ORDERS, parse_duration, timezone_name
from bot.core.usecases._shared import Request, duration_text, normalise_user_ref
from bot.core.usecases.creation import LIQUIDITY_MAX, LIQUIDITY_MIN
from bot.core.views import ConfigShown, ModeratorClaimed, Result

MIN_DURATION_MAX = 30 * 86400
SETTING_LIST_MAX = 50  # ids in moderators or moderator_roles


async def configure(cmd: Configure, r: Request) -> Result:
    """Show the settings; with changes, apply them all or none."""
    settings = r.settings
    if not r.is_moderator:
        raise NotAllowed("Only moderators may view or change the settings.")
    changed: list[str] = []
    for key, value in cmd.changes:
        settings = apply_setting(settings, key, value)
        changed.append(key)
    if changed:
        await r.tx.communities.save_settings(settings)
    return ConfigShown(settings_items(settings), tuple(changed))


async def claim_moderator(cmd: ClaimModerator, r: Request) -> Result:
    """Make the sender the first moderator of a fresh community: one with no markets and no
    moderators yet. Anywhere else, change nothing and say whether the sender moderates.

    The console's local user claims this at start: whoever opens a new community first owns
    it, and nobody becomes a moderator of a community already in use by starting a console."""
    settings = r.settings
    fresh = not (settings.moderators or settings.moderator_roles)
    if r.is_moderator or not fresh or await r.tx.markets.get(1) is not None:
        return ModeratorClaimed(r.actor.user_id, granted=False, moderator=r.is_moderator)
    await r.tx.communities.save_settings(settings.with_changes(moderators=(r.actor.user_id,)))
    return ModeratorClaimed(r.actor.user_id, granted=True, moderator=True)


def settings_items(settings: CommunitySettings) -> tuple[tuple[str, str], ...]:
    """List settings as user-facing key/value text."""
    house = points(settings.house_funded_liquidity)
    if settings.house_liquidity is None:
        house += " (follows default_liquidity)"
    return (
        ("starting_balance", points(settings.starting_balance)),
        ("daily_allowance", points(settings.daily_allowance)),
        ("default_liquidity", points(settings.default_liquidity)),
        ("house_liquidity", house),
        ("moderator_liquidity", points(settings.moderator_liquidity)),
        ("timezone", settings.timezone),
        ("moderator_roles", ", ".join(settings.moderator_roles) or "(none)"),
        ("moderators", ", ".join(settings.moderators) or "(none)"),
        ("announce_channel", settings.announce_channel or "(where each market was created)"),
        ("create_policy", settings.create_policy),
        ("min_duration", duration_text(settings.min_duration)),
        ("date_order", settings.date_order),
    )


def apply_setting(settings: CommunitySettings, key: str, value: str) -> CommunitySettings:
    """Return the settings with one key changed to a value typed by a moderator, or refuse."""
    key = key.lower()
    if key in ("starting_balance", "daily_allowance"):
        return settings.with_changes(**{key: _whole_points(key, value, 0, 10**9)})
    if key == "default_liquidity":
        return settings.with_changes(
            default_liquidity=_whole_points(key, value, LIQUIDITY_MIN, LIQUIDITY_MAX)
        )
    if key == "house_liquidity":
        if value.strip().lower() in ("default", "none"):
            return settings.with_changes(house_liquidity=None)
        return settings.with_changes(
            house_liquidity=_whole_points(key, value, 0, LIQUIDITY_MAX, "or `default`")
        )
    if key == "moderator_liquidity":
        return settings.with_changes(
            moderator_liquidity=_whole_points(key, value, 0, LIQUIDITY_MAX)
        )
    if key == "timezone":
        return settings.with_changes(timezone=_timezone(value))
    if key in ("moderator_roles", "moderators"):
        return settings.with_changes(**{key: _list_value(key, value)})
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
        seconds = int(parse_duration(value, setting=True).total_seconds())
        if seconds > MIN_DURATION_MAX:
            raise InvalidInput("min_duration can be at most 30 days.")
        return settings.with_changes(min_duration=seconds)
    if key == "date_order":
        order = value.strip().lower()
        if order not in DATE_ORDERS:
            raise InvalidInput(
                "date_order must be `dmy` (05/06/2027 is 5 June), `mdy` (May 6) or `ymd` "
                "(year first: 2027/06/05)."
            )
        return settings.with_changes(date_order=order)
    keys = ", ".join(k for k, _ in settings_items(settings))
    raise InvalidInput(f"Unknown setting `{key}`. Settings: {keys}.")


def _timezone(value: str) -> str:
    zone = timezone_name(value)
    if zone is None:
        raise InvalidInput(
            f"`{validation.shown(value)}` is not a timezone. Use an IANA name like Europe/Berlin."
        )
    return zone


def _whole_points(key: str, value: str, low: int, high: int, alternative: str = "") -> int:
    number = validation.bounded_int(value.replace(",", "").replace("_", "").strip())
    if number is None or not low <= number <= high:
        also = f" {alternative}" if alternative else ""
        raise InvalidInput(f"{key} must be a whole number of points from {low} to {high:,}{also}.")
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
