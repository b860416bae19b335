"""Questions the documents answer, offered when the bot declines one and on /start.

The catalogue is written by hand from the documents (corpus/questions.toml), each question in
French and in English. When a question is declined, the catalogue questions nearest to it are
suggested: by meaning with sentence embeddings when a model is loaded, else by shared words.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import numpy as np

from bot.analysis import default_analyzer
from bot.embeddings import Embedder
from bot.lang import Lang

CATALOGUE_FILE = "questions.toml"


@dataclass(frozen=True, slots=True)
class CatalogueQuestion:
    """One question of the catalogue, in both languages."""

    fr: str
    en: str

    def text(self, lang: Lang) -> str:
        return self.fr if lang == "fr" else self.en


def read_catalogue(path: Path) -> tuple[CatalogueQuestion, ...]:
    """The questions of a catalogue file, in its order; none if there is no such file.
    Raises ValueError, naming the file, when it is not a well-formed catalogue."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return ()
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{path}: not a readable TOML question catalogue ({error})") from error
    entries = data.get("question", [])
    if not isinstance(entries, list):
        raise ValueError(f"{path}: questions must be [[question]] tables")
    return tuple(_catalogue_question(path, number, entry)
                 for number, entry in enumerate(entries, 1))


def _catalogue_question(path: Path, number: int, entry: object) -> CatalogueQuestion:
    fr, en = (entry.get(lang) if isinstance(entry, dict) else None for lang in ("fr", "en"))
    if not (isinstance(fr, str) and fr.strip() and isinstance(en, str) and en.strip()):
        raise ValueError(f'{path}: question {number} needs a non-empty "fr" and "en" text')
    return CatalogueQuestion(fr.strip(), en.strip())


class Catalogue:
    """The catalogue's questions, and which of them come nearest to a user's question."""

    def __init__(self, questions: tuple[CatalogueQuestion, ...],
                 embedder: Embedder | None = None) -> None:
        self.questions = questions
        self._embedder = embedder if questions else None
        # Each question's French then English wording (rows i and n + i), embedded by
        # warm_up() or when first needed.
        self._vectors: np.ndarray | None = None
        self._terms = [set(default_analyzer().terms(f"{q.fr} {q.en}")) for q in questions]
        self._positions = {q.text(lang): n for n, q in enumerate(questions)
                           for lang in ("fr", "en")}

    def __len__(self) -> int:
        return len(self.questions)

    def nearest(self, question: str, lang: Lang, limit: int = 3) -> tuple[str, ...]:
        """The `limit` catalogue questions closest to `question`, closest first, in `lang`.
        Ties keep the catalogue's order, so a question like none gets the first ones."""
        scores = self._scores(question)
        ranked = sorted(range(len(self.questions)), key=lambda n: -scores[n])
        return tuple(self.questions[n].text(lang) for n in ranked[:limit])

    def examples(self, lang: Lang, limit: int = 4) -> tuple[str, ...]:
        """The first `limit` questions, in `lang`: the ones offered on /start and /help."""
        return tuple(q.text(lang) for q in self.questions[:limit])

    def position(self, text: str) -> int | None:
        """Where a question, in either language, stands in the catalogue; None if absent."""
        return self._positions.get(text)

    def warm_up(self) -> None:
        """Embed the catalogue now (about a second), not on the first declined question."""
        if self._embedder is not None:
            self._embedded(self._embedder)

    def _embedded(self, embedder: Embedder) -> np.ndarray:
        if self._vectors is None:
            self._vectors = embedder.embed_queries(
                [q.fr for q in self.questions] + [q.en for q in self.questions])
        return self._vectors

    def _scores(self, question: str) -> list[float]:
        """How close each catalogue question is to `question`: the cosine similarity of the
        nearer of its two wordings, or else the share of the question's terms it holds."""
        if self._embedder is not None:
            vectors = self._embedded(self._embedder)
            similarities = vectors @ self._embedder.embed_queries([question])[0]
            n = len(self.questions)
            # numpy types tolist() as Any: of a 1-d float array it is a list of floats.
            return cast(list[float], np.maximum(similarities[:n], similarities[n:]).tolist())
        terms = set(default_analyzer().terms(question))
        return [len(terms & entry) / len(terms) if terms else 0.0 for entry in self._terms]
