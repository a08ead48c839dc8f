"""How long lists are cut into pages: the page sizes, and the refusal of a page that does not
exist. Every list that may be long (markets, positions, overdue markets) is read one page at a
time, with the count of the whole, so each reply can say what it leaves out."""

from __future__ import annotations

from bot.core.errors import InvalidInput
from bot.core.views import Page

# Ten lines per page: what a chat reply shows at a glance, and what fits the platforms'
# limits even when every line is as long as a market's texts may be.
LIST_PAGE = 10
PORTFOLIO_PAGE = 10
OVERDUE_PAGE = 10
FAILED_SHOWN = 10  # undelivered announcements listed, newest first, on overdue's first page


def page_of(number: int, size: int, total: int, one: str, many: str) -> Page:
    """Return page `number` of a list of `total` items, or refuse a page that does not exist.

    `one` and `many` name an item and items in the refusal ("open market", "open markets"). An
    empty list has one page, its first, which says it is empty; any later page is refused."""
    if number < 1:
        raise InvalidInput("Pages are numbered from 1: use `page:1`, `page:2` and so on.")
    page = Page(number, size, total)
    if number > page.pages:
        if total == 0:
            raise InvalidInput(f"There is no page {number:,}: there are no {many}.")
        where = "on page 1" if page.pages == 1 else f"on pages 1 to {page.pages:,}"
        items = f"is 1 {one}" if total == 1 else f"are {total:,} {many}"
        raise InvalidInput(f"There is no page {number:,}: there {items}, {where}.")
    return page
