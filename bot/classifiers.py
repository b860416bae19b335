"""A question -> which bank entry it asks (intent) and whether it is about the breach (topic).

Both are scikit-learn logistic regressions over the same features: the question's character
n-grams (folded, so "donnees" and "données" meet, and robust to typos and SMS spelling) and
its sentence embedding when a model is loaded (meaning across wordings and languages). The
intent classifier learns from the bank's wordings, one class per entry, and one class more
from questions about the breach that the documents do not answer (the CNIL's fine, the ransom,
arrests: bot/data/unanswered_questions.toml); the topic classifier learns "on topic" from both
and "off topic" from everyday questions written for it (bot/data/everyday_questions.toml).
Neither ever sees an evaluation question.

They are trained when the index is built (some seconds: a model per bank entry) and saved with
it as plain arrays, so loading an index trains nothing; a process that builds the same bank
twice trains it once.
"""

from __future__ import annotations

import hashlib
import tomllib
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from bot.analysis import fold
from bot.bank import BankEntry

EVERYDAY_FILE = "everyday_questions.toml"
UNANSWERED_FILE = "unanswered_questions.toml"
# The features: character n-grams of these lengths, within words, and the sentence embedding
# times EMBEDDING_WEIGHT (both are unit vectors). Each classifier's inverse regularisation.
# docs/quality.md has how they were chosen.
NGRAMS = (3, 4)
EMBEDDING_WEIGHT = 2.0
INTENT_C = 10.0
TOPIC_C = 10.0
TRAININGS_KEPT = 4


@cache
def training_questions(name: str) -> tuple[str, ...]:
    """The questions of a training file of bot/data, French then English."""
    text = resources.files("bot").joinpath("data", name).read_text(encoding="utf-8")
    data = tomllib.loads(text)
    return tuple(data.get("fr", [])) + tuple(data.get("en", []))


def examples(bank: Sequence[BankEntry]) -> list[str]:
    """Every training text, in the order their embeddings are given to train_classifiers:
    the bank's wordings, the unanswered questions, the everyday questions."""
    return ([w for entry in bank for w in entry.wordings]
            + list(training_questions(UNANSWERED_FILE))
            + list(training_questions(EVERYDAY_FILE)))


@dataclass(frozen=True, slots=True)
class ClassifierWeights:
    """The two trained models as plain arrays: the n-grams and their IDF, and for each model
    its coefficients (intent: one row per bank entry, then the unanswered questions' row) and
    intercepts. `embedding_dims` is 0 when they were trained without embeddings."""

    ngrams: tuple[str, ...]
    ngram_idf: np.ndarray
    intent_coef: np.ndarray
    intent_intercept: np.ndarray
    topic_coef: np.ndarray
    topic_intercept: np.ndarray
    embedding_dims: int

    ARRAYS = ("ngram_idf", "intent_coef", "intent_intercept", "topic_coef", "topic_intercept")

    def arrays(self) -> dict[str, np.ndarray]:
        return {f"classifier_{name}": getattr(self, name) for name in self.ARRAYS}

    def to_json(self) -> dict[str, object]:
        return {"ngrams": list(self.ngrams), "embedding_dims": self.embedding_dims}

    @classmethod
    def load(cls, data: dict[str, object], arrays: dict[str, np.ndarray]) -> ClassifierWeights:
        ngrams, dims = data["ngrams"], data["embedding_dims"]
        if not isinstance(ngrams, list) or not isinstance(dims, int):
            raise ValueError("classifier: malformed n-grams or dimensions")
        loaded = {name: arrays[f"classifier_{name}"] for name in cls.ARRAYS}
        weights = cls(tuple(map(str, ngrams)), embedding_dims=dims, **loaded)
        if weights.intent_coef.shape[1] != len(ngrams) + dims:
            raise ValueError("classifier: coefficients and features disagree")
        return weights


_trained: OrderedDict[str, ClassifierWeights] = OrderedDict()


def train_classifiers(bank: Sequence[BankEntry], vectors: np.ndarray | None,
                      spell: Callable[[str], str] = str) -> ClassifierWeights:
    """Train both models on examples(bank), their n-grams read from their text as `spell`
    gives it (as questions are read: see QueryParser.spelled); `vectors` are their
    embeddings (None: n-grams alone)."""
    texts = [spell(text) for text in examples(bank)]
    wordings = sum(len(entry.wordings) for entry in bank)
    on_topic = wordings + len(training_questions(UNANSWERED_FILE))
    if vectors is not None and len(vectors) != len(texts):
        vectors = None
    key = _training_key(bank, texts, vectors)
    if (known := _trained.get(key)) is not None:
        return known
    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=NGRAMS, sublinear_tf=True,
                                 preprocessor=fold, dtype=np.float32)
    features = _joined(vectorizer.fit_transform(texts), vectors)
    # One class per entry, and the unanswered questions as class len(bank).
    labels = np.array([n for n, entry in enumerate(bank) for _ in entry.wordings]
                      + [len(bank)] * (on_topic - wordings))
    intent = LogisticRegression(C=INTENT_C, max_iter=1000)
    intent.fit(features[:on_topic], labels)
    intent_coef, intent_intercept = intent.coef_, intent.intercept_
    if len(intent_coef) == 1:  # a bank of one entry: scikit-learn's binary model has one row
        intent_coef = np.vstack([np.zeros_like(intent_coef), intent_coef])
        intent_intercept = np.r_[0.0, intent_intercept]
    topic = LogisticRegression(C=TOPIC_C, max_iter=1000, class_weight="balanced")
    topic.fit(features, np.r_[np.ones(on_topic), np.zeros(len(texts) - on_topic)])
    vocabulary = vectorizer.vocabulary_
    weights = ClassifierWeights(
        ngrams=tuple(sorted(vocabulary, key=vocabulary.__getitem__)),
        ngram_idf=vectorizer.idf_.astype(np.float32),
        intent_coef=intent_coef.astype(np.float32),
        intent_intercept=intent_intercept.astype(np.float32),
        topic_coef=topic.coef_[0].astype(np.float32),
        topic_intercept=topic.intercept_.astype(np.float32),
        embedding_dims=0 if vectors is None else int(vectors.shape[1]))
    _trained[key] = weights
    while len(_trained) > TRAININGS_KEPT:
        _trained.popitem(last=False)
    return weights


def training_settings() -> str:
    """The settings the classifiers are trained with: part of an index's fingerprint."""
    return repr((NGRAMS, EMBEDDING_WEIGHT, INTENT_C, TOPIC_C))


def _training_key(bank: Sequence[BankEntry], texts: list[str],
                  vectors: np.ndarray | None) -> str:
    digest = hashlib.sha256(training_settings().encode())
    for entry in bank:
        digest.update(f"\0{entry.id}\0{len(entry.wordings)}".encode())
    digest.update("\0".join(texts).encode())
    if vectors is not None:
        digest.update(np.ascontiguousarray(vectors, dtype=np.float32).tobytes())
    return digest.hexdigest()


def _joined(ngrams: sparse.spmatrix, vectors: np.ndarray | None) -> sparse.csr_matrix:
    """The n-gram features, with the embeddings beside them when there are any."""
    if vectors is None:
        return sparse.csr_matrix(ngrams)
    dense = sparse.csr_matrix(EMBEDDING_WEIGHT * np.asarray(vectors, dtype=np.float32))
    return sparse.hstack([ngrams, dense], format="csr")


@dataclass(frozen=True, slots=True)
class Reading:
    """What the classifiers read in a question: the probability of each bank entry (in the
    bank's order), that it is one the documents do not answer, and that it is about the
    breach at all."""

    intents: np.ndarray
    unanswered: float
    on_topic: float

    @property
    def best(self) -> int | None:
        return int(np.argmax(self.intents)) if len(self.intents) else None

    @property
    def likeliest(self) -> float:
        """The probability of the likeliest bank entry (0 without entries)."""
        return float(self.intents.max(initial=0.0))


class QuestionClassifiers:
    """Trained weights, ready to read questions."""

    def __init__(self, weights: ClassifierWeights) -> None:
        self.weights = weights
        self._vectorizer = TfidfVectorizer(
            analyzer="char_wb", ngram_range=NGRAMS, sublinear_tf=True, preprocessor=fold,
            dtype=np.float32, vocabulary={g: n for n, g in enumerate(weights.ngrams)})
        self._vectorizer.idf_ = weights.ngram_idf

    def read(self, question: str, vector: np.ndarray | None) -> Reading:
        """The entries' probabilities and the topic's for one question (its text as the
        training texts were given), with its embedding (ignored when the weights were
        trained without embeddings)."""
        weights = self.weights
        use_vector = vector if weights.embedding_dims and vector is not None else None
        if weights.embedding_dims and use_vector is None:
            use_vector = np.zeros(weights.embedding_dims, dtype=np.float32)
        features = _joined(self._vectorizer.transform([question]),
                           None if use_vector is None else use_vector[None, :])
        logits = np.asarray(features @ weights.intent_coef.T).ravel() + weights.intent_intercept
        classes = np.exp(logits - logits.max())
        classes = (classes / classes.sum()).astype(np.float64)
        topic = float(np.asarray(features @ weights.topic_coef).ravel()[0]
                      + weights.topic_intercept[0])
        return Reading(classes[:-1], float(classes[-1]), float(1 / (1 + np.exp(-topic))))
