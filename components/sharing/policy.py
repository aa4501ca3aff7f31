"""The presenter's studio-wide settings: what viewers may do, the daily budgets, the
provider limits and the viewer passcode. In the database, not in a browser session, so every
session (and every app process) reads the same rules; the defaults are the safe ones."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from sqlalchemy import insert, select, update

from components import config
from components.log.schema import studio_policy
from components.log.store import LogStore
from components.sharing.passcode import new_viewer_passcode

BUDGET_MAX_USD = 10_000.0
CONCURRENCY_MAX = 16
RETRIES_MAX = 6
TIMEOUT_RANGE_S = (5.0, 600.0)


@dataclass(frozen=True)
class Policy:
    viewers_may_generate: bool = False
    viewers_may_export: bool = False
    viewers_see_own_rows_only: bool = False
    viewers_need_passcode: bool = True  # off: anyone who reaches the address may look
    studio_budget_usd: float = 5.0  # per UTC day, everyone together
    viewer_budget_usd: float = 1.0  # per UTC day, each viewer
    concurrency: int = 4  # requests at once to the provider, for the whole process
    retries: int = config.DEFAULT_RETRIES
    timeout_s: float = config.DEFAULT_TIMEOUT_S
    viewer_passcode: str = ""
    epoch: int = 0  # bumped by every new viewer passcode: older viewer sign-ins end

    def checked(self) -> Policy:
        """These settings with every value of its field's type and in range, or ValueError
        naming the field: a "no" must never read as a truthy switch."""
        values = {f.name: _typed(f.name, str(f.type), getattr(self, f.name)) for f in fields(self)}
        fresh = Policy(**values)
        for name in ("studio_budget_usd", "viewer_budget_usd"):
            if not 0.0 <= getattr(fresh, name) <= BUDGET_MAX_USD:
                raise ValueError(f"{name} must be between 0 and {BUDGET_MAX_USD:,.0f} USD")
        if not 1 <= fresh.concurrency <= CONCURRENCY_MAX:
            raise ValueError(f"concurrency must be between 1 and {CONCURRENCY_MAX}")
        if not 0 <= fresh.retries <= RETRIES_MAX:
            raise ValueError(f"retries must be between 0 and {RETRIES_MAX}")
        low, high = TIMEOUT_RANGE_S
        if not low <= fresh.timeout_s <= high:
            raise ValueError(f"timeout_s must be between {low:g} and {high:g} seconds")
        return fresh


def _typed(name: str, kind: str, value: Any) -> Any:
    if kind == "bool":
        if not isinstance(value, bool):
            raise ValueError(f"{name} must be true or false")
        return value
    if kind in ("int", "float"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{name} must be a number")
        if not math.isfinite(value):
            raise ValueError(f"{name} must be a finite number")
        if kind == "int":
            if value != int(value):
                raise ValueError(f"{name} must be a whole number")
            return int(value)
        return float(value)
    if not isinstance(value, str):
        raise ValueError(f"{name} must be text")
    return value


def defaults() -> Policy:
    return Policy(concurrency=config.concurrency())


_NAMES = {f.name: f.type for f in fields(Policy)}


class PolicyStore:
    def __init__(self, store: LogStore) -> None:
        self.store = store

    def load(self) -> Policy:
        """The settings as stored, over the defaults; the first read makes a viewer passcode."""
        with self.store.reader() as conn:
            stored = dict(conn.execute(select(studio_policy.c.name, studio_policy.c.value)).all())
        policy = self._build(stored)
        if not policy.viewer_passcode:
            return self.save(viewer_passcode=new_viewer_passcode(), only_if_missing=True)
        return policy

    @staticmethod
    def _build(stored: dict[str, str]) -> Policy:
        """Stored values over the defaults, one by one: a value edited by hand into nonsense
        falls back to its own default and leaves the others (the passcode above all) alone."""
        policy = defaults()
        for name, raw in stored.items():
            if name not in _NAMES:
                continue  # a setting of a newer release
            try:
                policy = replace(policy, **{name: json.loads(raw)}).checked()
            except (TypeError, ValueError):
                continue
        return policy

    def save(
        self, *, only_if_missing: bool = False, bump_epoch: bool = False, **changes: Any
    ) -> Policy:
        """Apply changes (checked first) in one transaction; returns the settings now.
        `only_if_missing`: keep values already stored (two sessions making the first viewer
        passcode at once agree on one); `bump_epoch`: end older viewer sign-ins."""
        unknown = set(changes) - set(_NAMES)
        if unknown:
            raise ValueError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        with self.store.transaction() as conn:
            stored = dict(conn.execute(select(studio_policy.c.name, studio_policy.c.value)).all())
            current = self._build(stored)
            if only_if_missing:
                changes = {k: v for k, v in changes.items() if not getattr(current, k)}
            if bump_epoch:
                changes["epoch"] = current.epoch + 1
            try:
                fresh = replace(current, **changes).checked()
            except TypeError as exc:
                raise ValueError(str(exc)) from None
            for name, value in asdict(fresh).items():
                if name not in changes:
                    continue
                text = json.dumps(value)
                if name in stored:
                    conn.execute(
                        update(studio_policy).where(studio_policy.c.name == name).values(value=text)
                    )
                else:
                    conn.execute(insert(studio_policy).values(name=name, value=text))
        return fresh

    def rotate_viewer_passcode(self) -> Policy:
        """A new viewer passcode, and every viewer who came in with the old one is signed out."""
        return self.save(viewer_passcode=new_viewer_passcode(), bump_epoch=True)
