"""What the Session log asks for, as one object that becomes SQLAlchemy Core conditions."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Table

from components.log.codec import to_utc_iso
from components.log.database import casefold
from components.log.schema import RowStatus


def _tuple_or_none(value: Any) -> tuple[Any, ...] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return (value,)
    return tuple(value)


@dataclass(frozen=True)
class LogFilter:
    """Which rows a page wants; one object so pages can pass it around and cache on it.

    None means "no constraint". An empty `aspect_ratios` or `ids` matches nothing. `since` and
    `until` take datetimes, dates or ISO text (naive = UTC); a bare date as `until` includes
    that whole day.
    """

    text: str | None = None
    status: str | tuple[str, ...] | None = None  # one status, or any of several
    since: datetime | date | str | None = None
    until: datetime | date | str | None = None
    aspect_ratios: tuple[str, ...] | None = None
    raw: bool | None = None
    backend: str | None = None
    session_id: str | None = None
    group_id: str | None = None
    min_rating: int | None = None
    ids: tuple[str, ...] | None = None
    errors_only: bool = False
    made_by: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "aspect_ratios", _tuple_or_none(self.aspect_ratios))
        object.__setattr__(self, "ids", _tuple_or_none(self.ids))

    def conditions(self, table: Table) -> list[ColumnElement[bool]]:
        """The filter as Core conditions on the log table (ANDed); user text only as values."""
        c = table.c
        out: list[ColumnElement[bool]] = []
        if self.text:
            needle = self.text.casefold()
            escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            out.append(casefold(c.prompt).like(f"%{escaped}%", escape="\\"))
        if isinstance(self.status, tuple):
            out.append(c.status.in_(list(self.status)))
        elif self.status is not None:
            out.append(c.status == self.status)
        if self.errors_only:
            out.append(c.status == RowStatus.ERROR.value)
        if self.since is not None:
            out.append(c.created_at >= to_utc_iso(self.since))
        if self.until is not None:
            if isinstance(self.until, date) and not isinstance(self.until, datetime):
                out.append(c.created_at < to_utc_iso(self.until + timedelta(days=1)))
            else:
                out.append(c.created_at <= to_utc_iso(self.until))
        if self.aspect_ratios is not None:
            out.append(c.aspect_ratio.in_(list(self.aspect_ratios)))
        if self.raw is not None:
            out.append(c.raw == bool(self.raw))
        for name in ("backend", "session_id", "group_id", "made_by"):
            value = getattr(self, name)
            if value is not None:
                out.append(c[name] == value)
        if self.min_rating is not None:
            out.append(c.rating >= int(self.min_rating))
        if self.ids is not None:
            out.append(c.id.in_(list(self.ids)))
        return out


_FILTER_FIELDS = frozenset(f.name for f in fields(LogFilter))


def make_filter(filt: LogFilter | None, kwargs: dict[str, Any]) -> LogFilter:
    unknown = sorted(set(kwargs) - _FILTER_FIELDS)
    if unknown:
        raise TypeError(f"unknown filter(s): {', '.join(unknown)}")
    base = filt or LogFilter()
    if not kwargs:
        return base
    merged = {f: getattr(base, f) for f in _FILTER_FIELDS}
    merged.update(kwargs)
    return LogFilter(**merged)
