"""Questions the documents answer, offered when the bot declines or hedges one, and on /start.

The catalogue is the question bank (bot/bank.py): its labels are the suggestions. The ones
nearest to a user's question are those the intent classifier finds most likely, so a declined
question costs no second embedding.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bot.bank import BankEntry
from bot.lang import Lang


class Catalogue:
    """The bank's entries as suggestions, and which of them come nearest to a question."""

    def __init__(self, entries: Sequence[BankEntry]) -> None:
        self.questions = tuple(entries)
        self._positions = {q.text(lang): n for n, q in enumerate(self.questions)
                           for lang in ("fr", "en")}

    def __len__(self) -> int:
        return len(self.questions)

    def nearest(self, intents: np.ndarray | None, lang: Lang,
                limit: int = 3) -> tuple[str, ...]:
        """The `limit` entries the intent probabilities rank first (the catalogue's first
        ones without probabilities), in `lang`."""
        if intents is None or len(intents) != len(self.questions):
            order = list(range(len(self.questions)))
        else:
            order = np.argsort(-intents, kind="stable").tolist()
        return tuple(self.questions[n].text(lang) for n in order[:limit])

    def examples(self, lang: Lang, limit: int = 4) -> tuple[str, ...]:
        """The first `limit` questions, in `lang`: the ones offered on /start and /help."""
        return tuple(q.text(lang) for q in self.questions[:limit])

    def position(self, text: str) -> int | None:
        """Where a question, in either language, stands in the catalogue; None if absent."""
        return self._positions.get(text)
