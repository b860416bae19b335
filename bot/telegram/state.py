"""What the Telegram bot keeps between updates, typed through python-telegram-bot's
ContextTypes: the bot's state (settings, the index served, the store of statistics and
unhandled updates, which chats are recent) and each chat's own (the answers whose "more"
button can still be pressed, uploads and removals awaiting an admin's choice), kept for
recent chats only."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, TypeVar

from telegram import InlineQueryResultArticle, Update
from telegram.ext import CallbackContext, ContextTypes, ExtBot

from bot.answer import Answer, AnswerBuilder
from bot.config import Settings
from bot.lang import Lang
from bot.logs import ThrottledLog
from bot.store import BotStore
from bot.telegram.health import Health
from bot.telegram.limits import ArrivalLimit
from bot.telegram.metrics import Metrics

ANSWERS_KEPT_PER_CHAT = 20
UPLOADS_KEPT_PER_CHAT = 3
# The users of a chat whose last answer /share can link to: the most recent askers.
ASKERS_KEPT_PER_CHAT = 100
# The chats whose data is kept: the most recent ones (the data of a chat is at most
# ANSWERS_KEPT_PER_CHAT answers, each some kilobytes).
CHATS_KEPT = 1000
# Inline queries' results kept, by query and language: the most recently asked (each some
# kilobytes), so that a question many people type is answered once.
INLINE_RESULTS_KEPT = 2000
K = TypeVar("K")
V = TypeVar("V")


class BotState:
    """The bot's shared state (python-telegram-bot's bot_data): its settings, the index being
    served, the store. `configure` gives it its settings and store when the application is
    built; post_init opens the store."""

    def __init__(self) -> None:
        self._settings: Settings | None = None
        self._store: BotStore | None = None
        self.builder: AnswerBuilder | None = None
        self.limit = ArrivalLimit()
        self._metrics: Metrics | None = None
        self.health = Health()
        self.rebuild_lock = asyncio.Lock()
        self._recent_chats: OrderedDict[int, None] = OrderedDict()
        self.inline_results = InlineResultsCache()
        # Statistics the store failed to write: one line a minute, however many answers.
        self.uncounted = ThrottledLog(logging.getLogger("bot.telegram.citizens"))

    def configure(self, settings: Settings, store: BotStore, metrics: Metrics) -> None:
        self._settings = settings
        self._store = store
        self._metrics = metrics
        self.limit = ArrivalLimit(settings.messages_per_minute, store.sender_counter)

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            raise RuntimeError("the application was not built by build_application")
        return self._settings

    @property
    def store(self) -> BotStore:
        if self._store is None:
            raise RuntimeError("the application was not built by build_application")
        return self._store

    @property
    def metrics(self) -> Metrics:
        if self._metrics is None:
            raise RuntimeError("the application was not built by build_application")
        return self._metrics

    @property
    def answers(self) -> AnswerBuilder:
        """What answers questions; post_init serves an index before any update arrives."""
        if self.builder is None:
            raise RuntimeError("no index is being served yet")
        return self.builder

    def serve(self, builder: AnswerBuilder) -> None:
        """Swap in a new index: one assignment, so a question sees the old or the new."""
        self.builder = builder
        self.inline_results = InlineResultsCache()  # the old index's results are stale
        index = builder.index
        self.metrics.index_served(len(index.documents), len(index.passages), index.built_at)

    def is_admin(self, update: Update) -> bool:
        user = update.effective_user
        return user is not None and user.id in self.settings.admin_user_ids

    def chat_seen(self, chat_id: int) -> list[int]:
        """Note a chat as the most recent; the chats no longer among the CHATS_KEPT most
        recent, whose data is to be dropped."""
        return _keep(self._recent_chats, chat_id, None, CHATS_KEPT)


InlineKey = tuple[str, Lang]
InlineResults = tuple[InlineQueryResultArticle, ...]
EntryResults = dict[InlineKey, InlineQueryResultArticle | None]  # None: no quote to send


class InlineResultsCache:
    """Inline results by (query, language), the INLINE_RESULTS_KEPT most recently used:
    a repeated query costs a lookup instead of an answer. And each bank entry's result by
    (entry id, language), as many as the bank has: declined queries offer the same few
    entries, each otherwise an answer to compute again."""

    def __init__(self) -> None:
        self._kept: OrderedDict[InlineKey, InlineResults] = OrderedDict()
        self.entries: EntryResults = {}

    def get(self, key: InlineKey) -> InlineResults | None:
        results = self._kept.get(key)
        if results is not None:
            self._kept.move_to_end(key)
        return results

    def keep(self, key: InlineKey, results: InlineResults) -> None:
        _keep(self._kept, key, results, INLINE_RESULTS_KEPT)


@dataclass(frozen=True, slots=True)
class SentAnswer:
    """An answer sent in a chat, and how many of its excerpts the message (with those its
    "more" button came from) shows: the button shows the next one."""

    answer: Answer
    shown: int


@dataclass(frozen=True, slots=True)
class PendingUpload:
    """An admin's file whose name another corpus file has, waiting for "replace or keep"."""

    name: str
    data: bytes


class ChatData:
    """One chat's state (python-telegram-bot's chat_data), each part bounded."""

    def __init__(self) -> None:
        self.answers: OrderedDict[int, SentAnswer] = OrderedDict()  # by the message's id
        self.uploads: OrderedDict[str, PendingUpload] = OrderedDict()  # by a random key
        # Documents an admin asked to remove, waiting for "remove or cancel", by a random key.
        self.removals: OrderedDict[str, str] = OrderedDict()
        # The bank entry each user's last answer here answers (None: none), by user id.
        self.last_entries: OrderedDict[int, str | None] = OrderedDict()

    def keep_answer(self, message_id: int, sent: SentAnswer) -> None:
        _keep(self.answers, message_id, sent, ANSWERS_KEPT_PER_CHAT)

    def answered(self, user_id: int, entry_id: str | None) -> None:
        """Note a user's latest answer by the bank entry it answers, for /share."""
        _keep(self.last_entries, user_id, entry_id, ASKERS_KEPT_PER_CHAT)

    def keep_upload(self, upload: PendingUpload) -> str:
        """Keep an upload for a later choice; the key names it in the buttons' data."""
        return _keep_by_new_key(self.uploads, upload, UPLOADS_KEPT_PER_CHAT)

    def keep_removal(self, name: str) -> str:
        """Keep a document's removal for its confirmation; the key names it in the buttons."""
        return _keep_by_new_key(self.removals, name, UPLOADS_KEPT_PER_CHAT)


def _keep_by_new_key(kept: OrderedDict[str, V], value: V, limit: int) -> str:
    """Keep a value under a new random key, short enough for a button's data."""
    key = secrets.token_hex(4)
    _keep(kept, key, value, limit)
    return key


def _keep(kept: OrderedDict[K, V], key: K, value: V, limit: int) -> list[K]:
    """Keep a value as the newest, and only the `limit` newest: the keys let go."""
    kept[key] = value
    kept.move_to_end(key)
    return [kept.popitem(last=False)[0] for _ in range(len(kept) - limit)]


# The bot the application builds: an ExtBot with a rate limiter (AIORateLimiter's per-call
# argument is an int, its max_retries).
Bot = ExtBot[int]


class BotContext(CallbackContext[Bot, dict[Any, Any], ChatData, BotState]):
    """The context handlers get: `state` for the bot's, `chat` for the chat's (None for
    updates that belong to no chat). User data is not used: it stays a plain dict."""

    @property
    def state(self) -> BotState:
        return self.bot_data

    @property
    def chat(self) -> ChatData | None:
        return self.chat_data


CONTEXT_TYPES = ContextTypes(context=BotContext, chat_data=ChatData, bot_data=BotState)
