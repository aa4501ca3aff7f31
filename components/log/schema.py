"""The session log's tables: columns, their kinds and dtypes, and their SQLAlchemy definitions."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
)
from sqlalchemy.types import TypeEngine

from components.images import store as images_store

TABLE = "request_log"

# Column name -> kind. The order is the order of COLUMNS, of frames and of exports.
COLUMN_TYPES: dict[str, str] = {
    "id": "text",
    "created_at": "datetime",
    "session_id": "text",
    "group_id": "text",
    "group_label": "text",
    "backend": "text",
    "model": "text",
    "prompt": "text",
    "seed_requested": "int",
    "seed": "int",
    "aspect_ratio": "text",
    "raw": "bool",
    "safety_tolerance": "text",
    "output_format": "text",
    "num_images": "int",
    "enable_safety_checker": "bool",
    "status": "text",
    "error_type": "text",
    "error_message": "text",
    "http_status": "int",
    "request_id": "text",
    "attempts": "int",
    "request_s": "float",
    "download_s": "float",
    "total_s": "float",
    "width": "int",
    "height": "int",
    "nsfw": "bool",
    "credits_used": "float",
    "cost_usd": "float",
    "image_paths": "json",
    "thumb_paths": "json",
    "rating": "int",
    "note": "text",
    # The provider's x-inference-id: the id its charge is recorded under.
    "inference_id": "text",
    # Who sent it: "presenter", or a viewer's anonymous id ("viewer-3f2a9c1e").
    "made_by": "text",
    # Where it went (a base URL; no key is ever in one), and a hash of everything that makes
    # two requests the same but the seed (components/experiments/reuse.py).
    "base_url": "text",
    "request_key": "text",
    # What it was made from: the row, and how (re-run, seed, vary, refine, from_log, ...).
    "parent_id": "text",
    "lineage": "text",
    # A request answered from the log: what the row it reused had cost.
    "saved_usd": "float",
}
COLUMNS: tuple[str, ...] = tuple(COLUMN_TYPES)


class BackendName(StrEnum):
    """A row's `backend`: which server answered it."""

    OFFLINE = "offline"
    AIMLAPI = "aimlapi"


class RowStatus(StrEnum):
    """A row's `status`. A row is written as SENT before its request leaves, so a crash or a
    lost answer still leaves a trace of a request that may have been billed."""

    OK = "ok"
    ERROR = "error"
    SENT = "sent"
    FROM_LOG = "from_log"  # answered from an earlier identical request's files: nothing sent


# The statuses of rows that have images to show (a row answered from the log shares them).
WITH_IMAGES: tuple[str, ...] = (RowStatus.OK.value, RowStatus.FROM_LOG.value)


# pandas dtype per kind, as query() returns them.
KIND_DTYPES: dict[str, str] = {
    "text": "string",
    "int": "Int64",
    "float": "float64",
    "bool": "boolean",
    "datetime": "datetime64[us, UTC]",
    "json": "object",
}
DTYPES: dict[str, str] = {name: KIND_DTYPES[kind] for name, kind in COLUMN_TYPES.items()}

# Ids end up in image file names, so the image store's alphabet is the log's too.
ID_PATTERN = images_store.ID_PATTERN
RATING_MIN, RATING_MAX = 0, 5
EXPORT_FORMATS = ("csv", "parquet", "json")
BUSY_TIMEOUT_S = 30

# The tables, in one MetaData: every query is built from these objects. Kinds map to portable
# types: times stay ISO text in one fixed UTC form (text order is time order, on any database,
# and an existing file keeps its values untouched); booleans are stored 0/1 on SQLite and as
# real booleans elsewhere.
_SQL_TYPES: dict[str, Callable[[], TypeEngine[Any]]] = {
    "text": Text,
    "int": BigInteger,  # seeds go up to 2**53 - 1
    "float": Float,
    "bool": lambda: Boolean(create_constraint=False),
    "datetime": Text,
    "json": Text,
}
INDEXED = ("created_at", "session_id", "group_id", "status")

metadata = MetaData()


def log_columns(names: tuple[str, ...] = COLUMNS) -> list[Column[Any]]:
    """Fresh Column objects for the named log columns (a migration builds older shapes)."""
    out: list[Column[Any]] = []
    for name in names:
        kind = COLUMN_TYPES[name]
        if name == "id":
            out.append(Column(name, Text, primary_key=True, nullable=False))
        else:
            out.append(Column(name, _SQL_TYPES[kind](), nullable=name != "created_at"))
    return out


request_log = Table(
    TABLE,
    metadata,
    *log_columns(),
    *(Index(f"ix_{TABLE}_{name}", name) for name in INDEXED),
)
# Added by migration step 5 (INDEXED is step 1's list and stays as shipped).
MADE_BY_INDEX = Index(f"ix_{TABLE}_made_by", request_log.c.made_by)
# Added by step 7: finding an earlier identical request, and a row's children.
REQUEST_KEY_INDEX = Index(f"ix_{TABLE}_request_key", request_log.c.request_key)
PARENT_INDEX = Index(f"ix_{TABLE}_parent_id", request_log.c.parent_id)

# Counters bumped in the same transaction as every write, so a page can tell in one indexed
# read whether anything it cached changed (and what: rows, ratings, notes, other edits), with
# nothing dialect-specific such as SQLite's rowid.
log_revision = Table(
    "log_revision",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("rows", BigInteger, nullable=False, default=0),
    Column("ratings", BigInteger, nullable=False, default=0),
    Column("notes", BigInteger, nullable=False, default=0),
    Column("edits", BigInteger, nullable=False, default=0),
)

# Which numbered migration steps a database has had (see components/log/migrations.py).
schema_migrations = Table(
    "studio_migrations",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("name", Text, nullable=False),
    Column("applied_at", Text, nullable=False),
)


# Sharing the studio (components/sharing): the presenter's studio-wide settings, budget holds
# for runs in flight, who is connected, and failed sign-ins per client.
studio_policy = Table(
    "studio_policy",
    metadata,
    Column("name", Text, primary_key=True),
    Column("value", Text, nullable=False),  # JSON
)
budget_holds = Table(
    "budget_holds",
    metadata,
    Column("id", Text, primary_key=True),  # the job's id, which is its log row's id
    Column("made_by", Text, nullable=False),
    Column("usd", Float, nullable=False),
    Column("created_at", Text, nullable=False),
)
visitors = Table(
    "studio_visitors",
    metadata,
    Column("id", Text, primary_key=True),  # the browser session
    Column("visitor", Text, nullable=False),  # who: what log rows' made_by says
    Column("role", Text, nullable=False),
    Column("label", Text, nullable=False),
    Column("since", Text, nullable=False),
    Column("last_seen", Text, nullable=False),
)
sign_in_failures = Table(
    "sign_in_failures",
    metadata,
    Column("client", Text, primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("locked_until", Float, nullable=False),
)
SHARING_TABLES = (studio_policy, budget_holds, visitors, sign_in_failures)


# Votes (components/vote): a vote over 2-12 images, its voters and their ballots. A ballot's
# primary key (vote, voter, pair) is what makes a second click on the same pair change nothing.
votes = Table(
    "votes",
    metadata,
    Column("id", Text, primary_key=True),  # 128 random bits: the link is the capability
    Column("title", Text, nullable=False),
    Column("question", Text, nullable=False),
    Column("mode", Text, nullable=False),  # "pairwise" or "best"
    Column("allow_skip", Boolean(create_constraint=False), nullable=False),
    Column("status", Text, nullable=False),  # "open", "closed" or "revealed"
    Column("group_id", Text),
    Column("created_at", Text, nullable=False),
)
vote_items = Table(
    "vote_items",
    metadata,
    Column("vote_id", Text, primary_key=True),
    Column("item", Text, primary_key=True),  # random, so it says nothing about the image
    Column("position", Integer, nullable=False),
    Column("row_id", Text, nullable=False),
    Column("image_index", Integer, nullable=False),
    Column("label", Text, nullable=False),  # what the image was: shown at the reveal only
)
vote_voters = Table(
    "vote_voters",
    metadata,
    Column("vote_id", Text, primary_key=True),
    Column("voter", Text, primary_key=True),
    Column("name", Text),
    Column("joined_at", Text, nullable=False),
)
vote_ballots = Table(
    "vote_ballots",
    metadata,
    Column("vote_id", Text, primary_key=True),
    Column("voter", Text, primary_key=True),
    Column("pair", Text, primary_key=True),  # "itemA|itemB" sorted, or "grid" (best of)
    Column("choice", Text, nullable=False),  # an item, "tie" or "skip"
    Column("cast_at", Text, nullable=False),
)
VOTE_TABLES = (votes, vote_items, vote_voters, vote_ballots)


# Presets (components/experiments/presets.py): a named, complete request to reproduce.
presets = Table(
    "presets",
    metadata,
    Column("name", Text, primary_key=True),
    Column("data", Text, nullable=False),  # JSON: template, parameters, seed policy
    Column("updated_at", Text, nullable=False),
)


# Spending of deleted rows (components/sharing/budget.py): deleting a paid row must not give
# the day's budget back, since the provider charged it all the same.
budget_deleted = Table(
    "budget_deleted",
    metadata,
    Column("id", Text, primary_key=True),  # the deleted row's id
    Column("made_by", Text, nullable=False),
    Column("usd", Float, nullable=False),
    Column("created_at", Text, nullable=False),  # the row's, so it counts on its own day
)


# The provider's concurrency limit shared by every app process on one database
# (components/sharing/leases.py): a row per request out at the provider, named by its job's id,
# renewed while it runs, so a replica that dies frees its slots when they expire.
provider_leases = Table(
    "provider_leases",
    metadata,
    Column("id", Text, primary_key=True),  # the job's id, which is its log row's id
    Column("holder", Text, nullable=False),  # host:pid of the process that holds it
    Column("expires_at", Float, nullable=False),  # Unix time
)
