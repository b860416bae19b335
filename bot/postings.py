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

from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any, Generic, Literal, Protocol, TypeVar, overload

import numpy as np
from rank_bm25 import BM25Okapi

Row = tuple[np.ndarray, np.ndarray]
"""Passage numbers (ascending) and the term's BM25 score in each."""
EMPTY_ROW: Row = (np.empty(0, dtype=np.int32), np.empty(0))

Key = TypeVar("Key", bound=Hashable)
Key_contra = TypeVar("Key_contra", bound=Hashable, contravariant=True)


class RowNumbers(Protocol[Key_contra]):
    """Keys -> row numbers: a dict for terms, SortedKeys for integer keys."""

    def __getitem__(self, key: Key_contra, /) -> int: ...

    def get(self, key: Key_contra, /) -> int | None: ...

    def __len__(self) -> int: ...


class SortedKeys:
    """Row numbers of integer keys, held as one sorted array: the row of a key is its place.
    Millions of keys take 8 bytes each, where a dict would take about a hundred."""

    def __init__(self, keys: np.ndarray) -> None:
        self.keys = keys

    def get(self, key: int) -> int | None:
        at = int(np.searchsorted(self.keys, key))
        return at if at < len(self.keys) and self.keys[at] == key else None

    def __getitem__(self, key: int) -> int:
        if (row := self.get(key)) is None:
            raise KeyError(key)
        return row

    def __len__(self) -> int:
        return len(self.keys)


@dataclass(frozen=True, eq=False)
class Postings(Generic[Key]):
    """Per-term BM25 rows in compressed form: row r spans starts[r]:starts[r + 1]. The terms
    are of type Key: strings, or integers (held as SortedKeys)."""

    rows: RowNumbers[Key]
    starts: np.ndarray
    passages: np.ndarray
    scores: np.ndarray
    size: int

    @overload
    @classmethod
    def from_model(
        cls, model: BM25Okapi, integer_keys: Literal[False] = False) -> Postings[str]: ...

    @overload
    @classmethod
    def from_model(cls, model: BM25Okapi, integer_keys: Literal[True]) -> Postings[int]: ...

    @classmethod
    def from_model(cls, model: BM25Okapi, integer_keys: bool = False) -> Postings[Any]:
        """The rows of every term the model knows, with the model's parameters. Its terms are
        strings; with `integer_keys`, integers, kept as SortedKeys."""
        if integer_keys:
            keys = np.sort(np.fromiter(model.idf, dtype=np.int64, count=len(model.idf)))
            rows: dict[Hashable, int] = {key: row for row, key in enumerate(keys.tolist())}
        else:
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
        idf = np.array([model.idf[term] for term in rows])  # rows are numbered in order
        length = np.asarray(model.doc_len, dtype=np.float64)[passage]
        # The same expression, in the same order, as rank-bm25's get_scores.
        k1, b = model.k1, model.b
        score = idf[term_row] * (tf * (k1 + 1) / (tf + k1 * (1 - b + b * length / model.avgdl)))
        order = np.argsort(term_row, kind="stable")  # passages stay ascending within a row
        starts = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(np.bincount(term_row, minlength=len(rows)), out=starts[1:])
        kept_rows: RowNumbers[Any] = SortedKeys(keys) if integer_keys else rows
        return cls(kept_rows, starts, passage[order], score[order], len(counts))

    def row(self, term: Key) -> Row:
        """The passages holding `term` and its score in each; empty for an unknown term."""
        row = self.rows.get(term)
        if row is None:
            return EMPTY_ROW
        span = slice(self.starts[row], self.starts[row + 1])
        return self.passages[span], self.scores[span]
