"""An offline Bot API for python-telegram-bot: every request is answered in memory and
recorded, for handler tests that build updates and call ``Application.process_update``."""

from __future__ import annotations

import itertools
import json
import time
from typing import Any

from telegram.request import BaseRequest, RequestData

BOT_USER = {"id": 123456, "is_bot": True, "first_name": "Offline Bot",
            "username": "offline_test_bot"}


class OfflineRequest(BaseRequest):
    """Answers getMe with :data:`BOT_USER`, a send with the message it would make, anything
    else with ``true``; ``calls`` holds each (method, parameters)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self._message_ids = itertools.count(1)

    @property
    def read_timeout(self) -> float | None:
        return None

    async def initialize(self) -> None:
        """Nothing to open."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         *args: object, **kwargs: object) -> tuple[int, bytes]:
        endpoint = url.rsplit("/", 1)[-1]
        params = dict(request_data.parameters) if request_data else {}
        self.calls.append((endpoint, params))
        result: object = True
        if endpoint == "getMe":
            result = BOT_USER
        elif endpoint.startswith("send"):
            result = {"message_id": next(self._message_ids), "date": int(time.time()),
                      "chat": {"id": params.get("chat_id"), "type": "private"},
                      "from": BOT_USER, "text": params.get("text", "")}
        return 200, json.dumps({"ok": True, "result": result}).encode()

    def sent(self, method: str = "sendMessage") -> list[dict[str, Any]]:
        """The parameters of every call of `method`, in order."""
        return [params for endpoint, params in self.calls if endpoint == method]
