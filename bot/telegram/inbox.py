"""The durable inbox, on python-telegram-bot's side. Long polling and the webhook both put
each update into the application's update queue before Telegram is told it arrived (the next
getUpdates confirms it, the webhook answers 200), so the queue writes it to the store first.
A handler in the last group takes it out once every handler, error handler included, has run.
At start, what a stopped process left unhandled is queued before anything new.

The store may fail to write (a full disk, a lock another program holds): an update is then
retried with a backoff for a bounded time, and after that answered without the inbox, the
risk logged. The queue never raises to the poller (python-telegram-bot's polling loop ends
for good, without a word, on an error it does not know) and never waits long once the store
is known to fail; the store's health shows the failure until a write succeeds."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable

from telegram import Update

from bot.logs import ThrottledLog
from bot.store import BotStore
from bot.stores import STORE_ERRORS
from bot.telegram.limits import Admission
from bot.telegram.ptb import BotApplication, update_from
from bot.telegram.state import BotContext

log = logging.getLogger(__name__)

# How long an update waits for the store to keep it before it is answered without the inbox:
# longer than a write lock another connection holds for a few seconds (SQLite waits
# BUSY_TIMEOUT_SECONDS itself each try), short enough that polling soon goes on. While the
# store is failing, an update tries once.
STORE_WAIT_SECONDS = 15.0
FIRST_RETRY_SECONDS, LAST_RETRY_SECONDS = 0.05, 2.0
# Handled updates the store could not take out of the inbox, remembered to take out later.
UNFORGOTTEN_KEPT = 10_000
# How often a replica looks for the updates another left (killed: once its leases are over;
# stopped: at once), on a store replicas share.
TAKEOVER_SECONDS = 10.0


class InboxQueue(asyncio.Queue[object]):
    """The update queue, each update written to the inbox before it is queued. One that is
    there already, or was handled, is a copy Telegram sent again: it is not queued twice."""

    def __init__(self, store: BotStore) -> None:
        super().__init__()
        self._store = store
        # The per-sender limit, applied on arrival (build_application sets it): an update it
        # drops is neither kept nor queued.
        self.admit: Callable[[Update], Awaitable[Admission]] = answer_every_update
        self._unforgotten: dict[int, None] = {}  # handled, left in the inbox: oldest first
        self._keep_failures = ThrottledLog(log)
        self._forget_failures = ThrottledLog(log)
        self._takeover_failures = ThrottledLog(log)
        self._takeover: asyncio.Task[None] | None = None
        # Set by python-telegram-bot's stop signal, the one item that is not an Update.
        self._stopping = False

    async def put(self, item: object) -> None:
        if not isinstance(item, Update):
            self._stopping = True
        elif (await self.admit(item) == "ignore" or not await self._kept(item)
              or self._stopping):
            # One kept while the application stops is left in the inbox, for the next start
            # or another replica: queued behind the stop signal it would never be handled,
            # and the stop, which waits for the queue to empty, would wait forever.
            return
        await super().put(item)

    async def _kept(self, update: Update) -> bool:
        """Write the update to the inbox; False for a copy. If the store cannot be written
        in STORE_WAIT_SECONDS (a single try while it is known to fail), True all the same:
        the update is answered without the inbox, which a stop now would lose."""
        payload = update.to_json()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (0 if self._store.failing_since else STORE_WAIT_SECONDS)
        delay = FIRST_RETRY_SECONDS
        while True:
            try:
                return await asyncio.to_thread(self._store.keep, update.update_id, payload)
            except STORE_ERRORS as error:
                if loop.time() + delay > deadline:
                    self._keep_failures.warning(
                        "update %d answered without the inbox, which cannot be written (%s): "
                        "a stop before its answer would lose it", update.update_id,
                        _described(error))
                    return True
            await asyncio.sleep(delay)
            delay = min(delay * 2, LAST_RETRY_SECONDS)

    async def forget(self, update_id: int) -> None:
        """Take a handled update out of the inbox, then those the store failed to take out
        before; one it fails to take out waits for the next time (a restart before that would
        answer it again: logged)."""
        try:
            await asyncio.to_thread(self._store.handled, update_id)
            for earlier in list(self._unforgotten):  # others' forget() may run meanwhile
                await asyncio.to_thread(self._store.handled, earlier)
                self._unforgotten.pop(earlier, None)
        except STORE_ERRORS as error:
            self._unforgotten[update_id] = None
            while len(self._unforgotten) > UNFORGOTTEN_KEPT:
                del self._unforgotten[next(iter(self._unforgotten))]
            self._forget_failures.warning(
                "%d handled updates not yet taken out of the inbox, which cannot be written "
                "(%s): a restart now would answer them again", len(self._unforgotten),
                _described(error))

    async def put_unhandled(self, application: BotApplication) -> None:
        """Queue the updates the inbox still holds (oldest first); each is tried once more,
        then given up with only its id logged."""
        unhandled = await asyncio.to_thread(self._store.take_unhandled)
        for update_id in unhandled.dropped:
            log.warning("update %d dropped: its handling was interrupted twice", update_id)
        for payload in unhandled.retried:
            if not self._stopping:  # else left in the inbox, as in put
                await super().put(stored_update(payload, application))
        if unhandled.retried:
            log.info("%d updates left unhandled by a stopped process queued",
                     len(unhandled.retried))

    def start_taking_over(self, application: BotApplication) -> None:
        """On a store other replicas share, queue every TAKEOVER_SECONDS the updates they
        left unhandled; nothing to do where this process owns the store."""
        if self._store.shared:
            self._takeover = asyncio.create_task(self._take_over(application))

    async def stop_taking_over(self) -> None:
        if self._takeover is not None:
            self._takeover.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._takeover
            self._takeover = None

    async def _take_over(self, application: BotApplication) -> None:
        while True:
            await asyncio.sleep(TAKEOVER_SECONDS)
            try:
                await self.put_unhandled(application)
            except STORE_ERRORS as error:
                self._takeover_failures.warning(
                    "could not look for the updates other replicas left (%s)",
                    _described(error))


async def answer_every_update(_update: Update) -> Admission:
    """The admission of a queue no limit was given to."""
    return "answer"


def stored_update(payload: str, application: BotApplication) -> Update:
    """An update from the inbox (one this python-telegram-bot cannot read, as an older one
    wrote it, made bare)."""
    return update_from(json.loads(payload), application.bot, "stored update")


async def handled(update: Update, context: BotContext) -> None:
    """Registered in the last handler group: the update has been handled (replied to, or
    apologised for), so it leaves the inbox. A store that fails then is not the user's
    problem: no apology for an answer already sent."""
    queue = context.application.update_queue
    assert isinstance(queue, InboxQueue)  # build_application's
    await queue.forget(update.update_id)


def _described(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"
