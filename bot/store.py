"""What survives a restart, in one SQLite file (DATABASE_PATH): the statistics admins read
with /stats, and the inbox of updates received but not yet handled. What both engines share
is here too (BotStore, the records, StoreError); bot.store_postgres is the other engine, for
several processes on one database, and bot.stores picks one.

The schema has a version (SQLite's user_version): a new file gets the current schema, an older
one is migrated, a newer one or a file that is not this bot's is refused with StoreError.
Every method blocks: the transport calls them off the event loop (asyncio.to_thread); one
connection serves them one at a time.

Nothing here names a user. A vote is kept as a salted hash of who voted on which reply, the
salt in the file, so that a person's vote counts once across restarts; unanswered questions
are kept redacted, at most MAX_UNANSWERED_QUESTIONS of them. An update, question text
included, stays in the inbox only until it has been handled.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import logging
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import ClassVar, Concatenate, ParamSpec, Protocol, TypeVar

from bot.answer import Answer
from bot.privacy import redact

log = logging.getLogger(__name__)
P = ParamSpec("P")
R = TypeVar("R")
H = TypeVar("H", bound="StoreHealth")

# MIGRATIONS[n] takes a database from schema version n to n + 1; version 0 is an empty file.
MIGRATIONS = (
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE counts (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
    CREATE TABLE votes (key BLOB PRIMARY KEY);
    CREATE TABLE unanswered (question TEXT PRIMARY KEY, count INTEGER NOT NULL,
                             last_asked REAL NOT NULL);
    CREATE INDEX unanswered_rank ON unanswered (count, last_asked);
    CREATE TABLE inbox (update_id INTEGER PRIMARY KEY, payload TEXT NOT NULL,
                        retries INTEGER NOT NULL DEFAULT 0);
    CREATE TABLE handled (seq INTEGER PRIMARY KEY, update_id INTEGER NOT NULL UNIQUE);
    """,
    # A handled update is known by its id and a digest of its content: Telegram restarts ids
    # after a week without updates (a self-hosted Bot API server or a new token does too), and
    # a new update must not pass for a copy of an old one. Rows of version 1 keep an empty
    # digest.
    """
    CREATE TABLE handled_by_content (seq INTEGER PRIMARY KEY, update_id INTEGER NOT NULL,
                                     digest BLOB NOT NULL, UNIQUE (update_id, digest));
    INSERT INTO handled_by_content (seq, update_id, digest)
        SELECT seq, update_id, x'' FROM handled;
    DROP TABLE handled;
    ALTER TABLE handled_by_content RENAME TO handled;
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)
MAX_UNANSWERED_QUESTIONS = 1000  # beyond it the least asked go, the longest unasked first
MAX_QUESTION_CHARS = 200
# Handled updates' ids are remembered, so that one Telegram sends again (polling: the last
# batch fetched before a crash is not confirmed yet) is not answered twice; a batch is 100.
HANDLED_IDS_KEPT = 1000
# An update whose handling a stop interrupted is tried again once at start; after a second
# interruption it is dropped: it may be what stops the bot.
MAX_RETRIES = 1
# How long a statement waits for another connection's write lock before it fails ("database
# is locked"); the caller decides what to do then (the inbox retries, then does without).
BUSY_TIMEOUT_SECONDS = 5.0
SQLITE_HEADER = b"SQLite format 3\x00"


class StoreError(Exception):
    """The database cannot be used; the message says which file and why, in one line."""


@dataclass(frozen=True, slots=True)
class Statistics:
    """What /stats shows: counts since `since`, and the most frequent unanswered questions."""

    since: date
    answered: int
    hedged: int
    declined: int
    up: int
    down: int
    top_unanswered: list[tuple[str, int]]

    @classmethod
    def of(cls, counts: dict[str, int], since: str,
           top_unanswered: list[tuple[str, int]]) -> Statistics:
        """The statistics from a store's counts (by name) and its first day (ISO)."""
        return cls(since=date.fromisoformat(since), answered=counts.get("answered", 0),
                   hedged=counts.get("hedged", 0), declined=counts.get("declined", 0),
                   up=counts.get("up", 0), down=counts.get("down", 0),
                   top_unanswered=top_unanswered)


@dataclass(frozen=True, slots=True)
class Unhandled:
    """The inbox at start: updates (JSON) to handle again, ids of those given up on."""

    retried: list[str]
    dropped: list[int]


def counted_outcome(answer: Answer) -> str | None:
    """What an answer counts as in the statistics, its kind as the statistics name it:
    "answered", "hedged" or "declined"; None for what is no question (thanks, a refusal)."""
    return {"confident": "answered", "hedged": "hedged", "declined": "declined"}.get(answer.kind)


def unanswered_question(answer: Answer) -> str:
    """A declined question as kept: redacted first (capitals help tell a name: "Pierre
    Dubois"), then lower-cased, then cut."""
    return redact(answer.question.strip()).lower()[:MAX_QUESTION_CHARS]


class SenderCounter(Protocol):
    """Messages counted per sender in one place for every process of the bot."""

    failing_since: float | None  # the store's health: see watched_write

    def count_message(self, sender: int, window_seconds: float) -> int:
        """Count a message of the sender; how many it has sent in its current window (one
        that started over `window_seconds` ago is over: this message starts the next)."""


class BotStore(Protocol):
    """What the bot asks of its database, whichever the engine. Every method blocks."""

    failing_since: float | None
    last_error: str
    # Whether other processes use the database at the same time (PostgreSQL): the updates one
    # leaves unhandled are then taken over while running, not only at start.
    shared: bool
    # Where the per-sender limit is counted for every process; None when one process owns
    # the database, which then counts in memory.
    sender_counter: SenderCounter | None

    def open(self) -> None: ...
    def close(self) -> None: ...
    def record(self, answer: Answer) -> None: ...
    def vote(self, voter: int, reply_id: str, vote: str) -> bool: ...
    def statistics(self, top: int) -> Statistics: ...
    def unanswered(self) -> list[tuple[str, int]]: ...
    def keep(self, update_id: int, payload: str) -> bool: ...
    def handled(self, update_id: int) -> None: ...
    def take_unhandled(self) -> Unhandled: ...
    def probe(self) -> int: ...


class StoreHealth:
    """A store's health, which `watched_write` keeps: `failing_since` is set by a write that fails
    and cleared by one that succeeds."""

    errors: ClassVar[tuple[type[Exception], ...]]  # what a failing write raises

    def __init__(self, where: str) -> None:
        self.where = where  # the database as logs name it, never with a password
        self.failing_since: float | None = None
        self.last_error = ""


def watched_write(method: Callable[Concatenate[H, P], R]) -> Callable[Concatenate[H, P], R]:
    """A write of the store, noted in its health, so a supervisor can see a store that cannot
    be written (a full disk, a lock held too long) while the bot goes on answering."""

    @functools.wraps(method)
    def watched(self: H, /, *args: P.args, **kwargs: P.kwargs) -> R:
        try:
            result = method(self, *args, **kwargs)
        except self.errors as error:
            if self.failing_since is None:
                self.failing_since = time.time()
            self.last_error = f"{type(error).__name__}: {error}"
            raise
        if self.failing_since is not None:
            log.warning("the database %s can be written again", self.where)
            self.failing_since = None
        return result

    return watched


class Store(StoreHealth):
    """The bot's database. Nothing is touched until `open`, which also makes this process the
    database's only user (a lock file beside it) until `close`."""

    errors = (sqlite3.Error, OSError)
    shared = False
    sender_counter: SenderCounter | None = None  # the limit stays in this process's memory

    def __init__(self, path: Path) -> None:
        super().__init__(str(path))
        self.path = path
        self._db: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        self._owner: int | None = None  # the lock file's descriptor while open
        self._salt = b""

    def open(self) -> None:
        """Own the file, open it (made with its folder if missing; one damaged is moved aside
        and a new one made) and bring its schema up to date."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._own()
            if _damaged(self.path):
                self._move_aside()
            db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_SECONDS,
                                 check_same_thread=False)
            try:
                self._prepare(db)
            except BaseException:
                db.close()
                raise
        except (OSError, sqlite3.Error, StoreError) as error:
            self._disown()
            if isinstance(error, StoreError):
                raise
            raise StoreError(f"cannot use the database {self.path} (DATABASE_PATH): "
                             f"{error}") from None
        self._db = db

    def _own(self) -> None:
        """Take the lock file beside the database, or refuse: two processes on one inbox would
        both answer the updates left unhandled, and some users twice. The operating system
        lets the lock go when the process ends, killed or not."""
        lock_path = self.path.with_name(self.path.name + ".lock")
        descriptor = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.read(descriptor, 32).decode(errors="replace").strip() or "?"
            os.close(descriptor)
            raise StoreError(
                f"the database {self.path} (DATABASE_PATH) is in use by another process of "
                f"the bot (pid {owner}): stop that one first, or give this one another "
                "DATABASE_PATH") from None
        os.ftruncate(descriptor, 0)
        os.write(descriptor, str(os.getpid()).encode())
        self._owner = descriptor

    def _disown(self) -> None:
        if self._owner is not None:
            os.close(self._owner)  # closing the descriptor lets the lock go
            self._owner = None

    def _move_aside(self) -> None:
        """Keep a damaged database (and its log) under another name, for an expert to look
        at, and start a new one: the bot answers again, having lost only its statistics and
        the updates it had not handled."""
        stamp = datetime.now().strftime("%Y%m%dT%H%M%S")
        for suffix in ("", "-wal", "-shm"):
            part = self.path.with_name(self.path.name + suffix)
            if part.exists():
                part.rename(self.path.with_name(f"{self.path.name}.corrupt-{stamp}{suffix}"))
        log.error("the database %s (DATABASE_PATH) is damaged: moved aside as %s.corrupt-%s, "
                  "a new one is made", self.path, self.path.name, stamp)

    def _prepare(self, db: sqlite3.Connection) -> None:
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"the database {self.path} (DATABASE_PATH) has schema version {version}, "
                f"newer than this bot's {SCHEMA_VERSION}: run a newer bot, or set another "
                "DATABASE_PATH")
        if version == 0 and db.execute("SELECT count(*) FROM sqlite_schema").fetchone()[0]:
            raise StoreError(f"{self.path} (DATABASE_PATH) is not this bot's database: it has "
                             "tables but no schema version; set another DATABASE_PATH")
        # Write-ahead log, not synced at each commit: cheap, and a commit survives the process
        # being killed (a power cut may lose the last ones).
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = NORMAL")
        db.execute("PRAGMA secure_delete = ON")  # a deleted question is overwritten, not left
        for step in range(version, SCHEMA_VERSION):
            db.executescript(f"BEGIN; {MIGRATIONS[step]}; PRAGMA user_version = {step + 1}; "
                             "COMMIT;")
        with db:
            db.executemany("INSERT OR IGNORE INTO meta VALUES (?, ?)",
                           [("vote_salt", secrets.token_hex(16)),
                            ("since", date.today().isoformat())])
        self._salt = bytes.fromhex(_meta(db, "vote_salt"))

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
            self._disown()

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError("the store is not open")
        return self._db

    # -- statistics ----------------------------------------------------------------------------

    @watched_write
    def record(self, answer: Answer) -> None:
        """Count an answer; keep a question the documents do not answer (declined, or answered
        only with the closest passages), redacted."""
        outcome = counted_outcome(answer)
        if outcome is None:
            return
        with self._lock, self.db as db:
            _count(db, outcome)
            if outcome == "answered":
                return
            db.execute("INSERT INTO unanswered VALUES (?, 1, ?) ON CONFLICT (question) "
                       "DO UPDATE SET count = count + 1, last_asked = excluded.last_asked",
                       (unanswered_question(answer), time.time()))
            db.execute("DELETE FROM unanswered WHERE question IN (SELECT question FROM "
                       "unanswered ORDER BY count, last_asked LIMIT max(0, "
                       "(SELECT count(*) FROM unanswered) - ?))", (MAX_UNANSWERED_QUESTIONS,))

    @watched_write
    def vote(self, voter: int, reply_id: str, vote: str) -> bool:
        """Count a vote ("up" or "down") once per person and reply; False if already counted."""
        key = hashlib.sha256(self._salt + f":{voter}:{reply_id}".encode()).digest()[:16]
        with self._lock, self.db as db:
            if db.execute("INSERT OR IGNORE INTO votes VALUES (?)", (key,)).rowcount == 0:
                return False
            _count(db, vote)
        return True

    def statistics(self, top: int) -> Statistics:
        with self._lock:
            counts = dict(self.db.execute("SELECT name, value FROM counts").fetchall())
            return Statistics.of(counts, _meta(self.db, "since"), self._unanswered(top))

    def unanswered(self) -> list[tuple[str, int]]:
        """Every unanswered question kept, with how often it was asked, most asked first."""
        with self._lock:
            return self._unanswered(MAX_UNANSWERED_QUESTIONS)

    def _unanswered(self, limit: int) -> list[tuple[str, int]]:
        return self.db.execute("SELECT question, count FROM unanswered "
                               "ORDER BY count DESC, last_asked DESC LIMIT ?", (limit,)).fetchall()

    @watched_write
    def probe(self) -> int:
        """Write a line (a store that cannot be written shows in `failing_since` even when no
        update comes) and count the updates the inbox holds: the readiness check's."""
        with self._lock, self.db as db:
            db.execute("INSERT INTO meta VALUES ('probed', ?) ON CONFLICT (key) "
                       "DO UPDATE SET value = excluded.value", (str(time.time()),))
            depth: int = db.execute("SELECT count(*) FROM inbox").fetchone()[0]
        return depth

    # -- the inbox -----------------------------------------------------------------------------

    @watched_write
    def keep(self, update_id: int, payload: str) -> bool:
        """Write an update to the inbox; False for one already there or handled (a copy:
        the same id and the same content)."""
        with self._lock, self.db as db:  # one statement: a check and an insert in one step
            return db.execute(
                "INSERT OR IGNORE INTO inbox (update_id, payload) SELECT ?, ? WHERE NOT EXISTS "
                "(SELECT 1 FROM handled WHERE update_id = ? AND digest = ?)",
                (update_id, payload, update_id, content_digest(payload))).rowcount == 1

    @watched_write
    def handled(self, update_id: int) -> None:
        """The update was handled: its text leaves the inbox, and the disk, and its id is
        remembered a while."""
        with self._lock:
            with self.db as db:
                _forget(db, [update_id])
            self._checkpoint()

    def _checkpoint(self) -> None:
        """Copy the write-ahead log into the database file and empty it: the log still holds
        the text of an update deleted from the inbox, which the file overwrites (secure_delete).
        Costs about a millisecond an update (docs/reliability.md)."""
        self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def take_unhandled(self) -> Unhandled:
        """The updates left in the inbox, oldest first, for a new start: those tried fewer
        than MAX_RETRIES times again are counted as tried and returned, the others dropped."""
        with self._lock, self.db as db:
            rows = db.execute("SELECT update_id, payload, retries FROM inbox "
                              "ORDER BY update_id").fetchall()
            dropped = [update_id for update_id, _, retries in rows if retries >= MAX_RETRIES]
            _forget(db, dropped)
            db.execute("UPDATE inbox SET retries = retries + 1")
        with self._lock:
            self._checkpoint()
        return Unhandled([payload for _, payload, retries in rows if retries < MAX_RETRIES],
                         dropped)


def _damaged(path: Path) -> bool:
    """Whether the file is an SQLite database with damaged pages (PRAGMA quick_check). A
    file that is no SQLite database at all is not "damaged": it is refused by open, and left
    alone, as it may be something else set as DATABASE_PATH by mistake."""
    try:
        with path.open("rb") as file:
            if file.read(len(SQLITE_HEADER)) != SQLITE_HEADER:
                return False
    except FileNotFoundError:
        return False
    db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_SECONDS)
    try:
        return [row[0] for row in db.execute("PRAGMA quick_check").fetchall()] != ["ok"]
    except sqlite3.DatabaseError as error:  # "database disk image is malformed"
        return not isinstance(error, sqlite3.OperationalError)
    finally:
        db.close()


def _meta(db: sqlite3.Connection, key: str) -> str:
    value: str = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()[0]
    return value


def _count(db: sqlite3.Connection, name: str) -> None:
    db.execute("INSERT INTO counts VALUES (?, 1) ON CONFLICT (name) "
               "DO UPDATE SET value = value + 1", (name,))


def content_digest(payload: str) -> bytes:
    """What tells two updates of one id apart: a hash of the update's content."""
    return hashlib.sha256(payload.encode()).digest()[:16]


def _forget(db: sqlite3.Connection, update_ids: list[int]) -> None:
    """Take updates out of the inbox, keeping their ids and content digests (the last
    HANDLED_IDS_KEPT)."""
    rows = (db.execute("SELECT update_id, payload FROM inbox WHERE update_id = ?",
                       (update_id,)).fetchone() for update_id in update_ids)
    held = [(update_id, content_digest(payload)) for update_id, payload in filter(None, rows)]
    db.executemany("DELETE FROM inbox WHERE update_id = ?", [(i,) for i in update_ids])
    db.executemany("INSERT OR IGNORE INTO handled (update_id, digest) VALUES (?, ?)", held)
    db.execute("DELETE FROM handled WHERE seq <= (SELECT max(seq) FROM handled) - ?",
               (HANDLED_IDS_KEPT,))
