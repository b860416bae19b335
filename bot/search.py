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
from bot.postings import EMPTY_ROW, Row
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
    return max(known) if known else index.unseen_idf


def merge(rows: list[Row], reduce: np.ufunc) -> tuple[Row, np.ndarray]:
    """Rows merged passage by passage with `reduce` (np.add, np.maximum), and for each
    passage of the result the number of rows that hold it."""
    passages = np.concatenate([passages for passages, _ in rows])
    scores = np.concatenate([scores for _, scores in rows])
    if not len(passages):
        return EMPTY_ROW, EMPTY_ROW[0]
    order = np.argsort(passages, kind="stable")
    passages, scores = passages[order], scores[order]
    firsts = np.flatnonzero(np.r_[True, passages[1:] != passages[:-1]])
    counts = np.diff(np.r_[firsts, len(passages)])
    return (passages[firsts], reduce.reduceat(scores, firsts)), counts


def best_row(rows: list[Row]) -> Row:
    """The best score of any of the rows in each passage."""
    rows = [row for row in rows if len(row[0])]
    if len(rows) <= 1:
        return rows[0] if rows else EMPTY_ROW
    return merge(rows, np.maximum)[0]


def alternative_row(index: SearchIndex, terms: tuple[str, ...]) -> tuple[Row, np.ndarray]:
    """BM25 of a group of terms in each passage holding any, and the passages holding all.
    A group with a term the corpus never uses matches nowhere."""
    if any(index.idf(term) is None for term in terms):
        return EMPTY_ROW, EMPTY_ROW[0]
    if len(terms) == 1:
        row = index.term_row(terms[0])
        return row, row[0]
    (passages, scores), counts = merge([index.term_row(t) for t in terms], np.add)
    return (passages, scores), passages[counts == len(terms)]


def search(index: SearchIndex, query: Query, limit: int = 10) -> list[Hit]:
    """The best passages for a question, best first; empty when nothing matches at all."""
    if not query.concepts:
        return []
    size = len(index.passages)
    scores = np.zeros(size)
    required: list[tuple[float, np.ndarray]] = []  # each required concept: weight, where found
    present_terms: list[tuple[str, np.ndarray]] = []
    for concept in query.concepts:
        alternatives = [alternative_row(index, terms) for terms in concept.alternatives]
        passages, best = best_row([row for row, _ in alternatives])
        scores[passages] += best
        for terms, (_, present) in zip(concept.alternatives, alternatives, strict=True):
            present_terms.extend((term, present) for term in terms)
        if concept.required:
            found = [present for _, present in alternatives]
            required.append((concept_weight(index, concept),
                             found[0] if len(found) == 1 else np.unique(np.concatenate(found))))
    if (proximity := _proximity(index, query.concepts, size)) is not None:
        scores += PAIR_WEIGHT * proximity
    # Coverage and matched terms are needed for the few passages ranked only.
    ranked = top(scores, limit)
    covered = np.zeros(len(ranked))
    for weight, found in required:
        covered += np.where(holds(found, ranked), weight, 0.0)
    required_weight = sum(weight for weight, _ in required)
    coverage = covered / required_weight if required_weight else np.zeros(len(ranked))
    holding = [(term, holds(present, ranked).tolist()) for term, present in present_terms]
    return [
        Hit(passage=index.passages[i], score=score, coverage=share, evidence=weight,
            matched_terms=frozenset(term for term, held in holding if held[n]))
        for n, (i, score, share, weight) in enumerate(zip(
            ranked.tolist(), scores[ranked].tolist(), coverage.tolist(), covered.tolist(),
            strict=True))
    ]


def top(scores: np.ndarray, limit: int) -> np.ndarray:
    """The `limit` passages of highest positive score, best first, ties to the earlier one,
    without sorting every passage."""
    candidates = np.flatnonzero(scores > 0)
    if len(candidates) > limit:
        threshold = np.partition(scores[candidates], -limit)[-limit]
        candidates = candidates[scores[candidates] >= threshold]
    return candidates[np.lexsort((candidates, -scores[candidates]))][:limit]


def holds(passages: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """For each of the `wanted` passages, whether the ascending array `passages` holds it."""
    at = np.minimum(np.searchsorted(passages, wanted), max(len(passages) - 1, 0))
    return passages[at] == wanted if len(passages) else np.zeros(len(wanted), dtype=bool)


def _proximity(index: SearchIndex, concepts: tuple[Concept, ...], size: int) -> np.ndarray | None:
    """For each pair of neighbouring concepts, the best BM25 of their terms side by side;
    None when no passage has any such pair."""
    total = None
    for left, right in pairwise(concepts):
        passages, best = best_row(
            [index.pair_row(first, second) for first, second in product(left.terms, right.terms)])
        if len(passages):
            total = np.zeros(size) if total is None else total
            total[passages] += best
    return total
