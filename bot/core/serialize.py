"""Encode view models as JSON so a repeated request can return its first answer."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from typing import Any

from bot.core.views import RESULT_TYPES, Result


def _encode(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out = {f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
        out["__t"] = type(value).__name__
        return out
    if isinstance(value, datetime):
        return {"__dt": value.isoformat()}
    if isinstance(value, tuple | list):
        return [_encode(v) for v in value]
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if "__dt" in value:
            return datetime.fromisoformat(value["__dt"])
        kind = RESULT_TYPES[value.pop("__t")]
        return kind(**{k: _decode(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(_decode(v) for v in value)
    return value


def dumps(result: Result) -> str:
    """Encode a result as a JSON string."""
    return json.dumps(_encode(result), separators=(",", ":"))


def loads(text: str) -> Result:
    """Decode a result encoded by `dumps`."""
    decoded: Result = _decode(json.loads(text))
    return decoded
