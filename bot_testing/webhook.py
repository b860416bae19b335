"""Webhook delivery, as Telegram does it: once setWebhook names a URL, each update is posted
there (with the secret header, if one was given) until answered 200, the next one after;
getUpdates is refused while a webhook is set."""

from __future__ import annotations

import asyncio
import contextlib
import json

import aiohttp

from bot_testing.wire import JSON, ApiError
from bot_testing.world import World

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
RETRY_SECONDS = 0.2  # Telegram waits longer; a test has no time to lose


class WebhookDelivery(World):
    """The webhook set by the bot, and the task posting updates to it."""

    def _init_webhook(self) -> None:
        self.webhook_url: str | None = None
        self.webhook_secret: str | None = None
        self.deliveries: list[tuple[int, int]] = []
        """(update id, HTTP status) of every post to the webhook, failed ones included."""
        self._delivery: asyncio.Task[None] | None = None

    async def _set_webhook(self, params: JSON) -> bool:
        url = params.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ApiError(400, "Bad Request: bad webhook: an HTTPS URL must be provided")
        self.webhook_url, self.webhook_secret = url, params.get("secret_token")
        if self._delivery is None:
            self._delivery = asyncio.create_task(self._deliver())
        self._notify()
        return True

    async def _get_webhook_info(self, _params: JSON) -> JSON:
        """The webhook set (an empty URL for none) and how many updates wait for it."""
        return {"url": self.webhook_url or "", "has_custom_certificate": False,
                "pending_update_count": len(self._updates)}

    async def _drop_webhook(self) -> None:
        self.webhook_url = None
        if self._delivery is not None:
            self._delivery.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._delivery
            self._delivery = None

    def _refuse_polling_while_webhook_set(self) -> None:
        if self.webhook_url is not None:
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is "
                                "active; use deleteWebhook to delete the webhook first")

    async def _deliver(self) -> None:
        async with aiohttp.ClientSession() as session:
            while not self._closing:
                if not self._updates or self.webhook_url is None:
                    await self._changed.wait()
                    continue
                update = self._updates[0]
                status = await self._post(session, update)
                self.deliveries.append((update["update_id"], status))
                if status == 200:
                    self._updates.remove(update)
                    self._notify()
                else:
                    await asyncio.sleep(RETRY_SECONDS)

    async def _post(self, session: aiohttp.ClientSession, update: JSON) -> int:
        assert self.webhook_url is not None
        headers = {"Content-Type": "application/json"}
        if self.webhook_secret:
            headers[SECRET_HEADER] = self.webhook_secret
        try:
            async with session.post(self.webhook_url, data=json.dumps(update),
                                    headers=headers) as answer:
                return answer.status
        except aiohttp.ClientError:
            return 0  # no answer: the bot is not listening (yet)
