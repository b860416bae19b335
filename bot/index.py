"""Passages -> the search index: BM25 postings of every term and term pair, the BM25 of whole
documents, and the passages' sentence embeddings, with the JSON form it is saved in.

The index is built by bot/indexer.py and saved and loaded by bot/index_store.py.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import numpy as np
from rank_bm25 import BM25Okapi
from scipy import sparse

from bot.bank import BankEntry
from bot.classifiers import ClassifierWeights
from bot.metadata import DocumentMeta
from bot.passages import Passage, neighbours
from bot.postings import EMPTY_ROW, Postings, Row

FORMAT_VERSION = 3
# Bump when the analysis changes what terms a text gives, so saved indexes are rebuilt.
ANALYSIS_VERSION = "fr-snowball-unidecode-3-context"
INDEX_FILE = "index.json"
NO_EMBEDDINGS = "none"
# How much an entry of the question bank counts for its second answer passage, against its
# first (its third: the square, and so on).
LATER_ANSWER_SHARE = 0.8
# BM25's term-frequency saturation and length normalisation.
BM25_K1 = 1.2
BM25_B = 0.75


class IndexUnavailable(Exception):
    """The index cannot be built or loaded; the message says why."""


class EmptyCorpusError(IndexUnavailable):
    """No document could be read from the corpus folder."""


Term = TypeVar("Term", bound=Hashable)


class LuceneBM25(BM25Okapi, Generic[Term]):  # type: ignore[misc]  # rank_bm25 ships no types
    """BM25Okapi with Lucene's IDF, ln(1 + (N - df + 0.5) / (df + 0.5)).

    rank-bm25's Okapi IDF, ln((N - df + 0.5) / (df + 0.5)), is 0 for a term in half the
    passages and negative beyond, which BM25Okapi patches with a floor of epsilon times the
    mean IDF. On a corpus of a few dozen passages that makes common but meaningful words
    ("plainte", "données") worth nothing or worth more than rarer ones. Lucene's IDF is
    positive and decreasing in df everywhere, so rarer always means more informative.
    """

    idf: dict[Term, float]

    def __init__(self, corpus: Sequence[Sequence[Term]], k1: float = BM25_K1,
                 b: float = BM25_B) -> None:
        super().__init__(corpus, k1=k1, b=b)

    def _calc_idf(self, nd: dict[Term, int]) -> None:
        self.idf = {term: lucene_idf(self.corpus_size, df) for term, df in nd.items()}
        self.average_idf = sum(self.idf.values()) / max(1, len(self.idf))


def lucene_idf(passages: int, frequency: int) -> float:
    """Lucene's IDF of a term found in `frequency` of `passages` passages."""
    return math.log(1 + (passages - frequency + 0.5) / (frequency + 0.5))


@dataclass
class SearchIndex:
    """Everything a search needs: documents, passages, their terms and the BM25 model."""

    documents: dict[str, DocumentMeta]
    passages: list[Passage]
    passage_terms: list[list[str]]
    surface_forms: dict[str, str]
    fingerprint: str
    built_at: str
    build_seconds: float = 0.0
    skipped: list[str] = field(default_factory=list)
    # Fields left out of documents' metadata, each with its file and reason.
    warnings: list[str] = field(default_factory=list)
    # One unit vector per passage, from `embedding_model`; None when searching on BM25 alone.
    embeddings: np.ndarray | None = None
    embedding_model: str = NO_EMBEDDINGS
    # The question bank (corpus/questions.toml), each entry linked to its answer passages,
    # and the intent and topic classifiers trained on it (None without a bank).
    bank: tuple[BankEntry, ...] = ()
    # The bank entries left out, by the id they give: the warning that says why.
    skipped_entries: dict[str, str] = field(default_factory=dict)
    classifier: ClassifierWeights | None = None
    terms: Postings[str] = field(init=False, repr=False)
    pairs: Postings[int] = field(init=False, repr=False)
    term_idf: dict[str, float] = field(init=False, repr=False)
    # BM25 of whole documents, and the document of each passage (its row there).
    document_terms: Postings[str] = field(init=False, repr=False)
    passage_documents: np.ndarray = field(init=False, repr=False)
    # Which passages each bank entry points at (entries x passages, sparse), and the filing
    # lines (a boolean per passage).
    bank_passages: sparse.csr_matrix = field(init=False, repr=False)
    filing_lines: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        # rank-bm25 is the model: it counts the terms and sets the IDF and lengths. Its
        # per-passage counts are dropped once the postings hold the scores they give.
        model = LuceneBM25(self.passage_terms, BM25_K1, BM25_B)
        self.terms = Postings.from_model(model)
        self.term_idf = model.idf
        numbers = self.terms.rows
        pairs = [pair_codes([numbers[t] for t in terms], len(numbers))
                 for terms in self.passage_terms]
        self.pairs = Postings.from_model(LuceneBM25(pairs, BM25_K1, BM25_B), integer_keys=True)
        numbered = {doc_id: n for n, doc_id in enumerate(self.documents)}
        self.passage_documents = np.array([numbered[p.doc_id] for p in self.passages],
                                          dtype=np.int32)
        by_document: list[list[str]] = [[] for _ in numbered]
        for passage, terms in zip(self.passages, self.passage_terms, strict=True):
            by_document[numbered[passage.doc_id]].extend(terms)
        self.document_terms = Postings.from_model(LuceneBM25(by_document, BM25_K1, BM25_B))
        rows = [n for n, entry in enumerate(self.bank) for _ in entry.passages]
        columns = [p for entry in self.bank for p in entry.passages]
        # An entry's answers are written best first: each further one counts a little less.
        shares = [LATER_ANSWER_SHARE ** k for entry in self.bank
                  for k in range(len(entry.passages))]
        self.bank_passages = sparse.csr_matrix(
            (shares, (rows, columns)), shape=(len(self.bank), len(self.passages)))
        self.filing_lines = np.array([p.filing for p in self.passages], dtype=bool)

    @property
    def vocabulary_size(self) -> int:
        return len(self.terms.rows)

    def idf(self, term: str) -> float | None:
        return self.term_idf.get(term)

    @property
    def unseen_idf(self) -> float:
        """The IDF a term would have if it occurred nowhere: the most informative value."""
        return lucene_idf(len(self.passages), 0)

    def term_row(self, term: str) -> Row:
        """The passages holding a term and BM25's contribution of the term to each."""
        return self.terms.row(term)

    def pair_row(self, first: str, second: str) -> Row:
        """BM25 of two terms standing side by side (stopwords aside), where they do so."""
        numbers = self.terms.rows
        if (a := numbers.get(first)) is None or (b := numbers.get(second)) is None:
            return EMPTY_ROW
        return self.pairs.row(a * len(numbers) + b)

    def to_json(self) -> dict[str, object]:
        return {
            "format_version": FORMAT_VERSION,
            "fingerprint": self.fingerprint,
            "built_at": self.built_at,
            "build_seconds": self.build_seconds,
            "skipped": self.skipped,
            "warnings": self.warnings,
            "embedding_model": self.embedding_model,
            "bank": [entry.to_json() for entry in self.bank],
            "skipped_entries": self.skipped_entries,
            "classifier": self.classifier.to_json() if self.classifier else None,
            "documents": {k: m.model_dump(mode="json") for k, m in self.documents.items()},
            "passages": [
                {"doc_id": p.doc_id, "section": p.section, "sentence": p.sentence,
                 "text": p.text, "filing": p.filing}
                for p in self.passages
            ],
            "passage_terms": self.passage_terms,
            "surface_forms": self.surface_forms,
        }

    def neighbours(self, passage: Passage) -> list[Passage]:
        """The sentences just before and after a passage in its section."""
        return neighbours(self.passages, passage.position)

    def arrays(self) -> dict[str, np.ndarray]:
        """What is saved beside the JSON: the embeddings and the classifiers' weights."""
        arrays = self.classifier.arrays() if self.classifier else {}
        if self.embeddings is not None:
            arrays["embeddings"] = self.embeddings.astype(np.float32)
        return arrays

    @classmethod
    def from_json(cls, data: dict[str, Any], arrays: dict[str, np.ndarray]) -> SearchIndex:
        """The index saved as `to_json()` and `arrays()`."""
        embeddings = arrays.get("embeddings")
        return cls(
            documents={k: DocumentMeta.model_validate(m) for k, m in data["documents"].items()},
            passages=[Passage(p["doc_id"], position, p["section"], p["sentence"], p["text"],
                              bool(p["filing"]))
                      for position, p in enumerate(data["passages"])],
            passage_terms=[list(terms) for terms in data["passage_terms"]],
            surface_forms=dict(data["surface_forms"]),
            fingerprint=data["fingerprint"],
            built_at=data["built_at"],
            build_seconds=float(data.get("build_seconds", 0.0)),
            skipped=list(data.get("skipped", [])),
            warnings=list(data.get("warnings", [])),
            embeddings=embeddings,
            embedding_model=data["embedding_model"] if embeddings is not None else NO_EMBEDDINGS,
            bank=tuple(BankEntry.from_json(entry) for entry in data["bank"]),
            skipped_entries=dict(data.get("skipped_entries", {})),
            classifier=(ClassifierWeights.load(data["classifier"], arrays)
                        if data["classifier"] else None),
        )


def pair_codes(numbers: list[int], vocabulary_size: int) -> list[int]:
    """Neighbouring terms, given by their numbers, as one integer each: what proximity is
    scored on. (Strings for millions of pairs would hold most of the index's memory.)"""
    return [a * vocabulary_size + b for a, b in itertools.pairwise(numbers)]
