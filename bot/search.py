"""A parsed question + the index -> ranked passages with scores and coverage.

A passage's score is BM25 summed over the question's concepts, each concept counting with its
best term in that passage (so a list of synonyms never counts twice), plus BM25 on pairs of
neighbouring concepts found side by side, which favours "tiers payant en optique" over the
same words scattered.

Its coverage is the share of the question's required weight (the IDF of each concept) that the
passage holds, and its evidence that weight itself: together, the confidence that the passage
answers this question rather than merely sharing a common word with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise, product

import numpy as np

from bot.index import SearchIndex
from bot.passages import Passage
from bot.query import Concept, Query

# How much a pair of neighbouring concepts counts, against one concept alone.
PAIR_WEIGHT = 0.5


@dataclass(frozen=True, slots=True)
class Hit:
    passage: Passage
    score: float
    coverage: float
    evidence: float
    matched_terms: frozenset[str]


def concept_weight(index: SearchIndex, concept: Concept) -> float:
    """How much an idea weighs: the IDF of its most specific known term. An idea that the
    corpus never mentions weighs as much as the rarest word, since nothing can answer it."""
    known = [idf for t in concept.terms if (idf := index.idf(t)) is not None]
    return max(known) if known else index.bm25.unseen_idf


def _alternative_scores(index: SearchIndex, terms: tuple[str, ...],
                        size: int) -> tuple[np.ndarray, np.ndarray]:
    """BM25 of a group of terms in each passage, and where all of them are present."""
    scores = np.zeros(size)
    present = np.ones(size, dtype=bool)
    for term in terms:
        if index.idf(term) is None:
            return scores, np.zeros(size, dtype=bool)
        term_scores = index.term_scores(term)
        scores += term_scores
        present &= term_scores > 0
    return scores, present


def search(index: SearchIndex, query: Query, limit: int = 10) -> list[Hit]:
    """The best passages for a question, best first; empty when nothing matches at all."""
    if not query.concepts:
        return []
    size = len(index.passages)
    scores = np.zeros(size)
    covered = np.zeros(size)
    required_weight = 0.0
    present_terms: list[tuple[str, np.ndarray]] = []
    for concept in query.concepts:
        best_score = np.zeros(size)
        found = np.zeros(size, dtype=bool)
        for alternative in concept.alternatives:
            alternative_scores, present = _alternative_scores(index, alternative, size)
            best_score = np.maximum(best_score, alternative_scores)
            found |= present
            present_terms.extend((term, present) for term in alternative)
        scores += best_score
        if concept.required:
            weight = concept_weight(index, concept)
            required_weight += weight
            covered += np.where(found, weight, 0.0)
    scores += PAIR_WEIGHT * _proximity(index, query.concepts, size)
    coverage = covered / required_weight if required_weight else np.zeros(size)
    ranked = [i for i in np.argsort(-scores, kind="stable")[:limit] if scores[i] > 0]
    return [
        Hit(passage=index.passages[i], score=float(scores[i]), coverage=float(coverage[i]),
            evidence=float(covered[i]),
            matched_terms=frozenset(t for t, present in present_terms if present[i]))
        for i in ranked
    ]


def _proximity(index: SearchIndex, concepts: tuple[Concept, ...], size: int) -> np.ndarray:
    """For each pair of neighbouring concepts, the best BM25 of their terms side by side."""
    total = np.zeros(size)
    for left, right in pairwise(concepts):
        best = np.zeros(size)
        for first, second in product(left.terms, right.terms):
            if (pair_scores := index.pair_scores(first, second)) is not None:
                best = np.maximum(best, pair_scores)
        total += best
    return total
