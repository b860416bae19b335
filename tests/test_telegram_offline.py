"""The Telegram transport's own decisions, offline: python-telegram-bot objects built in
memory, no server. (tests/test_telegram_e2e.py drives the whole bot over HTTP.)"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from telegram import Chat, Message, User

from bot.answer import Answer
from bot.lang import lang_of_client
from bot.telegram.addressing import addressed_text
from bot.telegram.keyboards import upload_keyboard
from bot.telegram.state import (
    ANSWERS_KEPT_PER_CHAT,
    UPLOADS_KEPT_PER_CHAT,
    ChatData,
    PendingUpload,
)

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

