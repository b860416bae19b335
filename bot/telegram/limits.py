"""How fast one user may ask questions: past a few in a minute, one polite word, and the rest
of that minute's questions are not answered."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

# A person reads an answer before asking again: ten questions in a minute is more than anyone
# reads, taps on suggestion buttons included, while a script or a paste of many lines is past
# it at once. Each question costs some 35 ms of the one core that embeds questions for
# everybody (about 30 a second in all), so one user keeps to a small share of it. The
# slow_down message says "a minute": keep it in step with WINDOW_SECONDS.
QUESTIONS_PER_WINDOW = 10
WINDOW_SECONDS = 60.0

Admission = Literal["answer", "slow_down", "ignore"]


@dataclass(slots=True)
class _Window:
    start: float
    questions: int = 0


class QuestionRateLimit:
    """Each user's questions, counted in windows of WINDOW_SECONDS from their first question:
    the first QUESTIONS_PER_WINDOW are answered, the next one gets the slow_down message, the
    others none. In memory; a window is forgotten once it is over."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._windows: OrderedDict[int, _Window] = OrderedDict()  # oldest window first

    def admit(self, user_id: int) -> Admission:
        """What to do with a question the user asks now."""
        now = self._clock()
        while self._windows:  # forget the windows that are over
            user, window = next(iter(self._windows.items()))
            if now - window.start < WINDOW_SECONDS:
                break
            del self._windows[user]
        window = self._windows.setdefault(user_id, _Window(now))
        window.questions += 1
        if window.questions <= QUESTIONS_PER_WINDOW:
            return "answer"
        return "slow_down" if window.questions == QUESTIONS_PER_WINDOW + 1 else "ignore"

    def __len__(self) -> int:
        """How many users have a window open."""
        return len(self._windows)
