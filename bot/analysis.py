"""Text -> index terms, the same way for the documents and for the questions.

Lower-case, split words on apostrophes, hyphens and punctuation, fold accents with unidecode,
drop elisions (l', d', qu', jusqu'…) and stopwords, then apply the Snowball French stemmer.
Folding comes before stemming so that "données" and "donnees" meet.
"""

from __future__ import annotations

import re
from functools import cache, lru_cache
from importlib import resources
from typing import NamedTuple, Protocol

import Stemmer
from unidecode import unidecode

# Letters and digits, with hyphenated compounds kept together; apostrophes split words.
_WORD = re.compile(r"[^\W_]+(?:[-‐‑][^\W_]+)*")
_HYPHEN = re.compile(r"[-‐‑]")
# A web address: not prose, so its words are not the text's words.
URL = re.compile(r"\b(?:https?://|www\.)[^\s<>\"«»()]+[^\s<>\"«»().,;:!?']")

TEXTS_CACHED = 8192
WORDS_CACHED = 200_000

# The elided forms, dropped like stopwords: l'état, d'identité, qu'elle, jusqu'à…
ELISIONS = frozenset({"l", "d", "qu", "n", "s", "j", "c", "m", "t", "jusqu", "lorsqu", "puisqu",
                      "quoiqu", "presqu", "quelqu"})


class Word(NamedTuple):  # a named tuple: millions are made when a corpus is indexed
    """A word as written in a text, with its place and its folded (lower-case ASCII) form."""

    text: str
    start: int
    end: int

    @property
    def folded(self) -> str:
        return fold(self.text)

    @property
    def parts(self) -> list[str]:
        """The folded parts of a hyphenated compound; one part for a plain word."""
        return list(compound_parts(self.folded))


@lru_cache(maxsize=100_000)
def compound_parts(folded: str) -> tuple[str, ...]:
    """The parts of a folded word split at its hyphens: "cyber-attaque" -> cyber, attaque."""
    return tuple(p for p in _HYPHEN.split(folded) if p)


@lru_cache(maxsize=100_000)  # a text's words come back again and again
def fold(text: str) -> str:
    """Lower-case and strip accents: "Sécurité" -> "securite"."""
    lowered = text.lower()
    return lowered if lowered.isascii() else unidecode(lowered)


def written_words(text: str) -> list[str]:
    """The words of a text as written, web addresses left out: `split_words` without the
    offsets, for the analysis of whole corpora."""
    return _WORD.findall(text) if URL.search(text) is None else [w.text for w in split_words(text)]


def split_words(text: str) -> list[Word]:
    """The words of a text with their character offsets, web addresses left out."""
    urls = [m.span() for m in URL.finditer(text)]
    words = [Word(m.group(), m.start(), m.end()) for m in _WORD.finditer(text)]
    if not urls:
        return words
    return [w for w in words if not any(start <= w.start < end for start, end in urls)]


@cache
def load_word_list(name: str) -> frozenset[str]:
    """A packaged list of folded words, whitespace-separated, with # comments."""
    text = resources.files("bot").joinpath("data", name).read_text(encoding="utf-8")
    lines = (line.split("#", 1)[0] for line in text.splitlines())
    return frozenset(fold(word) for line in lines for word in line.split())


class WordStemmer(Protocol):
    """The part of PyStemmer's Stemmer the analysis uses (PyStemmer ships no types)."""

    def stemWord(self, word: str) -> str: ...


class Analyzer:
    """Turns words into index terms: French stems of the folded words, minus stopwords."""

    def __init__(self) -> None:
        self._stemmer: WordStemmer = Stemmer.Stemmer("french")
        self.stopwords = load_word_list("stopwords_fr.txt") | ELISIONS
        # Answers quote the same sentences again and again: their analysis is kept.
        self.words_with_terms = lru_cache(maxsize=TEXTS_CACHED)(self._words_with_terms)
        # Words come back again and again (Zipf): each is analysed once.
        self._written_terms = lru_cache(maxsize=WORDS_CACHED)(self._terms_of_written_word)

    def stem(self, folded: str) -> str:
        return self._stemmer.stemWord(folded)

    def is_stopword(self, folded: str) -> bool:
        return folded in self.stopwords

    def word_terms(self, word: Word) -> tuple[str, ...]:
        """A word's terms. A compound gives its parts and, when two or more of them carry
        meaning, the joined whole, so "cyber-attaques" meets "cyberattaque"."""
        return self._written_terms(word.text)

    def _terms_of_written_word(self, text: str) -> tuple[str, ...]:
        parts = [p for p in compound_parts(fold(text)) if not self.is_stopword(p)]
        terms = [self.stem(p) for p in parts]
        if len(parts) > 1:
            terms.append(self.stem("".join(parts)))
        return tuple(terms)

    def _words_with_terms(self, text: str) -> tuple[tuple[Word, tuple[str, ...]], ...]:
        """Each word of a text with its terms."""
        return tuple((word, self.word_terms(word)) for word in split_words(text))

    def terms(self, text: str) -> list[str]:
        """Every index term of a text, in order."""
        return [term for written in written_words(text) for term in self._written_terms(written)]


@cache
def default_analyzer() -> Analyzer:
    return Analyzer()
