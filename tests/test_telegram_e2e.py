"""The real bot (bot.telegram.build_application) end to end, against the local Bot API stub.

Each test runs the Application with long polling on the bot_testing stand-in, pushes what a user
would send, and checks what the user would see: the messages, their buttons, the answers to
button presses, the admins' commands, and what the bot would write to its log.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import json
import logging
import re
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import date
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote

import pytest
import pytest_asyncio
from telegram.ext import Application

from bot.config import MESSAGES_PER_MINUTE, Settings
from bot.lang import Lang
from bot.logs import QUIET_LOGGERS, configure_logging
from bot.messages import format_date, message
from bot.store import Store, Unhandled
from bot.suggestions import Catalogue
from bot.telegram import build_application
from bot.telegram import ptb as ptb_module
from bot.telegram import state as state_module
from bot.telegram.ptb import file_url
from bot.telegram.state import BotState
from bot_testing import DEFAULT_GROUP_ID, DEFAULT_USER_ID, ApiCall, BotAPIStub, Sender, polling
from tests.conftest import BOT_TOKEN

pytestmark = pytest.mark.asyncio

# The real shape of a token, so that bot.logs.TOKEN_SHAPE recognises it.
TOKEN = BOT_TOKEN
ADMIN_ID = 4242
USER_ID = DEFAULT_USER_ID
USER = Sender(USER_ID)
ADMIN = Sender(ADMIN_ID)
OTHER_USER = 2002
BARRIER_USER = 9999
PRIVACY = message("privacy", "fr")

COMPLAINT_URL = (
    "https://www.masecurite.interieur.gouv.fr/fr/actualites/"
    "lettre-plainte-vol-donnees-personnelles-viamedis-almerys"
)
BROAD_QUESTION = "données de santé piratage tiers payant optique"
# The brief's "a quelle temperature cuire la tarte tatin ?" is declined by the answer engine
# itself (coverage 0.43 < MIN_COVERAGE: "temperature" is nowhere and "cuire" does not stem like
# "cuit"), which is not the transport's doing; this question is answered once the file is in.
TARTE_QUESTION = "combien de degrés pour la tarte tatin ?"
# A document on the breach that the corpus lacks, and a question only it answers.
MEETING = ("# Communiqué\n\nUne réunion publique sur la fuite de données de santé se tiendra à "
           "la mairie de Tulle le 3 mars.").encode()
MEETING_QUESTION = "une réunion publique sur la fuite à la mairie de Tulle ?"
TARTE = "# Recette\n\nLa tarte tatin se cuit à 180 degrés pendant quarante minutes.".encode()
# The tags render_html writes; anything else in a reply would be the user's text unescaped.
ALLOWED_TAGS = {"blockquote", "b", "i", "a"}


def make_settings(stub: BotAPIStub, corpus_dir: Path, tmp_path: Path) -> Settings:
    return Settings(
        telegram_bot_token=TOKEN,
        telegram_api_url=stub.base_url,
        corpus_dir=corpus_dir,
        index_dir=tmp_path / "index",
        database_path=tmp_path / "data" / "bot.sqlite3",
        admin_user_ids=frozenset({ADMIN_ID}),
    )


@contextlib.asynccontextmanager
async def running_bot(settings: Settings) -> AsyncIterator[Application]:
    """The bot's Application, initialised as run_polling would, polling the stub."""
    app = build_application(settings)
    async with polling(app, app.post_init):
        yield app


@pytest_asyncio.fixture
async def app(stub: BotAPIStub, corpus_dir: Path, tmp_path: Path) -> AsyncIterator[Application]:
    async with running_bot(make_settings(stub, corpus_dir, tmp_path)) as running:
        yield running


def state(app: Application) -> BotState:
    return app.bot_data


async def settle(stub: BotAPIStub, chat_id: int) -> None:
    """Return once the bot has handled every earlier update of the chat: it handles a chat's
    updates one after the other, so we ask for /privacy there and wait for that reply."""
    def barrier_reply(call: ApiCall) -> bool:
        return to_chat(chat_id)(call) and call.params["text"] == PRIVACY

    before = len([call for call in sent_to(stub, chat_id) if barrier_reply(call)])
    if chat_id > 0:
        stub.push_text("/privacy", sender=Sender(chat_id))
    else:
        stub.push_group_text("/privacy", chat_id=chat_id, sender=Sender(BARRIER_USER))
    await stub.wait_for("sendMessage", before + 1, predicate=barrier_reply)


def to_chat(chat_id: int) -> Callable[[ApiCall], bool]:
    return lambda call: call.params.get("chat_id") == chat_id


def sent_to(stub: BotAPIStub, chat_id: int, *, ok: bool | None = True) -> list[ApiCall]:
    """The sendMessage calls to a chat (delivered ones by default)."""
    return [call for call in stub.calls_of("sendMessage", ok=ok) if to_chat(chat_id)(call)]


def texts_to(stub: BotAPIStub, chat_id: int) -> list[str]:
    return [call.params["text"] for call in sent_to(stub, chat_id)]


async def exchange(stub: BotAPIStub, chat_id: int, push: Callable[[], object]) -> list[ApiCall]:
    """Push an update, wait until it is handled, return the messages it made the bot send."""
    before = len(sent_to(stub, chat_id))
    push()
    await settle(stub, chat_id)
    return sent_to(stub, chat_id)[before:-1]  # the last one answers the barrier


async def ask(stub: BotAPIStub, text: str, sender: Sender = USER) -> ApiCall:
    """Ask a question in the private chat; return the one reply."""
    replies = await exchange(stub, sender.user_id, lambda: stub.push_text(text, sender=sender))
    assert len(replies) == 1, [call.params.get("text") for call in replies]
    return replies[0]


def buttons(call: ApiCall) -> list[dict]:
    markup = call.params.get("reply_markup") or {}
    return [button for row in markup.get("inline_keyboard", []) for button in row]


def share_url(entry_id: str, label: str) -> str:
    """A Share button's address: Telegram's "send to a chat" screen with the link that opens
    the stub's bot on one bank entry, and the entry's question."""
    link = f"https://t.me/stub_test_bot?start={entry_id}"
    return f"https://t.me/share/url?url={quote(link, safe='')}&text={quote(label, safe='')}"


def callback_data(call: ApiCall) -> list[str]:
    return [b["callback_data"] for b in buttons(call) if "callback_data" in b]


class _TagChecker(HTMLParser):
    """Collects the tags of a Telegram HTML text and checks they are balanced."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.open: list[str] = []
        self.text = ""

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.tags.append(tag)
        self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.open and self.open.pop() == tag, f"unbalanced </{tag}>"

    def handle_data(self, data: str) -> None:
        self.text += data


def parse_html(text: str) -> _TagChecker:
    checker = _TagChecker()
    checker.feed(text)
    checker.close()
    assert not checker.open, f"unclosed tags {checker.open}"
    assert set(checker.tags) <= ALLOWED_TAGS, checker.tags
    return checker


def assert_is_answer(call: ApiCall) -> None:
    """A reply with at least one quoted excerpt and its source, as valid Telegram HTML."""
    assert call.params.get("parse_mode") == "HTML"
    text = call.params["text"]
    assert "<blockquote>" in text, text
    parse_html(text)


# --- 1. answers --------------------------------------------------------------------------


async def test_french_and_english_questions_get_one_quoted_answer_with_buttons(
    stub: BotAPIStub, app: Application
) -> None:
    assert app.bot.base_file_url == stub.base_file_url + TOKEN
    assert file_url(stub.base_url) == stub.base_file_url

    french = await ask(stub, "comment porter plainte ?")
    english = await ask(stub, "How do I file a complaint?", Sender(language_code="en"))

    for call, label in ((french, "Comment porter plainte ?"),
                        (english, "How do I file a complaint?")):
        assert_is_answer(call)
        text = call.params["text"]
        assert "formulaire en ligne" in text
        assert "Sénat" in text or "Assemblée" in text
        urls = [b["url"] for b in buttons(call) if "url" in b]
        assert urls == [COMPLAINT_URL, share_url("plainte-formulaire", label)]
        assert {"vote:up", "vote:down"} <= set(callback_data(call))
        assert {b["text"] for b in buttons(call) if "callback_data" in b} >= {"👍", "👎"}
    # the bank question answered on top in the question's language, then one quote; its
    # link, "more", then share and the votes side by side: it fits one phone screen
    assert french.params["text"].startswith(
        "Question la plus proche : Comment porter plainte ?\n<blockquote>")
    assert english.params["text"].startswith(
        "Closest question: How do I file a complaint? (quoted in French)\n<blockquote>")
    assert french.params["text"].count("<blockquote>") == 1
    rows = [[b["text"] for b in row]
            for row in english.params["reply_markup"]["inline_keyboard"]]
    assert rows[0] == ["🔗 Open www.masecurite.interieur.gouv.fr"]
    assert rows[-1] == ["📤 Share", "👍", "👎"]


# --- 2. commands -------------------------------------------------------------------------


async def test_start_help_sources_unknown_command_and_command_menus(
    stub: BotAPIStub, app: Application
) -> None:
    [start] = await exchange(stub, USER_ID, lambda: stub.push_text("/start"))
    assert start.params["text"].startswith("Bonjour !")
    assert "Viamedis" in start.params["text"]
    [start_en] = await exchange(
        stub, USER_ID, lambda: stub.push_text("/start", sender=Sender(language_code="en-GB"))
    )
    assert start_en.params["text"].startswith("Hello!")

    [help_] = await exchange(stub, USER_ID, lambda: stub.push_text("/help"))
    assert "comment porter plainte ?" in help_.params["text"]

    [sources] = await exchange(stub, USER_ID, lambda: stub.push_text("/sources"))
    text = sources.params["text"]
    assert text.startswith("Les documents que je cite (5) :")
    assert text.count("• ") == 5
    assert "Question écrite n° 484" in text
    assert "https://www.senat.fr/" in text

    [unknown] = await exchange(stub, USER_ID, lambda: stub.push_text("/foo"))
    assert unknown.params["text"].startswith("Je ne connais pas cette commande.")

    commands = stub.calls_of("setMyCommands", ok=True)
    by_scope = {
        (c.params.get("scope", {}).get("type"), c.params.get("language_code")): c
        for c in commands
    }
    assert set(by_scope) == {("default", None), ("default", "en"), ("chat", None)}
    french_menu = [c["command"] for c in by_scope["default", None].params["commands"]]
    assert french_menu == ["start", "help", "sources", "privacy", "ask", "share"]
    assert "reindex" not in french_menu
    english_menu = by_scope["default", "en"].params["commands"]
    assert english_menu[0] == {"command": "start", "description": "About this bot"}
    admin = by_scope["chat", None]
    assert admin.params["scope"] == {"type": "chat", "chat_id": ADMIN_ID}
    assert {"reindex", "stats"} <= {c["command"] for c in admin.params["commands"]}


# --- 3. /reindex -------------------------------------------------------------------------


async def test_reindex_by_admin_rebuilds_and_by_others_is_refused(
    stub: BotAPIStub, app: Application
) -> None:
    served = state(app).builder
    assert served is not None

    refused = await exchange(stub, USER_ID, lambda: stub.push_text("/reindex"))
    assert [c.params["text"] for c in refused] == [
        "Désolé, cette commande est réservée aux administrateurs du bot."
    ]
    assert state(app).builder is served

    done = await exchange(stub, ADMIN_ID, lambda: stub.push_text("/reindex", sender=ADMIN))
    assert len(done) == 2 and done[0].params["text"] == "Reconstruction de l'index…"
    assert done[-1].params["text"].startswith("Index reconstruit : 5 documents, ")
    assert " passages, en " in done[-1].params["text"]
    assert state(app).builder is not served

    done_en = await exchange(
        stub, ADMIN_ID, lambda: stub.push_text("/reindex", sender=Sender(ADMIN_ID, "en"))
    )
    assert done_en[-1].params["text"].startswith("Index rebuilt: 5 documents, ")


async def test_failed_rebuild_is_reported_and_the_old_index_keeps_serving(
    stub: BotAPIStub, app: Application, tmp_path: Path
) -> None:
    served = state(app).builder
    index_dir = tmp_path / "index"  # where the rebuilt index cannot be saved: a file
    for saved in index_dir.iterdir():
        saved.unlink()
    index_dir.rmdir()
    index_dir.write_text("not a folder")
    replies = await exchange(stub, ADMIN_ID, lambda: stub.push_text("/reindex", sender=ADMIN))
    assert replies[-1].params["text"].startswith(
        "La reconstruction a échoué ; l'index précédent reste en service. Erreur : "
    )
    assert state(app).builder is served
    assert_is_answer(await ask(stub, "comment porter plainte ?"))


async def test_rebuild_of_an_emptied_corpus_fails_and_the_old_index_keeps_serving(
    stub: BotAPIStub, app: Application, corpus_dir: Path
) -> None:
    for path in corpus_dir.iterdir():
        path.unlink()
    replies = await exchange(stub, ADMIN_ID, lambda: stub.push_text("/reindex", sender=ADMIN))
    assert "La reconstruction a échoué" in replies[-1].params["text"]
    answer = await ask(stub, "comment porter plainte ?")
    assert_is_answer(answer)
    assert "formulaire en ligne" in answer.params["text"]


# --- 4. uploads --------------------------------------------------------------------------


async def test_admin_upload_is_added_indexed_and_answered_from(
    stub: BotAPIStub, app: Application, corpus_dir: Path
) -> None:
    before = parse_html((await ask(stub, MEETING_QUESTION)).params["text"]).text
    assert before.startswith(("Les documents ne répondent pas exactement",
                              "Je ne trouve pas la réponse"))
    assert "mairie de Tulle" not in before

    replies = await exchange(
        stub, ADMIN_ID,
        lambda: stub.push_document("reunion.md", "text/markdown", MEETING, sender=ADMIN),
    )
    [saved] = replies
    assert saved.params["text"].startswith("« reunion.md » ajouté au corpus.\nIndex "
                                           "reconstruit : 6")
    assert (corpus_dir / "reunion.md").read_bytes() == MEETING
    assert stub.downloads == ["documents/file_1.md"]

    # No bank question is like it: answered from the new document, hedged (its passage
    # behind the button to the closest passages), until the bank gets an entry for it.
    answer = await ask(stub, MEETING_QUESTION)
    assert parse_html(answer.params["text"]).text == message("hedged", "fr")
    [passage], _ = await tap(stub, answer, "more")
    assert_is_answer(passage)
    assert "mairie de Tulle" in parse_html(passage.params["text"]).text
    [sources] = await exchange(stub, USER_ID, lambda: stub.push_text("/sources"))
    assert sources.params["text"].startswith("Les documents que je cite (6) :")


async def test_uploads_by_non_admins_or_unsafe_ones_are_refused(
    stub: BotAPIStub, app: Application, corpus_dir: Path
) -> None:
    before = sorted(p.name for p in corpus_dir.iterdir())

    [not_admin] = await exchange(
        stub, USER_ID, lambda: stub.push_document("tarte.md", "text/markdown", TARTE)
    )
    assert not_admin.params["text"].startswith("Je ne lis que le texte.")

    [bad_name] = await exchange(
        stub, ADMIN_ID,
        lambda: stub.push_document("../evil.md", "text/markdown", TARTE, sender=ADMIN),
    )
    assert bad_name.params["text"].startswith("Document refusé : le nom du fichier ne doit")

    [not_utf8] = await exchange(
        stub, ADMIN_ID,
        lambda: stub.push_document(
            "latin1.md", "text/markdown", "# Été\n\nCafé crème à 180 degrés.".encode("latin-1"),
            sender=Sender(ADMIN_ID, "en"),
        ),
    )
    assert not_utf8.params["text"].startswith(
        "Document refused: the file cannot be read as a corpus document (not UTF-8")

    [too_big] = await exchange(
        stub, ADMIN_ID,
        lambda: stub.push_document("big.txt", "text/plain", b"a" * 500_001, sender=ADMIN),
    )
    assert too_big.params["text"] == "Document refusé : le fichier dépasse 500 ko"

    [wrong_type] = await exchange(
        stub, ADMIN_ID,
        lambda: stub.push_document("virus.exe", "application/octet-stream", b"MZ",
                                   sender=ADMIN),
    )
    assert wrong_type.params["text"] == (
        "Document refusé : seuls les fichiers .md et .txt sont acceptés")

    assert sorted(p.name for p in corpus_dir.iterdir()) == before
    assert not (corpus_dir.parent / "evil.md").exists()
    assert sorted(p.name for p in corpus_dir.parent.iterdir()) == ["corpus", "data", "index"]
    # Only the UTF-8 check needed the file's bytes: nothing else was downloaded.
    assert len(stub.downloads) == 1
    declined = await ask(stub, TARTE_QUESTION)
    assert declined.params["text"].startswith("Je ne trouve pas la réponse")


# --- 5. faults ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "retry_after"), [(429, 1), (502, None)], ids=["flood-429", "bad-gateway-502"]
)
async def test_a_failed_send_is_retried_and_delivered_once(
    stub: BotAPIStub, app: Application, status: int, retry_after: int | None
) -> None:
    stub.fail_next("sendMessage", status, retry_after=retry_after)
    delivered = await exchange(stub, USER_ID, lambda: stub.push_text("comment porter plainte ?"))

    failed = sent_to(stub, USER_ID, ok=False)
    assert [c.status for c in failed] == [status]
    assert len(delivered) == 1
    assert_is_answer(delivered[0])
    assert delivered[0].params["text"] == failed[0].params["text"]


@pytest.mark.parametrize("bot_log", ["INFO"], indirect=True)
async def test_a_send_answered_after_the_bot_stopped_waiting_is_not_sent_again(
    stub: BotAPIStub, corpus_dir: Path, tmp_path: Path, bot_log: io.StringIO
) -> None:
    """Telegram answers two replies only after the bot's read timeout: they may have arrived
    (here they did), so neither is sent again nor followed by an apology; the log counts them
    without saying what they were."""
    settings = make_settings(stub, corpus_dir, tmp_path)
    settings = settings.model_copy(update={"telegram_read_timeout": 0.5})
    late = 1.5  # seconds: the replies come well after the bot stopped waiting
    async with running_bot(settings):
        stub.delay_next("sendMessage", late, times=2)
        asked = time.monotonic()  # the clock of ApiCall.at
        stub.push_text("comment porter plainte ?")
        stub.push_text("/privacy", sender=Sender(OTHER_USER))
        await stub.wait_for("sendMessage", 2, predicate=lambda call: call.at >= asked + late)
        await settle(stub, USER_ID)
        await settle(stub, OTHER_USER)
    log_text = bot_log.getvalue()

    [answer, barrier] = texts_to(stub, USER_ID)
    assert "Question la plus proche : " in answer and barrier == PRIVACY
    assert texts_to(stub, OTHER_USER) == [PRIVACY, PRIVACY]
    assert "it may have reached Telegram: not sent again (1 so far)" in log_text
    assert "(2 so far)" in log_text
    assert "porter plainte" not in log_text and "could not send the apology" not in log_text


async def test_a_slow_reply_holds_up_its_own_chat_only(stub: BotAPIStub, app: Application) -> None:
    stub.fail_next("sendMessage", 502)  # the answer is sent again after a 0.5 s backoff
    stub.push_text("comment porter plainte ?")
    async with asyncio.timeout(5):
        while not stub.calls_of("sendMessage", ok=False):
            await asyncio.sleep(0.01)
    stub.push_text("/start", sender=Sender(OTHER_USER))
    stub.push_text("/help")

    await stub.wait_for("sendMessage", 3)
    delivered = stub.calls_of("sendMessage", ok=True)
    order = [(call.params["chat_id"], call.params["text"][:20]) for call in delivered]
    assert order == [(OTHER_USER, message("start", "fr")[:20]),
                     (USER_ID, "Question la plus pro"),
                     (USER_ID, message("help", "fr")[:20])]


async def test_a_flooding_chat_does_not_hold_up_the_others(
    stub: BotAPIStub, corpus_dir: Path, tmp_path: Path
) -> None:
    """One user sends 300 messages at once; another user's question, sent just after, is
    answered long before the flood is, and the flood is answered in order."""
    settings = make_settings(stub, corpus_dir, tmp_path)
    # Not this test's matter either: the per-sender limit (its own tests).
    settings = settings.model_copy(update={"telegram_messages_per_second": 0,
                                           "messages_per_minute": 1000})
    flood = ["/privacy", "/help"] * 150
    other = Sender(OTHER_USER)
    async with running_bot(settings):
        # The process's first question takes a while (the embedding model warms up): not this
        # test's matter, so it is asked before.
        first = await ask(stub, "comment porter plainte ?", other)
        # Each reply takes Telegram 20 ms: the flood, answered in order, lasts 6 s or more,
        # whatever the speed of this machine; the other question needs one free slot.
        stub.delay_next("sendMessage", 0.02, times=len(flood) + 1)
        for command in flood:
            stub.push_text(command)
        stub.push_text("quelles données ont été volées ?", sender=other)
        [_, answer] = await stub.wait_for(
            "sendMessage", 2, predicate=lambda call: to_chat(OTHER_USER)(call)
            and call.params["text"] != PRIVACY, timeout=30)
        await stub.wait_for("sendMessage", len(flood), predicate=to_chat(USER_ID), timeout=60)

    assert "Question la plus proche : " in first.params["text"]
    assert "Question la plus proche : " in answer.params["text"]
    replies = stub.calls_of("sendMessage", ok=True)
    flood_answered_first = sum(to_chat(USER_ID)(call) for call in replies[:replies.index(answer)])
    assert flood_answered_first < len(flood) // 3
    expected = {"/privacy": PRIVACY, "/help": message("help", "fr")}
    assert texts_to(stub, USER_ID) == [expected[command] for command in flood]


async def idle(stub: BotAPIStub, app: Application) -> None:
    """Return once the bot has fetched and handled every update pushed so far (a barrier for
    senders past their limit, whose /privacy would not be answered)."""
    async with asyncio.timeout(20):
        quiet = 0
        while quiet < 5:  # a few looks in a row, as an update moves from stub to queue to task
            busy = (stub.pending_updates or not app.update_queue.empty()
                    or app.update_processor.current_concurrent_updates)
            quiet = 0 if busy else quiet + 1
            await asyncio.sleep(0.02)


async def test_a_user_asking_too_fast_is_told_once_and_nobody_else_loses_a_question(
    stub: BotAPIStub, app: Application
) -> None:
    """Past MESSAGES_PER_MINUTE messages in the window, one polite word in the user's
    language and no more answers; another user asking meanwhile gets all of theirs."""
    hasty = Sender(USER_ID, language_code="en")
    for _ in range(MESSAGES_PER_MINUTE + 5):
        stub.push_text("how do I file a complaint", sender=hasty)
    for question in ("comment porter plainte ?", "quelles données ont été volées ?"):
        stub.push_text(question, sender=Sender(OTHER_USER))
    await idle(stub, app)

    *answers, slow_down = texts_to(stub, USER_ID)
    assert len(answers) == MESSAGES_PER_MINUTE
    assert all("Closest question: " in text for text in answers)
    assert slow_down == message("slow_down", "en", count=MESSAGES_PER_MINUTE)
    others = texts_to(stub, OTHER_USER)
    assert len(others) == 2
    assert all("Question la plus proche : " in text for text in others)


async def test_every_reply_counts_toward_the_limit_whatever_was_sent(
    stub: BotAPIStub, app: Application
) -> None:
    """40 stickers, 40 /start or 40 unknown commands got 40 replies each: only questions
    were counted."""
    senders = {"sticker": Sender(7001), "start": Sender(7002), "unknown": Sender(7003)}
    for _ in range(40):
        stub.push_sticker(sender=senders["sticker"])
        stub.push_text("/start", sender=senders["start"])
        stub.push_text("/zorglub", sender=senders["unknown"])
    await idle(stub, app)
    for sender in senders.values():
        texts = texts_to(stub, sender.user_id)
        assert len(texts) == MESSAGES_PER_MINUTE + 1, len(texts)
        assert texts[-1] == message("slow_down", "fr", count=MESSAGES_PER_MINUTE)


async def test_channel_posts_and_anonymous_admins_are_limited_per_chat(
    stub: BotAPIStub, app: Application
) -> None:
    """Channel posts naming the bot (no sender) were never limited, and a group's anonymous
    admins share one user id with every other group's: one group used up the others'."""
    mention = "@stub_test_bot comment porter plainte ?"
    group_a, group_b, channel = -100501, -100502, -100503
    for _ in range(30):
        stub.push_anonymous_text(mention, chat_id=group_a)
        stub.push_anonymous_text(mention, chat_id=channel, channel=True)
    for _ in range(3):
        stub.push_anonymous_text(mention, chat_id=group_b)
    await idle(stub, app)
    slow_down = message("slow_down", "fr", count=MESSAGES_PER_MINUTE)
    for chat_id in (group_a, channel):
        texts = texts_to(stub, chat_id)
        assert len(texts) == MESSAGES_PER_MINUTE + 1 and texts[-1] == slow_down
    assert len(texts_to(stub, group_b)) == 3


async def test_a_flood_is_limited_on_arrival_and_a_newcomer_goes_before_it(
    stub: BotAPIStub, corpus_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """300 users sending 15 questions each: every one was answered (the limit counted
    questions when handled, not when received), and a new user waited 150 s behind them."""
    monkeypatch.setattr(ptb_module, "CONCURRENT_UPDATES", 2)
    kept: list[int] = []
    keep = Store.keep

    def counted_keep(store: Store, update_id: int, payload: str) -> bool:
        kept.append(update_id)
        return keep(store, update_id, payload)

    monkeypatch.setattr(Store, "keep", counted_keep)
    settings = make_settings(stub, corpus_dir, tmp_path).model_copy(
        update={"telegram_messages_per_second": 0})
    flooders = [Sender(8000 + n) for n in range(8)]
    newcomer = Sender(8999)
    async with running_bot(settings) as app:
        for _ in range(MESSAGES_PER_MINUTE + 20):
            for flooder in flooders:
                stub.push_text("comment porter plainte ?", sender=flooder)
        stub.push_text("quelles données ont été volées ?", sender=newcomer)
        await idle(stub, app)
    replies = [call.params["chat_id"] for call in stub.calls_of("sendMessage", ok=True)]
    assert len(replies) == len(flooders) * (MESSAGES_PER_MINUTE + 1) + 1
    # Kept in the inbox (written to disk) only what is answered.
    assert len(kept) == len(replies)
    # The newcomer's question came last, after 320 others: it is answered among the first.
    assert replies.index(newcomer.user_id) < len(replies) // 4, replies.index(newcomer.user_id)


async def test_the_three_outcomes_and_thanks_reach_telegram(
    stub: BotAPIStub, app: Application
) -> None:
    """Confident: the bank question on top; hedged: said plainly, the words no document
    uses, no quote but a button to the closest passages (two at most), and suggestions to
    tap; declined: suggestions; thanks: a word."""
    hedged = await ask(stub, "Viamedis a-t-il été racheté par un concurrent ?")
    text = parse_html(hedged.params["text"]).text
    assert text.startswith(message("hedged", "fr"))
    assert message("missing_words", "fr", words="racheté, concurrent") in text
    assert "<blockquote>" not in hedged.params["text"]
    closest, *suggested = buttons(hedged)
    assert closest["text"].startswith("📄 Passages proches") and closest["callback_data"] == "more"
    assert any(b.get("callback_data", "").startswith("ask:") for b in suggested)
    [passage], _ = await tap(stub, hedged, "more")
    assert passage.params["text"].count("<blockquote>") == 1
    closer = [b["text"] for b in buttons(passage) if b.get("callback_data") == "more"]
    assert closer == ([] if closest["text"].endswith("(1)")
                      else [message("closest_button", "fr", count=1)])
    declined = await ask(stub, "Quel temps fera-t-il demain à Brest ?")
    assert declined.params["text"].startswith("Je ne trouve pas la réponse")
    assert "<blockquote>" not in declined.params["text"]
    assert any(data.startswith("ask:") for data in callback_data(declined))
    thanks = await ask(stub, "merci beaucoup !")
    assert thanks.params["text"] == message("thanks", "fr")


# --- 6. awkward messages -----------------------------------------------------------------


async def test_markup_in_a_question_never_reaches_the_reply_unescaped(
    stub: BotAPIStub, app: Application
) -> None:
    for question, opening in (
        # Read as French and answered; read as English ("bold", "link"…) and declined.
        ("comment porter plainte <b>x</b> & *bold* _it_ [link](http://evil) ?",
         "Question la plus proche"),
        ("<b>x</b> & *bold* _it_ [link](http://evil)", "I can't find"),
    ):
        call = await ask(stub, question)
        assert call.params["parse_mode"] == "HTML"
        text = call.params["text"]
        parsed = parse_html(text)
        assert "<b>x</b>" not in text
        assert "http://evil" not in text
        assert all(b.get("url") != "http://evil" for b in buttons(call))
        assert opening in parsed.text[:80]  # the question's language, not the client's


async def test_long_messages_stickers_emoji_and_edits_get_polite_replies(
    stub: BotAPIStub, app: Application
) -> None:
    long = await ask(stub, "comment porter plainte " * 450)
    assert "très long" in long.params["text"]
    assert "<blockquote>" not in long.params["text"]

    [sticker] = await exchange(stub, USER_ID, lambda: stub.push_sticker("😀"))
    assert sticker.params["text"].startswith("Je ne lis que le texte.")
    [photo] = await exchange(stub, USER_ID, lambda: stub.push_photo())
    assert photo.params["text"].startswith("Je ne lis que le texte.")

    emoji = await ask(stub, "👍🎉🙏")
    assert "Je n&#x27;ai pas trouvé de question" in emoji.params["text"]

    pushed: list[dict] = []
    [first] = await exchange(stub, USER_ID, lambda: pushed.append(stub.push_text("merci !")))
    assert "<blockquote>" not in first.params["text"]
    [edited] = await exchange(
        stub, USER_ID, lambda: stub.push_edited_text(pushed[0], "comment porter plainte ?")
    )
    assert_is_answer(edited)
    assert "formulaire en ligne" in edited.params["text"]


# --- 7. groups ---------------------------------------------------------------------------


async def test_in_groups_the_bot_only_answers_when_addressed(
    stub: BotAPIStub, app: Application
) -> None:
    silent = await exchange(
        stub, DEFAULT_GROUP_ID, lambda: stub.push_group_text("comment porter plainte ?")
    )
    assert silent == []
    silent = await exchange(stub, DEFAULT_GROUP_ID, lambda: stub.push_group_text("/foo"))
    assert silent == []
    silent = await exchange(
        stub, DEFAULT_GROUP_ID, lambda: stub.push_sticker(chat_id=DEFAULT_GROUP_ID)
    )
    assert silent == []

    [mentioned] = await exchange(
        stub, DEFAULT_GROUP_ID,
        lambda: stub.push_group_text("comment porter plainte ?", mention_bot=True),
    )
    assert_is_answer(mentioned)
    assert "formulaire en ligne" in mentioned.params["text"]

    [asked] = await exchange(
        stub, DEFAULT_GROUP_ID, lambda: stub.push_group_text("/ask comment porter plainte")
    )
    assert_is_answer(asked)

    [usage] = await exchange(stub, DEFAULT_GROUP_ID, lambda: stub.push_group_text("/ask"))
    assert usage.params["text"].startswith("Écrivez votre question après la commande")

    [replied] = await exchange(
        stub, DEFAULT_GROUP_ID,
        lambda: stub.push_group_text("How do I file a complaint?", reply_to=asked.result,
                                     sender=Sender(language_code="en")),
    )
    assert "Closest question: " in replied.params["text"]


# --- 8. buttons --------------------------------------------------------------------------


async def test_more_button_and_votes(stub: BotAPIStub, app: Application) -> None:
    """One quote at a time: "more" under each message sends the next excerpt, numbered, with
    its own "more" while others remain, until the last has none."""
    answer = await ask(stub, BROAD_QUESTION)
    assert_is_answer(answer)
    assert answer.params["text"].count("<blockquote>") == 1
    [more_button] = [b for b in buttons(answer) if b.get("callback_data") == "more"]
    total = 1 + int(re.fullmatch(r"➕ Autres extraits \((\d)\)", more_button["text"])[1])
    assert total >= 3
    page, quotes = answer, [parse_html(answer.params["text"]).text]
    for number in range(2, total + 1):
        [page], _ = await tap(stub, page, "more")
        assert page.params["parse_mode"] == "HTML"
        assert page.params["text"].count("<blockquote>") == 1
        assert f"\n{number}. <i>" in page.params["text"]
        quotes.append(parse_html(page.params["text"]).text)
        left = [b["text"] for b in buttons(page) if b.get("callback_data") == "more"]
        assert left == ([f"➕ Autres extraits ({total - number})"] if number < total else [])
    assert len(set(quotes)) == total
    assert len(stub.calls_of("answerCallbackQuery", ok=True)) == total - 1

    async def press(data: str, sender: Sender = USER) -> str:
        before = len(stub.calls_of("answerCallbackQuery", ok=True))
        stub.push_callback_query(answer.result, data, sender=sender)
        calls = await stub.wait_for("answerCallbackQuery", before + 1)
        return calls[-1].params.get("text", "")

    assert (await press("vote:up")).startswith("Merci")
    assert "déjà" in await press("vote:up")
    assert "déjà" in await press("vote:down")
    assert (await press("vote:down", Sender(2002, "en"))).startswith("Thanks")
    counted = state(app).store.statistics(0)
    assert (counted.up, counted.down) == (1, 1)
    await settle(stub, USER_ID)
    assert stub.calls_of("answerCallbackQuery", ok=False) == []


@pytest.mark.parametrize("data", ["more:99999", "vote:sideways", "\x00\xff garbage",
                                  "upload:replace:nokey"])
async def test_every_button_press_is_answered_even_with_data_no_button_has(
    stub: BotAPIStub, app: Application, data: str
) -> None:
    """Unanswered, a press leaves the user's app spinning."""
    answer = await ask(stub, BROAD_QUESTION)
    before = len(stub.calls_of("answerCallbackQuery", ok=True))
    stub.push_callback_query(answer.result, data, forged=True)
    [*_, answered] = await stub.wait_for("answerCallbackQuery", before + 1)
    assert answered.params["text"] in (message("button_unknown", "fr"),
                                       message("admin_only", "fr"))


async def test_stats_are_shown_to_an_admin_in_a_private_chat_only(
    stub: BotAPIStub, app: Application
) -> None:
    await ask(stub, "Je m'appelle Jean Dupont, ma recette secrète zorglub ?")
    [in_group] = await exchange(stub, DEFAULT_GROUP_ID,
                                lambda: stub.push_group_text("/stats@stub_test_bot", sender=ADMIN))
    assert in_group.params["text"] == message("stats_private_only", "fr")
    [private] = await exchange(stub, ADMIN_ID, lambda: stub.push_text("/stats", sender=ADMIN))
    assert "[nom]" in private.params["text"]
    assert "jean" not in private.params["text"].lower()


OTHER_TARTE = "# Recette\n\nLa tarte tatin se cuit à 200 degrés.".encode()


async def upload_as_admin(stub: BotAPIStub, name: str, data: bytes) -> ApiCall:
    [reply] = await exchange(
        stub, ADMIN_ID,
        lambda: stub.push_document(name, "text/markdown", data, sender=ADMIN),
    )
    return reply


async def choose(stub: BotAPIStub, question: ApiCall, data: str) -> list[ApiCall]:
    """An admin presses a button of the bot's question."""
    return await exchange(
        stub, ADMIN_ID, lambda: stub.push_callback_query(question.result, data, sender=ADMIN))


async def test_a_same_named_upload_replaces_the_file_only_when_the_admin_says_so(
    stub: BotAPIStub, app: Application, corpus_dir: Path
) -> None:
    await upload_as_admin(stub, "tarte.md", TARTE)
    same = await upload_as_admin(stub, "tarte.md", TARTE)
    assert same.params["text"] == (
        "« tarte.md » est déjà dans le corpus, identique : rien n'a changé.")

    asked = await upload_as_admin(stub, "tarte.md", OTHER_TARTE)
    assert asked.params["text"].startswith("Un autre fichier « tarte.md » est déjà dans le corpus.")
    assert "« tarte-2.md »" in asked.params["text"]
    assert [b["text"] for b in buttons(asked)] == ["Remplacer", "Garder les deux", "Annuler"]
    assert (corpus_dir / "tarte.md").read_bytes() == TARTE  # nothing changed yet

    [cancelled] = await choose(stub, asked, callback_data(asked)[2])
    assert cancelled.params["text"] == "Envoi annulé : le corpus n'a pas changé."
    assert "reply_markup" not in stub.calls_of("editMessageReplyMarkup")[-1].params  # chosen

    asked = await upload_as_admin(stub, "tarte.md", OTHER_TARTE)
    app.chat_data[ADMIN_ID].uploads.clear()  # as after a restart: the file is no longer kept
    assert await choose(stub, asked, callback_data(asked)[0]) == []
    assert stub.calls_of("answerCallbackQuery")[-1].params["text"].startswith(
        "Cet envoi n'est plus en attente")

    asked = await upload_as_admin(stub, "tarte.md", OTHER_TARTE)
    [replaced] = await choose(stub, asked, callback_data(asked)[0])
    assert replaced.params["text"].startswith(
        "« tarte.md » remplacé par la nouvelle version.\nIndex reconstruit : 6")
    assert (corpus_dir / "tarte.md").read_bytes() == OTHER_TARTE

    asked = await upload_as_admin(stub, "tarte.md", TARTE)
    [kept] = await choose(stub, asked, callback_data(asked)[1])
    assert kept.params["text"].startswith("« tarte-2.md » ajouté au corpus.\nIndex reconstruit : 7")
    assert (corpus_dir / "tarte-2.md").read_bytes() == TARTE


async def test_docs_then_remove_with_its_confirmation_button(
    stub: BotAPIStub, app: Application, corpus_dir: Path
) -> None:
    dubois = "an-16-qe-18344-dubois.md"
    [listing] = await exchange(stub, ADMIN_ID, lambda: stub.push_text("/docs", sender=ADMIN))
    assert f"• {dubois} — " in listing.params["text"]

    [asked] = await exchange(
        stub, ADMIN_ID, lambda: stub.push_text(f"/remove {dubois}", sender=ADMIN))
    assert asked.params["text"].startswith(f"Retirer « {dubois} » du corpus ?")
    assert [b["text"] for b in buttons(asked)] == ["Retirer", "Annuler"]
    assert (corpus_dir / dubois).is_file()

    before = len(sent_to(stub, ADMIN_ID))
    stub.push_callback_query(asked.result, callback_data(asked)[0], sender=ADMIN)
    # The bank loses entries: the classifiers are trained again, some 30 s here.
    await stub.wait_for("sendMessage", before + 1, predicate=to_chat(ADMIN_ID), timeout=120)
    await settle(stub, ADMIN_ID)
    report = sent_to(stub, ADMIN_ID)[before:-1]
    assert report[0].params["text"].startswith(
        f"« {dubois} » retiré du corpus.\nIndex reconstruit : 4 documents")
    assert "questions de la banque qui ont perdu leur réponse" in report[0].params["text"]
    assert not (corpus_dir / dubois).exists()
    [listing] = await exchange(stub, ADMIN_ID, lambda: stub.push_text("/docs", sender=ADMIN))
    assert listing.params["text"].startswith("Documents indexés (4) :")
    assert dubois not in listing.params["text"]


async def test_more_button_of_an_answer_the_bot_no_longer_keeps(
    stub: BotAPIStub, app: Application
) -> None:
    answer = await ask(stub, BROAD_QUESTION)
    app.chat_data[USER_ID].answers.clear()
    before = len(stub.calls_of("answerCallbackQuery", ok=True))
    stub.push_callback_query(answer.result, "more")
    [*_, gone] = await stub.wait_for("answerCallbackQuery", before + 1)
    assert gone.params["text"].startswith("Ces extraits ne sont plus disponibles")
    assert gone.params["show_alert"] is True


# --- 9. privacy --------------------------------------------------------------------------


@pytest.fixture
def bot_log(request: pytest.FixtureRequest) -> Iterator[io.StringIO]:
    """What the bot would write to stderr with configure_logging(level, [token]), as run_bot
    sets it up: the same handler, formatter and SecretFilter, its stream swapped for a buffer."""
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    saved_quiet = {name: logging.getLogger(name).level for name in QUIET_LOGGERS}
    buffer = io.StringIO()
    configure_logging(request.param, [TOKEN])
    [handler] = root.handlers
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(buffer)
    try:
        yield buffer
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
        for name, level in saved_quiet.items():
            logging.getLogger(name).setLevel(level)


SECRET_QUESTION = "ma recette secrète zorglub"
# A question about the breach holding a word that must never reach a log.
PRIVATE_QUESTION = "ma mutuelle zorglub a été piratée, comment porter plainte ?"
SSN = "1 85 05 78 006 084 36"


@pytest.mark.parametrize(
    "bot_log",
    ["INFO", "DEBUG"],
    indirect=True,
)
async def test_logs_never_hold_the_token_or_what_users_wrote(
    stub: BotAPIStub, corpus_dir: Path, tmp_path: Path, bot_log: io.StringIO
) -> None:
    stub.fail_next("sendMessage", 502)  # a retry is logged, with the endpoint
    async with running_bot(make_settings(stub, corpus_dir, tmp_path)) as app:
        declined = await ask(stub, SECRET_QUESTION)
        assert declined.params["text"].startswith("Je ne trouve pas la réponse")
        warned = await ask(stub, f"mon numéro est {SSN}, comment porter plainte ?")
        assert "sécurité sociale" in warned.params["text"]
        assert "006" not in warned.params["text"] and "084" not in warned.params["text"]
        await ask(stub, "comment porter plainte ?")
        await exchange(
            stub, ADMIN_ID,
            lambda: stub.push_document("tarte.md", "text/markdown", TARTE, sender=ADMIN),
        )
        kept = str(state(app).store.unanswered())
    log_text = bot_log.getvalue()

    assert "serving 5 documents" in log_text  # the log was captured at all
    assert "sendMessage failed (NetworkError); retry 1" in log_text
    for secret in (TOKEN, TOKEN.split(":")[1], "AAHdqTcvCH1vGWJx"):
        assert secret not in log_text
    for written in ("zorglub", "secrète", "006 084", "porter plainte", "tarte tatin"):
        assert written not in log_text, written
    # The statistics keep the declined question, with the number blanked out.
    assert "zorglub" in kept and "006" not in kept and "084" not in kept


@pytest.mark.parametrize("bot_log", ["INFO"], indirect=True)
async def test_an_update_the_library_cannot_read_is_skipped_and_the_others_answered(
    stub: BotAPIStub, corpus_dir: Path, tmp_path: Path, bot_log: io.StringIO
) -> None:
    """A self-hosted Bot API server older than python-telegram-bot sends polls without fields
    the library requires; every poll failed on it, logging every queued message."""
    async with running_bot(make_settings(stub, corpus_dir, tmp_path)):
        polls_before = len(stub.calls_of("getUpdates"))
        stub.push_update("poll", {"id": "1", "question": f"{SECRET_QUESTION} {SSN}"})
        stub.push_text("comment porter plainte ?")
        [answer] = await stub.wait_for("sendMessage", 1)
        assert_is_answer(answer)
        await settle(stub, USER_ID)
        polls = len(stub.calls_of("getUpdates")) - polls_before
    log_text = bot_log.getvalue()
    assert "update 1 cannot be read by python-telegram-bot: skipped" in log_text
    assert "zorglub" not in log_text and "006 084" not in log_text
    assert polls < 10  # no loop of failing polls


# --- more: statistics, errors, best-effort typing, commands in groups ---------------------


async def test_stats_count_answers_and_keep_declined_questions_without_numbers(
    stub: BotAPIStub, app: Application
) -> None:
    await ask(stub, "comment porter plainte ?")
    await ask(stub, "ma recette secrète zorglub 0612345678")
    [refused] = await exchange(stub, USER_ID, lambda: stub.push_text("/stats"))
    assert refused.params["text"].startswith("Désolé, cette commande est réservée")

    [stats] = await exchange(stub, ADMIN_ID, lambda: stub.push_text("/stats", sender=ADMIN))
    text = stats.params["text"]
    assert "questions répondues : 1" in text
    assert "questions sans réponse : 1" in text
    assert "1× ma recette secrète zorglub [nombre]" in text
    assert "0612345678" not in text


async def test_a_crash_in_a_handler_gets_an_apology(
    stub: BotAPIStub, app: Application, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(_self: object, _question: str) -> None:
        raise RuntimeError("unexpected")

    monkeypatch.setattr(type(state(app).builder), "answer", crash)
    reply = await ask(stub, "comment porter plainte ?")
    assert reply.params["text"] == "Désolé, une erreur s'est produite. Réessayez dans un instant."
    monkeypatch.undo()
    assert_is_answer(await ask(stub, "comment porter plainte ?"))


async def test_unknown_commands_in_groups_are_answered_only_when_addressed_to_the_bot(
    stub: BotAPIStub, app: Application
) -> None:
    addressed = await exchange(
        stub, DEFAULT_GROUP_ID, lambda: stub.push_group_text("/foo@stub_test_bot")
    )
    assert [c.params["text"] for c in addressed] == [
        "Je ne connais pas cette commande. Essayez /help, /sources ou posez votre question."
    ]
    for_someone_else = await exchange(
        stub, DEFAULT_GROUP_ID, lambda: stub.push_group_text("/foo @some_other_user")
    )
    assert for_someone_else == []


# --- 10. suggestions ---------------------------------------------------------------------

TARTE_RECIPE = {"fr": "quelle est la recette de la tarte tatin ?",
                "en": "what is the recipe for tarte tatin?"}


@pytest.fixture
def suggesting(app: Application) -> Catalogue:
    """The catalogue that the served index carries (corpus/questions.toml)."""
    catalogue = state(app).answers.catalogue
    assert len(catalogue) > 0
    return catalogue


async def tap(stub: BotAPIStub, reply: ApiCall, data: str) -> tuple[list[ApiCall], ApiCall]:
    """Press a button of a reply: the messages it made the bot send, and the query's answer."""
    answered = len(stub.calls_of("answerCallbackQuery", ok=True))
    sent = await exchange(stub, USER_ID, lambda: stub.push_callback_query(reply.result, data))
    calls = stub.calls_of("answerCallbackQuery", ok=True)
    assert len(calls) == answered + 1
    return sent, calls[-1]


@pytest.mark.parametrize("lang", ["fr", "en"])
async def test_a_declined_question_offers_questions_to_tap_and_a_tap_asks_one(
    stub: BotAPIStub, app: Application, suggesting: Catalogue, lang: Lang
) -> None:
    declined = await ask(stub, TARTE_RECIPE[lang], Sender(language_code=lang))
    assert parse_html(declined.params["text"]).text == message("not_found", lang)
    offered = buttons(declined)
    assert 1 <= len(offered) <= 3
    for button in offered:  # each one names a catalogue question, in the question's language
        data = button["callback_data"]
        assert len(data.encode()) <= 64
        _, position, data_lang = data.split(":")
        assert data_lang == lang
        assert button["text"] == suggesting.questions[int(position)].text(lang)
    first = offered[0]

    [tapped], query_answer = await tap(stub, declined, first["callback_data"])
    assert "text" not in query_answer.params  # no alert: the answer comes as a message
    assert_is_answer(tapped)
    typed = await ask(stub, first["text"])
    assert tapped.params["text"] == typed.params["text"]
    assert callback_data(tapped) == callback_data(typed)


async def test_start_offers_example_questions_to_tap(
    stub: BotAPIStub, app: Application, suggesting: Catalogue
) -> None:
    [start] = await exchange(stub, USER_ID, lambda: stub.push_text("/start"))
    assert start.params["text"].startswith("Bonjour !")
    assert buttons(start)[0]["text"] == "Comment porter plainte ?"
    assert callback_data(start) == ["ask:0:fr", "ask:1:fr", "ask:2:fr", "ask:3:fr"]
    [start_en] = await exchange(
        stub, USER_ID, lambda: stub.push_text("/start", sender=Sender(language_code="en-GB"))
    )
    assert buttons(start_en)[0]["text"] == "How do I file a complaint?"
    assert callback_data(start_en) == ["ask:0:en", "ask:1:en", "ask:2:en", "ask:3:en"]

    [french], _ = await tap(stub, start, "ask:0:fr")
    assert_is_answer(french)
    assert "formulaire en ligne" in french.params["text"]
    [english], _ = await tap(stub, start_en, "ask:0:en")
    assert "Closest question: " in english.params["text"]


async def test_a_link_to_one_answer_opens_it_and_share_gives_that_link_back(
    stub: BotAPIStub, app: Application
) -> None:
    """t.me/<bot>?start=plainte-formulaire, opened from an English app, then /share."""
    english = Sender(language_code="en")
    [opened] = await exchange(
        stub, USER_ID, lambda: stub.push_text("/start plainte-formulaire", sender=english))
    assert_is_answer(opened)
    assert opened.params["text"].startswith("Closest question: How do I file a complaint?")
    assert "formulaire en ligne" in opened.params["text"].split("</blockquote>")[0]
    share = share_url("plainte-formulaire", "How do I file a complaint?")
    assert share in [b.get("url") for b in buttons(opened)]

    [shared] = await exchange(stub, USER_ID, lambda: stub.push_text("/share", sender=english))
    assert "https://t.me/stub_test_bot?start=plainte-formulaire" in shared.params["text"]
    assert [b["url"] for b in buttons(shared)] == [share]

    [welcome] = await exchange(
        stub, USER_ID, lambda: stub.push_text("/start plainte-disparue", sender=english))
    assert welcome.params["text"] == message("start", "en")


async def test_a_button_whose_question_left_the_catalogue_only_says_so(
    stub: BotAPIStub, app: Application, suggesting: Catalogue, monkeypatch: pytest.MonkeyPatch
) -> None:
    [start] = await exchange(stub, USER_ID, lambda: stub.push_text("/start"))
    # The index was rebuilt since, with a shorter catalogue.
    monkeypatch.setattr(state(app).answers, "catalogue", Catalogue(suggesting.questions[:2]))
    sent, query_answer = await tap(stub, start, "ask:3:fr")
    assert sent == []
    assert query_answer.params["text"] == message("suggestion_gone", "fr")
    [still_there], _ = await tap(stub, start, "ask:0:fr")
    assert_is_answer(still_there)


# --- 11. what survives a restart, and what is kept ---------------------------------------


async def test_statistics_and_votes_survive_a_restart(
    stub: BotAPIStub, corpus_dir: Path, tmp_path: Path
) -> None:
    settings = make_settings(stub, corpus_dir, tmp_path)
    async with running_bot(settings):
        answer = await ask(stub, "comment porter plainte ?")
        await ask(stub, "ma recette secrète zorglub ?")
        stub.push_callback_query(answer.result, "vote:up")
        [thanks] = await stub.wait_for("answerCallbackQuery")
        assert thanks.params["text"].startswith("Merci")

    async with running_bot(settings):
        stub.push_callback_query(answer.result, "vote:down")
        [_, again] = await stub.wait_for("answerCallbackQuery", 2)
        assert "déjà" in again.params["text"]
        [stats] = await exchange(stub, ADMIN_ID, lambda: stub.push_text("/stats", sender=ADMIN))
    text = stats.params["text"]
    assert text.startswith(f"Statistiques depuis le {format_date(date.today(), 'fr')} :")
    assert "questions répondues : 1" in text
    assert "questions sans réponse : 1" in text
    assert "👍 1 · 👎 0" in text
    assert "1× ma recette secrète zorglub ?" in text
    assert text.endswith(message("stats_csv_hint", "fr"))


async def test_stats_csv_sends_every_unanswered_question_as_a_spreadsheet(
    stub: BotAPIStub, app: Application
) -> None:
    [empty] = await exchange(stub, ADMIN_ID, lambda: stub.push_text("/stats csv", sender=ADMIN))
    assert empty.params["text"] == message("stats_csv_empty", "fr")

    for question in ("ma recette secrète zorglub ?", "=HYPERLINK(\"http://evil\") zorglub",
                     "ma recette secrète zorglub ?",
                     "Je m'appelle Jean Dupont, ma recette secrète zorglub ?"):
        await ask(stub, question)
    await exchange(stub, ADMIN_ID,
                   lambda: stub.push_text("/stats csv", sender=Sender(ADMIN_ID, "en")))
    [sent] = stub.calls_of("sendDocument", ok=True)
    assert sent.params["chat_id"] == ADMIN_ID
    assert sent.params["caption"] == message("stats_csv_caption", "en", count=3)
    document = sent.params["document"]
    assert document.filename.endswith(".csv")
    rows = list(csv.reader(io.StringIO(document.data.decode("utf-8-sig"))))
    assert rows[:2] == [["question", "count"], ["ma recette secrète zorglub ?", "2"]]
    assert sorted(rows[2:]) == [["'=hyperlink(\"http://evil\") zorglub", "1"],
                                ["je m'appelle [nom], ma recette secrète zorglub ?", "1"]]

    [in_group] = await exchange(
        stub, DEFAULT_GROUP_ID,
        lambda: stub.push_group_text("/stats@stub_test_bot csv", sender=ADMIN))
    assert in_group.params["text"] == message("stats_private_only", "fr")
    assert len(stub.calls_of("sendDocument")) == 1


async def test_only_the_most_recent_chats_keep_their_answers(
    stub: BotAPIStub, app: Application, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(state_module, "CHATS_KEPT", 2)
    oldest = await ask(stub, BROAD_QUESTION)
    recent = await ask(stub, BROAD_QUESTION, Sender(OTHER_USER))
    await ask(stub, "comment porter plainte ?", Sender(BARRIER_USER))
    assert USER_ID not in app.chat_data

    [more] = await exchange(stub, OTHER_USER,
                            lambda: stub.push_callback_query(recent.result, "more"))
    assert "<blockquote>" in more.params["text"]
    stub.push_callback_query(oldest.result, "more")
    [_, gone] = await stub.wait_for("answerCallbackQuery", 2)
    assert gone.params["text"] == message("more_gone", "fr")


def question_update(update_id: int, user_id: int, text: str) -> str:
    """An update as the inbox keeps it: what python-telegram-bot wrote of it."""
    return json.dumps({"update_id": update_id, "message": {
        "message_id": update_id, "date": 1_700_000_000, "text": text,
        "chat": {"id": user_id, "type": "private"}, "from": Sender(user_id).as_user()}})


@pytest.mark.parametrize("bot_log", ["INFO"], indirect=True)
async def test_updates_a_stopped_run_left_are_handled_first_and_retried_once(
    stub: BotAPIStub, corpus_dir: Path, tmp_path: Path, bot_log: io.StringIO
) -> None:
    settings = make_settings(stub, corpus_dir, tmp_path)
    left = Store(settings.database_path)
    left.open()
    left.keep(903, question_update(903, 3003, f"{SECRET_QUESTION} poison"))
    left.take_unhandled()  # a start that was stopped again while handling update 903
    left.keep(901, question_update(901, 3001, "comment porter plainte ?"))
    left.keep(902, json.dumps({"update_id": 902, "message": {"text": SECRET_QUESTION}}))
    left.close()

    stub.push_text("/start", sender=Sender(3001))
    async with running_bot(settings):
        await settle(stub, 3001)
    assert [call.params["text"][:20] for call in sent_to(stub, 3001)] == [
        "Question la plus pro", message("start", "fr")[:20], PRIVACY[:20]]
    assert sent_to(stub, 3003) == []
    left.open()  # as the next start will: nothing is left
    assert left.take_unhandled() == Unhandled([], [])
    left.close()
    log_text = bot_log.getvalue()
    assert "update 903 dropped: its handling was interrupted twice" in log_text
    assert "stored update 902 cannot be read by python-telegram-bot: skipped" in log_text
    assert "zorglub" not in log_text


@pytest.mark.parametrize("bot_log", ["INFO"], indirect=True)
async def test_a_store_that_cannot_count_never_costs_a_citizen_the_answer(
    stub: BotAPIStub, app: Application, bot_log: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A damaged statistics page (sqlite: "database disk image is malformed") used to turn
    every answer into the apology: statistics were written before the reply."""
    import sqlite3

    def damaged(self: Store, answer: object) -> None:
        raise sqlite3.DatabaseError("database disk image is malformed")

    monkeypatch.setattr(Store, "record", damaged)
    answer = await ask(stub, PRIVATE_QUESTION)
    assert_is_answer(answer)
    assert "formulaire en ligne" in answer.params["text"]
    log_text = bot_log.getvalue()
    assert "statistics not recorded: the store failed (DatabaseError" in log_text
    assert "zorglub" not in log_text


@pytest.mark.parametrize("bot_log", ["INFO"], indirect=True)
async def test_a_store_that_cannot_be_written_never_stops_the_bot_answering(
    stub: BotAPIStub, corpus_dir: Path, tmp_path: Path, bot_log: io.StringIO,
    monkeypatch: pytest.MonkeyPatch
) -> None:
    """One failed inbox write (a full disk, a write lock held by another program) ended
    polling for good, without a word in the log; the user whose reply had just gone out got
    the apology as well."""
    from bot import store as store_module
    from bot.telegram import inbox as inbox_module

    monkeypatch.setattr(store_module, "BUSY_TIMEOUT_SECONDS", 0.02)
    monkeypatch.setattr(inbox_module, "STORE_WAIT_SECONDS", 0.3)
    settings = make_settings(stub, corpus_dir, tmp_path)
    apology = message("error", "fr")
    async with running_bot(settings) as app:
        store = state(app).store
        assert_is_answer(await ask(stub, "comment porter plainte ?"))
        holder = sqlite3.connect(settings.database_path)
        holder.execute("BEGIN IMMEDIATE")  # every write of the bot now fails: "locked"
        users = [Sender(5000 + n) for n in range(10)]
        for user in users:
            stub.push_text(PRIVATE_QUESTION, sender=user)
        for user in users:
            await settle(stub, user.user_id)
        assert store.failing_since is not None  # what /readyz will read
        holder.rollback()
        holder.close()
        later = [Sender(6000 + n) for n in range(3)]
        for user in later:
            assert_is_answer(await ask(stub, "comment porter plainte ?", sender=user))
        assert store.failing_since is None
        for user in [USER, *users, *later]:
            texts = texts_to(stub, user.user_id)
            assert sum("<blockquote>" in text for text in texts) == 1, texts
            assert apology not in texts
    store = Store(settings.database_path)
    store.open()  # as the next start: once it could, the bot emptied the inbox
    assert store.take_unhandled() == Unhandled([], [])
    store.close()
    log_text = bot_log.getvalue()
    assert "answered without the inbox, which cannot be written (OperationalError: " \
           "database is locked)" in log_text
    assert "handled updates not yet taken out of the inbox" in log_text
    assert "can be written again" in log_text
    assert "zorglub" not in log_text and log_text.count("without the inbox") <= 2


# --- inline mode ---------------------------------------------------------------------------


def inline_answers(stub: BotAPIStub, query: dict) -> list[ApiCall]:
    return [call for call in stub.calls_of("answerInlineQuery", ok=True)
            if call.params["inline_query_id"] == query["id"]]


async def test_an_inline_query_offers_quotes_ready_to_send_into_any_chat(
    stub: BotAPIStub, app: Application
) -> None:
    french = stub.push_inline_query("comment porter plainte ?")
    english = stub.push_inline_query("", sender=Sender(OTHER_USER, language_code="en"))
    await stub.wait_for("answerInlineQuery", 2)
    [answered], [examples] = inline_answers(stub, french), inline_answers(stub, english)
    for call in (answered, examples):
        assert call.params["cache_time"] == 300 and call.params["is_personal"] is False
        for result in call.params["results"]:
            content = result["input_message_content"]
            assert content["parse_mode"] == "HTML" and "<blockquote>" in content["message_text"]
            assert result["description"] in parse_html(content["message_text"]).text
    [plainte] = answered.params["results"]
    assert plainte["title"] == "Comment porter plainte ?"
    assert "formulaire en ligne" in plainte["input_message_content"]["message_text"]
    catalogue = Catalogue(state(app).answers.index.bank)
    assert [r["title"] for r in examples.params["results"]] == list(catalogue.examples("en", 5))


async def test_inline_queries_count_toward_the_senders_limit(
    stub: BotAPIStub, app: Application
) -> None:
    """Past MESSAGES_PER_MINUTE inline queries in the window, one empty answer saying why
    (a button above the chat) and then none; another user typing meanwhile gets all of
    theirs."""
    hasty = [stub.push_inline_query("comment porter plainte ?")
             for _ in range(MESSAGES_PER_MINUTE + 3)]
    other = stub.push_inline_query("comment porter plainte ?", sender=Sender(OTHER_USER))
    await idle(stub, app)
    answers = [[call.params["results"] for call in inline_answers(stub, query)]
               for query in hasty]
    answered, (slowed, *ignored) = (answers[:MESSAGES_PER_MINUTE],
                                    answers[MESSAGES_PER_MINUTE:])
    assert all(len(results) == 1 and results[0] for results in answered)
    assert slowed == [[]] and ignored == [[], []]
    [said] = inline_answers(stub, hasty[MESSAGES_PER_MINUTE])
    assert said.params["button"]["text"] == message("inline_slow_down", "fr")
    assert len(inline_answers(stub, other)) == 1
