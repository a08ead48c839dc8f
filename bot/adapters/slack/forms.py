"""Modals and the App Home tab: the create and bet forms, and the Home view with its Bet buttons."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from bot.adapters.slack.blocks import (
    LINE_NAME,
    LINE_QUESTION,
    Block,
    chance,
    context,
    date_token,
    plain,
    section,
    short,
    status_text,
)
from bot.adapters.slack.escape import escape_mrkdwn
from bot.core.money import points, shares_text
from bot.core.text import showing
from bot.core.views import MarketCard, MarketList, Page, PortfolioShown

BET_ACTION = re.compile(r"^bet:(\d+)$")


HOME_BET_ACTION = "home_bet"


CREATE_CALLBACK = "create_market"


BET_CALLBACK = "place_bet"


HOME_PAGE_PREFIX = "home_page:"
HOME_PAGE_ACTION = re.compile(r"^home_page:(positions|markets):(back|next)$")


@dataclass(frozen=True, slots=True)
class ModalOrigin:
    """Where a modal was opened from, so its answer can go back there."""

    channel: str | None = None
    response_url: str | None = None
    market: int | None = None
    timezone: str = "UTC"

    def dumps(self) -> str:
        """Encode as a view's private_metadata."""
        return json.dumps(
            {"c": self.channel, "r": self.response_url, "m": self.market, "tz": self.timezone}
        )

    @classmethod
    def loads(cls, text: str | None) -> ModalOrigin:
        """Decode a view's private_metadata (empty means nothing is known)."""
        data = json.loads(text) if text else {}
        return cls(data.get("c"), data.get("r"), data.get("m"), data.get("tz") or "UTC")


def bet_modal(card: MarketCard, outcome: int | None, origin: ModalOrigin) -> dict[str, Any]:
    """Build the modal that asks how many points to stake on an outcome."""
    options = [
        {"text": plain(f"{o.index}. {o.name}"), "value": str(o.index)} for o in card.outcomes
    ]
    select: dict[str, Any] = {"type": "static_select", "action_id": "outcome", "options": options}
    chosen = next((opt for opt in options if opt["value"] == str(outcome)), None)
    if chosen is not None:
        select["initial_option"] = chosen
    odds = " · ".join(f"{escape_mrkdwn(o.name)} {chance(o.probability)}" for o in card.outcomes)
    return {
        "type": "modal",
        "callback_id": BET_CALLBACK,
        "private_metadata": origin.dumps(),
        "title": plain(f"Bet on #{card.number}", 24),
        "submit": plain("Bet"),
        "close": plain("Cancel"),
        "blocks": [
            section(f"*{escape_mrkdwn(card.question)}*"),
            context(f"{odds} · {status_text(card)}"),
            {"type": "input", "block_id": "outcome", "label": plain("Outcome"), "element": select},
            {
                "type": "input",
                "block_id": "points",
                "label": plain("Points"),
                "hint": plain("Whole points to stake, like 50.", 150),
                "element": {
                    "type": "plain_text_input",
                    "action_id": "points",
                    "placeholder": plain("50"),
                },
            },
        ],
    }


def create_modal(origin: ModalOrigin, default_day: date) -> dict[str, Any]:
    """Build the modal that creates a market."""

    def text_input(block: str, label: str, *, optional: bool = False, **element: Any) -> Block:
        return {
            "type": "input",
            "block_id": block,
            "optional": optional,
            "label": plain(label),
            "element": {"type": "plain_text_input", "action_id": block, **element},
        }

    mechanisms = [
        {"text": plain("Market maker (LMSR)"), "value": "lmsr"},
        {"text": plain("Pool (winners split the pot)"), "value": "pool"},
    ]
    return {
        "type": "modal",
        "callback_id": CREATE_CALLBACK,
        "private_metadata": origin.dumps(),
        "title": plain("New market", 24),
        "submit": plain("Create"),
        "close": plain("Cancel"),
        "blocks": [
            text_input(
                "question",
                "Question",
                placeholder=plain("Will Turkey take delivery of S-400 systems by 2019-12-31?"),
            ),
            {
                "type": "input",
                "block_id": "date",
                "label": plain("Closes on"),
                "element": {
                    "type": "datepicker",
                    "action_id": "date",
                    "initial_date": default_day.isoformat(),
                },
            },
            {
                "type": "input",
                "block_id": "time",
                "label": plain("At"),
                "element": {
                    "type": "timepicker",
                    "action_id": "time",
                    "initial_time": "17:00",
                    "timezone": origin.timezone,
                },
            },
            text_input(
                "outcomes",
                "Outcomes",
                optional=True,
                placeholder=plain("Yes, No"),
            ),
            text_input("criteria", "Resolution criteria", optional=True, multiline=True),
            {
                "type": "input",
                "block_id": "mechanism",
                "label": plain("Mechanism"),
                "element": {
                    "type": "static_select",
                    "action_id": "mechanism",
                    "options": mechanisms,
                    "initial_option": mechanisms[0],
                },
            },
        ],
    }


def home_view(
    portfolio: PortfolioShown, markets: MarketList, notice: str | None = None
) -> dict[str, Any]:
    """Build a user's App Home: balance, a page of open positions and a page of the
    workspace's open markets, each saying how many there are and with buttons to page."""
    pages = (_number(portfolio.page), _number(markets.page))
    blocks: list[Block] = []
    if notice:  # a reply, already mrkdwn: escaping it again would show "&amp;" for "&"
        blocks += [section(notice), {"type": "divider"}]
    blocks.append({"type": "header", "text": plain("Your predictions", 150)})
    blocks.append(section(f"*Balance:* {points(portfolio.balance)} points"))
    blocks.append({"type": "header", "text": plain("Open positions", 150)})
    if not portfolio.positions:
        blocks.append(context("No open positions yet. Bet on a market below."))
    for p in portfolio.positions:
        blocks.append(
            section(
                f"*#{p.market}* {short(p.question, LINE_QUESTION)}\n"
                f"{short(p.outcome, LINE_NAME)}: {shares_text(p.shares)} shares · cost "
                f"{points(p.net_cost)} · worth {points(p.value)} ({p.status})"
            )
        )
    blocks += _pager("positions", portfolio.page, pages, "open positions")
    blocks.append({"type": "divider"})
    blocks.append({"type": "header", "text": plain("Open markets", 150)})
    if not markets.cards:
        blocks.append(context("No open markets. Create one with `/predict create`."))
    for card in markets.cards:
        odds = " · ".join(
            f"{short(o.name, LINE_NAME)} {chance(o.probability)}" for o in card.outcomes
        )
        line = section(
            f"*#{card.number}* {short(card.question, LINE_QUESTION)}\n{odds} · "
            f"closes {date_token(card.closes_at)}"
        )
        line["accessory"] = {
            "type": "button",
            "action_id": HOME_BET_ACTION,
            "text": plain("Bet"),
            "value": str(card.number),
        }
        blocks.append(line)
    blocks += _pager("markets", markets.page, pages, "open markets")
    return {"type": "home", "blocks": blocks}


def _number(page: Page | None) -> int:
    return 1 if page is None else page.number


def _pager(which: str, page: Page | None, pages: tuple[int, int], many: str) -> list[Block]:
    """Say which part of a list the Home shows, with buttons to the pages before and after
    (their values: the pages of positions and markets to show then)."""
    if page is None or page.pages == 1:
        return []
    buttons = []
    for direction, label, target in (
        ("back", "Previous page", page.previous),
        ("next", "Next page", page.next),
    ):
        if target is not None:
            wanted = (target, pages[1]) if which == "positions" else (pages[0], target)
            buttons.append(
                {
                    "type": "button",
                    "action_id": f"{HOME_PAGE_PREFIX}{which}:{direction}",
                    "text": plain(label),
                    "value": json.dumps({"p": wanted[0], "m": wanted[1]}),
                }
            )
    return [context(f"{showing(page)} {many}."), {"type": "actions", "elements": buttons}]


def home_pages(value: object) -> tuple[int, int] | None:
    """Read the pages a Home page button asks for (positions, markets); None if its value is
    not one the Home wrote."""
    try:
        data = json.loads(value) if isinstance(value, str) else None
        return int(data["p"]), int(data["m"])  # type: ignore[index]
    except (ValueError, TypeError, KeyError):
        return None
