"""The session log's table: columns, their kinds and dtypes, and the schema migrations."""

from __future__ import annotations

import re

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
}
COLUMNS: tuple[str, ...] = tuple(COLUMN_TYPES)

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

# Ids end up in image file names, so they are held to the same strict alphabet everywhere.
ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")
RATING_MIN, RATING_MAX = 0, 5
EXPORT_FORMATS = ("csv", "parquet", "json")
BUSY_TIMEOUT_S = 30

# Schema history: step N brings a file from user_version N-1 to N. Never edit a shipped step;
# a new column is one more appended step ("ALTER TABLE request_log ADD COLUMN x TYPE").
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        f"""CREATE TABLE IF NOT EXISTS {TABLE} (
            id TEXT PRIMARY KEY NOT NULL,
            created_at TEXT NOT NULL,
            session_id TEXT,
            group_id TEXT,
            group_label TEXT,
            backend TEXT,
            model TEXT,
            prompt TEXT,
            seed_requested INTEGER,
            seed INTEGER,
            aspect_ratio TEXT,
            raw INTEGER,
            safety_tolerance TEXT,
            output_format TEXT,
            num_images INTEGER,
            enable_safety_checker INTEGER,
            status TEXT,
            error_type TEXT,
            error_message TEXT,
            http_status INTEGER,
            request_id TEXT,
            attempts INTEGER,
            request_s REAL,
            download_s REAL,
            total_s REAL,
            width INTEGER,
            height INTEGER,
            nsfw INTEGER,
            credits_used REAL,
            cost_usd REAL,
            image_paths TEXT,
            thumb_paths TEXT
        )""",
        f"CREATE INDEX IF NOT EXISTS ix_{TABLE}_created_at ON {TABLE}(created_at)",
        f"CREATE INDEX IF NOT EXISTS ix_{TABLE}_session_id ON {TABLE}(session_id)",
        f"CREATE INDEX IF NOT EXISTS ix_{TABLE}_group_id ON {TABLE}(group_id)",
        f"CREATE INDEX IF NOT EXISTS ix_{TABLE}_status ON {TABLE}(status)",
    ),
    # 2: curation (the gallery's stars and notes).
    (
        f"ALTER TABLE {TABLE} ADD COLUMN rating INTEGER",
        f"ALTER TABLE {TABLE} ADD COLUMN note TEXT",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)
ADD_COLUMN = re.compile(r"\s*ALTER\s+TABLE\s+(\w+)\s+ADD\s+COLUMN\s+(\w+)", re.IGNORECASE)

SELECT_COLUMNS = ", ".join(COLUMNS)
INSERT_SQL = f"INSERT INTO {TABLE} ({SELECT_COLUMNS}) VALUES ({', '.join('?' for _ in COLUMNS)})"
INSERT_IGNORE_SQL = INSERT_SQL.replace("INSERT INTO", "INSERT OR IGNORE INTO", 1)
