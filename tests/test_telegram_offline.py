"""The Telegram transport's own decisions, offline: python-telegram-bot objects built in
memory and handed to Application.process_update, no server (bot_testing.offline answers
the bot's calls, or httpx's mock transport where a real request is made).
tests/test_telegram_e2e.py drives the whole bot over HTTP."""

from __future__ import annotations

import contextlib
import html
import logging
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import pytest_asyncio
from telegram import Chat, InlineQuery, Message, MessageEntity, Update, User
from telegram.error import NetworkError
from telegram.ext import ExtBot
from telegram.request import HTTPXRequest

from bot.answer import Answer, AnswerBuilder
from bot.config import Settings
from bot.index import SearchIndex
from bot.lang import lang_of_client
from bot.messages import message
from bot.telegram import build_application
from bot.telegram.addressing import addressed_text
from bot.telegram.keyboards import upload_keyboard
from bot.telegram.limits import WINDOW_SECONDS, SenderRateLimit
from bot.telegram.ptb import (
    NETWORK_RETRIES,
    RetryingRateLimiter,
    UnconfirmedRequest,
    application_builder,
)
from bot.telegram.state import (
    ANSWERS_KEPT_PER_CHAT,
    UPLOADS_KEPT_PER_CHAT,
    ChatData,
    PendingUpload,
)
from bot_testing.offline import OfflineRequest
from tests.conftest import BOT_TOKEN
from tests.verbatim import quoted_in_corpus

BOT = User(id=777, first_name="Bot", is_bot=True, username="fuite_bot")
CITIZEN = User(id=1001, first_name="Camille", is_bot=False)
PRIVATE = Chat(id=1001, type=Chat.PRIVATE)
GROUP = Chat(id=-5, type=Chat.SUPERGROUP)


def text_message(text: str, chat: Chat = GROUP, reply_to: Message | None = None) -> Message:
    return Message(1, datetime.now(UTC), chat, from_user=CITIZEN, text=text,
                   reply_to_message=reply_to)


def addressed(message: Message) -> str | None:
    return addressed_text(message, BOT.username or "", BOT.id)


def test_every_private_message_is_for_the_bot_word_for_word() -> None:
    assert addressed(text_message("comment porter plainte ?", PRIVATE)) == (
        "comment porter plainte ?")


@pytest.mark.parametrize("text", ["@fuite_bot comment porter plainte ?",
                                  "comment porter plainte @Fuite_Bot ?",
                                  "/plainte@fuite_bot"])
def test_a_group_message_naming_the_bot_is_for_it_without_the_name(text: str) -> None:
    found = addressed(text_message(text))
    assert found is not None
    assert "fuite_bot" not in found.lower()


def test_a_group_reply_to_the_bot_is_for_it() -> None:
    bots_message = Message(0, datetime.now(UTC), GROUP, from_user=BOT, text="Voici…")
    assert addressed(text_message("et pour la CNIL ?", reply_to=bots_message)) == (
        "et pour la CNIL ?")


@pytest.mark.parametrize("text", ["comment porter plainte ?", "@fuite_bot_fan bonjour",
                                  "/start@other_bot", "écrivez à fuite_bot"])
def test_other_group_messages_are_not_for_the_bot(text: str) -> None:
    assert addressed(text_message(text)) is None


def test_a_reply_to_someone_else_is_not_for_the_bot() -> None:
    theirs = text_message("j'ai reçu un SMS bizarre")
    assert addressed(text_message("moi aussi", reply_to=theirs)) is None


@pytest.mark.parametrize(("code", "lang"), [("en", "en"), ("en-GB", "en"), ("EN-us", "en"),
                                            ("fr", "fr"), ("de", "fr"), (None, "fr"), ("", "fr")])
def test_the_bot_speaks_english_to_english_clients_and_french_to_the_rest(
    code: str | None, lang: str
) -> None:
    assert lang_of_client(code) == lang


def test_upload_choice_buttons_fit_telegrams_64_bytes_of_callback_data() -> None:
    key = ChatData().keep_upload(PendingUpload("a" * 80 + ".md", b"x"))
    for lang in ("fr", "en"):
        [row] = upload_keyboard(key, lang).inline_keyboard
        assert [len(b.callback_data.encode()) <= 64 for b in row] == [True] * 3


def test_a_chat_keeps_its_latest_answers_and_uploads_only() -> None:
    chat = ChatData()
    for message_id in range(ANSWERS_KEPT_PER_CHAT + 5):
        chat.keep_answer(message_id, Answer("q", "fr", "not_found"))
    assert list(chat.answers) == list(range(5, ANSWERS_KEPT_PER_CHAT + 5))
    keys = [chat.keep_upload(PendingUpload(f"f{n}.md", b"x"))
            for n in range(UPLOADS_KEPT_PER_CHAT + 2)]
    assert list(chat.uploads) == keys[-UPLOADS_KEPT_PER_CHAT:]


# --- handlers, through Application.process_update with an offline Bot API ----------------

ADMIN_ID = 4242


@pytest_asyncio.fixture
async def offline(index: SearchIndex, tmp_path: Path) -> AsyncIterator[tuple[Any, OfflineRequest]]:
    """The bot's Application answering offline, serving the real corpus on BM25 alone."""
    request = OfflineRequest()
    settings = Settings(telegram_bot_token="123456:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw",
                        corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index",
                        database_path=tmp_path / "bot.sqlite3",
                        admin_user_ids=frozenset({ADMIN_ID}))
    app = build_application(settings, request)
    async with app:
        app.bot_data.store.open()  # what post_init does, with serving the index
        app.bot_data.serve(AnswerBuilder(index))
        yield app, request
        app.bot_data.store.close()


def update(app: Any, text: str, *, chat: Chat = PRIVATE, language_code: str = "fr",
           user_id: int = CITIZEN.id) -> Update:
    """What Telegram would send for `text` written by a citizen, tied to the app's bot."""
    sender = User(user_id, CITIZEN.first_name, False, language_code=language_code)
    command = [MessageEntity(MessageEntity.BOT_COMMAND, 0, len(text.split()[0]))]
    message = Message(1, datetime.now(UTC), chat, from_user=sender, text=text,
                      entities=command if text.startswith("/") else None)
    message.set_bot(app.bot)
    new = Update(1, message=message)
    new.set_bot(app.bot)
    return new


async def test_a_private_question_gets_one_quoted_answer(offline) -> None:
    app, request = offline
    await app.process_update(update(app, "comment porter plainte ?"))
    [sent] = request.sent()
    assert sent["parse_mode"] == "HTML"
    assert "<blockquote>" in sent["text"] and "formulaire" in sent["text"]


async def test_a_group_chatter_not_for_the_bot_gets_no_reply(offline) -> None:
    app, request = offline
    await app.process_update(update(app, "comment porter plainte ?", chat=GROUP))
    await app.process_update(update(app, "/inconnue", chat=GROUP))
    assert request.sent() == []


@pytest.mark.parametrize(("lang", "key"), [("fr", "unknown_command"), ("en", "unknown_command")])
async def test_an_unknown_command_in_private_says_what_to_try(offline, lang, key) -> None:
    app, request = offline
    await app.process_update(update(app, "/inconnue", language_code=lang))
    assert [s["text"] for s in request.sent()] == [message(key, lang)]


async def test_stats_from_a_citizen_are_refused_and_run_nothing(offline) -> None:
    app, request = offline
    await app.process_update(update(app, "/stats"))
    assert [s["text"] for s in request.sent()] == [message("admin_only", "fr")]


# --- links to one answer (t.me/<bot>?start=<entry id>), and /share -------------------------

COMPLAINT_LINK = "https://t.me/offline_test_bot?start=plainte-formulaire"


def url_buttons(sent: dict[str, Any]) -> dict[str, str]:
    """A reply's link buttons: text -> address."""
    rows = sent.get("reply_markup", {}).get("inline_keyboard", [])
    return {button["text"]: button["url"] for row in rows for button in row if "url" in button}


@pytest.mark.parametrize(("code", "label"), [("en-GB", "How do I file a complaint?"),
                                             ("fr", "Comment porter plainte ?"),
                                             ("de", "Comment porter plainte ?")])
async def test_a_link_to_one_answer_opens_it_in_the_language_of_the_users_app(
    offline, code, label
) -> None:
    app, request = offline
    await app.process_update(update(app, "/start plainte-formulaire", language_code=code))
    [sent] = request.sent()
    lang = lang_of_client(code)
    assert sent["text"].startswith(message("matched_question", lang, question=label)
                                   + "\n<blockquote>")
    first_quote = sent["text"].split("<blockquote>")[1].split("</blockquote>")[0]
    assert "formulaire en ligne" in first_quote
    assert url_buttons(sent)[message("share_button", lang)] == (
        f"https://t.me/share/url?url={quote(COMPLAINT_LINK, safe='')}"
        f"&text={quote(label, safe='')}")


@pytest.mark.parametrize("payload", ["plainte-inconnue", "Plainte-Formulaire", "x" * 65,
                                     "plainte-formulaire encore", "<b>plainte</b>"])
async def test_a_link_naming_no_answer_gets_the_welcome(offline, payload) -> None:
    app, request = offline
    await app.process_update(update(app, f"/start {payload}"))
    assert [s["text"] for s in request.sent()] == [message("start", "fr")]


async def test_share_gives_the_link_to_the_last_answer_when_it_answers_a_bank_question(
    offline,
) -> None:
    app, request = offline
    for text in ("/share", "comment porter plainte ?", "merci !", "/share",
                 "Viamedis a-t-il été racheté par un concurrent ?", "/share"):
        await app.process_update(update(app, text))
    nothing, answer, _thanks, link, hedged, nothing_now = request.sent()
    assert nothing["text"] == nothing_now["text"] == message("share_nothing", "fr")
    assert link["text"] == message("share_link", "fr", question="Comment porter plainte ?",
                                   link=COMPLAINT_LINK)
    share = message("share_button", "fr")
    assert url_buttons(link)[share] == url_buttons(answer)[share]
    assert share not in url_buttons(hedged)


async def test_in_a_group_share_links_to_the_senders_own_last_answer(offline) -> None:
    app, request = offline
    await app.process_update(update(app, "/ask comment porter plainte ?", chat=GROUP))
    await app.process_update(update(app, "/share", chat=GROUP, user_id=1002))
    await app.process_update(update(app, "/share", chat=GROUP))
    _answer, someone_else, asker = [s["text"] for s in request.sent()]
    assert someone_else == message("share_nothing", "fr")
    assert COMPLAINT_LINK in asker


# --- sending again: only what surely did not reach Telegram --------------------------------


class FlakyTelegram:
    """An httpx transport answering as Telegram would, except that each method's first calls
    fail with the given httpx errors (raised where the real transport would raise them)."""

    def __init__(self, failures: dict[str, list[Exception]]) -> None:
        self.failures = failures
        self.calls: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        method = request.url.path.rsplit("/", 1)[1]
        self.calls.append(method)
        if self.failures.get(method):
            raise self.failures[method].pop(0)
        result: object = True
        if method == "getMe":
            result = BOT.to_dict()
        elif method == "sendMessage":
            result = {"message_id": len(self.calls), "date": 0, "text": "réponse",
                      "chat": PRIVATE.to_dict()}
        elif method == "getFile":
            result = {"file_id": "file-id", "file_unique_id": "u1", "file_path": "docs/f.md"}
        return httpx.Response(200, json={"ok": True, "result": result})


def flaky_bot(telegram: FlakyTelegram) -> ExtBot[int]:
    request = HTTPXRequest(httpx_kwargs={"transport": httpx.MockTransport(telegram)})
    return ExtBot("123:abc", request=request, rate_limiter=RetryingRateLimiter())


@pytest.mark.parametrize("never_left", [
    httpx.ConnectError("connection refused"),
    httpx.ConnectTimeout("no connection in time"),
    httpx.PoolTimeout("no free connection"),
], ids=type)
async def test_a_send_that_never_left_is_sent_again(never_left: Exception) -> None:
    telegram = FlakyTelegram({"sendMessage": [never_left]})
    async with flaky_bot(telegram) as bot:
        sent = await bot.send_message(PRIVATE.id, "réponse")
    assert sent.text == "réponse"
    assert telegram.calls.count("sendMessage") == 2


@pytest.mark.parametrize("no_answer", [
    httpx.ReadTimeout("no answer in time"),
    httpx.RemoteProtocolError("server disconnected without sending a response"),
], ids=type)
async def test_a_send_that_left_and_got_no_answer_is_not_sent_again(
    no_answer: Exception,
) -> None:
    telegram = FlakyTelegram({"sendMessage": [no_answer], "getFile": [no_answer]})
    async with flaky_bot(telegram) as bot:
        with pytest.raises(UnconfirmedRequest):
            await bot.send_message(PRIVATE.id, "réponse")
        # Asking again for a file changes nothing on Telegram's side: it is asked again.
        assert (await bot.get_file("file-id")).file_path is not None
        assert isinstance(bot.rate_limiter, RetryingRateLimiter)
        assert bot.rate_limiter.unconfirmed == 1
    assert telegram.calls.count("sendMessage") == 1
    assert telegram.calls.count("getFile") == 2


async def test_sends_are_counted_by_result_and_reads_not_at_all() -> None:
    telegram = FlakyTelegram({})
    failures: list[list[Exception]] = [
        [],  # sent at once
        [httpx.ConnectError("refused")],  # sent on the retry
        [httpx.ReadTimeout("no answer")],  # may have arrived: ambiguous, not sent again
        [httpx.ConnectError("refused")] * (NETWORK_RETRIES + 1),  # failed
    ]
    async with flaky_bot(telegram) as bot:
        for first_calls in failures:
            telegram.failures["sendMessage"] = list(first_calls)
            with contextlib.suppress(NetworkError):
                await bot.send_message(PRIVATE.id, "réponse")
        telegram.failures["getFile"] = [httpx.ReadTimeout("no answer")]
        await bot.get_file("file-id")
        assert isinstance(bot.rate_limiter, RetryingRateLimiter)
        sends = bot.rate_limiter.metrics.sends
    counted = {result: sends.labels(result)._value.get()
               for result in ("ok", "retried", "ambiguous", "failed")}
    assert counted == {"ok": 1, "retried": 1, "ambiguous": 1, "failed": 1}


def test_the_bot_waits_long_enough_for_slow_answers_not_to_be_taken_for_failures() -> None:
    settings = Settings(telegram_bot_token=BOT_TOKEN, _env_file=None)
    assert settings.telegram_read_timeout > 6  # sends answered after 6 s were seen
    bot = application_builder(settings).build().bot
    assert bot.request.read_timeout == settings.telegram_read_timeout


def test_a_user_past_the_limit_is_told_once_and_answered_again_next_window() -> None:
    now = 0.0
    limit = SenderRateLimit(5, clock=lambda: now)
    assert {limit.admit(1) for _ in range(5)} == {"answer"}
    assert [limit.admit(1) for _ in range(3)] == ["slow_down", "ignore", "ignore"]
    assert limit.admit(2) == "answer"  # the others are not held back
    now = WINDOW_SECONDS - 0.5
    assert limit.admit(1) == "ignore"
    now = WINDOW_SECONDS
    assert limit.admit(1) == "answer"
    assert len(limit) == 1  # the windows that are over are forgotten: user 2's is gone


# --- inline mode: "@bot <question>" in any chat -------------------------------------------

BROAD_QUESTION = "données de santé piratage tiers payant optique"  # six excerpts: five offered


def inline_update(app: Any, text: str, *, language_code: str = "fr") -> Update:
    """What Telegram sends as a citizen types "@bot <text>" in some chat."""
    sender = User(CITIZEN.id, CITIZEN.first_name, False, language_code=language_code)
    query = InlineQuery("42", sender, text, "")
    query.set_bot(app.bot)
    new = Update(2, inline_query=query)
    new.set_bot(app.bot)
    return new


async def inline_results(app: Any, request: OfflineRequest, text: str,
                         language_code: str = "fr") -> list[dict[str, Any]]:
    """The results the bot offers for an inline query."""
    await app.process_update(inline_update(app, text, language_code=language_code))
    answered = request.sent("answerInlineQuery")[-1]
    assert answered["is_personal"] is False and answered["cache_time"] == 300
    return list(answered["results"])


def sent_text(result: dict[str, Any]) -> str:
    content = result["input_message_content"]
    assert content["parse_mode"] == "HTML"
    return str(content["message_text"])


def grounded_quote(result: dict[str, Any]) -> str:
    """The quote a result sends, as its reader sees it, checked to be verbatim and followed
    by its source (the result's description)."""
    text = sent_text(result)
    quoted = re.search(r"<blockquote>(.*)</blockquote>\n<i>(.*)</i>$", text, re.DOTALL)
    assert quoted is not None, text
    quote, source = (html.unescape(re.sub(r"<[^>]+>", "", part)) for part in quoted.groups())
    assert quoted_in_corpus(quote), quote
    assert source == result["description"]
    return quote


async def test_an_inline_question_offers_its_excerpts_each_quoted_with_its_source(
    offline,
) -> None:
    app, request = offline
    results = await inline_results(app, request, BROAD_QUESTION)
    assert len(results) == 5
    assert len({r["id"] for r in results}) == 5
    quotes = [grounded_quote(r) for r in results]
    assert len(set(quotes)) == 5
    assert all(r["description"].startswith(("Sénat", "Assemblée")) for r in results)
    [plainte] = await inline_results(app, request, "comment porter plainte ?")
    assert plainte["title"] == "Comment porter plainte ?"
    assert "formulaire en ligne" in grounded_quote(plainte)
    assert 'href="https://www.masecurite.interieur.gouv.fr' in sent_text(plainte)


async def test_a_hedged_inline_answer_says_so_in_what_it_sends(offline) -> None:
    app, request = offline
    results = await inline_results(app, request, "Viamedis a-t-il été racheté par un concurrent ?")
    assert results
    for result in results:
        assert sent_text(result).startswith(message("hedged", "fr"))
        assert html.escape(message("closest_intro", "fr")) + "\n<blockquote>" in sent_text(result)
        grounded_quote(result)


async def test_a_declined_inline_question_offers_the_nearest_bank_questions(
    offline, builder: AnswerBuilder
) -> None:
    app, request = offline
    results = await inline_results(app, request, "recette de la tarte tatin")
    nearest = builder.answer("recette de la tarte tatin").suggestions
    assert [r["title"] for r in results] == list(nearest) != []
    for result in results:
        grounded_quote(result)
        assert sent_text(result).startswith(
            html.escape(message("matched_question", "fr", question=result["title"])))


@pytest.mark.parametrize("code", ["fr", "en-GB"])
async def test_an_empty_inline_query_offers_the_first_questions_in_the_users_language(
    offline, builder: AnswerBuilder, code: str
) -> None:
    app, request = offline
    lang = lang_of_client(code)
    results = await inline_results(app, request, "", language_code=code)
    assert [r["title"] for r in results] == list(builder.catalogue.examples(lang, 5))
    for result in results:
        grounded_quote(result)
        assert sent_text(result).startswith(
            html.escape(message("matched_question", lang, question=result["title"])) + "\n")
    english = lang == "en"
    assert ("answer from the Ministère" in results[0]["description"]) is english


def calls_of(monkeypatch: pytest.MonkeyPatch, builder: AnswerBuilder,
             method: str) -> list[tuple[Any, ...]]:
    """The arguments of each call of a builder's method from now on."""
    calls: list[tuple[Any, ...]] = []
    original = getattr(builder, method)

    def counted(*args: Any) -> Any:
        calls.append(args)
        return original(*args)

    monkeypatch.setattr(builder, method, counted)
    return calls


async def test_an_inline_query_typed_again_is_answered_from_the_cache_until_a_new_index(
    offline, index: SearchIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, request = offline
    computed = calls_of(monkeypatch, app.bot_data.answers, "answer")
    first = await inline_results(app, request, "comment porter plainte ?")
    again = await inline_results(app, request, "  comment   porter plainte ? ")
    assert computed == [("comment porter plainte ?",)]
    assert again == first
    app.bot_data.serve(AnswerBuilder(index))
    computed_anew = calls_of(monkeypatch, app.bot_data.answers, "answer")
    await inline_results(app, request, "comment porter plainte ?")
    assert len(computed_anew) == 1


async def test_bank_questions_offered_again_are_not_answered_again(
    offline, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, request = offline
    answered_entries = calls_of(monkeypatch, app.bot_data.answers, "answer_entry")
    first = await inline_results(app, request, "")
    again = await inline_results(app, request, "bonjour")  # a greeting: the same questions
    assert again == first
    assert len(answered_entries) == len(first) == 5


async def test_an_inline_query_with_a_social_security_number_warns_the_user_not_the_group(
        offline) -> None:
    app, request = offline
    results = await inline_results(app, request, "plainte 1 85 05 78 006 084 36")
    button = request.sent("answerInlineQuery")[-1].get("button")
    assert results  # still answered
    for result in results:  # what would be sent into the group holds no warning
        assert "sécurité sociale" not in sent_text(result)
        grounded_quote(result)
    assert button is not None and button["start_parameter"] == "privacy"
    assert button["text"] == message("inline_personal_data", "fr")
    await inline_results(app, request, "comment porter plainte ?")
    assert request.sent("answerInlineQuery")[-1].get("button") is None


async def test_inline_queries_never_reach_the_log(
    offline, caplog: pytest.LogCaptureFixture
) -> None:
    app, request = offline
    caplog.set_level(logging.DEBUG)
    for text in ("ma recette secrète zorglub", "zorglub comment porter plainte ?"):
        await inline_results(app, request, text)
    assert caplog.records  # the log was captured at all: the calls' parameters among it
    assert not [r for r in caplog.records if "zorglub" in r.getMessage()]
