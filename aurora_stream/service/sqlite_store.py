"""A Faust table store on local SQLite: the source of truth for table state in embedded mode.

The embedded broker under-reports end offsets and forgets everything when it stops, so
changelog recovery alone would lose the last updates of a table (DEVELOPERS notes). This
store writes every table update through to ``<tabledir>/<table>.sqlite`` (WAL mode, one
commit per write: durable against a killed process), and records the changelog offsets it
has seen, so Faust only replays the changelog tail beyond them. Workers on one machine share
the files, so a partition that moves between them keeps its state.

Register with :func:`register` and use ``store="sqlite://"`` on the app or a table. With
``sqlite://?offsets=off`` (the embedded mode) it reports no persisted changelog offsets:
the embedded broker starts empty every time, so offsets from an earlier broker would point
past the end of the new changelog; the local rows stay and the (empty) changelog replays.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import faust.stores
from faust.stores import base
from faust.types import TP

log = logging.getLogger("aurora.tables")
URL = "sqlite://"
EMBEDDED_URL = "sqlite://?offsets=off"


def register() -> None:
    """Make ``sqlite://`` a store URL Faust understands."""
    faust.stores.STORES.aliases.setdefault("sqlite", "aurora_stream.service.sqlite_store:Store")


class Store(base.SerializedStore):
    """Faust ``SerializedStore`` backed by one SQLite file per table."""

    def __init__(self, url: Any, app: Any, table: Any, **kwargs: Any) -> None:
        super().__init__(url, app, table, **kwargs)
        tabledir = Path(app.conf.tabledir)
        tabledir.mkdir(parents=True, exist_ok=True)
        self.path = tabledir / f"{self.table_name}.sqlite"
        self.track_offsets = self.url.query.get("offsets", "on") != "off"
        try:
            self.db = self._open()
        except sqlite3.DatabaseError as exc:  # "file is not a database": damaged, overwritten
            self.db = self._open_aside(exc)

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None,
                             check_same_thread=False)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("CREATE TABLE IF NOT EXISTS kv (k BLOB PRIMARY KEY, v BLOB)")
            db.execute(
                "CREATE TABLE IF NOT EXISTS offsets (topic TEXT, part INTEGER, off INTEGER, "
                "PRIMARY KEY (topic, part))"
            )
        except sqlite3.DatabaseError:
            db.close()
            raise
        return db

    def _open_aside(self, exc: sqlite3.DatabaseError) -> sqlite3.Connection:
        """A table file SQLite cannot read is kept aside (``.damaged-<time>``) and the table
        starts empty. It holds chunk accounting only (columns in flight, digests of finished
        ones), never learned state (AURORA_HOME/state): a file in flight is published again.
        Failing instead left every agent crashing in a loop at each assignment, so `aurora
        run` waited its whole timeout."""
        stamp = time.strftime("%Y%m%dT%H%M%S")
        for suffix in ("", "-wal", "-shm"):
            part = self.path.with_name(self.path.name + suffix)
            if part.exists():
                part.rename(part.with_name(f"{part.name}.damaged-{stamp}"))
        log.warning("table file %s cannot be read (%s): kept aside as %s.damaged-%s; the "
                    "table starts empty (files in flight must be published again)",
                    self.path, exc, self.path.name, stamp)
        return self._open()

    # --- key/value
    def _get(self, key: bytes) -> bytes | None:
        row = self.db.execute("SELECT v FROM kv WHERE k = ?", (key,)).fetchone()
        return row[0] if row else None

    def _set(self, key: bytes, value: bytes | None) -> None:
        self.db.execute("INSERT OR REPLACE INTO kv (k, v) VALUES (?, ?)", (key, value))

    def _del(self, key: bytes) -> None:
        self.db.execute("DELETE FROM kv WHERE k = ?", (key,))

    def _iterkeys(self) -> Iterator[bytes]:
        yield from (r[0] for r in self.db.execute("SELECT k FROM kv").fetchall())

    def _itervalues(self) -> Iterator[bytes]:
        yield from (r[0] for r in self.db.execute("SELECT v FROM kv").fetchall())

    def _iteritems(self) -> Iterator[tuple[bytes, bytes]]:
        yield from self.db.execute("SELECT k, v FROM kv").fetchall()

    def _size(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM kv").fetchone()[0])

    def _contains(self, key: bytes) -> bool:
        return self.db.execute("SELECT 1 FROM kv WHERE k = ?", (key,)).fetchone() is not None

    def _clear(self) -> None:
        self.db.execute("DELETE FROM kv")

    def apply_changelog_batch(self, batch: Any, to_key: Any, to_value: Any) -> None:
        """Replay the changelog; on Tansu (offsets off) local rows win.

        There every write reached SQLite before its changelog message was even sent, so a
        replayed value is never newer than the local one, and a changelog that lost its tail
        in a crash must not roll a key back (the crash test caught exactly that).
        """
        if self.track_offsets:
            super().apply_changelog_batch(batch, to_key, to_value)
            return
        for event in batch:
            key, value = event.message.key, event.message.value
            if key is not None and value is not None:
                self.db.execute("INSERT OR IGNORE INTO kv (k, v) VALUES (?, ?)", (key, value))

    # --- changelog offsets
    def persisted_offset(self, tp: TP) -> int | None:
        if not self.track_offsets:
            return None
        row = self.db.execute(
            "SELECT off FROM offsets WHERE topic = ? AND part = ?", (tp.topic, tp.partition)
        ).fetchone()
        return row[0] if row else None

    def set_persisted_offset(self, tp: TP, offset: int) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO offsets (topic, part, off) VALUES (?, ?, ?)",
            (tp.topic, tp.partition, offset),
        )

    def reset_state(self) -> None:
        """Forget everything (used when the broker's changelog is authoritative again)."""
        self.db.execute("DELETE FROM kv")
        self.db.execute("DELETE FROM offsets")

    async def backup_partition(self, tp: Any, flush: bool = True, purge: bool = False,
                               keep: int = 1) -> None:
        """Nothing to do: every write is already on disk."""

    def restore_backup(self, tp: Any, latest: bool = True, backup_id: int = 0) -> None:
        """Nothing to do: every write is already on disk."""

    async def on_recovery_completed(self, active_tps: set[TP], standby_tps: set[TP]) -> None:
        """Keep all keys: local state is shared by the workers of this machine."""

    def close(self) -> None:
        self.db.close()
