"""Admins' management of the corpus, in their private chat: list its documents (/docs),
remove one after a confirmation (/remove), replace the question bank by sending a
questions.toml that every entry of is served from the corpus. Each change is made just
before a rebuild and undone if the rebuild fails, so that corpus and index agree."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Sequence

from telegram import Message, Update
from telegram.constants import ChatType
from telegram.ext import filters

from bot.bank import BANK_FILE, bank_problems
from bot.corpus import FileRefused, check_size, remove_file
from bot.corpus_report import DocumentSummary, document_summaries
from bot.files import replace_file
from bot.lang import Lang
from bot.messages import format_count, format_date, message
from bot.telegram.admins import (
    Handler,
    StatusMessage,
    admin_command,
    admin_document,
    choice_made,
    rebuild,
    refused,
    reply_in_parts,
)
from bot.telegram.citizens import reply, user_lang
from bot.telegram.keyboards import REMOVAL_CHOICES, removal_keyboard
from bot.telegram.state import BotContext

# A document's bank entries are named up to this many; beyond, counted.
ENTRIES_NAMED = 5
# The problems of a refused bank that the refusal names; the rest are counted.
PROBLEMS_SHOWN = 10


class _BankDocument(filters.MessageFilter):
    """A document named as the question bank: a new bank, not a corpus document."""

    def filter(self, message: Message) -> bool:
        return message.document is not None and message.document.file_name == BANK_FILE


BANK_DOCUMENT = _BankDocument(name="BANK_DOCUMENT")


def private_only(handler: Handler) -> Handler:
    """Run the handler in a private chat only: the corpus is managed away from groups."""

    @functools.wraps(handler)
    async def guarded(update: Update, context: BotContext) -> None:
        if update.effective_chat is None or update.effective_chat.type != ChatType.PRIVATE:
            await reply(update, message("admin_private_only", user_lang(update)))
            return
        await handler(update, context)

    return guarded


@admin_command
@private_only
async def docs(update: Update, context: BotContext) -> None:
    """Every indexed document: its passages, its date and the bank entries it answers."""
    lang = user_lang(update)
    summaries = await asyncio.to_thread(document_summaries, context.state.answers.index)
    lines = [message("docs_header", lang, count=len(summaries)),
             *(document_line(summary, lang) for summary in summaries),
             message("docs_remove_hint", lang)]
    await reply_in_parts(update, "\n".join(lines))


def document_line(summary: DocumentSummary, lang: Lang) -> str:
    day = summary.meta.published
    return message("docs_line", lang, name=summary.name,
                   passages=format_count(summary.passages, lang),
                   date=format_date(day, lang) if day else message("docs_no_date", lang),
                   entries=entries_named(summary.entries, lang))


def entries_named(entries: Sequence[str], lang: Lang) -> str:
    """Bank entry ids, or their count when there are too many to read."""
    if not entries:
        return message("docs_no_entries", lang)
    if len(entries) > ENTRIES_NAMED:
        return message("docs_entries_count", lang, count=len(entries))
    return ", ".join(entries)


@admin_command
@private_only
async def remove(update: Update, context: BotContext) -> None:
    """/remove <document>: ask the admin to confirm, naming what the bank would lose."""
    lang = user_lang(update)
    name = " ".join(context.args or [])
    if not name:
        await reply(update, message("remove_usage", lang))
        return
    summaries = await asyncio.to_thread(document_summaries, context.state.answers.index)
    summary = next((summary for summary in summaries if summary.name == name), None)
    if summary is None or context.chat is None:
        await reply(update, message("remove_unknown", lang, name=name[:100]))
        return
    key = context.chat.keep_removal(name)
    await reply(update, message("remove_confirm", lang, name=name,
                                passages=format_count(summary.passages, lang),
                                entries=entries_named(summary.entries, lang)),
                reply_markup=removal_keyboard(key, lang))


@admin_command
async def removal_choice(update: Update, context: BotContext) -> None:
    """The admin's answer to "remove this document?": removed and the index rebuilt (the
    document put back if the rebuild fails), or nothing done."""
    chat = context.chat
    made = await choice_made(update, chat.removals if chat else {}, REMOVAL_CHOICES,
                             "remove_gone")
    if made is None:
        return
    (choice, name), lang, state = made, user_lang(update), context.state
    if choice == "cancel":
        await reply(update, message("remove_cancelled", lang, name=name))
        return
    removal = functools.partial(remove_file, state.settings.corpus_dir, name)
    try:
        rebuilt = await rebuild(state, lang, StatusMessage(update), removal)
    except FileNotFoundError:  # removed meanwhile, by another admin or by hand
        await reply(update, message("remove_unknown", lang, name=name))
        return
    done = message("remove_done", lang, name=name) + "\n" if rebuilt.done else ""
    await reply_in_parts(update, done + rebuilt.text)


@admin_document
async def replace_bank(update: Update, context: BotContext) -> None:
    """An admin's questions.toml: the new question bank if every entry of it would be served
    (read by the bank's parser, each answer phrase in a passage of the corpus served), then
    the index rebuilt; otherwise refused with the problems, the bank unchanged."""
    assert update.effective_message is not None and update.effective_message.document
    document, lang, state = update.effective_message.document, user_lang(update), context.state
    try:
        check_size(document.file_size)
    except FileRefused as refusal:
        await reply(update, refused(refusal, lang))
        return
    data = bytes(await (await document.get_file()).download_as_bytearray())
    problems = await asyncio.to_thread(bank_problems, data, state.answers.index.passages)
    if problems:
        await reply_in_parts(update, bank_refusal(problems, lang))
        return
    change = functools.partial(replace_file, state.settings.corpus_dir, BANK_FILE, data)
    rebuilt = await rebuild(state, lang, StatusMessage(update), change)
    done = message("bank_replaced", lang) + "\n" if rebuilt.done else ""
    await reply_in_parts(update, done + rebuilt.text)


def bank_refusal(problems: Sequence[str], lang: Lang) -> str:
    lines = [message("bank_refused", lang, count=len(problems)),
             *problems[:PROBLEMS_SHOWN]]
    if len(problems) > PROBLEMS_SHOWN:
        lines.append(message("more_not_shown", lang, count=len(problems) - PROBLEMS_SHOWN))
    return "\n".join(lines)
