"""What citizens can do: ask (in a private chat, by naming the bot in a group, with /ask, or
with a suggestion button, or by a link to one answer), read more excerpts, vote, share a
link to an answer, and read /start, /help, /sources, /privacy. Answers come from the same
AnswerBuilder as the console, rendered as HTML."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from telegram import InlineKeyboardMarkup, InlineQueryResultsButton, Message, Update
from telegram.constants import ChatType, ParseMode
from telegram.ext import ApplicationHandlerStop

from bot.answer import Answer
from bot.lang import Lang, lang_of_client
from bot.messages import message
from bot.render import render_sources
from bot.render_html import render_excerpt_html, render_html
from bot.stores import STORE_ERRORS
from bot.suggestions import Catalogue
from bot.telegram import inbox
from bot.telegram.addressing import addressed_text
from bot.telegram.keyboards import (
    answer_keyboard,
    deep_link,
    page_keyboard,
    share_button,
    suggested_question,
    suggestion_keyboard,
)
from bot.telegram.state import BotContext, SentAnswer

log = logging.getLogger(__name__)


def user_lang(update: Update) -> Lang:
    """The bot's language for this user's commands: English for English clients, else French."""
    user = update.effective_user
    return lang_of_client(user.language_code if user else None)


async def reply(update: Update, text: str, **kwargs: Any) -> Message | None:
    message_ = update.effective_message
    if message_ is None:
        return None
    return await message_.reply_text(text, **kwargs)


async def start(update: Update, context: BotContext) -> None:
    """The welcome; or, for /start <entry id> (what t.me/<bot>?start=<entry id> sends), that
    bank entry's answer in the language of the user's app. Any other argument: the welcome."""
    started = time.perf_counter()
    answers = context.state.answers
    args = context.args or []
    answer = (await asyncio.to_thread(answers.answer_entry, args[0], user_lang(update))
              if len(args) == 1 else None)
    if answer is None:
        await reply_with_examples(update, context, "start")
        return
    await send_answer(update, context, answer, answers.catalogue, started)


async def help_command(update: Update, context: BotContext) -> None:
    await reply_with_examples(update, context, "help")


async def reply_with_examples(update: Update, context: BotContext, key: str) -> None:
    """A message with buttons asking the catalogue's first questions."""
    lang = user_lang(update)
    catalogue = context.state.answers.catalogue
    await reply(update, message(key, lang),
                reply_markup=suggestion_keyboard(catalogue.examples(lang), lang, catalogue))


async def privacy(update: Update, _context: BotContext) -> None:
    await reply(update, message("privacy", user_lang(update)))


async def sources(update: Update, context: BotContext) -> None:
    text = render_sources(context.state.answers.index.documents, user_lang(update))
    await reply(update, text, disable_web_page_preview=True)


async def question(update: Update, context: BotContext) -> None:
    """A text in a private chat, or addressed to the bot in a group, is a question."""
    if update.effective_message is None:
        return
    text = addressed_text(update.effective_message, context.bot.username, context.bot.id)
    if text is not None:
        await answer_question(update, context, text)


async def ask(update: Update, context: BotContext) -> None:
    """/ask <question>, for groups, where plain messages are not for the bot."""
    text = " ".join(context.args or [])
    if not text.strip():
        await reply(update, message("ask_usage", user_lang(update)))
        return
    await answer_question(update, context, text)


async def answer_question(update: Update, context: BotContext, text: str) -> None:
    # No "typing…" action first: an answer takes some tens of milliseconds, and each action
    # would spend one of the 30 requests a second Telegram allows (docs/benchmarks.md). The
    # question's embedding is CPU work: it runs in a worker thread, off the event loop.
    started = time.perf_counter()
    answers = context.state.answers  # the same index for the answer and its suggestion buttons
    answer = await asyncio.to_thread(answers.answer, text)
    await send_answer(update, context, answer, answers.catalogue, started)


async def send_answer(update: Update, context: BotContext, answer: Answer, catalogue: Catalogue,
                      started: float) -> None:
    """Reply with an answer and its buttons; keep what "more" and /share will need; count it."""
    sent = await reply(update, render_html(answer), parse_mode=ParseMode.HTML,
                       reply_markup=answer_keyboard(answer, catalogue, context.bot.username),
                       disable_web_page_preview=True)
    if sent is not None and context.chat is not None:
        if answer.more:
            context.chat.keep_answer(sent.message_id, SentAnswer(answer, len(answer.shown)))
        if answer.answered and update.effective_user is not None:
            context.chat.answered(update.effective_user.id, answer.matched_entry)
    context.state.metrics.answered(answer, time.perf_counter() - started)
    await record_answer(context, answer)


async def record_answer(context: BotContext, answer: Answer) -> None:
    """Count an answer once it is sent: statistics never stand between a citizen and the
    reply, and a store that cannot be written costs one logged line, not the answer."""
    try:
        await asyncio.to_thread(context.state.store.record, answer)
    except STORE_ERRORS as error:
        context.state.uncounted.warning("statistics not recorded: the store failed (%s: %s)",
                                        type(error).__name__, error)


async def share(update: Update, context: BotContext) -> None:
    """/share: the link to the user's last answer here, when it answers a bank entry, with a
    button to send it on; else what to do to get one."""
    lang = user_lang(update)
    user = update.effective_user
    kept = context.chat.last_entries if context.chat is not None else {}
    entry_id = kept.get(user.id) if user is not None else None
    entry = context.state.answers.bank_entry(entry_id) if entry_id is not None else None
    if entry is None:
        await reply(update, message("share_nothing", lang))
        return
    username = context.bot.username
    button = share_button(username, entry.id, entry.text(lang), lang)
    await reply(update, message("share_link", lang, question=entry.text(lang),
                                link=deep_link(username, entry.id)),
                reply_markup=InlineKeyboardMarkup([[button]]))


async def ask_suggestion(update: Update, context: BotContext) -> None:
    """A suggestion button: its question is answered as if the user had written it."""
    query = update.callback_query
    assert query is not None  # a CallbackQueryHandler's update
    text = suggested_question(query.data or "", context.state.answers.catalogue)
    if text is None:
        await query.answer(message("suggestion_gone", user_lang(update)))
        return
    await query.answer()
    await answer_question(update, context, text)


async def more(update: Update, context: BotContext) -> None:
    """"More": the answer's next excerpt, as a message of its own that fits a phone's screen,
    with its own "more" while others remain."""
    query = update.callback_query
    assert query is not None
    pressed = query.message if isinstance(query.message, Message) else None
    kept = context.chat.answers if context.chat is not None else {}
    sent = kept.get(pressed.message_id) if pressed is not None else None
    if pressed is None or sent is None or context.chat is None:
        await query.answer(message("more_gone", user_lang(update)), show_alert=True)
        return
    await query.answer()
    answer, number = sent.answer, sent.shown + 1
    page = await pressed.reply_text(
        render_excerpt_html(answer.excerpts[number - 1], number, answer.lang),
        parse_mode=ParseMode.HTML, disable_web_page_preview=True,
        reply_markup=page_keyboard(answer, number))
    if number < len(answer.excerpts):
        context.chat.keep_answer(page.message_id, SentAnswer(answer, number))


async def vote(update: Update, context: BotContext) -> None:
    query = update.callback_query
    assert query is not None and query.data is not None
    pressed = query.message
    reply_id = f"{pressed.chat.id}:{pressed.message_id}" if pressed else "?"
    counted = await asyncio.to_thread(context.state.store.vote, query.from_user.id, reply_id,
                                      query.data.split(":")[1])
    await query.answer(message("feedback_thanks" if counted else "feedback_already",
                               user_lang(update)))


async def slow_down(update: Update, context: BotContext) -> None:
    """In the first handler group: the update past which the sender's messages are not
    answered this minute (bot.telegram.limits) gets the slow_down message instead, and no
    other handler; it leaves the inbox."""
    if not context.state.limit.slowed_down(update):
        return
    text = message("slow_down", user_lang(update), count=context.state.limit.senders.per_window)
    if update.callback_query is not None:
        await update.callback_query.answer(text, show_alert=True)
    elif update.inline_query is not None:  # no results, for this user only and not cached,
        # and instead of them, above the chat, why
        button = InlineQueryResultsButton(message("inline_slow_down", user_lang(update)),
                                          start_parameter="slow_down")
        await update.inline_query.answer([], cache_time=0, is_personal=True, button=button)
    else:
        await reply(update, text)
    await inbox.handled(update, context)
    raise ApplicationHandlerStop


async def not_text(update: Update, _context: BotContext) -> None:
    """Stickers, photos, voice, documents from non-admins: only text is read."""
    if update.effective_chat and update.effective_chat.type == ChatType.PRIVATE:
        await reply(update, message("not_text", user_lang(update)))


async def unknown_command(update: Update, context: BotContext) -> None:
    """Any other command in a private chat, or addressed to the bot in a group."""
    message_ = update.effective_message
    if message_ is None or addressed_text(message_, context.bot.username, context.bot.id) is None:
        return
    await reply(update, message("unknown_command", user_lang(update)))


async def unknown_button(update: Update, _context: BotContext) -> None:
    """A button press whose data no handler knows (an old or forged button): answered, so
    the user's app stops waiting, with a word on what to do."""
    if update.callback_query is not None:
        await update.callback_query.answer(message("button_unknown", user_lang(update)))
