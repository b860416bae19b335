"""Issue 11, "a big upload freezes answers": a rebuild tells how far its embedding has gone,
the admin sees it in Telegram (offline: bot_testing.offline answers the bot's calls), and a
file too big to index in reasonable time is refused with the limit said."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import pytest_asyncio
from pydantic import SecretStr
from telegram import Chat, Document, Message, MessageEntity, Update, User

from bot import indexer
from bot.answer import AnswerBuilder
from bot.config import Settings
from bot.embeddings import CachingEmbedder, Progress
from bot.index import SearchIndex
from bot.index_store import rebuild_index
from bot.telegram import admins, build_application
from bot.telegram.admins import RebuildProgress
from bot_testing.offline import OfflineRequest
from tests.conftest import BOT_TOKEN

ADMIN_ID = 4242
ADMIN_CHAT = Chat(ADMIN_ID, Chat.PRIVATE)
# The upload of issue 11: a valid Markdown file whose 4,225 passages took 158 s to embed.
BIG_UPLOAD_BYTES = 925_000


class LengthVectors(CachingEmbedder):
    """A model that needs no weights: a text's vector is made of its length."""

    name = "length test model"
    batch_size = 8

    def __init__(self) -> None:
        def engine(texts: list[str]) -> np.ndarray:
            return np.array([[len(t) % 7 + 1.0, 1.0] for t in texts])

        super().__init__(engine, engine)


def test_a_rebuild_tells_its_embedding_progress_up_to_every_passage(
        corpus_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMBEDDING_CACHE_DIR", str(tmp_path / "cache"))  # nothing embedded yet
    monkeypatch.setattr(indexer, "default_embedder", LengthVectors)
    told: list[tuple[int, int]] = []
    index = rebuild_index(corpus_dir, tmp_path / "index", lambda *news: told.append(news))
    passages = len(index.passages)
    assert len(told) > 1
    assert [done for done, _ in told] == sorted({done for done, _ in told})  # increasing
    assert {total for _, total in told} == {passages}
    assert told[-1] == (passages, passages)


async def test_progress_is_shown_at_most_every_few_seconds_and_only_once_it_is_slow() -> None:
    clock = [0.0]
    shown: list[str] = []

    async def show(text: str) -> None:
        shown.append(text)

    progress = RebuildProgress(show, "en", clock=lambda: clock[0])
    for now, done in [(10.0, 4), (11.0, 8), (13.0, 12), (14.0, 16), (16.5, 20), (17.0, 24)]:
        clock[0] = now
        await asyncio.to_thread(progress, done, 1200)  # told by the rebuild's thread
        await progress.settled()
    # The embedding started at 10 s: shown at 13 s, then 3 s later, never in between.
    assert shown == ["Indexing: 12 / 1,200 passages…", "Indexing: 20 / 1,200 passages…"]


# --- through the Telegram handlers, offline ------------------------------------------------


class OfflineTelegram(OfflineRequest):
    """The offline Bot API, which also hands out the files of `files` (by file id) and can
    fail every edit of a message, as Telegram does when it is slow or the text unchanged."""

    def __init__(self, files: dict[str, bytes] | None = None, *,
                 failed_edits: bool = False) -> None:
        super().__init__()
        self.files, self.failed_edits = files or {}, failed_edits

    async def do_request(self, url: str, method: str, request_data: Any = None,
                         *args: object, **kwargs: object) -> tuple[int, bytes]:
        endpoint = url.rsplit("/", 1)[-1]
        params = dict(request_data.parameters) if request_data else {}
        if endpoint in self.files:  # a file's download
            return 200, self.files[endpoint]
        if endpoint == "getFile":
            self.calls.append((endpoint, params))
            file = {"file_id": params["file_id"], "file_unique_id": "u1",
                    "file_path": f"documents/{params['file_id']}"}
            return 200, json.dumps({"ok": True, "result": file}).encode()
        if endpoint == "editMessageText" and self.failed_edits:
            self.calls.append((endpoint, params))
            return 400, json.dumps({"ok": False, "error_code": 400, "description":
                                    "Bad Request: message is not modified"}).encode()
        return await super().do_request(url, method, request_data, *args, **kwargs)


@pytest.fixture
def slow_rebuild(index: SearchIndex, builder: AnswerBuilder,
                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A rebuild that embeds 12 passages in three slow batches, each progress shown."""
    def rebuild_index(_corpus: Path, _index: Path, progress: Progress) -> SearchIndex:
        for done in (4, 8, 12):
            time.sleep(0.05)
            progress(done, 12)
        return index

    monkeypatch.setattr(admins, "rebuild_index", rebuild_index)
    monkeypatch.setattr(admins, "ready_answers", lambda _index: builder)
    monkeypatch.setattr(admins, "PROGRESS_SECONDS", 0.0)


@pytest_asyncio.fixture
async def offline_bot(tmp_path: Path, builder: AnswerBuilder,
                   request: pytest.FixtureRequest) -> AsyncIterator[tuple[Any, OfflineTelegram]]:
    """The bot's Application answering offline; parametrised with the OfflineTelegram."""
    offline = getattr(request, "param", None) or OfflineTelegram()
    async with offline_application(tmp_path / "corpus", tmp_path, builder, offline) as app:
        yield app, offline


@contextlib.asynccontextmanager
async def offline_application(corpus_dir: Path, tmp_path: Path, builder: AnswerBuilder,
                              offline: OfflineTelegram) -> AsyncIterator[Any]:
    """The bot's Application, ADMIN_ID its admin, answering through `offline`, serving
    `builder`'s index and rebuilding from `corpus_dir`."""
    settings = Settings(telegram_bot_token=SecretStr(BOT_TOKEN), corpus_dir=corpus_dir,
                        index_dir=tmp_path / "index", database_path=tmp_path / "bot.sqlite3",
                        admin_user_ids=frozenset({ADMIN_ID}))
    app = build_application(settings, offline)
    async with app:
        app.bot_data.store.open()  # what post_init does, with serving the index
        app.bot_data.serve(builder)
        yield app
        app.bot_data.store.close()


def from_admin(app: Any, *, text: str | None = None, document: Document | None = None,
               language_code: str = "fr") -> Update:
    """What Telegram would send for the admin's command or document."""
    sender = User(ADMIN_ID, "Alex", False, language_code=language_code)
    entities = [MessageEntity(MessageEntity.BOT_COMMAND, 0, len(text.split()[0]))] if (
        text and text.startswith("/")) else None
    message = Message(1, datetime.now(UTC), ADMIN_CHAT, from_user=sender, text=text,
                      document=document, entities=entities)
    message.set_bot(app.bot)
    if document is not None:
        document.set_bot(app.bot)
    update = Update(1, message=message)
    update.set_bot(app.bot)
    return update


def texts(request: OfflineRequest, *methods: str) -> list[tuple[str, str]]:
    """(method, text) of the bot's calls of those methods, in order."""
    return [(method, params["text"]) for method, params in request.calls if method in methods]


async def test_the_admin_sees_a_slow_reindex_progress_in_its_started_message(
        offline_bot: tuple[Any, OfflineTelegram], slow_rebuild: None) -> None:
    app, offline = offline_bot
    await app.process_update(from_admin(app, text="/reindex"))
    calls = texts(offline, "sendMessage", "editMessageText")
    assert calls[0] == ("sendMessage", "Reconstruction de l'index…")
    assert calls[1] == ("editMessageText", "Indexation : 4 / 12 passages…")
    assert calls[-1][0] == "sendMessage" and calls[-1][1].startswith("Index reconstruit : ")
    assert {method for method, _ in calls[1:-1]} == {"editMessageText"}
    assert {params["message_id"] for method, params in offline.calls
            if method == "editMessageText"} == {1}  # the "started" message, sent first


@pytest.mark.parametrize("offline_bot", [OfflineTelegram({"note.md": b"# Note\n\nUne phrase."})],
                         indirect=True)
async def test_a_slow_upload_rebuild_shows_its_progress_in_one_message(
        offline_bot: tuple[Any, OfflineTelegram], slow_rebuild: None) -> None:
    app, offline = offline_bot
    document = Document("note.md", "u1", file_name="note.md", file_size=19)
    await app.process_update(from_admin(app, document=document, language_code="en"))
    calls = texts(offline, "sendMessage", "editMessageText")
    assert calls[0] == ("sendMessage", "Indexing: 4 / 12 passages…")
    assert calls[-1][0] == "sendMessage"
    assert calls[-1][1].startswith('"note.md" added to the corpus.\nIndex rebuilt: ')
    assert {method for method, _ in calls[1:-1]} == {"editMessageText"}


@pytest.mark.parametrize("offline_bot", [OfflineTelegram(failed_edits=True)], indirect=True)
async def test_a_failed_progress_edit_never_fails_the_rebuild(
        offline_bot: tuple[Any, OfflineTelegram], slow_rebuild: None,
        caplog: pytest.LogCaptureFixture) -> None:
    app, offline = offline_bot
    await app.process_update(from_admin(app, text="/reindex"))
    assert [method for method, _ in offline.calls if method == "editMessageText"]
    assert texts(offline, "sendMessage")[-1][1].startswith("Index reconstruit : ")
    assert "rebuild progress not shown" in caplog.text


@pytest.mark.parametrize(("lang", "refusal"), [
    ("fr", "Document refusé : le fichier dépasse 500 ko"),
    ("en", "Document refused: the file is larger than 500 kB")])
async def test_a_925_kb_upload_is_refused_unread_and_the_refusal_says_the_limit(
        offline_bot: tuple[Any, OfflineTelegram], lang: str, refusal: str) -> None:
    app, offline = offline_bot
    document = Document("big", "u2", file_name="big.md", file_size=BIG_UPLOAD_BYTES)
    await app.process_update(from_admin(app, document=document, language_code=lang))
    assert texts(offline, "sendMessage") == [("sendMessage", refusal)]
    assert "getFile" not in [method for method, _ in offline.calls]  # never downloaded
