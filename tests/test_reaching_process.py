"""What reaches people where they are, driven through the real bot process (`python -m bot
run`) against the stand-in: a link to one answer opened from an English app, /share giving
it back, "more" paging through the excerpts one message each, an inline query answered with
quotes, and /docs for an admin."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from bot.messages import message
from bot_testing import ApiCall, BotAPIStub
from bot_testing.process import BOT_COMMAND, REPO, bot_environment, bot_process, polling_started
from bot_testing.world import Sender

pytestmark = pytest.mark.asyncio

CITIZEN = Sender(6001, "en-GB")
ADMIN = Sender(6002, "fr")
WAIT = 30.0


def to(sender: Sender) -> Callable[[ApiCall], bool]:
    return lambda call: call.params["chat_id"] == sender.user_id


async def next_reply(stub: BotAPIStub, sender: Sender, push: Callable[[], object]) -> ApiCall:
    """Push an update and return the one message the bot sends that user for it."""
    before = len(stub.calls_of("sendMessage", ok=True))
    push()
    calls = await stub.wait_for("sendMessage", before + 1, timeout=WAIT)
    [reply] = [call for call in calls[before:] if to(sender)(call)]
    return reply


def buttons(call: ApiCall) -> list[dict[str, str]]:
    markup = call.params.get("reply_markup") or {}
    return [button for row in markup.get("inline_keyboard", []) for button in row]


async def test_links_sharing_paging_inline_and_docs_through_the_bot_process(
    stub: BotAPIStub, tmp_path: Path
) -> None:
    env = bot_environment(stub, corpus_dir=REPO / "corpus", index_dir=tmp_path / "index",
                          database_path=tmp_path / "bot.sqlite3", embeddings="off",
                          telegram_messages_per_second=0, admin_user_ids=ADMIN.user_id)
    async with bot_process(BOT_COMMAND, env, tmp_path / "bot.log"):
        await polling_started(stub, timeout=120)

        opened = await next_reply(stub, CITIZEN, lambda: stub.push_text(
            "/start plainte-formulaire", sender=CITIZEN))
        text = opened.params["text"]
        assert text.startswith("Closest question: How do I file a complaint?")
        assert "formulaire en ligne" in text.split("</blockquote>")[0]
        share = await next_reply(stub, CITIZEN, lambda: stub.push_text("/share", sender=CITIZEN))
        assert "https://t.me/stub_test_bot?start=plainte-formulaire" in share.params["text"]

        answer = await next_reply(stub, CITIZEN, lambda: stub.push_text(
            "données de santé piratage tiers payant optique", sender=CITIZEN))
        assert answer.params["text"].count("<blockquote>") == 1
        assert "more" in [b.get("callback_data") for b in buttons(answer)]
        page = await next_reply(stub, CITIZEN, lambda: stub.push_callback_query(
            answer.result, "more", sender=CITIZEN))
        assert page.params["text"].count("<blockquote>") == 1
        assert "\n2. <i>" in page.params["text"]

        before = len(stub.calls_of("answerInlineQuery", ok=True))
        stub.push_inline_query("comment porter plainte ?", sender=CITIZEN)
        [*_, inline] = await stub.wait_for("answerInlineQuery", before + 1, timeout=WAIT)
        [result] = inline.params["results"]
        assert "formulaire en ligne" in result["input_message_content"]["message_text"]

        docs = await next_reply(stub, ADMIN, lambda: stub.push_text("/docs", sender=ADMIN))
        assert docs.params["text"].count("passages") >= 5
        refused = await next_reply(stub, CITIZEN, lambda: stub.push_text("/docs",
                                                                         sender=CITIZEN))
        assert refused.params["text"] == message("admin_only", "en")
    assert "porter plainte" not in (tmp_path / "bot.log").read_text()
