"""How fast one sender may write to the bot: past a few messages in a minute, one polite
word, and the rest of that minute's messages are not answered.

The limit is applied as updates arrive, not when they are handled: a flood then never piles up
in the queue ahead of other people (300 users sending 15 questions each made a newcomer wait
150 s), and what is not answered is never written to disk. Every update the bot would reply
to counts (questions, commands, stickers, button presses, inline queries), and it counts
against who sent it: the user, or, for a channel's posts and a group's anonymous admins, who
all share one user id, the chat.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from telegram import Chat, Update
from telegram.constants import ChatType

from bot.config import MESSAGES_PER_MINUTE
from bot.logs import ThrottledLog
from bot.store import SenderCounter
from bot.stores import STORE_ERRORS
from bot.telegram.addressing import addressed_text

log = logging.getLogger(__name__)

# MESSAGES_PER_MINUTE (bot.config, the default of the setting of that name): a person reads an
# answer before writing again: twenty replies a minute (questions, taps on
# buttons, commands) is more than anyone reads, while a script or a paste of many lines is past
# it at once. Each question costs some 35 ms of the one core that embeds questions for
# everybody (about 30 a second in all), so one sender keeps to a small share of it. The
# slow_down message says "a minute": keep it in step with WINDOW_SECONDS.
WINDOW_SECONDS = 60.0
# The user ids Telegram gives messages with no person behind them: a group's anonymous admins
# (GroupAnonymousBot) and a linked channel's posts (Channel_Bot).
SHARED_USER_IDS = frozenset({1087968824, 136817688})

Admission = Literal["answer", "slow_down", "ignore"]


@dataclass(slots=True)
class _Window:
    start: float
    messages: int = 0


class SenderRateLimit:
    """Each sender's messages, counted in windows of WINDOW_SECONDS from their first one: the
    first `per_window` are answered, the next one gets the slow_down message, the others
    none. In memory; a window is forgotten once it is over."""

    def __init__(self, per_window: int = MESSAGES_PER_MINUTE,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.per_window = per_window
        self._clock = clock
        self._windows: OrderedDict[int, _Window] = OrderedDict()  # oldest window first

    def admit(self, sender: int) -> Admission:
        """What to do with a message the sender writes now."""
        now = self._clock()
        while self._windows:  # forget the windows that are over
            oldest, window = next(iter(self._windows.items()))
            if now - window.start < WINDOW_SECONDS:
                break
            del self._windows[oldest]
        window = self._windows.setdefault(sender, _Window(now))
        window.messages += 1
        return admission(window.messages, self.per_window)

    def __len__(self) -> int:
        """How many senders have a window open."""
        return len(self._windows)


def admission(messages: int, per_window: int) -> Admission:
    """What to do with the `messages`-th message of a sender's window: the first `per_window`
    are answered, the next one gets the slow_down message, the others none."""
    if messages <= per_window:
        return "answer"
    return "slow_down" if messages == per_window + 1 else "ignore"


def limited_sender(update: Update) -> int | None:
    """Who an update counts against: its user, or its chat when no one person sent it (a
    channel post, an anonymous admin); None for an update of no chat and no user."""
    sender = update.effective_sender
    if isinstance(sender, Chat):
        return sender.id
    if sender is not None and sender.id not in SHARED_USER_IDS:
        return sender.id
    chat = update.effective_chat
    return chat.id if chat is not None else None


def gets_reply(update: Update, username: str, bot_id: int) -> bool:
    """Whether the bot would reply to the update: a button press, an inline query, anything
    in a private chat, a command or a text addressed to the bot elsewhere."""
    if update.callback_query is not None or update.inline_query is not None:
        return True
    message = update.effective_message
    if message is None:
        return False
    if message.chat.type == ChatType.PRIVATE:
        return True
    command = (message.text or "").split(maxsplit=1)[0] if message.text else ""
    if command.startswith("/"):  # "/help" is for every bot of the group, "/help@other" not
        return "@" not in command or command.lower().endswith(f"@{username.lower()}")
    return addressed_text(message, username, bot_id) is not None


class ArrivalLimit:
    """The limit as updates arrive: which to answer, which get the slow_down message (kept
    here by id until handled), which to drop. Counted in `shared` when several processes
    answer (a store they share), else in memory."""

    def __init__(self, per_window: int = MESSAGES_PER_MINUTE,
                 shared: SenderCounter | None = None) -> None:
        self.senders = SenderRateLimit(per_window)
        self._shared = shared
        self._shared_failures = ThrottledLog(log)
        self._slowed: set[int] = set()

    async def admit(self, update: Update, username: str, bot_id: int) -> Admission:
        sender = limited_sender(update)
        if sender is None or not gets_reply(update, username, bot_id):
            return "answer"
        said = await self._counted(sender)
        if said == "slow_down":
            self._slowed.add(update.update_id)
        return said

    async def _counted(self, sender: int) -> Admission:
        """The sender's message counted for every process; in this one's memory while the
        shared store fails (a try would wait for it), each process then limiting alone."""
        shared = self._shared
        if shared is not None and shared.failing_since is None:
            try:
                messages = await asyncio.to_thread(shared.count_message, sender, WINDOW_SECONDS)
                return admission(messages, self.senders.per_window)
            except STORE_ERRORS as error:
                self._shared_failures.warning(
                    "the per-sender limit is counted by this process alone: the store "
                    "failed (%s: %s)", type(error).__name__, error)
        return self.senders.admit(sender)

    def slowed_down(self, update: Update) -> bool:
        """Whether the update is the one that gets the slow_down message (once)."""
        if update.update_id not in self._slowed:
            return False
        self._slowed.discard(update.update_id)
        return True
