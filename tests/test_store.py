"""The bot's database (bot/store.py, bot/store_postgres.py): what admins read survives a
restart, stays bounded and names no one; the inbox gives back what a stopped process left,
once. The tests of both engines run on each; those of SQLite's files on SQLite alone."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import psycopg
import pytest

from bot import store as store_module
from bot import store_postgres
from bot.answer import Answer
from bot.store import MAX_RETRIES, Store, StoreError
from bot.store_postgres import PostgresStore
from bot_testing.disk import damage_page_of
from bot_testing.postgres import PostgresServer

AnyStore = Store | PostgresStore


def answered(question: str = "comment porter plainte ?") -> Answer:
    return Answer(question, "fr", "answered")


def declined(question: str) -> Answer:
    return Answer(question, "fr", "not_found")


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "bot.sqlite3"


@pytest.fixture(params=["sqlite", "postgresql"])
def new_store(request: pytest.FixtureRequest, path: Path) -> Callable[[], AnyStore]:
    """A store on the test's own database (not yet open), of either engine."""
    if request.param == "sqlite":
        return lambda: Store(path)
    url: str = request.getfixturevalue("postgres_url")
    return lambda: PostgresStore(url)


@pytest.fixture
def store(new_store: Callable[[], AnyStore]) -> Iterator[AnyStore]:
    opened = new_store()
    opened.open()
    yield opened
    opened.close()


@pytest.fixture
def sqlite_store(path: Path) -> Iterator[Store]:
    opened = Store(path)
    opened.open()
    yield opened
    opened.close()


def reopened(store: AnyStore) -> AnyStore:
    """The same database, as the next start of the bot opens it."""
    store.close()
    again = Store(store.path) if isinstance(store, Store) else PostgresStore(store.url)
    again.open()
    return again


def set_constant(monkeypatch: pytest.MonkeyPatch, name: str, value: object) -> None:
    """Change a constant of bot.store for both engines (bot.store_postgres imports it)."""
    monkeypatch.setattr(store_module, name, value)
    monkeypatch.setattr(store_postgres, name, value)


def test_counts_votes_and_unanswered_questions_survive_a_restart(store: AnyStore) -> None:
    store.record(answered())
    store.record(declined("Je m'appelle Jean Dupont, recette zorglub ?"))
    store.record(declined("je m'appelle Jean Dupont, recette zorglub ?"))
    store.record(Answer("👍", "fr", "no_question"))  # neither answered nor declined
    assert store.vote(1001, "1001:5", "up")

    store = reopened(store)
    numbers = store.statistics(10)
    assert (numbers.answered, numbers.declined, numbers.up, numbers.down) == (1, 2, 1, 0)
    assert numbers.since == date.today()
    # Redacted before lower-casing: the name goes in both spellings, as one question.
    assert numbers.top_unanswered == [("je m'appelle [nom], recette zorglub ?", 2)]
    assert not store.vote(1001, "1001:5", "down")  # the salt survived: the same person
    assert store.vote(1002, "1001:5", "down")
    store.close()


def test_a_hedged_answer_is_counted_apart_and_its_question_kept(store: AnyStore) -> None:
    store.record(answered())
    store.record(Answer("Viamedis a-t-il été racheté ?", "fr", "answered", confident=False))
    store.record(Answer("merci", "fr", "thanks"))  # neither answered nor declined
    numbers = store.statistics(10)
    assert (numbers.answered, numbers.hedged, numbers.declined) == (1, 1, 0)
    assert numbers.top_unanswered == [("viamedis a-t-il été racheté ?", 1)]


def test_a_person_counts_once_per_reply_and_no_voter_is_written(sqlite_store: Store,
                                                                 path: Path) -> None:
    store = sqlite_store
    assert store.vote(1001, "1001:5", "up")
    assert not store.vote(1001, "1001:5", "down")
    assert store.vote(1001, "1001:6", "down")
    assert store.vote(1002, "1002:5", "down")
    numbers = store.statistics(0)
    assert (numbers.up, numbers.down) == (1, 2)
    store.close()
    assert b"1001" not in path.read_bytes()


def test_only_the_most_asked_unanswered_questions_are_kept(
    store: AnyStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_constant(monkeypatch, "MAX_UNANSWERED_QUESTIONS", 3)
    for question, times in (("frequent", 3), ("twice", 2), ("old", 1), ("new", 1)):
        for _ in range(times):
            store.record(declined(question))
    assert store.unanswered() == [("frequent", 3), ("twice", 2), ("new", 1)]
    assert store.statistics(2).top_unanswered == [("frequent", 3), ("twice", 2)]
    assert store.statistics(0).declined == 7  # the count is not bounded, the list is


def test_a_database_of_a_newer_bot_or_another_program_is_refused(tmp_path: Path) -> None:
    newer = tmp_path / "newer.sqlite3"
    with sqlite3.connect(newer) as db:
        db.execute("PRAGMA user_version = 99")
    with pytest.raises(StoreError, match=r"newer\.sqlite3 \(DATABASE_PATH\) has schema "
                                         r"version 99, newer than this bot's "
                                         f"{store_module.SCHEMA_VERSION}"):
        Store(newer).open()

    foreign = tmp_path / "foreign.sqlite3"
    with sqlite3.connect(foreign) as db:
        db.execute("CREATE TABLE accounts (id INTEGER)")
    with pytest.raises(StoreError, match="is not this bot's database"):
        Store(foreign).open()

    not_a_database = tmp_path / "notes.txt"
    not_a_database.write_text("these are notes, not a database\n" * 100)
    with pytest.raises(StoreError, match=r"cannot use the database .*notes\.txt"):
        Store(not_a_database).open()
    assert not_a_database.read_text().startswith("these are notes")


def test_the_inbox_gives_back_unhandled_updates_once_and_then_gives_up(store: AnyStore) -> None:
    assert store.keep(1, '{"update_id": 1}')
    assert store.keep(2, '{"update_id": 2}')
    assert store.keep(3, '{"update_id": 3}')
    assert not store.keep(2, '{"update_id": 2}')  # Telegram sent it again: not kept twice
    store.handled(1)
    assert not store.keep(1, '{"update_id": 1}')  # nor once handled

    store = reopened(store)  # 2 and 3 were never handled: a crash
    first_start = store.take_unhandled()
    assert (first_start.retried, first_start.dropped) == (['{"update_id": 2}',
                                                          '{"update_id": 3}'], [])
    store.handled(2)
    assert store.keep(4, '{"update_id": 4}')

    store = reopened(store)  # 3 stopped the bot twice: dropped; 4 gets its retry
    second_start = store.take_unhandled()
    assert (second_start.retried, second_start.dropped) == (['{"update_id": 4}'], [3])
    assert not store.keep(3, '{"update_id": 3}')
    store.close()


def test_a_handled_update_leaves_no_trace_of_its_text_in_the_database_files(
    sqlite_store: Store,
) -> None:
    """The write-ahead log kept 25 copies of a social security number after the inbox had
    emptied, and after kill -9 too."""
    store = sqlite_store
    secret, kept_text = "1 85 05 78 006 084 36", "Jean Zorglubovitch"
    for update_id in range(25):
        store.keep(update_id, json.dumps({"update_id": update_id,
                                          "message": {"text": f"{secret} {kept_text}"}}))
        store.handled(update_id)
    store.keep(99, json.dumps({"update_id": 99, "message": {"text": "pas encore traitée"}}))
    store.keep(100, json.dumps({"update_id": 100, "message": {"text": f"{secret} à jeter"}}))
    for _ in range(MAX_RETRIES + 1):  # given up on at a later start: dropped, and gone
        store.take_unhandled()
    files = list(store.path.parent.glob(store.path.name + "*"))
    assert len(files) >= 2  # the database and its log at least
    on_disk = b"".join(path.read_bytes() for path in files)
    assert secret.encode() not in on_disk and kept_text.encode() not in on_disk


def test_a_reused_update_id_with_new_content_is_a_new_update(store: AnyStore) -> None:
    """Telegram restarts update ids after a week without updates: a new question under an id
    handled before was confirmed and never answered."""
    old = json.dumps({"update_id": 7, "message": {"message_id": 1, "text": "plainte ?"}})
    new = json.dumps({"update_id": 7, "message": {"message_id": 90, "text": "amende ?"}})
    assert store.keep(7, old)
    store.handled(7)
    assert not store.keep(7, old)  # Telegram sent the old one again: a copy
    assert store.keep(7, new)  # a new update that reuses the id: kept, to be answered
    store.handled(7)
    assert not store.keep(7, new)


def test_a_database_of_the_previous_version_is_migrated_with_its_data(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path)
    db.executescript(f"BEGIN; {store_module.MIGRATIONS[0]}; PRAGMA user_version = 1; COMMIT;")
    db.execute("INSERT INTO meta VALUES ('vote_salt', '00112233445566778899aabbccddeeff')")
    db.execute("INSERT INTO meta VALUES ('since', '2026-11-30')")
    db.execute("INSERT INTO counts VALUES ('answered', 41)")
    db.execute("INSERT INTO handled (update_id) VALUES (5)")
    db.commit()
    db.close()
    store = Store(path)
    store.open()
    assert store.db.execute("PRAGMA user_version").fetchone()[0] == store_module.SCHEMA_VERSION
    numbers = store.statistics(10)
    assert (numbers.since, numbers.answered) == (date(2026, 11, 30), 41)
    assert store.keep(5, '{"update_id": 5, "message": {"text": "nouvelle"}}')
    store.close()


def test_a_second_process_on_the_same_database_is_refused_with_one_clear_line(
    sqlite_store: Store,
) -> None:
    """Two processes on one inbox both answered what the last run had left: 36 users of 100
    got two answers. The second start is refused until the first has stopped."""
    store = sqlite_store
    second = Store(store.path)
    with pytest.raises(StoreError, match=rf"{store.path.name} \(DATABASE_PATH\) is in use by "
                                         rf"another process of the bot \(pid {os.getpid()}\)"):
        second.open()
    store.close()
    second.open()  # the first has stopped: the lock went with it
    second.close()


def test_a_process_killed_leaves_no_lock_behind(path: Path) -> None:
    path.parent.mkdir(parents=True)
    killed = subprocess.run(
        [sys.executable, "-c", "import os, signal, sys; from pathlib import Path; "
         "from bot.store import Store; Store(Path(sys.argv[1])).open(); "
         "os.kill(os.getpid(), signal.SIGKILL)", str(path)], check=False)
    assert killed.returncode == -signal.SIGKILL
    store = Store(path)
    store.open()
    store.close()


@pytest.mark.parametrize("table", ["inbox", "handled", "counts"])
def test_a_damaged_database_is_moved_aside_and_a_new_one_made(
    sqlite_store: Store, table: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A damaged inbox or handled page stopped the start with a 39-line traceback."""
    store = sqlite_store
    store.record(answered())
    store.keep(1, '{"update_id": 1}')
    store.close()
    damage_page_of(store.path, table)

    store.open()
    assert store.statistics(10).answered == 0 and store.take_unhandled().retried == []
    store.record(answered())
    assert store.statistics(10).answered == 1
    store.close()
    kept = [p.name for p in store.path.parent.glob("bot.sqlite3.corrupt-*[0-9]")]
    assert len(kept) == 1 and re.fullmatch(r"bot\.sqlite3\.corrupt-\d{8}T\d{6}", kept[0])
    lines = [r.getMessage() for r in caplog.records if r.name == "bot.store"]
    assert lines == [f"the database {store.path} (DATABASE_PATH) is damaged: moved aside as "
                     f"{kept[0]}, a new one is made"]


def test_a_failing_write_shows_in_the_store_health_until_one_succeeds(
    sqlite_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full disk or a lock held too long made the bot silent with nothing to show for it;
    the store's health says it is failing, and since when."""
    monkeypatch.setattr(store_module, "BUSY_TIMEOUT_SECONDS", 0.05)
    store = reopened(sqlite_store)
    assert isinstance(store, Store)
    assert store.failing_since is None
    other = sqlite3.connect(store.path)
    other.execute("BEGIN IMMEDIATE")  # another program holds the write lock
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        store.keep(1, '{"update_id": 1}')
    assert store.failing_since is not None and "locked" in store.last_error
    other.rollback()
    other.close()
    assert store.keep(1, '{"update_id": 1}')
    assert store.failing_since is None


def test_a_postgresql_database_of_a_newer_bot_or_another_program_is_refused(
    postgres_server: PostgresServer,
) -> None:
    newer = postgres_server.new_database()
    made = PostgresStore(newer)
    made.open()
    made.close()
    with psycopg.connect(newer) as db:
        db.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(StoreError, match=r"^the database postgresql://postgres@127\.0\.0\.1:"
                                         r"\d+/test_\d+ \(DATABASE_URL\) has schema version 99, "
                                         "newer than this bot's "
                                         f"{store_postgres.SCHEMA_VERSION}"):
        PostgresStore(newer).open()

    foreign = postgres_server.new_database()
    with psycopg.connect(foreign) as db:
        db.execute("CREATE TABLE accounts (id INTEGER)")
    with pytest.raises(StoreError, match="is not this bot's database"):
        PostgresStore(foreign).open()


def test_an_unreachable_postgresql_server_is_one_line_without_the_password() -> None:
    with socket.socket() as probe:  # a port no server listens on
        probe.bind(("127.0.0.1", 0))
        url = f"postgresql://bot:s3cr3t@127.0.0.1:{probe.getsockname()[1]}/bot"
        with pytest.raises(StoreError) as refused:
            PostgresStore(url).open()
    said = str(refused.value)
    assert said.startswith("cannot use the database postgresql://bot@127.0.0.1:")
    assert "s3cr3t" not in said and "\n" not in said


def test_replicas_starting_together_on_an_empty_database_migrate_it_once(
    postgres_url: str,
) -> None:
    stores = [PostgresStore(postgres_url) for _ in range(4)]
    with ThreadPoolExecutor(len(stores)) as pool:
        list(pool.map(PostgresStore.open, stores))  # one that fails raises here
    assert {store.statistics(0).since for store in stores} == {date.today()}
    for store in stores:
        store.close()


def test_a_failing_postgresql_write_shows_in_the_store_health_until_one_succeeds(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_postgres, "BUSY_TIMEOUT_SECONDS", 0.05)
    store = PostgresStore(postgres_url)
    store.open()
    with psycopg.connect(postgres_url) as other:
        other.execute("LOCK TABLE inbox IN ACCESS EXCLUSIVE MODE")  # another program's lock
        with pytest.raises(psycopg.errors.LockNotAvailable):
            store.keep(1, '{"update_id": 1}')
        assert store.failing_since is not None and "lock timeout" in store.last_error
    assert store.keep(1, '{"update_id": 1}')
    assert store.failing_since is None
    store.close()


def test_the_readiness_probe_writes_and_counts_the_unhandled_updates(store: AnyStore) -> None:
    store.keep(1, '{"update_id": 1}')
    store.keep(2, '{"update_id": 2}')
    store.handled(1)
    assert store.probe() == 1
