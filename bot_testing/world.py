"""The fake Telegram world on the other side of the stand-in.

Kept in memory: the chats, the messages (the users' and the bot's) with their current version,
the files, the pending updates, the bot's commands and the callback and inline queries still
open. Message and update ids are global and increasing.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass
from typing import Any

from bot_testing.wire import JSON, ApiError, unix_now

DEFAULT_USER_ID = 1001
DEFAULT_GROUP_ID = -1002
DEFAULT_LANGUAGE = "fr"


@dataclass(frozen=True)
class Sender:
    """A user who writes to the bot or presses its buttons, with their client's language."""

    user_id: int = DEFAULT_USER_ID
    language_code: str | None = DEFAULT_LANGUAGE

    def as_user(self) -> JSON:
        """The Telegram User object, as in an update's ``from``."""
        user: JSON = {
            "id": self.user_id,
            "is_bot": False,
            "first_name": f"User{self.user_id}",
            "username": f"user{self.user_id}",
        }
        if self.language_code is not None:
            user["language_code"] = self.language_code
        return user


DEFAULT_SENDER = Sender()


class World:
    """The state of the fake Telegram, and the primitives that change it."""

    def __init__(self, bot_id: int, bot_username: str, bot_first_name: str) -> None:
        self._bot_from: JSON = {
            "id": bot_id,
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
        }
        self.bot_user: JSON = self._bot_from | {
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }
        """The bot as getMe describes it."""
        self._updates: list[JSON] = []
        self._messages: dict[tuple[int, int], JSON] = {}
        self._chats: dict[int, JSON] = {}
        self._files: dict[str, JSON] = {}
        self._file_data: dict[str, bytes] = {}
        self._commands: dict[tuple[str, str], list[JSON]] = {}
        self._open_callback_queries: set[str] = set()
        self._open_inline_queries: set[str] = set()
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1)
        self._file_numbers = itertools.count(1)
        self._callback_ids = itertools.count(4_000_000_001)
        self._inline_ids = itertools.count(5_000_000_001)
        self._changed = asyncio.Event()
        self._closing = False

    def _notify(self) -> None:
        """Wake up everything waiting for a change (getUpdates, wait_for)."""
        self._changed.set()
        self._changed = asyncio.Event()

    def _push_update(self, kind: str, payload: JSON) -> None:
        self._updates.append({"update_id": next(self._update_ids), kind: payload})
        self._notify()

    def _chat(self, chat_id: Any) -> JSON:
        """A chat known from the updates, or made up for a numeric id (groups are negative)."""
        if chat_id in self._chats:
            return self._chats[chat_id]
        if not isinstance(chat_id, int):
            raise ApiError(400, "Bad Request: chat not found")
        if chat_id < 0:
            chat = {"id": chat_id, "type": "group", "title": f"Group {-chat_id}"}
        else:
            user = Sender(chat_id).as_user()
            chat = {"id": chat_id, "type": "private"}
            chat |= {key: user[key] for key in ("first_name", "username")}
        return self._chats.setdefault(chat_id, chat)

    def _new_message(self, author: JSON, chat: JSON, content: JSON) -> JSON:
        """A message with the next id, from ``author`` in ``chat``, dated now."""
        return {
            "message_id": next(self._message_ids),
            "from": author,
            "chat": chat,
            "date": unix_now(),
            **content,
        }

    def _push_message(self, content: JSON, sender: Sender, chat_id: int | None) -> JSON:
        """A message from ``sender`` in their private chat, or in the group ``chat_id``."""
        if chat_id is not None and chat_id >= 0:
            raise ValueError("a group chat_id must be negative; omit it for the private chat")
        chat = self._chat(sender.user_id if chat_id is None else chat_id)
        message = self._new_message(sender.as_user(), chat, content)
        self._store(message)
        self._push_update("message", message)
        return message

    def _store(self, message: JSON) -> None:
        self._messages[(message["chat"]["id"], message["message_id"])] = message

    def _current(self, message: JSON) -> JSON:
        """The current version of a message the stub knows (for the push helpers)."""
        key = (message["chat"]["id"], message["message_id"])
        if key not in self._messages:
            raise ValueError(f"unknown message (chat_id, message_id) = {key}")
        return self._messages[key]

    def _message(self, chat_id: Any, message_id: Any, missing: str) -> JSON:
        """A stored message, as looked up by an API call."""
        try:
            return self._messages[(chat_id, message_id)]
        except KeyError:
            raise ApiError(400, f"Bad Request: {missing}") from None

    def _add_file(self, data: bytes, folder: str, suffix: str) -> JSON:
        """Store a file for getFile and downloads; return its file_id/file_unique_id/size."""
        number = next(self._file_numbers)
        meta = {
            "file_id": f"stub-{folder}-{number}",
            "file_unique_id": f"stub-uniq-{number}",
            "file_size": len(data),
        }
        path = f"{folder}/file_{number}{suffix}"
        self._files[meta["file_id"]] = meta | {"file_path": path}
        self._file_data[path] = data
        return meta
