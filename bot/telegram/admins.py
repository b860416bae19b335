"""What admins can do, checked against ADMIN_USER_IDS: rebuild the index (/reindex), add a
document by sending it, read the statistics (/stats) and export the unanswered questions
(/stats csv). A failed rebuild keeps the previous index serving; a long one shows the admin
how far it has gone."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import functools
import io
import logging
import re
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any, NamedTuple, TypeVar

from telegram import Message, Update
from telegram.constants import ChatType
from telegram.error import TelegramError

from bot.answer import AnswerBuilder
from bot.corpus import AddedFile, Existing, FileRefused, add_file, check_file
from bot.corpus_report import IndexChanges, index_changes
from bot.index import IndexUnavailable, SearchIndex
from bot.index_store import rebuild_index
from bot.lang import Lang
from bot.messages import format_count, format_date, message
from bot.render_html import TELEGRAM_MAX_CHARS
from bot.telegram.citizens import not_text, reply, user_lang
from bot.telegram.keyboards import UPLOAD_CHOICES, upload_keyboard
from bot.telegram.state import BotContext, BotState, PendingUpload

log = logging.getLogger(__name__)
T = TypeVar("T")

TOP_DECLINED_SHOWN = 10
# What a rebuild's report of changes names, the rest counted: documents or bank entries of
# one kind, and the bank entries lost (each on its line, with why).
NAMES_SHOWN = 20
LOST_ENTRIES_SHOWN = 10
CSV_NAME = "unanswered-questions.csv"
# A cell starting so is a formula to a spreadsheet: a question could run one on the admin's.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# A separator then a formula start: a spreadsheet that splits lines on that separator (";" in
# French locales, whatever the quotes) reads there a new cell that is a formula.
_FORMULA_AFTER_SEPARATOR = re.compile(r"([;,\t|])(\s*)(?=[=+\-@])")
# How long a rebuild embeds before its progress is first shown, then between two showings:
# the admin sees it go on (a 4,000-passage upload embeds for minutes), in far fewer edits
# than the one message a second Telegram lets a bot send in a chat.
PROGRESS_SECONDS = 3.0

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
    started = await reply(update, message("reindex_started", lang))
    rebuilt = await rebuild(context.state, lang, StatusMessage(update, started))
    await reply_in_parts(update, rebuilt.text)


class StatusMessage:
    """The message that shows how a rebuild goes: the one given, edited, or else one sent the
    first time there is progress to show (a quick upload's rebuild adds no message)."""

    def __init__(self, update: Update, sent: Message | None = None) -> None:
        self._update, self._sent = update, sent

    async def show(self, text: str) -> None:
        if self._sent is None:
            self._sent = await reply(self._update, text)
        else:
            await self._sent.edit_text(text)


class RebuildProgress:
    """The progress of a rebuild, told by its worker thread after each batch of passages and
    shown by the event loop, at most every PROGRESS_SECONDS. News that comes while a showing
    is under way is dropped (newer news follows); a showing that fails is logged, and the
    rebuild goes on."""

    def __init__(self, show: Callable[[str], Awaitable[None]], lang: Lang,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._show, self._lang, self._clock = show, lang, clock
        self._loop = asyncio.get_running_loop()
        self._next_showing: float | None = None
        self._showing: asyncio.Task[None] | None = None

    def __call__(self, done: int, total: int) -> None:
        """In the worker thread: hand the news to the event loop when it is time to."""
        now = self._clock()
        if self._next_showing is None:
            self._next_showing = now + PROGRESS_SECONDS
        if now < self._next_showing:
            return
        self._next_showing = now + PROGRESS_SECONDS
        text = message("reindex_progress", self._lang, done=format_count(done, self._lang),
                       total=format_count(total, self._lang))
        with contextlib.suppress(RuntimeError):  # the loop is closed: the bot is stopping
            self._loop.call_soon_threadsafe(self._start_showing, text)

    def _start_showing(self, text: str) -> None:
        if self._showing is None or self._showing.done():
            self._showing = self._loop.create_task(self._show_or_log(text))

    async def _show_or_log(self, text: str) -> None:
        try:
            await self._show(text)
        except TelegramError as error:
            log.warning("rebuild progress not shown: %s", error)

    async def settled(self) -> None:
        """Wait for the showing under way, so that none lands after the rebuild's result."""
        if self._showing is not None:
            await self._showing


class Rebuilt(NamedTuple):
    """Whether a rebuild's index is now served, and what to tell the admin about it."""

    done: bool
    text: str


# A change of the corpus folder made just before a rebuild; it returns what undoes it.
CorpusChange = Callable[[], Callable[[], None]]


async def rebuild(state: BotState, lang: Lang, status: StatusMessage,
                  change: CorpusChange | None = None) -> Rebuilt:
    """Rebuild the index off the event loop and swap it in; on failure keep the old one
    and undo `change` (made under the lock, before the rebuild), so that the corpus stays
    the one the index serves. `status` shows the progress of a long rebuild."""
    async with state.rebuild_lock:
        undo = await asyncio.to_thread(change) if change is not None else None
        before, started = state.answers.index, time.perf_counter()
        progress = RebuildProgress(status.show, lang)
        try:
            index = await asyncio.to_thread(rebuild_index, state.settings.corpus_dir,
                                            state.settings.index_dir, progress)
        except (IndexUnavailable, OSError) as error:
            log.error("index rebuild failed: %s", error)
            state.metrics.rebuilds.labels("failed").inc()
            return Rebuilt(False, await failure(error, undo, lang))
        finally:
            await progress.settled()
        state.serve(await asyncio.to_thread(ready_answers, index))
        state.metrics.rebuilds.labels("ok").inc()
        state.metrics.rebuild_seconds.observe(time.perf_counter() - started)
    return Rebuilt(True, rebuilt_report(before, index, time.perf_counter() - started, lang))


async def failure(error: Exception, undo: Callable[[], None] | None, lang: Lang) -> str:
    """Put the corpus back as it was, and say that the rebuild failed."""
    text = message("reindex_failed", lang, error=error)
    if undo is not None:
        await asyncio.to_thread(undo)
        text += "\n" + message("change_undone", lang)
    return text


def rebuilt_report(before: SearchIndex, index: SearchIndex, seconds: float, lang: Lang) -> str:
    """The new index's size, what changed since the one before, the files skipped and the
    warnings."""
    text = message("reindex_done", lang, documents=len(index.documents),
                   passages=len(index.passages), seconds=seconds)
    text += "\n" + changes_report(index_changes(before, index), lang)
    if index.skipped:
        text += "\n" + message("reindex_skipped", lang) + "\n" + "\n".join(index.skipped)
    if index.warnings:
        text += "\n" + message("reindex_warnings", lang) + "\n" + "\n".join(index.warnings)
    return text


def changes_report(changes: IndexChanges, lang: Lang) -> str:
    """A few lines however big the change: a new bank can add or lose every entry."""
    if not changes:
        return message("changes_none", lang)
    lines = [message("changes", lang)]
    for kind in ("added", "removed", "changed", "entries_added"):
        if names := getattr(changes, kind):
            shown = ", ".join(names[:NAMES_SHOWN])
            if len(names) > NAMES_SHOWN:
                shown += " " + message("more_not_shown", lang, count=len(names) - NAMES_SHOWN)
            lines.append(message(f"changes_{kind}", lang, names=shown))
    if lost := changes.entries_lost:
        lines.append(message("changes_entries_lost", lang, count=len(lost)))
        lines += [f"  {entry_id}: {why or message('changes_left_bank', lang)}"
                  for entry_id, why in lost[:LOST_ENTRIES_SHOWN]]
        if len(lost) > LOST_ENTRIES_SHOWN:
            lines.append(message("more_not_shown", lang, count=len(lost) - LOST_ENTRIES_SHOWN))
    return "\n".join(lines)


def admin_document(handler: Handler) -> Handler:
    """Run the handler for an admin's document only; anyone else's is a document a citizen
    sent, answered as such."""

    @functools.wraps(handler)
    async def guarded(update: Update, context: BotContext) -> None:
        if not context.state.is_admin(update):
            await not_text(update, context)
            return
        await handler(update, context)

    return guarded


@admin_document
async def upload(update: Update, context: BotContext) -> None:
    """An admin's .txt or .md document: checked, added to the corpus, indexed. A different
    file of the same name is replaced only if the admin says so."""
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
        text += "\n" + (await rebuild(state, lang, StatusMessage(update))).text
    await reply_in_parts(update, text)


@admin_command
async def upload_choice(update: Update, context: BotContext) -> None:
    """The admin's answer to "replace, keep both, or cancel?" for an upload."""
    chat = context.chat
    made = await choice_made(update, chat.uploads if chat else {}, UPLOAD_CHOICES, "upload_gone")
    if made is None:
        return
    choice, pending = made
    if choice == "cancel":
        await reply(update, message("upload_cancelled", user_lang(update)))
        return
    await add(update, context, pending.name, pending.data,
              "replace" if choice == "replace" else "keep")


async def choice_made(update: Update, pending: dict[str, T], choices: Sequence[str],
                      gone: str) -> tuple[str, T] | None:
    """A pressed choice button ("<kind>:<choice>:<key>"): the choice and what waited for it
    (taken out), its buttons removed; None, with the `gone` message, for a choice no longer
    waiting (pressed twice, the chat's data dropped) or forged."""
    query = update.callback_query
    assert query is not None and query.data is not None
    _, choice, key = query.data.split(":", 2)
    waiting = pending.pop(key, None)
    if waiting is None or choice not in choices:
        await query.answer(message(gone, user_lang(update)), show_alert=True)
        return None
    await query.answer()
    await query.edit_message_reply_markup(None)  # the choice is made: no more buttons
    return choice, waiting


async def reply_in_parts(update: Update, text: str) -> None:
    """Send a text of any length, its lines packed into as few messages as Telegram takes."""
    for part in packed(text.split("\n"), TELEGRAM_MAX_CHARS):
        await reply(update, part)


def packed(lines: list[str], limit: int) -> list[str]:
    """Lines joined into as few texts of at most `limit` characters as they fit in, in
    order; a line longer than that is cut."""
    texts: list[str] = []
    for line in (line[:limit] for line in lines):
        if texts and len(texts[-1]) + 1 + len(line) <= limit:
            texts[-1] += "\n" + line
        else:
            texts.append(line)
    return texts


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
