"""Synthetic French corpora and questions, reproducible from a seed.

Word frequencies follow Zipf's law over a fixed vocabulary: the French function words of the
project's own stop list take the top ranks (as they do in real French text), then invented
French-looking words built from French syllables and endings, so that folding, elisions and the
Snowball stemmer do their usual work. Documents go through the project's own pipeline: they
are split into passages (one sentence each) and analysed with their context, as the indexer
does with the real corpus.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

import numpy as np

from bot.analysis import fold
from bot.corpus import Document
from bot.document_text import Section
from bot.metadata import DocumentMeta

SEED = 2024
VOCABULARY_SIZE = 60_000
ZIPF_EXPONENT = 1.05
SENTENCE_WORDS = (27, 50)  # a passage is one sentence
SENTENCES_PER_DOCUMENT = 21
QUESTION_WORDS = (3, 8)
TYPO_RATE = 0.1

_ONSETS = ["", "b", "c", "d", "f", "g", "l", "m", "n", "p", "r", "s", "t", "v", "ch", "pr",
           "tr", "cr", "pl", "gr", "bl", "fr", "qu", "j"]
_VOWELS = ["a", "e", "i", "o", "u", "é", "è", "ou", "ai", "au", "eu", "an", "on", "in", "oi"]
_ENDINGS = ["", "e", "es", "er", "é", "ée", "ées", "ment", "tion", "tions", "ique", "iques",
            "eur", "eurs", "ité", "age", "ant", "ait", "aient", "ons", "ez", "ance", "ier",
            "ière", "able", "isme"]
_QUESTION_OPENERS = ["comment", "pourquoi", "quand", "est-ce que", "qui", "que", "quel",
                     "quelle", "combien", "où"]


@dataclass(frozen=True)
class Vocabulary:
    """Words by rank (rank 0 most frequent) and the Zipf probability of each rank."""

    words: list[str]
    probabilities: np.ndarray
    function_words: int

    def draw(self, rng: np.random.Generator, count: int, skip: int = 0) -> list[str]:
        """`count` words drawn by frequency, among the words of rank `skip` and beyond."""
        cumulative = np.cumsum(self.probabilities[skip:])
        picks = np.searchsorted(cumulative, rng.random(count) * cumulative[-1])
        return [self.words[skip + i] for i in np.minimum(picks, len(cumulative) - 1)]


def vocabulary(rng: np.random.Generator, size: int = VOCABULARY_SIZE) -> Vocabulary:
    function_words = list(dict.fromkeys(w for w in stop_list() if len(w) > 1))
    invented: dict[str, None] = {}
    while len(invented) < size - len(function_words):
        batch = 4096
        syllables = rng.integers(1, 4, batch)
        onsets = rng.choice(_ONSETS, (batch, 3))
        vowels = rng.choice(_VOWELS, (batch, 3))
        endings = rng.choice(_ENDINGS, batch)
        for n in range(batch):
            stem = "".join(onsets[n, k] + vowels[n, k] for k in range(syllables[n]))
            invented[stem + endings[n]] = None
    words = function_words + list(invented)[:size - len(function_words)]
    weights = np.arange(1, len(words) + 1, dtype=float) ** -ZIPF_EXPONENT
    return Vocabulary(words, weights / weights.sum(), len(function_words))


def stop_list() -> list[str]:
    """The project's French stop list in its own order, most frequent words first."""
    text = resources.files("bot").joinpath("data", "stopwords_fr.txt").read_text("utf-8")
    return [fold(w) for line in text.splitlines() for w in line.split("#", 1)[0].split()]


def sentences(rng: np.random.Generator, vocab: Vocabulary, count: int) -> list[str]:
    lengths = rng.integers(SENTENCE_WORDS[0], SENTENCE_WORDS[1] + 1, count)
    words = vocab.draw(rng, int(lengths.sum()))
    result = []
    for end, length in zip(np.cumsum(lengths), lengths, strict=True):
        chosen = words[end - length:end]
        result.append(" ".join([chosen[0].capitalize(), *chosen[1:]]) + ".")
    return result


def documents(passages: int, seed: int = SEED) -> list[Document]:
    """Documents that the project's passage splitter cuts into about `passages` passages."""
    rng = np.random.default_rng(seed)
    vocab = vocabulary(rng)
    count = -(-passages // SENTENCES_PER_DOCUMENT)
    text = sentences(rng, vocab, count * SENTENCES_PER_DOCUMENT)
    return [
        Document(
            doc_id=f"synthetic-{n:06d}",
            meta=DocumentMeta(title=f"Document synthétique {n}"),
            sections=(Section(None, (" ".join(
                text[n * SENTENCES_PER_DOCUMENT:(n + 1) * SENTENCES_PER_DOCUMENT]),)),),
        )
        for n in range(count)
    ]


def questions(count: int, seed: int = SEED + 1) -> list[str]:
    """Questions of 3-8 words: an opener, then content words drawn by their Zipf frequency
    (so common words come up as often as they would), with a typing slip now and then."""
    rng = np.random.default_rng(SEED)
    vocab = vocabulary(rng)
    rng = np.random.default_rng(seed)
    result = []
    for _ in range(count):
        length = int(rng.integers(QUESTION_WORDS[0], QUESTION_WORDS[1] + 1))
        opener = str(rng.choice(_QUESTION_OPENERS))
        words = [opener, *vocab.draw(rng, length - 1, skip=vocab.function_words)]
        if rng.random() < TYPO_RATE:
            words[-1] = typo(rng, words[-1])
        result.append(" ".join(words) + " ?")
    return result


def typo(rng: np.random.Generator, word: str) -> str:
    """The word with one letter dropped or two neighbours swapped (never the first letter)."""
    if len(word) < 4:
        return word
    at = int(rng.integers(1, len(word) - 1))
    if rng.random() < 0.5:
        return word[:at] + word[at + 1:]
    return word[:at] + word[at + 1] + word[at] + word[at + 2:]
