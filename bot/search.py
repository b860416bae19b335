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


def merge(rows: list[Row], reduce: np.ufunc) -> Row:
    """Rows merged passage by passage with `reduce` (np.add, np.maximum)."""
    rows = [row for row in rows if len(row[0])]
    if len(rows) <= 1:
        return rows[0] if rows else EMPTY_ROW
    passages = np.concatenate([passages for passages, _ in rows])
    scores = np.concatenate([scores for _, scores in rows])
    order = np.argsort(passages, kind="stable")
    passages, scores = passages[order], scores[order]
    firsts = np.flatnonzero(np.r_[True, passages[1:] != passages[:-1]])
    return passages[firsts], reduce.reduceat(scores, firsts)


def alternative_row(index: SearchIndex, terms: tuple[str, ...]) -> Row:
    """BM25 of a group of terms in each passage holding any of them. A group with a term
    the corpus never uses matches nowhere."""
    if any(index.idf(term) is None for term in terms):
        return EMPTY_ROW
    return merge([index.term_row(term) for term in terms], np.add)


def search(index: SearchIndex, query: Query, limit: int = 10) -> list[Hit]:
    """The best passages for a question, best first; empty when nothing matches at all."""
    if not query.concepts:
        return []
    size = len(index.passages)
    scores = np.zeros(size)
    for concept in query.concepts:
        passages, best = merge([alternative_row(index, t) for t in concept.alternatives],
                               np.maximum)
        scores[passages] += best
    if (proximity := _proximity(index, query.concepts, size)) is not None:
        scores += PAIR_WEIGHT * proximity
    required = [(c, concept_weight(index, c)) for c in query.concepts if c.required]
    required_weight = sum(weight for _, weight in required)
    return [_hit(index, int(i), float(scores[i]), query.concepts, required, required_weight)
            for i in top(scores, limit)]


def _hit(index: SearchIndex, number: int, score: float, concepts: tuple[Concept, ...],
         required: list[tuple[Concept, float]], required_weight: float) -> Hit:
    """A ranked passage with what it holds of the question: which alternatives of which
    concepts (all of an alternative's terms), and the required weight that covers."""
    held = set(index.passage_terms[number])
    covered = 0.0
    for concept, weight in required:
        covered += weight if any(held.issuperset(a) for a in concept.alternatives) else 0.0
    matched = frozenset(term for concept in concepts for alternative in concept.alternatives
                        if held.issuperset(alternative) for term in alternative)
    return Hit(passage=index.passages[number], score=score,
               coverage=covered / required_weight if required_weight else 0.0,
               evidence=covered, matched_terms=matched)


def top(scores: np.ndarray, limit: int) -> np.ndarray:
    """The `limit` passages of highest positive score, best first, ties to the earlier one,
    without sorting every passage."""
    candidates = np.flatnonzero(scores > 0)
    if len(candidates) > limit:
        threshold = np.partition(scores[candidates], -limit)[-limit]
        candidates = candidates[scores[candidates] >= threshold]
    return candidates[np.lexsort((candidates, -scores[candidates]))][:limit]


def _proximity(index: SearchIndex, concepts: tuple[Concept, ...], size: int) -> np.ndarray | None:
    """For each pair of neighbouring concepts, the best BM25 of their terms side by side;
    None when no passage has any such pair."""
    total = None
    for left, right in pairwise(concepts):
        passages, best = merge(
            [index.pair_row(first, second) for first, second in product(left.terms, right.terms)],
            np.maximum)
        if len(passages):
            total = np.zeros(size) if total is None else total
            total[passages] += best
    return total
