"""The durable inbox, on python-telegram-bot's side. Long polling and the webhook both put
each update into the application's update queue before Telegram is told it arrived (the next
getUpdates confirms it, the webhook answers 200), so the queue writes it to the store first.
A handler in the last group takes it out once every handler, error handler included, has run.
At start, what a stopped process left unhandled is queued before anything new."""

from __future__ import annotations

import asyncio
import json
import logging

from telegram import Update

from bot.store import Store
from bot.telegram.ptb import BotApplication
from bot.telegram.state import BotContext

log = logging.getLogger(__name__)


class InboxQueue(asyncio.Queue[object]):
    """The update queue, each update written to the inbox before it is queued. One that is
    there already, or was handled, is a copy Telegram sent again: it is not queued twice."""

    def __init__(self, store: Store) -> None:
        super().__init__()
        self._store = store

    async def put(self, item: object) -> None:
        if isinstance(item, Update):
            kept = await asyncio.to_thread(self._store.keep, item.update_id, item.to_json())
            if not kept:
                return
        await super().put(item)

    async def put_unhandled(self, application: BotApplication) -> None:
        """Queue the updates the inbox still holds (oldest first); each is tried once more,
        then given up with only its id logged."""
        unhandled = await asyncio.to_thread(self._store.take_unhandled)
        for update_id in unhandled.dropped:
            log.warning("update %d dropped: its handling was interrupted twice", update_id)
        for payload in unhandled.retried:
            await super().put(stored_update(payload, application))
        if unhandled.retried:
            log.info("%d updates left unhandled by the last run queued first",
                     len(unhandled.retried))


def stored_update(payload: str, application: BotApplication) -> Update:
    """An update from the inbox; one this python-telegram-bot cannot read (an older one wrote
    it) is made bare, its id kept, so that only the last group's handler takes it."""
    data = json.loads(payload)
    try:
        return Update.de_json(data, application.bot)
    except Exception:  # whatever the library raises on it, the update is unreadable
        log.warning("stored update %d cannot be read any more: skipped", data["update_id"])
        return Update(data["update_id"])


async def handled(update: Update, context: BotContext) -> None:
    """Registered in the last handler group: the update has been handled (replied to, or
    apologised for), so it leaves the inbox."""
    await asyncio.to_thread(context.state.store.handled, update.update_id)
