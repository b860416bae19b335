"""The store on PostgreSQL (DATABASE_URL), for several processes of the bot ("replicas") on one
database behind one webhook address: the same statistics and inbox as bot.store's SQLite
file, shared.

Each replica has an id. An update is claimed by the replica that keeps it, with a lease that a
thread of that replica renews while it lives; a replica killed stops renewing, and once its
leases have ended another takes its updates over (FOR UPDATE SKIP LOCKED: each is taken by
one). An update's row stays once handled, its text emptied: its id and digest are the key that
makes `keep` one atomic statement, so two replicas given one update keep it once, and a copy of
a handled one is never kept again.

The schema has a version (the meta row schema_version), migrated under an advisory lock so
that replicas starting together migrate once; a newer one, or a database with tables but no
version, is refused with StoreError. The text of a handled update is gone from the tables at
once, but PostgreSQL keeps the old row versions on disk until VACUUM reuses the space, and in
its write-ahead log until recycled: an operator's disk encryption covers those, as SQLite's
secure_delete cannot be had here.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import socket
import threading
from datetime import date
from typing import Any
from urllib.parse import urlsplit

import psycopg
from psycopg.abc import Params
from psycopg_pool import ConnectionPool

from bot.answer import Answer
from bot.logs import ThrottledLog
from bot.store import (
    BUSY_TIMEOUT_SECONDS,
    HANDLED_IDS_KEPT,
    MAX_RETRIES,
    MAX_UNANSWERED_QUESTIONS,
    SenderCounter,
    Statistics,
    StoreError,
    StoreHealth,
    Unhandled,
    content_digest,
    counted_outcome,
    unanswered_question,
    watched_write,
)

log = logging.getLogger(__name__)

# MIGRATIONS[n] takes a database from schema version n to n + 1; version 0 is an empty one.
MIGRATIONS = (
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE counts (name TEXT PRIMARY KEY, value BIGINT NOT NULL);
    CREATE TABLE votes (key BYTEA PRIMARY KEY);
    CREATE TABLE unanswered (question TEXT PRIMARY KEY, count INTEGER NOT NULL,
                             last_asked TIMESTAMPTZ NOT NULL);
    CREATE INDEX unanswered_rank ON unanswered (count, last_asked);
    -- payload is NULL once handled (handled_seq then orders the rows kept);
    -- claimed_by and lease_until say which replica holds an unhandled one, until when.
    CREATE TABLE inbox (update_id BIGINT NOT NULL, digest BYTEA NOT NULL, payload TEXT,
                        retries INTEGER NOT NULL DEFAULT 0, claimed_by TEXT,
                        lease_until TIMESTAMPTZ, handled_seq BIGINT,
                        PRIMARY KEY (update_id, digest));
    CREATE SEQUENCE handled_order;
    CREATE INDEX inbox_handled ON inbox (handled_seq) WHERE payload IS NULL;
    CREATE INDEX inbox_leases ON inbox (lease_until) WHERE payload IS NOT NULL;
    -- The per-sender limit's windows, the sender a salted hash as votes are.
    CREATE TABLE sender_windows (sender BYTEA PRIMARY KEY, started TIMESTAMPTZ NOT NULL,
                                 messages INTEGER NOT NULL);
    CREATE INDEX sender_windows_age ON sender_windows (started);
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)
# Replicas starting together migrate one after the other (any constant of this bot's own).
MIGRATION_LOCK = 0x66_75_69_74_65  # "fuite"
# How long a replica holds an update it does not renew; its thread renews every third of it.
# Longer than a stall of the renewing thread, short enough that a killed replica's updates
# are answered within a minute (another looks for them every TAKEOVER_SECONDS, bot.telegram.
# inbox).
LEASE_SECONDS = 30.0
# Connections a replica opens at most: the threads asyncio.to_thread runs store calls in,
# and the lease thread.
POOL_SIZE = 8
# A sender window older than this is deleted by the lease thread (a window is a minute).
SENDER_WINDOWS_KEPT_SECONDS = 3600.0


def described(url: str) -> str:
    """The database as errors and logs name it: without its password (and never failing,
    whatever the URL: a wrong one is refused by `open`, in one line)."""
    parts = urlsplit(url)
    user = f"{parts.username}@" if parts.username else ""
    return f"{parts.scheme}://{user}{parts.netloc.rsplit('@', 1)[-1]}{parts.path}"


class PostgresStore(StoreHealth):
    """The bot's database on PostgreSQL, shared with other replicas. Nothing is touched
    until `open`; `close` hands this replica's unhandled updates to the others at once."""

    errors = (psycopg.Error, OSError)
    shared = True

    def __init__(self, url: str) -> None:
        super().__init__(described(url))
        self.url = url
        self.replica = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self.sender_counter: SenderCounter | None = self
        self._pool: ConnectionPool | None = None
        self._salt = b""
        self._closing = threading.Event()
        self._lease_thread: threading.Thread | None = None
        self._renew_failures = ThrottledLog(log)

    def open(self) -> None:
        """Bring the schema up to date, open the pool of connections and start renewing
        this replica's leases."""
        # A statement waits BUSY_TIMEOUT_SECONDS for a lock, as SQLite's do, then fails.
        options: dict[str, Any] = {
            "connect_timeout": max(1, round(BUSY_TIMEOUT_SECONDS)),
            "options": f"-c lock_timeout={round(BUSY_TIMEOUT_SECONDS * 1000)} "
                       f"-c statement_timeout={round(BUSY_TIMEOUT_SECONDS * 3000)}"}
        pool: ConnectionPool = ConnectionPool(
            self.url, min_size=1, max_size=POOL_SIZE, kwargs=options, open=False,
            timeout=BUSY_TIMEOUT_SECONDS, check=ConnectionPool.check_connection,
            name=f"store {self.replica}")
        try:
            with psycopg.connect(self.url, **options) as db:  # its errors say why, a pool's not
                self._prepare(db)
            pool.open(wait=True, timeout=BUSY_TIMEOUT_SECONDS)
        except psycopg.Error as error:
            pool.close()
            raise StoreError(f"cannot use the database {self.where} (DATABASE_URL): "
                             f"{self._said(error)}") from None
        self._pool = pool
        self._closing.clear()
        self._lease_thread = threading.Thread(target=self._renew_until_closed, daemon=True,
                                              name=f"leases {self.replica}")
        self._lease_thread.start()

    def _prepare(self, db: psycopg.Connection[Any]) -> None:
        with db.transaction():
            db.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            version = self._version(db)
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"the database {self.where} (DATABASE_URL) has schema version {version}, "
                    f"newer than this bot's {SCHEMA_VERSION}: run a newer bot, or set "
                    "another DATABASE_URL")
            for step in range(version, SCHEMA_VERSION):
                db.execute(MIGRATIONS[step].encode())
                db.execute("INSERT INTO meta VALUES ('schema_version', %s) ON CONFLICT (key) "
                           "DO UPDATE SET value = excluded.value", (str(step + 1),))
            db.execute("INSERT INTO meta VALUES ('vote_salt', %s), ('since', %s) "
                       "ON CONFLICT (key) DO NOTHING",
                       (secrets.token_hex(16), date.today().isoformat()))
            self._salt = bytes.fromhex(_meta(db, "vote_salt"))

    def _version(self, db: psycopg.Connection[Any]) -> int:
        """The schema version; 0 for an empty database, StoreError for another program's."""
        if _one(db, "SELECT to_regclass('meta') IS NOT NULL"):
            row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            if row is not None:
                return int(row[0])
        elif not _one(db, "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()"):
            return 0
        raise StoreError(f"{self.where} (DATABASE_URL) is not this bot's database: it has "
                         "tables but no schema version; set another DATABASE_URL")

    def close(self) -> None:
        """Stop renewing, and end this replica's leases: another takes its unhandled updates
        over without waiting for them to run out."""
        self._closing.set()
        if self._lease_thread is not None:
            self._lease_thread.join()
            self._lease_thread = None
        if self._pool is None:
            return
        try:
            with self.pool.connection() as db:
                db.execute("UPDATE inbox SET lease_until = statement_timestamp() "
                           "WHERE claimed_by = %s AND payload IS NOT NULL", (self.replica,))
        except self.errors as error:
            log.warning("could not hand this replica's updates over at stop (%s): the others "
                        "take them when their leases end", self._said(error))
        self._pool.close()
        self._pool = None

    def _said(self, error: Exception) -> str:
        """An error in one line, without the password (libpq may quote the URL)."""
        said = " ".join(str(error).split())
        password = urlsplit(self.url).password
        return said.replace(password, "***") if password else said

    @property
    def pool(self) -> ConnectionPool:
        if self._pool is None:
            raise RuntimeError("the store is not open")
        return self._pool

    # -- statistics ----------------------------------------------------------------------------

    @watched_write
    def record(self, answer: Answer) -> None:
        """Count an answer; keep a question the documents do not answer, redacted."""
        outcome = counted_outcome(answer)
        if outcome is None:
            return
        with self.pool.connection() as db:
            _count(db, outcome)
            if outcome == "answered":
                return
            db.execute("INSERT INTO unanswered VALUES (%s, 1, clock_timestamp()) "
                       "ON CONFLICT (question) DO UPDATE SET count = unanswered.count + 1, "
                       "last_asked = excluded.last_asked", (unanswered_question(answer),))
            db.execute("DELETE FROM unanswered WHERE question IN (SELECT question FROM "
                       "unanswered ORDER BY count, last_asked LIMIT greatest(0, "
                       "(SELECT count(*) FROM unanswered) - %s))", (MAX_UNANSWERED_QUESTIONS,))

    @watched_write
    def vote(self, voter: int, reply_id: str, vote: str) -> bool:
        """Count a vote ("up" or "down") once per person and reply; False if already counted."""
        key = hashlib.sha256(self._salt + f":{voter}:{reply_id}".encode()).digest()[:16]
        with self.pool.connection() as db:
            if db.execute("INSERT INTO votes VALUES (%s) ON CONFLICT DO NOTHING",
                          (key,)).rowcount == 0:
                return False
            _count(db, vote)
        return True

    def statistics(self, top: int) -> Statistics:
        with self.pool.connection() as db:
            counts: dict[str, int] = dict(db.execute("SELECT name, value FROM counts").fetchall())
            return Statistics.of(counts, _meta(db, "since"), _unanswered(db, top))

    def unanswered(self) -> list[tuple[str, int]]:
        """Every unanswered question kept, with how often it was asked, most asked first."""
        with self.pool.connection() as db:
            return _unanswered(db, MAX_UNANSWERED_QUESTIONS)

    # -- the per-sender limit ------------------------------------------------------------------

    @watched_write
    def count_message(self, sender: int, window_seconds: float) -> int:
        """Count a message of the sender, for every replica at once: one upsert, which starts
        a new window when the sender's last one is over."""
        key = hashlib.sha256(self._salt + f"sender:{sender}".encode()).digest()[:16]
        over = "w.started <= statement_timestamp() - make_interval(secs => %(window)s)"
        with self.pool.connection() as db:
            messages: int = _one(
                db, "INSERT INTO sender_windows AS w VALUES (%(key)s, statement_timestamp(), 1) "
                    f"ON CONFLICT (sender) DO UPDATE SET started = CASE WHEN {over} "
                    "THEN statement_timestamp() ELSE w.started END, "
                    f"messages = CASE WHEN {over} THEN 1 ELSE w.messages + 1 END "
                    "RETURNING messages", {"key": key, "window": window_seconds})
        return messages

    # -- the inbox -----------------------------------------------------------------------------

    @watched_write
    def keep(self, update_id: int, payload: str) -> bool:
        """Write an update to the inbox, claimed by this replica; False for one already there
        or handled (a copy: the same id and the same content), by any replica."""
        with self.pool.connection() as db:
            return db.execute(
                "INSERT INTO inbox (update_id, digest, payload, claimed_by, lease_until) "
                "VALUES (%s, %s, %s, %s, statement_timestamp() + make_interval(secs => %s)) "
                "ON CONFLICT (update_id, digest) DO NOTHING",
                (update_id, content_digest(payload), payload, self.replica, LEASE_SECONDS),
            ).rowcount == 1

    @watched_write
    def handled(self, update_id: int) -> None:
        """The update was handled: its text leaves the inbox, its id and digest stay a while
        (the last HANDLED_IDS_KEPT)."""
        with self.pool.connection() as db:
            _forget(db, "update_id = %s", (update_id,))

    @watched_write
    def take_unhandled(self) -> Unhandled:
        """The updates no live replica holds (their leases over), oldest first, now this
        replica's: those taken over fewer than MAX_RETRIES times before are returned, the
        others dropped. At start, and every so often while running."""
        with self.pool.connection() as db:
            rows = db.execute(
                "WITH expired AS (SELECT update_id, digest FROM inbox WHERE payload IS NOT NULL "
                "AND lease_until < statement_timestamp() FOR UPDATE SKIP LOCKED) "
                "UPDATE inbox SET claimed_by = %s, retries = inbox.retries + 1, "
                "lease_until = statement_timestamp() + make_interval(secs => %s) FROM expired "
                "WHERE (inbox.update_id, inbox.digest) = (expired.update_id, expired.digest) "
                "RETURNING inbox.update_id, inbox.digest, inbox.payload, inbox.retries",
                (self.replica, LEASE_SECONDS)).fetchall()
            rows.sort(key=lambda row: int(row[0]))
            dropped = [(update_id, digest) for update_id, digest, _, retries in rows
                       if retries > MAX_RETRIES]
            if dropped:
                _forget(db, "(update_id, digest) IN (SELECT * FROM unnest(%s::bigint[], "
                            "%s::bytea[]))", tuple(map(list, zip(*dropped, strict=True))))
        return Unhandled([payload for _, _, payload, retries in rows if retries <= MAX_RETRIES],
                         [update_id for update_id, _ in dropped])

    @watched_write
    def probe(self) -> int:
        """Write a row (a store that cannot be written shows in `failing_since` even when no
        update comes) and count the unhandled updates, every replica's: the readiness
        check's."""
        with self.pool.connection() as db:
            db.execute("INSERT INTO meta VALUES ('probed', clock_timestamp()::text) "
                       "ON CONFLICT (key) DO UPDATE SET value = excluded.value")
            depth: int = _one(db, "SELECT count(*) FROM inbox WHERE payload IS NOT NULL")
        return depth

    # -- the lease thread ----------------------------------------------------------------------

    @watched_write
    def renew_leases(self) -> None:
        """Extend the leases of the updates this replica holds, and forget the sender windows
        long over."""
        with self.pool.connection() as db:
            db.execute("UPDATE inbox SET lease_until = statement_timestamp() + "
                       "make_interval(secs => %s) WHERE claimed_by = %s AND payload IS NOT NULL",
                       (LEASE_SECONDS, self.replica))
            db.execute("DELETE FROM sender_windows WHERE started < statement_timestamp() - "
                       "make_interval(secs => %s)", (SENDER_WINDOWS_KEPT_SECONDS,))

    def _renew_until_closed(self) -> None:
        while not self._closing.wait(LEASE_SECONDS / 3):
            try:
                self.renew_leases()
            except self.errors as error:
                self._renew_failures.warning(
                    "leases not renewed (%s): another replica takes this one's updates over "
                    "once they end, and may answer some twice", self._said(error))


def _one(db: psycopg.Connection[Any], query: str, params: Params | None = None) -> Any:
    row = db.execute(query, params).fetchone()
    assert row is not None
    return row[0]


def _meta(db: psycopg.Connection[Any], key: str) -> str:
    value: str = _one(db, "SELECT value FROM meta WHERE key = %s", (key,))
    return value


def _count(db: psycopg.Connection[Any], name: str) -> None:
    db.execute("INSERT INTO counts VALUES (%s, 1) ON CONFLICT (name) "
               "DO UPDATE SET value = counts.value + 1", (name,))


def _unanswered(db: psycopg.Connection[Any], limit: int) -> list[tuple[str, int]]:
    return db.execute("SELECT question, count FROM unanswered "
                      "ORDER BY count DESC, last_asked DESC LIMIT %s", (limit,)).fetchall()


def _forget(db: psycopg.Connection[Any], which: str, params: tuple[object, ...]) -> None:
    """Mark updates handled (`which`, a condition on inbox): their text goes, their id and
    digest stay, the last HANDLED_IDS_KEPT of them."""
    db.execute("UPDATE inbox SET payload = NULL, claimed_by = NULL, lease_until = NULL, "
               f"handled_seq = nextval('handled_order') WHERE payload IS NOT NULL AND {which}",
               params)
    db.execute("DELETE FROM inbox WHERE payload IS NULL AND handled_seq <= (SELECT "
               "max(handled_seq) FROM inbox WHERE payload IS NULL) - %s", (HANDLED_IDS_KEPT,))
