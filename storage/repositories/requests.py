"""Request ids already handled, with their answers: a repeated request changes nothing."""

from __future__ import annotations

from sqlalchemy import bindparam, select, update

from storage import tables as t
from storage.session import Session

_REQUEST_FINISH = update(t.request).where(
    t.request.c.community_id == bindparam("p_community"),
    t.request.c.request_id == bindparam("p_request"),
)
_REQUEST_RESULT = select(t.request.c.result_json).where(
    t.request.c.community_id == bindparam("p_community"),
    t.request.c.request_id == bindparam("p_request"),
)


class SqlRequests:
    """Implements `bot.core.ports.Requests`."""

    def __init__(self, tx: Session) -> None:
        self.tx = tx

    async def claim(self, request_id: str, user_id: str, command: str) -> str | None:
        """Record a request id; return the stored answer if it was seen before."""
        inserted = (
            await self.tx.exec(
                self.tx.store.claim_request,
                {
                    "community_id": self.tx.community.id,
                    "request_id": request_id,
                    "user_id": user_id,
                    "command": command,
                    "created_at": self.tx.now,
                },
            )
        ).first()
        if inserted is not None:
            return None
        params = {"p_community": self.tx.community.id, "p_request": request_id}
        stored = (await self.tx.exec(_REQUEST_RESULT, params)).scalar_one()
        return str(stored) if stored is not None else None

    async def finish(self, request_id: str, result: str) -> None:
        """Store the answer to a claimed request."""
        await self.tx.exec(
            _REQUEST_FINISH,
            {
                "p_community": self.tx.community.id,
                "p_request": request_id,
                "result_json": result,
            },
        )
