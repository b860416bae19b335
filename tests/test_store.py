"""The bot's database (bot/store.py): what admins read survives a restart, stays bounded and
names no one; the inbox gives back what a stopped process left, once."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from bot import store as store_module
from bot.answer import Answer
from bot.store import MAX_RETRIES, Store, StoreError


def answered(question: str = "comment porter plainte ?") -> Answer:
    return Answer(question, "fr", "answered")


def declined(question: str) -> Answer:
    return Answer(question, "fr", "not_found")


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "bot.sqlite3"


@pytest.fixture
def store(path: Path) -> Iterator[Store]:
    opened = Store(path)
    opened.open()
    yield opened
    opened.close()


def reopened(store: Store) -> Store:
    """The same file, as the next start of the bot opens it."""
    store.close()
    again = Store(store.path)
    again.open()
    return again


def test_counts_votes_and_unanswered_questions_survive_a_restart(store: Store) -> None:
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


def test_a_hedged_answer_is_counted_apart_and_its_question_kept(store: Store) -> None:
    store.record(answered())
    store.record(Answer("Viamedis a-t-il été racheté ?", "fr", "answered", confident=False))
    store.record(Answer("merci", "fr", "thanks"))  # neither answered nor declined
    numbers = store.statistics(10)
    assert (numbers.answered, numbers.hedged, numbers.declined) == (1, 1, 0)
    assert numbers.top_unanswered == [("viamedis a-t-il été racheté ?", 1)]


def test_a_person_counts_once_per_reply_and_no_voter_is_written(store: Store,
                                                                 path: Path) -> None:
    assert store.vote(1001, "1001:5", "up")
    assert not store.vote(1001, "1001:5", "down")
    assert store.vote(1001, "1001:6", "down")
    assert store.vote(1002, "1002:5", "down")
    numbers = store.statistics(0)
    assert (numbers.up, numbers.down) == (1, 2)
    store.close()
    assert b"1001" not in path.read_bytes()


def test_only_the_most_asked_unanswered_questions_are_kept(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "MAX_UNANSWERED_QUESTIONS", 3)
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


def test_the_inbox_gives_back_unhandled_updates_once_and_then_gives_up(store: Store) -> None:
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
    store: Store,
) -> None:
    """The write-ahead log kept 25 copies of a social security number after the inbox had
    emptied, and after kill -9 too."""
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


def test_a_reused_update_id_with_new_content_is_a_new_update(store: Store) -> None:
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
