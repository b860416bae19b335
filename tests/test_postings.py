"""The precomputed BM25 rows give exactly the scores of rank-bm25, the reference model."""

import re
from itertools import pairwise

import numpy as np
import pytest

from bot.analysis import default_analyzer
from bot.index import LuceneBM25, SearchIndex
from bot.indexer import context_texts
from bot.postings import Postings
from bot.search import top

QUESTIONS = [
    "comment porter plainte ?",
    "quelles données de santé ont été volées chez Viamedis et Almerys ?",
    "que fait la CNIL pour les assurés ?",
    "tiers payant opticiens blockchain",
]


def term_pairs(terms: list[str]) -> list[str]:
    """Neighbouring terms as the words "a b": pairs as a plain BM25 over strings sees them."""
    return [f"{a} {b}" for a, b in pairwise(terms)]


def dense(postings: Postings, terms: list[str]) -> np.ndarray:
    """BM25 of a bag of terms in every passage, from the rows: what get_scores computes."""
    total = np.zeros(postings.size)
    for term in terms:
        passages, scores = postings.row(term)
        total[passages] += scores
    return total


def assert_same_scores(postings: Postings, model: LuceneBM25, terms: list[str]) -> None:
    np.testing.assert_allclose(dense(postings, terms), model.get_scores(terms), rtol=1e-12, atol=0)


def test_every_term_of_the_real_corpus_scores_as_in_rank_bm25(index: SearchIndex):
    model = LuceneBM25(index.passage_terms)
    for term in model.idf:
        assert_same_scores(index.terms, model, [term])


@pytest.mark.parametrize("question", QUESTIONS)
def test_questions_on_the_real_corpus_score_as_in_rank_bm25(index: SearchIndex, question: str):
    terms = default_analyzer().terms(question)
    assert_same_scores(index.terms, LuceneBM25(index.passage_terms), terms)
    pairs_model = LuceneBM25([term_pairs(t) for t in index.passage_terms])
    proximity = np.zeros(len(index.passages))
    for first, second in pairwise(terms):
        passages, scores = index.pair_row(first, second)
        proximity[passages] += scores
    np.testing.assert_allclose(proximity, pairs_model.get_scores(term_pairs(terms)), rtol=1e-12)


def test_a_pair_is_found_where_its_terms_stand_side_by_side_in_that_order(index: SearchIndex):
    first, second = default_analyzer().terms("tiers payant")
    passages, scores = index.pair_row(first, second)
    assert len(passages) > 0 and (scores > 0).all()
    # Passages are indexed with their context: the sentences beside them and the title.
    texts = context_texts(index.passages, index.documents)
    assert all(re.search(r"tiers[ -]payant", texts[p].lower()) for p in passages)
    assert len(index.pair_row(second, first)[0]) == 0


def test_a_synthetic_corpus_scores_as_in_rank_bm25():
    rng = np.random.default_rng(7)
    vocabulary = [f"mot{n}" for n in range(800)]
    zipf = 1 / np.arange(1, len(vocabulary) + 1)
    zipf /= zipf.sum()
    corpus = [list(rng.choice(vocabulary, rng.integers(0, 150), p=zipf)) for _ in range(500)]
    model = LuceneBM25(corpus)
    postings = Postings.from_model(model)
    assert postings.size == 500
    for _ in range(300):
        query = [*rng.choice(vocabulary, rng.integers(1, 9), p=zipf), "inconnu"]
        assert_same_scores(postings, model, query)


def test_an_unknown_term_has_an_empty_row(index: SearchIndex):
    passages, scores = index.term_row("zzzinconnu")
    assert len(passages) == len(scores) == 0
    assert index.idf("zzzinconnu") is None


def test_top_keeps_the_best_positive_scores_and_breaks_ties_by_position():
    scores = np.array([0.0, 2.0, 5.0, 2.0, 1.0, 5.0, 2.0, -1.0])
    assert top(scores, 4).tolist() == [2, 5, 1, 3]
    assert top(scores, 20).tolist() == [2, 5, 1, 3, 6, 4]
    assert top(np.zeros(5), 3).tolist() == []
