import json
import math
from pathlib import Path

import numpy as np
import pytest

from bot.answer import AnswerBuilder
from bot.index import FORMAT_VERSION, INDEX_FILE, EmptyCorpusError, IndexUnavailable, LuceneBM25
from bot.index_store import load_index, load_or_build_index, save_index
from bot.indexer import build_index


def first_excerpt(index, question: str) -> str:
    return AnswerBuilder(index).answer(question).excerpts[0].text


def test_saved_index_loads_back_and_answers_the_same(corpus_dir: Path, tmp_path: Path):
    built = build_index(corpus_dir)
    save_index(built, tmp_path / "index")
    loaded = load_index(tmp_path / "index")
    assert loaded.passages == built.passages
    assert loaded.documents == built.documents
    assert loaded.fingerprint == built.fingerprint
    question = "quelles données ont été volées ?"
    assert first_excerpt(loaded, question) == first_excerpt(built, question)


def test_the_saved_index_is_json_and_npz_never_pickle(corpus_dir: Path, tmp_path: Path):
    built = build_index(corpus_dir)
    save_index(built, tmp_path)
    data = json.loads((tmp_path / INDEX_FILE).read_text("utf-8"))
    assert data["format_version"] == FORMAT_VERSION
    assert len(data["passages"]) == len(data["passage_terms"])
    with np.load(tmp_path / data["arrays_file"], allow_pickle=False) as arrays:
        # the question bank's classifiers: one row of intent weights per entry, and one
        # for the questions the documents do not answer
        assert arrays["classifier_intent_coef"].shape[0] == len(data["bank"]) + 1
        if built.embeddings is not None:  # the model's package is installed here
            assert arrays["embeddings"].shape[0] == len(data["passages"])
            assert data["embedding_model"] == built.embedding_model


def test_without_the_embedding_model_the_bot_answers_on_bm25_alone(corpus_dir: Path):
    index = build_index(corpus_dir, embeddings=False)
    assert index.embeddings is None
    builder = AnswerBuilder(index)
    assert builder.embedder is None
    assert "formulaire en ligne" in builder.answer("comment porter plainte ?").excerpts[0].text


def test_a_stale_index_is_rebuilt_when_the_corpus_changes(corpus_dir: Path, tmp_path: Path):
    index_dir = tmp_path / "index"
    first = load_or_build_index(corpus_dir, index_dir)
    (corpus_dir / "ajout.md").write_text(
        "# Communiqué\n\nUne réunion publique sur la fuite de données se tiendra à la mairie "
        "de Tulle le 3 mars.", "utf-8")
    second = load_or_build_index(corpus_dir, index_dir)
    assert second.fingerprint != first.fingerprint
    assert "ajout.md" in second.documents
    assert "mairie de Tulle" in first_excerpt(second, "une réunion publique à la mairie de Tulle ?")
    # and the rebuilt index was saved: loading it again needs no rebuild
    assert load_index(index_dir).fingerprint == second.fingerprint


@pytest.mark.parametrize("garbage", ["{not json", '{"format_version": 1}', '[]', ""])
def test_a_corrupt_index_is_detected_and_rebuilt(corpus_dir: Path, tmp_path: Path, garbage):
    (tmp_path / INDEX_FILE).write_text(garbage, "utf-8")
    with pytest.raises(IndexUnavailable):
        load_index(tmp_path)
    index = load_or_build_index(corpus_dir, tmp_path)
    assert len(index.passages) > 10
    assert load_index(tmp_path).fingerprint == index.fingerprint


def test_an_index_file_that_cannot_be_read_or_written_still_leaves_an_index_to_serve(
    corpus_dir: Path, tmp_path: Path
):
    (tmp_path / INDEX_FILE).mkdir()  # where index.json should be, a folder
    with pytest.raises(IndexUnavailable):
        load_index(tmp_path)
    index = load_or_build_index(corpus_dir, tmp_path)  # built, served, not saved: no raise
    assert len(index.passages) > 10


def test_an_index_whose_passages_name_unknown_documents_is_corrupt(
    corpus_dir: Path, tmp_path: Path
):
    save_index(build_index(corpus_dir, embeddings=False), tmp_path)
    data = json.loads((tmp_path / INDEX_FILE).read_text("utf-8"))
    data["passages"][0]["doc_id"] = "nowhere.md"
    (tmp_path / INDEX_FILE).write_text(json.dumps(data), "utf-8")
    with pytest.raises(IndexUnavailable, match="corrupt"):
        load_index(tmp_path)


def test_an_index_of_another_format_version_is_not_used(corpus_dir: Path, tmp_path: Path):
    save_index(build_index(corpus_dir), tmp_path)
    data = json.loads((tmp_path / INDEX_FILE).read_text("utf-8"))
    data["format_version"] = 0
    (tmp_path / INDEX_FILE).write_text(json.dumps(data), "utf-8")
    with pytest.raises(IndexUnavailable, match="format"):
        load_index(tmp_path)


def test_an_empty_corpus_is_a_clear_error(tmp_path: Path):
    (tmp_path / "corpus").mkdir()
    with pytest.raises(EmptyCorpusError, match="no readable document"):
        build_index(tmp_path / "corpus")
    (tmp_path / "corpus" / "bad.md").write_bytes(b"\xff\xfe")
    with pytest.raises(EmptyCorpusError, match="1 file"):
        build_index(tmp_path / "corpus")


def test_lucene_idf_stays_positive_and_decreasing_on_a_tiny_corpus():
    bm25 = LuceneBM25([["plainte", "fuite"], ["fuite"], ["fuite", "mutuelle"], ["cnil"]])
    assert bm25.idf["fuite"] > 0  # in 3 of 4 passages: Okapi's IDF would be negative
    assert bm25.idf["plainte"] > bm25.idf["fuite"]
    assert math.isclose(bm25.idf["plainte"], math.log(1 + (4 - 1 + 0.5) / 1.5))
    assert bm25.get_scores(["fuite"])[1] > 0


def test_an_index_trained_with_other_classifier_settings_is_out_of_date(
    corpus_dir: Path, monkeypatch
):
    from bot import classifiers
    from bot.indexer import source_fingerprint

    before = source_fingerprint(corpus_dir)
    monkeypatch.setattr(classifiers, "INTENT_C", classifiers.INTENT_C * 2)
    assert source_fingerprint(corpus_dir) != before
