"""python-telegram-bot's plumbing, configured for this bot: rate limits with retries, updates
of different chats handled concurrently and those of one chat in order, the builder."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from telegram import Update
from telegram._utils.types import JSONDict
from telegram.error import BadRequest, NetworkError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    BaseUpdateProcessor,
    ContextTypes,
    JobQueue,
)

from bot.config import Settings
from bot.telegram.state import CONTEXT_TYPES, Bot, BotContext, BotState, ChatData

# The application and its builder, as typed by python-telegram-bot's generics: the bot, the
# context, user, chat and bot data, and the job queue (typed with the default context: the
# builder's context_types does not retype it; this bot schedules no jobs).
BotJobQueue = JobQueue[ContextTypes.DEFAULT_TYPE]
BotApplication = Application[Bot, BotContext, dict[Any, Any], ChatData, BotState, BotJobQueue]
BotApplicationBuilder = ApplicationBuilder[
    Bot, BotContext, dict[Any, Any], ChatData, BotState, BotJobQueue]

log = logging.getLogger(__name__)

NETWORK_RETRIES = 3
CONCURRENT_UPDATES = 64


class RetryingRateLimiter(AIORateLimiter):
    """AIORateLimiter, which retries a 429 after its retry_after, also retrying network
    errors and bad gateways (a bare 502 is a NetworkError) a few times with a backoff, so a
    reply is delayed rather than lost."""

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | JSONDict | list[JSONDict]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | JSONDict | list[JSONDict]:
        request = (callback, args, kwargs, endpoint, data, rate_limit_args)
        for attempt in range(NETWORK_RETRIES):
            try:
                return await super().process_request(*request)
            except NetworkError as error:  # TimedOut too; BadRequest is the caller's mistake
                if isinstance(error, BadRequest):
                    raise
                log.warning("%s failed (%s); retry %d", endpoint, type(error).__name__,
                            attempt + 1)
                await asyncio.sleep(0.5 * 2**attempt)
        return await super().process_request(*request)


class ChatOrderedUpdateProcessor(BaseUpdateProcessor):
    """Updates of different chats are handled concurrently, those of one chat one after the
    other, in the order they came: a user's answers never overtake each other, and a slow
    reply (a retry after a bad gateway) holds up that chat only."""

    def __init__(self, max_concurrent_updates: int) -> None:
        super().__init__(max_concurrent_updates)
        self._chats: dict[int, tuple[asyncio.Lock, int]] = {}  # lock, updates holding it

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        chat = update.effective_chat if isinstance(update, Update) else None
        if chat is None:
            await coroutine
            return
        lock, users = self._chats.get(chat.id, (asyncio.Lock(), 0))
        self._chats[chat.id] = (lock, users + 1)
        try:
            async with lock:  # asyncio.Lock lets its waiters in first come, first served
                await coroutine
        finally:
            lock, users = self._chats[chat.id]
            if users == 1:
                del self._chats[chat.id]
            else:
                self._chats[chat.id] = (lock, users - 1)

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""


def application_builder(settings: Settings) -> BotApplicationBuilder:
    """python-telegram-bot configured for this bot: its token and Bot API server, the rate
    limits with retries, updates of different chats handled concurrently, typed context."""
    assert settings.telegram_bot_token is not None
    return (
        ApplicationBuilder()
        .token(settings.telegram_bot_token.get_secret_value())
        .base_url(str(settings.telegram_api_url))
        .base_file_url(file_url(str(settings.telegram_api_url)))
        .read_timeout(settings.telegram_read_timeout)
        .rate_limiter(RetryingRateLimiter(
            overall_max_rate=settings.telegram_messages_per_second, max_retries=3))
        .concurrent_updates(ChatOrderedUpdateProcessor(CONCURRENT_UPDATES))
        .context_types(CONTEXT_TYPES)
    )


def file_url(api_url: str) -> str:
    """The file download URL that goes with a Bot API URL: ".../bot" -> ".../file/bot"."""
    base, _, last = api_url.rstrip("/").rpartition("/")
    return f"{base}/file/{last}"
