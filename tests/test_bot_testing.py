"""The Bot API stand-in (bot_testing) is faithful to the real Bot API.

Driven by a real python-telegram-bot Application or Bot, or by bare HTTP requests, it answers as
Telegram does: a text is echoed exactly once, a wrong token is refused, getUpdates long-polls and
honours offset and limit, uploaded files can be downloaded, a 429 carries retry_after, a 502
is a bare proxy page and a delayed call is carried out even if the client stopped waiting. The
bot's own tests (test_telegram_e2e.py) rely on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    Update,
)
from telegram.error import (
    BadRequest,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.ext import (
    Application,
    ApplicationBuilder,
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot_testing import (
    DEFAULT_GROUP_ID,
    DEFAULT_USER_ID,
    BotAPIStub,
    Sender,
    UploadedFile,
    polling,
)
from tests.conftest import BOT_TOKEN

pytestmark = pytest.mark.asyncio

TOKEN = BOT_TOKEN


async def echo(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.effective_message.reply_text(update.effective_message.text)


ECHO = MessageHandler(filters.TEXT & ~filters.COMMAND, echo)


@contextlib.asynccontextmanager
async def running_app(stub: BotAPIStub, *handlers: BaseHandler) -> AsyncIterator[Application]:
    """A polling Application on the stub with ``handlers``."""
    builder = ApplicationBuilder().token(TOKEN).base_url(stub.base_url)
    app = builder.base_file_url(stub.base_file_url).build()
    app.add_handlers(handlers)
    async with polling(app):
        yield app


async def settle(stub: BotAPIStub) -> None:
    """Return once the bot has handled all earlier updates: they are handled one at a time."""
    marker = f"barrier {len(stub.calls)}"
    stub.push_text(marker)
    await stub.wait_for("sendMessage", predicate=lambda call: call.params.get("text") == marker)


def sent_texts(stub: BotAPIStub, text: str, *, ok: bool) -> list[int]:
    """HTTP statuses of the sendMessage calls with ``text`` that succeeded (or failed)."""
    return [
        call.status
        for call in stub.calls_of("sendMessage", ok=ok)
        if call.params.get("text") == text
    ]


async def test_text_message_is_echoed_exactly_once(stub: BotAPIStub) -> None:
    async with running_app(stub, ECHO):
        pushed = stub.push_text("Bonjour, mes données ont-elles fuité ?")
        [call] = await stub.wait_for("sendMessage")
        await settle(stub)

    assert call.params == {"chat_id": DEFAULT_USER_ID, "text": pushed["text"]}
    assert call.result["chat"] == {
        "id": DEFAULT_USER_ID,
        "type": "private",
        "first_name": "User1001",
        "username": "user1001",
    }
    assert call.result["message_id"] > pushed["message_id"]
    assert sent_texts(stub, pushed["text"], ok=True) == [200]
    assert [c.method for c in stub.calls[:2]] == ["getMe", "deleteWebhook"]


async def test_ptb_reads_a_429_as_retry_after_and_a_502_page_as_a_network_error(
    stub: BotAPIStub,
) -> None:
    """What the bot's retries go by: the 429's retry_after, and a 502 that is no Telegram JSON."""
    stub.fail_next("sendMessage", 429, retry_after=1)
    stub.fail_next("sendMessage", 502)
    async with Bot(TOKEN, base_url=stub.base_url) as bot:
        with pytest.raises(RetryAfter) as flood:
            await bot.send_message(DEFAULT_USER_ID, "ralenti")
        with pytest.raises(NetworkError) as bad_gateway:
            await bot.send_message(DEFAULT_USER_ID, "perdu")
        await bot.send_message(DEFAULT_USER_ID, "livré")

    assert flood.value.retry_after == dt.timedelta(seconds=1)
    assert type(bad_gateway.value) is NetworkError
    assert "Bad Gateway (502)" in str(bad_gateway.value)
    assert sent_texts(stub, "ralenti", ok=False) == [429]
    assert sent_texts(stub, "perdu", ok=False) == [502]
    assert sent_texts(stub, "livré", ok=True) == [200]


async def test_bot_downloads_an_uploaded_document(stub: BotAPIStub) -> None:
    received: asyncio.Future[bytearray] = asyncio.get_running_loop().create_future()

    async def on_document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        document = update.message.document
        file = await context.bot.get_file(document.file_id)
        received.set_result(await file.download_as_bytearray())
        await update.message.reply_document(
            bytes(received.result()),
            filename="copie.pdf",
            caption=f"{document.file_name}: {document.mime_type}",
        )

    content = b"%PDF-1.7\n\x00\xff binary content"
    async with running_app(stub, MessageHandler(filters.Document.ALL, on_document)):
        pushed = stub.push_document("courrier.pdf", "application/pdf", content)
        downloaded = await asyncio.wait_for(received, timeout=5)
        [reply] = await stub.wait_for("sendDocument")

    assert bytes(downloaded) == content
    [get_file] = stub.calls_of("getFile")
    assert get_file.params == {"file_id": pushed["document"]["file_id"]}
    assert stub.downloads == [get_file.result["file_path"]]
    # The reply came as multipart/form-data: the file part and JSON-encoded fields are parsed.
    assert reply.params == {
        "chat_id": DEFAULT_USER_ID,
        "caption": "courrier.pdf: application/pdf",
        "document": UploadedFile("copie.pdf", "application/pdf", content),
    }
    assert reply.result["document"]["file_name"] == "copie.pdf"


async def test_wrong_token_is_rejected(stub: BotAPIStub) -> None:
    app = ApplicationBuilder().token("123456:WRONG-token").base_url(stub.base_url).build()
    try:
        with pytest.raises(InvalidToken, match="rejected by the server"):
            await app.initialize()
    finally:
        await app.bot.shutdown()  # initialize() opened the HTTP clients before getMe failed

    assert [(call.method, call.status) for call in stub.calls] == [("getMe", 401)]


async def test_get_updates_long_polls_and_honours_offset_and_limit(stub: BotAPIStub) -> None:
    loop = asyncio.get_running_loop()
    async with Bot(TOKEN, base_url=stub.base_url) as bot:
        started = loop.time()
        assert await bot.get_updates(timeout=0.3) == ()
        assert loop.time() - started >= 0.25
        assert len(stub.calls_of("getUpdates")) == 1  # waited instead of answering repeatedly

        polling = asyncio.create_task(bot.get_updates(timeout=10))
        await asyncio.sleep(0.1)
        started = loop.time()
        message = stub.push_text("réveil")
        [update] = await polling
        assert loop.time() - started < 1
        assert update.message.text == "réveil"
        assert update.message.message_id == message["message_id"]

        assert await bot.get_updates() == (update,)  # not confirmed yet
        assert await bot.get_updates(offset=update.update_id + 1) == ()
        for text in ("un", "deux", "trois"):
            stub.push_text(text)
        assert [u.message.text for u in await bot.get_updates(limit=2)] == ["un", "deux"]
        assert [u.message.text for u in await bot.get_updates(offset=-1)] == ["trois"]

        polling = asyncio.create_task(bot.get_updates(timeout=30, offset=update.update_id + 5))
        await asyncio.sleep(0.1)
        started = loop.time()
        await stub.stop()
        assert await polling == ()
        assert loop.time() - started < 1


async def test_commands_group_messages_and_callback_queries(stub: BotAPIStub) -> None:
    keyboard = InlineKeyboardMarkup(
        [[InlineKeyboardButton("En savoir plus", callback_data="more")]]
    )

    async def on_help(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.message.reply_text("aide", reply_markup=keyboard, do_quote=False)

    async def on_group(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.message.reply_text("groupe", do_quote=False)

    async def on_more(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.callback_query.answer()
        await update.callback_query.edit_message_text("détails")

    addressed = filters.Mention(stub.bot_user["username"]) | filters.REPLY
    handlers = [
        CommandHandler("aide", on_help),
        MessageHandler(filters.ChatType.GROUPS & addressed & ~filters.COMMAND, on_group),
        CallbackQueryHandler(on_more, pattern="^more$"),
        ECHO,
    ]
    async with running_app(stub, *handlers) as app:
        stub.push_text("/aide")
        stub.push_group_text("/aide@stub_test_bot", sender=Sender(7))
        stub.push_group_text("/aide@other_bot")
        [private_help, group_help] = await stub.wait_for("sendMessage", count=2)
        stub.push_group_text("une question", mention_bot=True)
        stub.push_group_text("suite", reply_to=group_help.result)
        stub.push_group_text("pas pour le bot")
        await stub.wait_for("sendMessage", count=5)

        stub.push_callback_query(private_help.result, "more")
        [edit] = await stub.wait_for("editMessageText")
        await stub.wait_for("answerCallbackQuery")
        with pytest.raises(BadRequest, match="Message is not modified"):
            await app.bot.edit_message_text("détails", DEFAULT_USER_ID, edit.result["message_id"])
        await settle(stub)

    replies = [(c.params["chat_id"], c.params["text"]) for c in stub.calls_of("sendMessage")]
    assert replies[:5] == [
        (DEFAULT_USER_ID, "aide"),
        (DEFAULT_GROUP_ID, "aide"),
        (DEFAULT_GROUP_ID, "groupe"),
        (DEFAULT_GROUP_ID, "groupe"),
        (DEFAULT_GROUP_ID, "pas pour le bot"),  # not addressed to the bot: only ECHO matched
    ]
    assert len(replies) == 6  # and the barrier; "/aide@other_bot" got no answer
    assert edit.result["text"] == "détails"
    assert "reply_markup" not in edit.result
    assert private_help.params["reply_markup"] == keyboard.to_dict()


async def test_other_update_kinds_reach_the_bot_as_ptb_objects(stub: BotAPIStub) -> None:
    updates: list[Update] = []

    async def collect(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        updates.append(update)

    async with running_app(stub, ECHO) as app:
        app.add_handler(TypeHandler(Update, collect), group=-1)  # sees every update
        message = stub.push_text("avant", sender=Sender(language_code="de"))
        stub.push_edited_text(message, "après")
        stub.push_sticker("🙂")
        stub.push_photo(caption="capture")
        stub.push_voice(duration=4)
        await settle(stub)
        with pytest.raises(EndPointNotFound):
            await app.bot.do_api_request("frobnicate")

    text, edited, sticker, photo, voice, _barrier = updates
    assert text.message.from_user.language_code == "de"
    assert edited.edited_message.text == "après"
    assert edited.edited_message.message_id == text.message.message_id
    assert sticker.message.sticker.emoji == "🙂"
    assert photo.message.caption == "capture"
    assert photo.message.photo[-1].file_size > 0
    assert voice.message.voice.duration == dt.timedelta(seconds=4)
    assert len({update.update_id for update in updates}) == len(updates)
    assert [c.status for c in stub.calls_of("frobnicate")] == [404]


async def test_wait_for_times_out_listing_the_calls_received(stub: BotAPIStub) -> None:
    stub.fail_next("sendMessage", 403)
    async with Bot(TOKEN, base_url=stub.base_url) as bot:
        with pytest.raises(Forbidden, match="bot was blocked by the user"):
            await bot.send_message(DEFAULT_USER_ID, "coucou")

    with pytest.raises(AssertionError) as failure:
        await stub.wait_for("sendMessage", timeout=0.2)
    assert "failed 403: {'chat_id': 1001, 'text': 'coucou'}" in str(failure.value)
    assert "getMe x1, sendMessage x1" in str(failure.value)


async def test_wire_format(stub: BotAPIStub) -> None:
    """JSON bodies and query strings are accepted; errors look like Telegram's."""
    api = f"{stub.base_url}{TOKEN}"
    stub.fail_next("sendChatAction", 429, retry_after=7)
    stub.fail_next("sendChatAction", 502)
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{api}/sendMessage", json={"chat_id": 5, "text": "42"}) as resp:
            assert (await resp.json())["result"]["text"] == "42"
        async with session.get(f"{api}/getMyCommands?language_code=fr") as resp:
            assert await resp.json() == {"ok": True, "result": []}
        async with session.post(f"{api}/sendChatAction", data={"chat_id": "5"}) as resp:
            assert resp.status == 429
            assert await resp.json() == {
                "ok": False,
                "error_code": 429,
                "description": "Too Many Requests: retry after 7",
                "parameters": {"retry_after": 7},
            }
        async with session.post(f"{api}/sendChatAction", data={"chat_id": "5"}) as resp:
            assert (resp.status, resp.content_type) == (502, "text/html")
            assert "502 Bad Gateway" in await resp.text()
        async with session.post(f"{stub.base_url}1:other/getMe") as resp:
            assert await resp.json() == {
                "ok": False,
                "error_code": 401,
                "description": "Unauthorized",
            }
        async with session.post(f"{api}/noSuchMethod") as resp:
            assert resp.status == 404
            assert (await resp.json())["error_code"] == 404

    assert stub.calls_of("sendMessage")[0].params == {"chat_id": 5, "text": "42"}
    assert stub.calls_of("sendChatAction", ok=True) == []


async def test_random_faults_hit_a_reproducible_share_of_the_calls(stub: BotAPIStub) -> None:
    api = f"{stub.base_url}{TOKEN}"

    async def statuses(count: int) -> list[int]:
        async with aiohttp.ClientSession() as session:
            seen = []
            for n in range(count):
                async with session.post(f"{api}/sendMessage", json={"chat_id": 5, "text": n}) as r:
                    seen.append(r.status)
                    if r.status == 429:
                        assert (await r.json())["parameters"] == {"retry_after": 1}
            return seen

    stub.fail_randomly("sendMessage", 0.25, (429, 502), seed=3)
    first = await statuses(200)
    stub.fail_randomly("sendMessage", 0.25, (429, 502), seed=3)
    again = await statuses(200)
    stub.fail_randomly("sendMessage", 0, (429,))
    after = await statuses(20)

    assert first == again
    assert set(first) == {200, 429, 502}
    assert 30 <= sum(status != 200 for status in first) <= 70
    assert after == [200] * 20
    answered = [call.at for call in stub.calls]
    assert answered == sorted(answered)


async def test_a_delayed_call_is_answered_late_and_carried_out_even_if_the_client_left(
    stub: BotAPIStub,
) -> None:
    """What a slow Telegram does: the answer comes late, and a client that stopped waiting
    (a read timeout) has still sent its message, which is delivered once."""
    stub.delay_next("sendMessage", 0.5, times=2)
    async with Bot(TOKEN, base_url=stub.base_url) as bot:
        asked = time.monotonic()
        slow = await bot.send_message(DEFAULT_USER_ID, "lent", read_timeout=5)
        answered = time.monotonic()
        with pytest.raises(TimedOut):
            await bot.send_message(DEFAULT_USER_ID, "abandonné", read_timeout=0.1)
        [late] = await stub.wait_for(
            "sendMessage", predicate=lambda call: call.params["text"] == "abandonné")
        await bot.send_message(DEFAULT_USER_ID, "rapide")  # the delays were used up

    assert slow.text == "lent"
    assert answered - asked >= 0.5
    assert late.ok and late.result["text"] == "abandonné"
    assert [call.params["text"] for call in stub.calls_of("sendMessage")] == [
        "lent", "abandonné", "rapide"]
    with pytest.raises(ValueError, match="negative"):
        stub.delay_next("sendMessage", -1)


def article(result_id: str, text: str) -> InlineQueryResultArticle:
    return InlineQueryResultArticle(result_id, "titre",
                                    InputTextMessageContent(text, parse_mode="HTML"))


@pytest.mark.parametrize(("results", "error"), [
    ([article("1", "a"), article("1", "b")], "RESULT_ID_DUPLICATE"),
    ([article("x" * 65, "a")], "RESULT_ID_INVALID"),
    ([article(str(n), "a") for n in range(51)], "RESULTS_TOO_MUCH"),
    ([article("1", "x" * 4097)], "message is too long"),
    ([article("1", "<b>gras</i>")], "can't parse entities"),
    ([article("1", "<blockquote>ouvert")], "can't parse entities"),
    ([article("1", "<script>x</script>")], "can't parse entities"),
])
async def test_inline_answers_are_refused_as_telegram_refuses_them(
    stub: BotAPIStub, results: list[InlineQueryResultArticle], error: str
) -> None:
    async with Bot(TOKEN, base_url=stub.base_url) as bot:
        query = stub.push_inline_query("plainte", sender=Sender(7, "en"))
        with pytest.raises(BadRequest, match=f"(?i){error}"):  # PTB rewrites the case
            await bot.answer_inline_query(query["id"], results)
        await bot.answer_inline_query(query["id"], [article("1", "<b>gras</b> &amp; net")])
        with pytest.raises(BadRequest, match=r"(?i)query is too old"):  # answered once only
            await bot.answer_inline_query(query["id"], [])
        [update] = await bot.get_updates()
    assert update.inline_query is not None and update.inline_query.query == "plainte"
    assert update.inline_query.from_user.language_code == "en"
