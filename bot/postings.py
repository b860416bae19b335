"""A BM25 model -> every term's contribution to every passage, computed once.

BM25 scores a passage as a sum over the question's terms of
idf(t) * tf * (k1 + 1) / (tf + k1 * (1 - b + b * length / average length)). Each summand depends
on one term and one passage, never on the rest of the question, so it is computed at build time
from rank-bm25's own statistics (its IDF, passage lengths, average length, k1 and b) and kept as
one sparse row per term: the passages holding the term and the term's score in each. A search
then reads a few rows instead of looping over every passage for every term, as rank-bm25's
`get_scores` does; both give the same numbers (tests/test_postings.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from rank_bm25 import BM25Okapi

Row = tuple[np.ndarray, np.ndarray]
"""Passage numbers (ascending) and the term's BM25 score in each."""


@dataclass(frozen=True, eq=False)
class Postings:
    """Per-term BM25 rows in compressed form: row r spans starts[r]:starts[r + 1]."""

    rows: dict[str, int]
    starts: np.ndarray
    passages: np.ndarray
    scores: np.ndarray
    idf: dict[str, float]
    size: int

    @classmethod
    def from_model(cls, model: BM25Okapi) -> Postings:
        """The rows of every term the model knows, with the model's parameters."""
        rows = {term: row for row, term in enumerate(model.idf)}
        term_rows: list[int] = []
        frequencies: list[int] = []
        counts = np.empty(len(model.doc_freqs), dtype=np.int64)
        for number, freqs in enumerate(model.doc_freqs):
            term_rows.extend(map(rows.__getitem__, freqs))
            frequencies.extend(freqs.values())
            counts[number] = len(freqs)
        passage = np.repeat(np.arange(len(counts), dtype=np.int32), counts)
        term_row = np.asarray(term_rows, dtype=np.int64)
        tf = np.asarray(frequencies, dtype=np.float64)
        idf = np.fromiter(model.idf.values(), dtype=np.float64, count=len(rows))
        length = np.asarray(model.doc_len, dtype=np.float64)[passage]
        # The same expression, in the same order, as rank-bm25's get_scores.
        k1, b = model.k1, model.b
        score = idf[term_row] * (tf * (k1 + 1) / (tf + k1 * (1 - b + b * length / model.avgdl)))
        order = np.argsort(term_row, kind="stable")  # passages stay ascending within a row
        starts = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(np.bincount(term_row, minlength=len(rows)), out=starts[1:])
        return cls(rows, starts, passage[order], score[order], dict(model.idf), len(counts))

    def __contains__(self, term: str) -> bool:
        return term in self.rows

    def row(self, term: str) -> Row:
        """The passages holding `term` and its score in each; empty for an unknown term."""
        row = self.rows.get(term)
        if row is None:
            return np.empty(0, dtype=np.int32), np.empty(0)
        span = slice(self.starts[row], self.starts[row + 1])
        return self.passages[span], self.scores[span]

    def dense(self, terms: list[str]) -> np.ndarray:
        """BM25 of a bag of terms in every passage: what rank-bm25's get_scores returns."""
        total = np.zeros(self.size)
        for term in terms:
            passages, scores = self.row(term)
            total[passages] += scores
        return total

    @property
    def nbytes(self) -> int:
        return self.starts.nbytes + self.passages.nbytes + self.scores.nbytes
