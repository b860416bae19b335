"""The catalogue of questions the bot suggests when it declines one, and on /start."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from bot.answer import AnswerBuilder
from bot.corpus import corpus_files
from bot.lang import Lang
from bot.suggestions import CATALOGUE_FILE, Catalogue, CatalogueQuestion, read_catalogue
from bot.telegram.keyboards import suggested_question
from tests.conftest import CORPUS

QUESTIONS = read_catalogue(CORPUS / CATALOGUE_FILE)
# What a Telegram button shows in full, give or take.
MAX_LABEL_CHARS = 60


def test_the_catalogue_holds_short_distinct_questions_in_french_and_english() -> None:
    assert len(QUESTIONS) >= 15
    for question in QUESTIONS:
        for text in (question.fr, question.en):
            assert 0 < len(text) <= MAX_LABEL_CHARS, text
            assert text.endswith("?"), text
    wordings = [q.text(lang) for q in QUESTIONS for lang in ("fr", "en")]
    assert len(set(wordings)) == len(wordings)  # a button names its question by its text


def test_the_catalogue_file_is_not_read_as_a_document() -> None:
    assert CATALOGUE_FILE not in [path.name for path in corpus_files(CORPUS)]


@pytest.mark.parametrize(
    "text",
    ['[[question]]\nfr = "Comment ?"\nen = "How?"\n[[question]\n',  # not TOML
     '[[question]]\nfr = "Comment porter plainte ?"\n',  # no English
     '[[question]]\nfr = "Comment ?"\nen = "  "\n',  # an empty English
     'question = "Comment porter plainte ?"\n'],  # not a list of tables
    ids=["syntax", "missing", "blank", "not-tables"],
)
def test_a_malformed_catalogue_is_refused_naming_the_file(tmp_path: Path, text: str) -> None:
    path = tmp_path / "broken-questions.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=re.escape(str(path))):
        read_catalogue(path)


def test_a_missing_catalogue_is_an_empty_one(tmp_path: Path) -> None:
    assert read_catalogue(tmp_path / CATALOGUE_FILE) == ()
    assert Catalogue(()).nearest("comment porter plainte ?", "fr") == ()


@pytest.mark.parametrize(
    ("question", "lang", "expected"),
    [("je veux porter plainte", "fr", "Comment porter plainte ?"),
     ("complaint please", "en", "How do I file a complaint?")],
)
def test_without_a_model_the_nearest_questions_share_the_most_words(
    question: str, lang: Lang, expected: str
) -> None:
    nearest = Catalogue(QUESTIONS).nearest(question, lang)
    assert len(nearest) == 3
    assert nearest[0] == expected


class FixedEmbedder:
    """Unit vectors chosen by hand for a few texts."""

    name = "fixed"

    def __init__(self, vectors: dict[str, tuple[float, float]]) -> None:
        self.vectors = vectors
        self.calls: list[list[str]] = []

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(list(texts))
        return np.array([self.vectors[text] for text in texts])

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        raise AssertionError("the catalogue embeds questions only")


def test_with_a_model_the_nearest_questions_are_the_closest_in_meaning() -> None:
    far, near, nearer = (0.0, 1.0), (0.6, 0.8), (0.8, 0.6)
    embedder = FixedEmbedder({
        "user question": (1.0, 0.0),
        "A ?": far, "A?": far,
        "B ?": near, "B?": far,
        "C ?": far, "C?": nearer,  # the English wording is the closest of all
    })
    catalogue = Catalogue((CatalogueQuestion("A ?", "A?"), CatalogueQuestion("B ?", "B?"),
                           CatalogueQuestion("C ?", "C?")), embedder)
    assert catalogue.nearest("user question", "fr") == ("C ?", "B ?", "A ?")
    assert catalogue.nearest("user question", "en", limit=2) == ("C?", "B?")
    catalogue_embedded = [call for call in embedder.calls if "A ?" in call]
    assert len(catalogue_embedded) == 1  # once, when first needed


def test_a_warmed_up_catalogue_embeds_only_the_question_asked() -> None:
    """The Telegram bot warms the catalogue up before serving: the first declined question
    must not wait for the whole catalogue to be embedded."""
    embedder = FixedEmbedder({"user question": (1.0, 0.0), "A ?": (0.0, 1.0), "A?": (0.0, 1.0)})
    catalogue = Catalogue((CatalogueQuestion("A ?", "A?"),), embedder)
    catalogue.warm_up()
    embedder.calls.clear()
    catalogue.nearest("user question", "fr")
    assert embedder.calls == [["user question"]]


def test_examples_are_the_first_questions_in_the_language_asked() -> None:
    catalogue = Catalogue(QUESTIONS)
    assert catalogue.examples("en", limit=2) == (QUESTIONS[0].en, QUESTIONS[1].en)
    assert catalogue.examples("fr") == tuple(q.fr for q in QUESTIONS[:4])
    assert len(catalogue) == len(QUESTIONS)


def test_a_suggestion_button_names_its_question_by_place_and_language() -> None:
    catalogue = Catalogue(QUESTIONS)
    assert catalogue.position(QUESTIONS[2].fr) == catalogue.position(QUESTIONS[2].en) == 2
    assert catalogue.position("Quelle est la recette de la tarte tatin ?") is None
    assert suggested_question("ask:2:en", catalogue) == QUESTIONS[2].en
    assert suggested_question("ask:0:fr", catalogue) == QUESTIONS[0].fr
    for stale_or_forged in (f"ask:{len(QUESTIONS)}:fr", "ask:1:de", "ask:x:fr", "ask:1"):
        assert suggested_question(stale_or_forged, catalogue) is None


@pytest.mark.parametrize(
    "text", [q.text(lang) for q in QUESTIONS for lang in ("fr", "en")],
)
def test_the_bot_answers_every_catalogue_question(builder: AnswerBuilder, text: str) -> None:
    assert builder.answer(text).answered, text
