"""The console pages long lists like the chats do: `page:N`, and a word on what is left out."""

from __future__ import annotations

from pathlib import Path

from tests.adapters.console.test_console import console


def test_list_pages_and_refuses_a_page_past_the_end(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'console.db'}"
    creates = "".join(
        f'create "Will market number {n} resolve yes?" closes:2099-12-31\n' for n in range(1, 13)
    )
    script = creates + "list\nlist open page:2\nlist page:3\nportfolio page:abc\n"
    done = console(script, env={"DATABASE_URL": db})
    assert done.returncode == 0, done.stderr
    out = done.stdout
    first = out.index("Open markets:")
    second = out.index("Open markets:", first + 1)
    assert "  #12 Will market number 12" in out[first:second]
    assert "  #2 Will market number 2 " not in out[first:second]
    assert "Showing 10 of 12 — `list open page:2` for more." in out[first:second]
    assert "  #2 Will market number 2 " in out[second:]
    assert "Showing 11–12 of 12 — the last page; `list open page:1` goes back." in out[second:]
    assert "There is no page 3: there are 12 open markets, on pages 1 to 2." in out
    assert "`abc` is not a page number — pages are numbered from 1, like `page:2`." in out
