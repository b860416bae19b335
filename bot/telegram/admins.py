"""What admins can do, checked against ADMIN_USER_IDS: rebuild the index (/reindex), add a
document by sending it, read the statistics (/stats) and export the unanswered questions
(/stats csv). A failed rebuild keeps the previous index serving."""

from __future__ import annotations

import asyncio
import csv
import functools
import io
import logging
import re
import time
from collections.abc import Callable, Coroutine
from typing import Any

from telegram import Update
from telegram.constants import ChatType

from bot.answer import AnswerBuilder
from bot.corpus import AddedFile, Existing, FileRefused, add_file, check_file
from bot.index import IndexUnavailable, SearchIndex
from bot.index_store import rebuild_index
from bot.lang import Lang
from bot.messages import format_date, message
from bot.telegram.citizens import not_text, reply, user_lang
from bot.telegram.keyboards import UPLOAD_CHOICES, upload_keyboard
from bot.telegram.state import BotContext, BotState, PendingUpload

log = logging.getLogger(__name__)

TOP_DECLINED_SHOWN = 10
CSV_NAME = "unanswered-questions.csv"
# A cell starting so is a formula to a spreadsheet: a question could run one on the admin's.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# A separator then a formula start: a spreadsheet that splits lines on that separator (";" in
# French locales, whatever the quotes) reads there a new cell that is a formula.
_FORMULA_AFTER_SEPARATOR = re.compile(r"([;,\t|])(\s*)(?=[=+\-@])")

# What python-telegram-bot calls: a coroutine function, not any function returning an awaitable.
Handler = Callable[[Update, BotContext], Coroutine[Any, Any, None]]


def admin_command(handler: Handler) -> Handler:
    """Run the handler for admins only; anyone else gets a polite refusal and nothing runs."""

    @functools.wraps(handler)
    async def guarded(update: Update, context: BotContext) -> None:
        if not context.state.is_admin(update):
            refusal = message("admin_only", user_lang(update))
            if update.callback_query is not None:
                await update.callback_query.answer(refusal, show_alert=True)
            else:
                await reply(update, refusal)
            return
        await handler(update, context)

    return guarded


def ready_answers(index: SearchIndex) -> AnswerBuilder:
    """An AnswerBuilder for the index, warmed up so that no user waits for its loading."""
    builder = AnswerBuilder(index)
    builder.warm_up()
    return builder


@admin_command
async def reindex(update: Update, context: BotContext) -> None:
    lang = user_lang(update)
    await reply(update, message("reindex_started", lang))
    await reply(update, await rebuild(context.state, lang))


async def rebuild(state: BotState, lang: Lang) -> str:
    """Rebuild the index off the event loop and swap it in; on failure keep the old one."""
    async with state.rebuild_lock:
        started = time.perf_counter()
        try:
            index = await asyncio.to_thread(
                rebuild_index, state.settings.corpus_dir, state.settings.index_dir)
        except (IndexUnavailable, OSError) as error:
            log.error("index rebuild failed: %s", error)
            return message("reindex_failed", lang, error=error)
        state.serve(await asyncio.to_thread(ready_answers, index))
    text = message("reindex_done", lang, documents=len(index.documents),
                   passages=len(index.passages), seconds=time.perf_counter() - started)
    if index.skipped:
        text += "\n" + message("reindex_skipped", lang) + "\n" + "\n".join(index.skipped)
    if index.warnings:
        text += "\n" + message("reindex_warnings", lang) + "\n" + "\n".join(index.warnings)
    return text


async def upload(update: Update, context: BotContext) -> None:
    """An admin's .txt or .md document: checked, added to the corpus, indexed. A different
    file of the same name is replaced only if the admin says so."""
    if not context.state.is_admin(update):
        await not_text(update, context)
        return
    assert update.effective_message is not None and update.effective_message.document
    document = update.effective_message.document
    name = document.file_name or ""
    try:
        check_file(name, document.file_size)
    except FileRefused as refusal:
        await reply(update, refused(refusal, user_lang(update)))
        return
    data = bytes(await (await document.get_file()).download_as_bytearray())
    await add(update, context, name, data, "ask")


async def add(update: Update, context: BotContext, name: str, data: bytes,
              existing: Existing) -> None:
    """Add a file to the corpus, then rebuild; ask first if its name is taken."""
    state, lang = context.state, user_lang(update)
    adding = functools.partial(add_file, state.settings.corpus_dir, name, data,
                               existing=existing)
    try:
        added: AddedFile = await asyncio.to_thread(adding)
    except FileRefused as refusal:
        await reply(update, refused(refusal, lang))
        return
    if added.outcome == "name_taken" and context.chat is not None:
        key = context.chat.keep_upload(PendingUpload(name, data))
        await reply(update, message("upload_name_taken", lang, name=added.name,
                                    free=added.free_name),
                    reply_markup=upload_keyboard(key, lang))
        return
    text = message(f"upload_{added.outcome}", lang, name=added.name)
    if added.outcome != "unchanged":
        text += "\n" + await rebuild(state, lang)
    await reply(update, text)


@admin_command
async def upload_choice(update: Update, context: BotContext) -> None:
    """The admin's answer to "replace, keep both, or cancel?" for an upload."""
    query = update.callback_query
    assert query is not None and query.data is not None
    _, choice, key = query.data.split(":", 2)
    pending = context.chat.uploads.pop(key, None) if context.chat is not None else None
    lang = user_lang(update)
    if pending is None or choice not in UPLOAD_CHOICES:
        await query.answer(message("upload_gone", lang), show_alert=True)
        return
    await query.answer()
    await query.edit_message_reply_markup(None)  # the choice is made: no more buttons
    if choice == "cancel":
        await reply(update, message("upload_cancelled", lang))
        return
    await add(update, context, pending.name, pending.data,
              "replace" if choice == "replace" else "keep")


def refused(refusal: FileRefused, lang: Lang) -> str:
    reason = message(f"refusal_{refusal.reason}", lang, detail=refusal.detail)
    return message("upload_refused", lang, reason=reason)


@admin_command
async def stats(update: Update, context: BotContext) -> None:
    """The counts and the most frequent unanswered questions, or with "csv" all of those as a
    spreadsheet file, in a private chat only: the questions, redacted as they are, are not for
    a group to read."""
    lang = user_lang(update)
    if update.effective_chat is None or update.effective_chat.type != ChatType.PRIVATE:
        await reply(update, message("stats_private_only", lang))
        return
    store = context.state.store
    if context.args and context.args[0].lower() == "csv":
        await send_unanswered(update, await asyncio.to_thread(store.unanswered), lang)
        return
    numbers = await asyncio.to_thread(store.statistics, TOP_DECLINED_SHOWN)
    text = message("stats", lang, since=format_date(numbers.since, lang),
                   answered=numbers.answered, hedged=numbers.hedged,
                   declined=numbers.declined,
                   up=numbers.up, down=numbers.down)
    if numbers.top_unanswered:
        text += "\n\n" + message("stats_declined", lang) + "\n" + "\n".join(
            f"{count}× {question_}" for question_, count in numbers.top_unanswered)
        text += "\n\n" + message("stats_csv_hint", lang)
    await reply(update, text)


async def send_unanswered(update: Update, rows: list[tuple[str, int]], lang: Lang) -> None:
    if not rows:
        await reply(update, message("stats_csv_empty", lang))
        return
    assert update.effective_message is not None  # a command's update
    await update.effective_message.reply_document(
        unanswered_csv(rows), filename=CSV_NAME,
        caption=message("stats_csv_caption", lang, count=len(rows)))


def unanswered_csv(rows: list[tuple[str, int]]) -> bytes:
    """Columns question and count, every cell quoted, in UTF-8 with a byte order mark
    (without it spreadsheets misread the accents); see neutralised()."""
    text = io.StringIO()
    writer = csv.writer(text, quoting=csv.QUOTE_ALL)
    writer.writerow(["question", "count"])
    writer.writerows((neutralised(question), count) for question, count in rows)
    return text.getvalue().encode("utf-8-sig")


def neutralised(cell: str) -> str:
    """A cell no spreadsheet runs as a formula, whether it splits lines on "," or ";": an
    apostrophe before a formula start at the beginning or after a separator."""
    cell = _FORMULA_AFTER_SEPARATOR.sub(r"\1\2'", cell)
    return f"'{cell}" if cell.startswith(FORMULA_STARTS) else cell
