"""python-telegram-bot's plumbing, configured for this bot: rate limits with retries, updates
of different chats handled concurrently and those of one chat in order, the builder."""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import httpx
from telegram import Update
from telegram._utils.types import JSONDict, ODVInput
from telegram.error import BadRequest, NetworkError, TelegramError, TimedOut
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    BaseUpdateProcessor,
    ContextTypes,
    JobQueue,
)
from telegram.request import BaseRequest, HTTPXRequest, RequestData

from bot.config import Settings
from bot.telegram.metrics import Metrics
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


class UnconfirmedRequest(NetworkError):
    """A request that left for Telegram and got no answer (a read timeout, a dropped
    connection): Telegram may have carried it out, so it is not sent again."""


def surely_not_carried_out(error: NetworkError) -> bool:
    """Whether Telegram surely did not carry out a request that failed with ``error``: no
    connection could be made (refused, timed out, or none free in the pool: python-telegram-bot
    keeps httpx's exception as the cause), so the request never left; or an answer came saying
    it failed (Telegram's error, or its front proxy's page, a 502: no cause, or the page's
    parsing error). Not when the request left and no answer came."""
    cause = error.__cause__
    if isinstance(cause, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
        return True
    return not isinstance(error, TimedOut) and (cause is None or isinstance(cause, TelegramError))


class RetryingRateLimiter(AIORateLimiter):
    """AIORateLimiter, which retries a 429 after its retry_after, also retrying a few times with
    a backoff the requests Telegram surely did not carry out (no connection; an error answer
    such as a bad gateway), so a reply is delayed rather than lost. A send that got no answer
    may have arrived: it is not sent again, so that nobody gets a reply twice, and the log
    counts these."""

    def __init__(self, *args: Any, metrics: Metrics | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.unconfirmed = 0
        self.metrics = metrics or Metrics()

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
        if endpoint.startswith("get"):  # getUpdates, getMe, getFile…: reads, not counted
            return await self._retried(request)
        attempts = 0

        async def attempt(*call_args: Any, **call_kwargs: Any) -> bool | JSONDict | list[JSONDict]:
            nonlocal attempts
            attempts += 1  # this one's retries and AIORateLimiter's (a 429) alike
            return await callback(*call_args, **call_kwargs)

        try:
            result = await self._retried((attempt, *request[1:]))
        except Exception as error:
            self.metrics.sends.labels(
                "ambiguous" if isinstance(error, UnconfirmedRequest) else "failed").inc()
            raise
        self.metrics.sends.labels("ok" if attempts == 1 else "retried").inc()
        return result

    async def _retried(self, request: tuple[Any, ...]) -> bool | JSONDict | list[JSONDict]:
        """process_request's arguments, carried out with the retries described above."""
        endpoint = request[3]
        attempt = 0
        while True:
            try:
                return await super().process_request(*request)
            except NetworkError as error:  # TimedOut too; BadRequest is the caller's mistake
                if isinstance(error, BadRequest):
                    raise
                # getMe, getFile…: asking again changes nothing on Telegram's side.
                if not surely_not_carried_out(error) and not endpoint.startswith("get"):
                    self.unconfirmed += 1
                    cause = type(error.__cause__ or error).__name__
                    log.warning("%s got no answer (%s); it may have reached Telegram: not sent "
                                "again (%d so far)", endpoint, cause, self.unconfirmed)
                    raise UnconfirmedRequest(f"{endpoint} got no answer") from error
                if attempt == NETWORK_RETRIES:
                    raise
                log.warning("%s failed (%s); retry %d", endpoint, type(error).__name__,
                            attempt + 1)
                await asyncio.sleep(0.5 * 2**attempt)
                attempt += 1


class FairUpdateProcessor(BaseUpdateProcessor):
    """Updates of different chats are handled concurrently, at most `slots` at a time, those
    of one chat one after the other, in the order they came: a user's answers never overtake
    each other, and a slow reply holds up that chat only. When a slot frees, it goes to the
    waiting chat that was served least since it last had nothing waiting (then to the one
    waiting longest): a newcomer goes before the chats of a flood, which take turns.

    python-telegram-bot holds one of its shared slots (max_concurrent_updates) for the whole of
    do_process_update; its own are made too many to count, and the slots are given here."""

    def __init__(self, slots: int) -> None:
        super().__init__(2**30)
        self.slots = slots
        self._free = slots
        self._waiting: dict[int | None, deque[asyncio.Future[None]]] = {}  # by chat
        self._served: dict[int | None, int] = {}  # chats waiting or running: updates handled
        self._running: set[int | None] = set()

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        chat = update.effective_chat if isinstance(update, Update) else None
        key = chat.id if chat is not None else None  # updates of no chat wait together
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(key, deque()).append(turn)
        self._served.setdefault(key, 0)
        self._give_slots()
        try:
            await turn
        except asyncio.CancelledError:  # only when the event loop is closed
            if turn.done() and not turn.cancelled():  # given a slot as it was cancelled
                self._release(key)
            else:
                self._withdraw(key, turn)
            if isinstance(coroutine, Coroutine):
                coroutine.close()
            raise
        try:
            await _handle(coroutine)
        finally:
            self._release(key)

    def _release(self, key: int | None) -> None:
        """A chat's update is done: its slot goes to the next."""
        self._running.discard(key)
        self._served[key] += 1
        if key not in self._waiting:
            del self._served[key]
        self._free += 1
        self._give_slots()

    def _withdraw(self, key: int | None, turn: asyncio.Future[None]) -> None:
        waiting = self._waiting.get(key, deque())
        if turn in waiting:
            waiting.remove(turn)
        if not waiting:
            self._waiting.pop(key, None)
            if key not in self._running:
                self._served.pop(key, None)

    def _give_slots(self) -> None:
        """Let the next updates run while slots are free: of the chats waiting and not
        running, the least served first."""
        while self._free and (ready := [k for k in self._waiting if k not in self._running]):
            key = min(ready, key=lambda k: self._served[k])  # dicts keep arrival order: ties
            waiting = self._waiting[key]
            turn = waiting.popleft()
            if not waiting:
                del self._waiting[key]
            self._running.add(key)
            self._free -= 1
            turn.set_result(None)

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release: Application.stop has waited for every update to be handled."""


async def _handle(update_coroutine: Awaitable[Any]) -> None:
    """Run Application.process_update for one update of a chat; the next ones run anyway."""
    try:
        await update_coroutine
    except Exception:  # not a handler's: those go to the error handler within process_update
        log.exception("an update could not be handled")


class ReadableUpdatesRequest(HTTPXRequest):
    """The request that polls for updates, handing python-telegram-bot only updates it can
    read. One it cannot (a poll from a Bot API server older than the library, missing fields
    the library requires) would make every poll fail on the same update, hundreds of times a
    second: it is replaced by a bare update of the same id, which no handler takes, so it is
    confirmed and skipped. Only its id is logged. Each poll answered is told to `polled` (the
    readiness check: a poller that stalls turns /readyz red)."""

    def __init__(self, *args: Any, polled: Callable[[], None] = lambda: None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.polled = polled

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        code, payload = await super().do_request(url, method, request_data, read_timeout,
                                                 write_timeout, connect_timeout, pool_timeout)
        if code != 200:
            return code, payload
        self.polled()
        return code, readable_updates(payload)


def update_from(data: JSONDict, bot: Bot | None, source: str) -> Update:
    """The update of `data` (which has an int update_id); one python-telegram-bot cannot read
    is made bare, its id kept, so that only the last group's handler takes it. Only its id
    is logged."""
    try:
        return Update.de_json(data, bot)
    except Exception:  # whatever the library raises on it, the update is unreadable
        log.warning("%s %d cannot be read by python-telegram-bot: skipped", source,
                    data["update_id"])
        return Update(data["update_id"])


def readable_updates(payload: bytes) -> bytes:
    """A getUpdates answer with each update python-telegram-bot cannot read made bare."""
    try:
        answer = json.loads(payload)
        updates, probes = answer["result"], json.loads(payload)["result"]
    except (ValueError, KeyError, TypeError):
        return payload  # not an answer with updates: python-telegram-bot reports it
    if not isinstance(updates, list):
        return payload
    readable = []
    for update, probe in zip(updates, probes, strict=True):
        try:
            Update.de_json(probe, None)
            readable.append(update)
        except Exception:  # whatever the library raises on it, the update is unreadable
            update_id = update.get("update_id") if isinstance(update, dict) else None
            log.warning("update %s cannot be read by python-telegram-bot: skipped", update_id)
            if isinstance(update_id, int):
                readable.append({"update_id": update_id})
    return payload if readable == updates else json.dumps({**answer, "result": readable}).encode()


def application_builder(settings: Settings, metrics: Metrics | None = None,
                        polled: Callable[[], None] = lambda: None) -> BotApplicationBuilder:
    """python-telegram-bot configured for this bot: its token and Bot API server, the rate
    limits with retries (sends counted in `metrics`), updates of different chats handled
    concurrently, typed context; each poll answered is told to `polled`."""
    assert settings.telegram_bot_token is not None
    return (
        ApplicationBuilder()
        .token(settings.telegram_bot_token.get_secret_value())
        .base_url(str(settings.telegram_api_url))
        .base_file_url(file_url(str(settings.telegram_api_url)))
        # The read timeout, long enough that a slow success is not taken for a failure (sends
        # answered in 6 s were seen): a send whose answer times out is not sent again (it may
        # have arrived), and waiting longer only holds up that chat. Every request but
        # getUpdates (its own request, long polling) has it. Given as a request rather than the
        # builder's read_timeout, which would make the builder refuse any other request put in
        # its place. Writing a request keeps python-telegram-bot's 5 s (20 s for files).
        .request(HTTPXRequest(read_timeout=settings.telegram_read_timeout))
        .rate_limiter(RetryingRateLimiter(
            overall_max_rate=settings.telegram_messages_per_second, max_retries=3,
            metrics=metrics))
        .concurrent_updates(FairUpdateProcessor(CONCURRENT_UPDATES))
        .get_updates_request(ReadableUpdatesRequest(connection_pool_size=1, polled=polled))
        .context_types(CONTEXT_TYPES)
    )


def file_url(api_url: str) -> str:
    """The file download URL that goes with a Bot API URL: ".../bot" -> ".../file/bot"."""
    base, _, last = api_url.rstrip("/").rpartition("/")
    return f"{base}/file/{last}"
