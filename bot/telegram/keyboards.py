"""The buttons under the bot's messages, and what a pressed button's data names.

Callback data is limited to 64 bytes, so buttons name things by short keys: "more",
"vote:up", "ask:<place in the catalogue>:<language>", "upload:<choice>:<key>",
"remove:<choice>:<key>". A link to one answer names its bank entry:
t.me/<bot>?start=<entry id> (a /start payload allows 64 of A-Za-z0-9_-, which bank ids
are: bot/bank.py).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import quote, urlencode, urlsplit

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.answer import Answer, Link
from bot.lang import Lang
from bot.messages import message
from bot.suggestions import Catalogue

SUGGESTION_DATA = re.compile(r"ask:(\d{1,4}):(fr|en)")
UPLOAD_CHOICES = ("replace", "keep", "cancel")
REMOVAL_CHOICES = ("confirm", "cancel")

Rows = list[list[InlineKeyboardButton]]


def answer_keyboard(answer: Answer, catalogue: Catalogue,
                    bot_username: str) -> InlineKeyboardMarkup | None:
    """Buttons under a reply, in the fewest rows so that it fits one phone screen: an
    answer's links and "more" (a hedged answer's closest passages), the questions suggested
    instead, then "share" if it answers a bank entry beside 👍/👎."""
    rows = suggestion_rows(answer.suggestions, answer.lang, catalogue)
    if answer.answered:
        rows = [*link_rows(answer.links, answer.lang), *more_rows(answer, len(answer.shown)),
                *rows,
                vote_row(answer, bot_username)]
    return InlineKeyboardMarkup(rows) if rows else None


def more_rows(answer: Answer, shown: int) -> Rows:
    """"More" while excerpts remain after the first `shown`; for a hedged answer, "closest
    passages"."""
    left = len(answer.excerpts) - shown
    key = "more_button" if answer.confident else "closest_button"
    return [[InlineKeyboardButton(message(key, answer.lang, count=left),
                                  callback_data="more")]] if left > 0 else []


def vote_row(answer: Answer, bot_username: str) -> list[InlineKeyboardButton]:
    row = [InlineKeyboardButton("👍", callback_data="vote:up"),
           InlineKeyboardButton("👎", callback_data="vote:down")]
    if answer.matched_entry and answer.matched_question:
        row.insert(0, share_button(bot_username, answer.matched_entry, answer.matched_question,
                                   answer.lang))
    return row


def page_keyboard(answer: Answer, number: int) -> InlineKeyboardMarkup | None:
    """Under the answer's excerpt `number` (from 1), sent by "more": its links, and "more"
    while others remain."""
    excerpt = answer.excerpts[number - 1]
    rows = link_rows(excerpt.links, answer.lang) + more_rows(answer, number)
    return InlineKeyboardMarkup(rows) if rows else None


def link_rows(links: Sequence[Link], lang: Lang) -> Rows:
    """A button a web address (three at most), labelled with its site."""
    return [[InlineKeyboardButton(message("open_link", lang, host=urlsplit(link.url).netloc),
                                  url=link.url)] for link in links[:3]]


def deep_link(bot_username: str, entry_id: str) -> str:
    """The link that opens a chat with the bot on one bank entry's answer."""
    return f"https://t.me/{bot_username}?start={entry_id}"


def share_button(bot_username: str, entry_id: str, label: str, lang: Lang) -> InlineKeyboardButton:
    """Opens Telegram's "send to a chat" screen with the link to an entry's answer and its
    question, so that one answer can be passed on (to a family group, an association)."""
    shared = urlencode({"url": deep_link(bot_username, entry_id), "text": label}, quote_via=quote)
    return InlineKeyboardButton(message("share_button", lang),
                                url=f"https://t.me/share/url?{shared}")


def suggestion_rows(texts: Sequence[str], lang: Lang, catalogue: Catalogue) -> Rows:
    """One button a question, labelled with it, that asks it when tapped; it names the
    question by its place in the catalogue, so a text not in the catalogue gets no button."""
    return [[InlineKeyboardButton(text, callback_data=f"ask:{position}:{lang}")]
            for text in texts if (position := catalogue.position(text)) is not None]


def suggestion_keyboard(texts: Sequence[str], lang: Lang,
                        catalogue: Catalogue) -> InlineKeyboardMarkup | None:
    rows = suggestion_rows(texts, lang, catalogue)
    return InlineKeyboardMarkup(rows) if rows else None


def suggested_question(data: str, catalogue: Catalogue) -> str | None:
    """The catalogue question a suggestion button asks; None if it is not (or no longer) in
    the catalogue."""
    match = SUGGESTION_DATA.fullmatch(data)
    if match is None or int(match[1]) >= len(catalogue):
        return None
    lang: Lang = "en" if match[2] == "en" else "fr"
    return catalogue.questions[int(match[1])].text(lang)


def upload_keyboard(key: str, lang: Lang) -> InlineKeyboardMarkup:
    """Replace the corpus file of the same name, keep both, or cancel."""
    return choice_keyboard("upload", UPLOAD_CHOICES, key, lang)


def removal_keyboard(key: str, lang: Lang) -> InlineKeyboardMarkup:
    """Remove the document from the corpus, or cancel."""
    return choice_keyboard("remove", REMOVAL_CHOICES, key, lang)


def choice_keyboard(action: str, choices: Sequence[str], key: str,
                    lang: Lang) -> InlineKeyboardMarkup:
    """One button a choice about the pending `action` named by `key`: "<action>:<choice>:<key>"."""
    return InlineKeyboardMarkup([[
        InlineKeyboardButton(message(f"{action}_{choice}_button", lang),
                             callback_data=f"{action}:{choice}:{key}")
        for choice in choices
    ]])
