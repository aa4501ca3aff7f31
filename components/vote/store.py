"""Votes in the log's database: made by the presenter, joined and cast by voters.

A ballot is written the moment it is cast (a restart loses none), once per voter and pair: the
table's primary key refuses a second one, so a double click, a second tab of the same browser
or a replayed message changes nothing.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

import pandas as pd
from sqlalchemy import exc as sa_exc
from sqlalchemy import func, insert, select, update

from components.log.codec import to_utc_iso
from components.log.schema import vote_ballots, vote_items, vote_voters, votes
from components.log.store import LogStore
from components.vote.pairs import GRID

MIN_ITEMS, MAX_ITEMS = 2, 12
TIE, SKIP = "tie", "skip"
NAME_MAX = 40
TITLE_MAX, QUESTION_MAX = 120, 200


class Mode(StrEnum):
    PAIRWISE = "pairwise"
    BEST = "best"  # pick the best of the whole grid, once


class Status(StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    REVEALED = "revealed"


@dataclass(frozen=True)
class Item:
    item: str
    position: int
    row_id: str
    image_index: int
    label: str


@dataclass(frozen=True)
class Vote:
    id: str
    title: str
    question: str
    mode: Mode
    allow_skip: bool
    status: Status
    group_id: str | None
    created_at: datetime
    items: tuple[Item, ...]

    @property
    def item_ids(self) -> list[str]:
        return [i.item for i in self.items]

    def item(self, item: str) -> Item | None:
        return next((i for i in self.items if i.item == item), None)


class VoteError(ValueError):
    """A vote that cannot be made as asked (the message says why, for the page)."""


def _now() -> str:
    return to_utc_iso(datetime.now(UTC))


def valid_voter(voter: str) -> bool:
    """A voter id is what the browser made: 32 hex digits."""
    return len(voter) == 32 and all(c in "0123456789abcdef" for c in voter)


class VoteStore:
    def __init__(self, store: LogStore) -> None:
        self.store = store

    def create(
        self,
        *,
        title: str,
        question: str,
        mode: Mode,
        allow_skip: bool,
        images: Sequence[tuple[str, int, str]],
        group_id: str | None = None,
    ) -> Vote:
        """A new open vote over `images`: (row id, image index, what it was) each."""
        title, question = title.strip()[:TITLE_MAX], question.strip()[:QUESTION_MAX]
        unique = list(dict.fromkeys((row, index) for row, index, _ in images))
        if not MIN_ITEMS <= len(unique) <= MAX_ITEMS:
            raise VoteError(f"A vote needs {MIN_ITEMS} to {MAX_ITEMS} images; {len(unique)} given.")
        if not title or not question:
            raise VoteError("A vote needs a title and a question.")
        labels = {(row, index): label for row, index, label in images}
        vote_id = secrets.token_hex(16)
        with self.store.transaction() as conn:
            conn.execute(
                insert(votes).values(
                    id=vote_id,
                    title=title,
                    question=question,
                    mode=Mode(mode).value,
                    allow_skip=bool(allow_skip),
                    status=Status.OPEN.value,
                    group_id=group_id,
                    created_at=_now(),
                )
            )
            conn.execute(
                insert(vote_items),
                [
                    {
                        "vote_id": vote_id,
                        "item": secrets.token_hex(4),
                        "position": position,
                        "row_id": row,
                        "image_index": index,
                        "label": labels[(row, index)],
                    }
                    for position, (row, index) in enumerate(unique)
                ],
            )
        vote = self.get(vote_id)
        assert vote is not None
        return vote

    def get(self, vote_id: str) -> Vote | None:
        with self.store.reader() as conn:
            head = conn.execute(select(votes).where(votes.c.id == vote_id)).first()
            if head is None:
                return None
            rows = conn.execute(
                select(vote_items)
                .where(vote_items.c.vote_id == vote_id)
                .order_by(vote_items.c.position)
            ).all()
        items = tuple(Item(r.item, r.position, r.row_id, r.image_index, r.label) for r in rows)
        return Vote(
            head.id,
            head.title,
            head.question,
            Mode(head.mode),
            bool(head.allow_skip),
            Status(head.status),
            head.group_id,
            datetime.fromisoformat(head.created_at),
            items,
        )

    def recent(self, limit: int = 50) -> list[Vote]:
        with self.store.reader() as conn:
            ids = conn.execute(
                select(votes.c.id).order_by(votes.c.created_at.desc()).limit(limit)
            ).scalars()
            wanted = list(ids)
        return [v for v in (self.get(i) for i in wanted) if v is not None]

    def for_rows(self, row_ids: Sequence[str]) -> list[Vote]:
        """The votes any of these rows' images took part in, newest first."""
        wanted = list(dict.fromkeys(row_ids))
        if not wanted:
            return []
        with self.store.reader() as conn:
            found = conn.execute(
                select(votes.c.id)
                .join(vote_items, vote_items.c.vote_id == votes.c.id)
                .where(vote_items.c.row_id.in_(wanted))
                .group_by(votes.c.id, votes.c.created_at)
                .order_by(votes.c.created_at.desc())
            ).scalars()
            ids = list(found)
        return [v for v in (self.get(i) for i in ids) if v is not None]

    def set_status(self, vote_id: str, status: Status) -> None:
        with self.store.transaction() as conn:
            conn.execute(update(votes).where(votes.c.id == vote_id).values(status=status.value))

    def join(self, vote_id: str, voter: str, name: str | None = None) -> None:
        """Note a voter (once; a later name replaces the earlier one)."""
        if not valid_voter(voter):
            raise VoteError("Not a voter id.")
        clean = (name or "").strip()[:NAME_MAX].strip() or None
        mine = (vote_voters.c.vote_id == vote_id, vote_voters.c.voter == voter)
        with self.store.transaction() as conn:
            if conn.execute(select(votes.c.id).where(votes.c.id == vote_id)).first() is None:
                raise VoteError("No such vote.")
            if conn.execute(select(vote_voters.c.voter).where(*mine)).first() is None:
                conn.execute(
                    insert(vote_voters).values(
                        vote_id=vote_id, voter=voter, name=clean, joined_at=_now()
                    )
                )
            elif clean:
                conn.execute(update(vote_voters).where(*mine).values(name=clean))

    def cast(self, vote_id: str, voter: str, pair: str, choice: str) -> bool:
        """Record one answer; False (and nothing changed) if this voter already answered this
        pair, the vote is not open, or the answer does not fit the vote."""
        vote = self.get(vote_id)
        if vote is None or vote.status != Status.OPEN or not valid_voter(voter):
            return False
        items = set(vote.item_ids)
        if vote.mode == Mode.BEST:
            fits = pair == GRID and (choice in items or (choice == SKIP and vote.allow_skip))
        else:
            parts = pair.split("|")
            fits = (
                len(parts) == 2
                and parts[0] < parts[1]
                and set(parts) <= items
                and (choice in parts or choice == TIE or (choice == SKIP and vote.allow_skip))
            )
        if not fits:
            return False
        try:
            with self.store.transaction() as conn:
                conn.execute(
                    insert(vote_ballots).values(
                        vote_id=vote_id, voter=voter, pair=pair, choice=choice, cast_at=_now()
                    )
                )
        except sa_exc.IntegrityError:
            return False
        return True

    def ballots(self, vote_id: str) -> pd.DataFrame:
        """Every answer: voter, pair, choice, cast_at (oldest first)."""
        with self.store.reader() as conn:
            rows = conn.execute(
                select(
                    vote_ballots.c.voter,
                    vote_ballots.c.pair,
                    vote_ballots.c.choice,
                    vote_ballots.c.cast_at,
                )
                .where(vote_ballots.c.vote_id == vote_id)
                .order_by(vote_ballots.c.cast_at, vote_ballots.c.voter)
            ).all()
        return pd.DataFrame(rows, columns=["voter", "pair", "choice", "cast_at"])

    def voters(self, vote_id: str) -> pd.DataFrame:
        """Who joined, with their names and how many answers each gave."""
        answers = (
            select(vote_ballots.c.voter, func.count().label("answers"))
            .where(vote_ballots.c.vote_id == vote_id)
            .group_by(vote_ballots.c.voter)
            .subquery()
        )
        with self.store.reader() as conn:
            rows = conn.execute(
                select(
                    vote_voters.c.voter,
                    vote_voters.c.name,
                    vote_voters.c.joined_at,
                    func.coalesce(answers.c.answers, 0),
                )
                .select_from(vote_voters.outerjoin(answers, answers.c.voter == vote_voters.c.voter))
                .where(vote_voters.c.vote_id == vote_id)
                .order_by(vote_voters.c.joined_at)
            ).all()
        return pd.DataFrame(rows, columns=["voter", "name", "joined_at", "answers"])

    def progress(self, vote_id: str, voter: str) -> tuple[set[str], dict[str, int]]:
        """This voter's answered pairs, and how many answers each pair has from everyone."""
        with self.store.reader() as conn:
            rows = conn.execute(
                select(vote_ballots.c.voter, vote_ballots.c.pair).where(
                    vote_ballots.c.vote_id == vote_id
                )
            ).all()
        mine = {pair for who, pair in rows if who == voter}
        coverage: dict[str, int] = {}
        for _, pair in rows:
            coverage[pair] = coverage.get(pair, 0) + 1
        return mine, coverage
