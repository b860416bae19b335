"""A parsed question (+ its embedding) and the index -> ranked passages.

Two views of each passage are fused. Lexical: BM25 summed over the question's concepts, each
concept counting with its best term in that passage (so a list of synonyms never counts twice),
plus BM25 on pairs of neighbouring concepts found side by side, which favours "tiers payant en
optique" over the same words scattered. Semantic: the cosine of the question's and the
passage's sentence embeddings, which matches meaning across wordings and languages. Each is
scaled to [0, 1] over the passages (min-max) and they are mixed with LEXICAL_WEIGHT. Two
terms are added: the match of the passage's document, and the passage's coverage, the share of
the question's ideas (each weighed by its IDF) that it holds, as Lucene's coordination factor
did: a sentence holding what is asked and what it is asked about beats one that repeats the
question's rarest name. The weights are chosen by cross-validation (docs/quality.md).

The question's subject share is the share of its ideas that are
on the corpus's subject at all: ideas the corpus knows, against words of the language that it
never uses ("pizza", "abonnement"). Slips, slang, numbers and names the corpus lacks count for
neither.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise, product
from typing import cast

import numpy as np

from bot.index import SearchIndex
from bot.passages import Passage
from bot.postings import EMPTY_ROW, Row
from bot.query import Concept, Query

# How much a pair of neighbouring concepts counts, against one concept alone.
PAIR_WEIGHT = 0.5
# The share of the lexical view in the fused score (the semantic view has the rest)…
LEXICAL_WEIGHT = 0.5
# …how much the document's own match adds ("the question of M. Dubois" names one)…
DOCUMENT_WEIGHT = 0.2
# …how much the passage's coverage of the question's ideas adds…
COVERAGE_WEIGHT = 0.3
# …how much the question bank's signal adds: the probability that the question asks an entry
# whose answer the passage holds (bank_prior)…
BANK_WEIGHT = 1.5
# …and how much a filing line ("Auteur : …") loses unless the question is about the filing.
FILING_WEIGHT = 1.0


@dataclass(frozen=True, slots=True)
class Hit:
    passage: Passage
    score: float
    matched_terms: frozenset[str]


@dataclass(frozen=True, slots=True)
class Ranking:
    """The best passages, best first, and the fused score of every passage (which excerpts
    read to choose a neighbouring sentence)."""

    hits: list[Hit]
    scores: np.ndarray
    subject_share: float


def concept_weight(index: SearchIndex, concept: Concept) -> float | None:
    """How much an idea weighs: the IDF of its most specific known term; None for an idea
    the corpus never mentions (a slip, a name it lacks), which nothing can confirm or deny."""
    known = [idf for t in concept.terms if (idf := index.idf(t)) is not None]
    return max(known) if known else None


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


def bank_prior(index: SearchIndex, intents: np.ndarray) -> np.ndarray:
    """What each passage gets from the question bank before its words are read: BANK_WEIGHT
    times the probability that the question asks an entry whose answer it holds (the sum over
    such entries), and, for a filing line, minus FILING_WEIGHT times the probability that the
    question is not about the filing (the sum over the entries that are not)."""
    holds = np.asarray(index.bank_passages.T @ intents).ravel()
    filing = sum(p for entry, p in zip(index.bank, intents.tolist(), strict=True)
                 if entry.filing)
    prior: np.ndarray = (BANK_WEIGHT * np.minimum(holds, 1.0)
                         - FILING_WEIGHT * (1 - filing) * index.filing_lines)
    return prior


def search(index: SearchIndex, query: Query, query_vector: np.ndarray | None = None,
           limit: int = 10, prior: np.ndarray | None = None) -> Ranking:
    """The best passages for a question, best first; no hits when nothing matches at all.
    `prior` adds to each passage's fused score (bank_prior)."""
    lexical, covered = lexical_scores(index, query)
    scores = scaled(lexical)
    documents = scaled(document_scores(index, query))[index.passage_documents]
    if query_vector is not None and index.embeddings is not None:
        similarity = scaled(index.embeddings @ query_vector)
        scores = LEXICAL_WEIGHT * scores + (1 - LEXICAL_WEIGHT) * similarity
    scores = scores + DOCUMENT_WEIGHT * documents + COVERAGE_WEIGHT * covered
    if prior is not None:
        scores = scores + prior
    ranked = top(scores, limit)
    alternatives = [[frozenset(a) for a in c.alternatives] for c in query.concepts]
    # Which ranked passages hold each term of the question: one search per term.
    holding = [(term, holds(index.term_row(term)[0], ranked).tolist())
               for term in {t for concept in query.concepts for t in concept.terms}]
    hits = [Hit(index.passages[i], float(scores[i]),
                matched_terms({term for term, held in holding if held[n]}, alternatives))
            for n, i in enumerate(ranked.tolist())]
    return Ranking(hits, scores, subject_share(index, query))


def subject_share(index: SearchIndex, query: Query) -> float:
    """The share of the question's required ideas that the corpus knows, against those that
    are words of the language it never uses; 0 when it knows none."""
    required = [c for c in query.concepts if c.required]
    known = sum(concept_weight(index, c) is not None for c in required)
    unknown_words = sum(c.in_dictionary and concept_weight(index, c) is None for c in required)
    return known / (known + unknown_words) if known else 0.0


def lexical_scores(index: SearchIndex, query: Query) -> tuple[np.ndarray, np.ndarray]:
    """BM25 of every passage (each concept by its best alternative, plus proximity), and
    the passage's coverage: the share of the concepts' weight (concept_weight) it holds."""
    size = len(index.passages)
    scores, covered = np.zeros(size), np.zeros(size)
    total = 0.0
    for concept in query.concepts:
        passages, best = merge([alternative_row(index, t) for t in concept.alternatives],
                               np.maximum)
        scores[passages] += best
        if (weight := concept_weight(index, concept)) is not None:
            covered[passages] += weight
            total += weight
    if (proximity := _proximity(index, query.concepts, size)) is not None:
        scores += PAIR_WEIGHT * proximity
    return scores, covered / total if total else covered


def document_scores(index: SearchIndex, query: Query) -> np.ndarray:
    """BM25 of every document, each concept by its best term."""
    scores = np.zeros(len(index.documents))
    for concept in query.concepts:
        documents, best = merge([index.document_terms.row(t) for t in concept.terms],
                                np.maximum)
        scores[documents] += best
    return scores


def scaled(scores: np.ndarray) -> np.ndarray:
    """Scores mapped to [0, 1] by their minimum and maximum (all 0 when they are equal)."""
    if not len(scores):
        return scores
    low, high = float(scores.min()), float(scores.max())
    return (scores - low) / (high - low) if high > low else np.zeros_like(scores)


def holds(passages: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """For each of the `wanted` passages, whether the ascending array `passages` holds it."""
    if not len(passages):
        return np.zeros(len(wanted), dtype=bool)
    at = np.minimum(np.searchsorted(passages, wanted), len(passages) - 1)
    # numpy types == on arrays as Any: of two arrays it is their element-wise booleans.
    return cast(np.ndarray, passages[at] == wanted)


def matched_terms(held: set[str], alternatives: list[list[frozenset[str]]]) -> frozenset[str]:
    """The terms of each of the question's alternatives that a passage holds whole (`held`:
    the question's terms it holds): what is highlighted in its excerpt."""
    return frozenset(term for concept in alternatives for alternative in concept
                     if alternative <= held for term in alternative)


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
