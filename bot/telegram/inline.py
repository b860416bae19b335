"""Inline mode: "@bot <question>" typed in any chat offers up to INLINE_RESULTS results, each
a message ready to send there (a family group): one quote with its source. An answered
question offers its excerpts, best first; a declined or refused one, and an empty query, the
bank's questions (the nearest, or the first), each sending the first quote of its answer. So
whatever is chosen is a grounded quote. The bot's own words are in the user's language; the
query itself is neither logged nor recorded in the statistics (Telegram sends one as the user
types: they are drafts, not questions)."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from telegram import (
    InlineQueryResultArticle,
    InlineQueryResultsButton,
    InputTextMessageContent,
    LinkPreviewOptions,
    Update,
)
from telegram.constants import ParseMode

from bot.answer import Answer, AnswerBuilder, Excerpt
from bot.bank import BankEntry
from bot.lang import Lang
from bot.messages import message
from bot.privacy import contains_social_security_number
from bot.render import source_line
from bot.render_html import render_excerpt_alone_html
from bot.telegram.citizens import user_lang
from bot.telegram.state import BotContext, EntryResults, InlineResults

INLINE_RESULTS = 5
# How long Telegram may give the same results to anyone typing the same query.
CACHE_SECONDS = 300
# A title longer than this is cut at a word, as the result lists show one line of it.
TITLE_CHARS = 64


async def inline_query(update: Update, context: BotContext) -> None:
    """Answer an inline query from the cache, or compute its results off the event loop."""
    query = update.inline_query
    assert query is not None  # an InlineQueryHandler's update
    text, lang = " ".join(query.query.split()), user_lang(update)
    cache = context.state.inline_results  # the served index's: a new index starts a new one
    results = cache.get((text, lang))
    if results is None:
        results = await asyncio.to_thread(inline_results, context.state.answers, text, lang,
                                          cache.entries)
        cache.keep((text, lang), results)
    await query.answer(results, cache_time=CACHE_SECONDS, is_personal=False,
                       button=personal_data_button(text, lang))


def personal_data_button(text: str, lang: Lang) -> InlineQueryResultsButton | None:
    """Above the results, for a query that looks like it holds a social security number: the
    warning, for the user alone (a result is sent into a group: it never carries it). The
    button opens the bot's private chat."""
    if not contains_social_security_number(text):
        return None
    return InlineQueryResultsButton(message("inline_personal_data", lang),
                                    start_parameter="privacy")


def inline_results(answers: AnswerBuilder, text: str, lang: Lang,
                   entry_results: EntryResults) -> InlineResults:
    """An answered question's excerpts; else the bank questions the answer suggests, or the
    catalogue's first ones (an empty query, a greeting, a question too long), each result
    taken from `entry_results` once made."""
    answer = answers.answer(text) if text else None
    if answer is not None and answer.answered:
        return excerpt_results(in_language(answer, lang, answers))
    labels = ((answer.suggestions if answer is not None else ())
              or answers.catalogue.examples(lang, INLINE_RESULTS))
    entries = [answers.catalogue.questions[n] for n in map(answers.catalogue.position, labels)
               if n is not None]
    for entry in entries:
        if (entry.id, lang) not in entry_results:
            entry_results[entry.id, lang] = entry_result(answers, entry, lang)
    return tuple(result for entry in entries
                 if (result := entry_results[entry.id, lang]) is not None)


def in_language(answer: Answer, lang: Lang, answers: AnswerBuilder) -> Answer:
    """The answer with the bot's own words (and the bank question answered) in `lang`, and
    without the personal-data warning, which is the user's alone (personal_data_button)."""
    entry = answers.bank_entry(answer.matched_entry) if answer.matched_entry else None
    return replace(answer, lang=lang, matched_question=entry.text(lang) if entry else None,
                   personal_data_warning=False)


def excerpt_results(answer: Answer) -> InlineResults:
    """One result per excerpt, best first: the first titled by the bank question it answers."""
    excerpts = answer.excerpts[:INLINE_RESULTS]
    titles = [answer.matched_question or short(excerpts[0].text),
              *(short(e.text) for e in excerpts[1:])]
    return tuple(article(str(n), title, answer, excerpt)
                 for n, (title, excerpt) in enumerate(zip(titles, excerpts, strict=True)))


def entry_result(answers: AnswerBuilder, entry: BankEntry,
                 lang: Lang) -> InlineQueryResultArticle | None:
    """A bank question, sending the first quote of its answer; None if it has none."""
    answer = answers.answer_entry(entry.id, lang)
    if answer is None or not answer.excerpts:
        return None
    return article(entry.id, entry.text(lang), answer, answer.excerpts[0])


def article(result_id: str, title: str, answer: Answer,
            excerpt: Excerpt) -> InlineQueryResultArticle:
    """A result: its title and the excerpt's source shown, the excerpt alone sent."""
    content = InputTextMessageContent(render_excerpt_alone_html(answer, excerpt),
                                      parse_mode=ParseMode.HTML,
                                      link_preview_options=LinkPreviewOptions(is_disabled=True))
    return InlineQueryResultArticle(result_id, title, content,
                                    description=source_line(excerpt.source, answer.lang))


def short(text: str) -> str:
    """The start of a quote as a title: whole words, up to TITLE_CHARS characters."""
    if len(text) <= TITLE_CHARS:
        return text
    return text[:TITLE_CHARS - 1].rsplit(" ", 1)[0].rstrip(" ,;:") + "…"
