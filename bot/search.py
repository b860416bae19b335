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
    # Each concept's alternatives as sets, and its weight if it is required (None if not).
    ideas = [([frozenset(a) for a in c.alternatives], concept_weight(index, c) if c.required
              else None) for c in query.concepts]
    required_weight = sum(weight for _, weight in ideas if weight is not None)
    ranked = top(scores, limit)
    # Which ranked passages hold each term of the question: one search per term.
    holding = [(term, holds(index.term_row(term)[0], ranked).tolist())
               for term in {t for concept in query.concepts for t in concept.terms}]
    return [_hit(index.passages[i], float(scores[i]),
                 {term for term, held in holding if held[n]}, ideas, required_weight)
            for n, i in enumerate(ranked.tolist())]


def holds(passages: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """For each of the `wanted` passages, whether the ascending array `passages` holds it."""
    if not len(passages):
        return np.zeros(len(wanted), dtype=bool)
    at = np.minimum(np.searchsorted(passages, wanted), len(passages) - 1)
    return passages[at] == wanted


def _hit(passage: Passage, score: float, held: set[str],
         ideas: list[tuple[list[frozenset[str]], float | None]], required_weight: float) -> Hit:
    """A ranked passage with what it holds of the question (`held`: the question's terms
    that it holds): the terms of each alternative it holds whole, and the weight of the
    required concepts it covers."""
    covered = 0.0
    matched: set[str] = set()
    for alternatives, weight in ideas:
        found = False
        for alternative in alternatives:
            if alternative <= held:
                matched |= alternative
                found = True
        if weight is not None:
            covered += weight if found else 0.0
    return Hit(passage=passage, score=score,
               coverage=covered / required_weight if required_weight else 0.0,
               evidence=covered, matched_terms=frozenset(matched))


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
