"""A question -> its language and the ideas ("concepts") to look for in the index.

A concept is one idea of the question with the index terms that can express it: the stem of a
word, a compound with its parts, or the French words the lexicon gives for an English or
colloquial phrase. Search scores a passage on the best term of each concept, and confidence
is the share of the question's concepts a passage covers.
"""

from __future__ import annotations

import functools
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib import resources

import Stemmer
from py3langid.langid import MODEL_FILE, LanguageIdentifier
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein
from spellchecker import SpellChecker

from bot.analysis import Analyzer, Word, default_analyzer, fold, load_word_list, split_words
from bot.lang import Lang

KEYS_CACHED = 50_000
# Marks the term of an English word that the documents never write: it matches no passage.
UNTRANSLATED = "en:"
# Shorter words are not corrected: at one edit, "mail" or "mois" would become "mai" or "mis".
MIN_CORRECTED_LENGTH = 5


@dataclass(frozen=True, slots=True)
class Concept:
    """One idea of the question and the ways the index can express it: each alternative is
    a group of terms that together stand for the idea ("hôpital" or "établissement santé")."""

    alternatives: tuple[tuple[str, ...], ...]
    words: str
    required: bool = True
    # Whether the words are a word of the question's language (not a slip, slang, a number or
    # a name): one the corpus lacks then says the question is about something else.
    in_dictionary: bool = False

    @property
    def terms(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(t for alternative in self.alternatives for t in alternative))


@dataclass(frozen=True, slots=True)
class Query:
    text: str
    lang: Lang
    concepts: tuple[Concept, ...]
    # The question's words, folded, its typing slips fixed: what the classifiers read.
    spelled: str = ""


class Lexicon:
    """Phrases of a question -> concepts in the documents' French (see data/lexicon.toml)."""

    def __init__(self, entries: dict[str, list[str]], key_stem: Callable[[str], str],
                 analyzer: Analyzer, required: bool = True) -> None:
        """`required=False` makes hints: concepts that raise a passage's score when present
        but are not part of what a passage must cover to answer."""
        self.key_stem = key_stem
        self._entries: dict[tuple[str, ...], tuple[Concept, ...]] = {}
        self.words: set[str] = set()
        for phrase, alternatives in entries.items():
            parts = [p for w in split_words(phrase) for p in w.parts]
            self.words.update(parts)
            key = tuple(self.key_stem(p) for p in parts)
            self._entries[key] = self._concepts(phrase, alternatives, analyzer, required)
        self._first_keys = {key[0] for key in self._entries}
        self._longest = max(map(len, self._entries), default=0)

    @staticmethod
    def _concepts(phrase: str, alternatives: list[str], analyzer: Analyzer,
                  required: bool) -> tuple[Concept, ...]:
        if len(alternatives) == 1:
            terms = dict.fromkeys(analyzer.terms(alternatives[0]))
            return tuple(Concept(((t,),), phrase, required) for t in terms)
        groups = (tuple(dict.fromkeys(analyzer.terms(alt))) for alt in alternatives)
        return (Concept(tuple(dict.fromkeys(g for g in groups if g)), phrase, required),)

    def match(self, keys: list[str], start: int) -> tuple[int, tuple[Concept, ...]] | None:
        """The longest phrase starting at keys[start] (the question's words through
        `key_stem`): (its length, its concepts)."""
        if keys[start] not in self._first_keys:
            return None
        for length in range(min(len(keys) - start, self._longest), 0, -1):
            if (concepts := self._entries.get(tuple(keys[start:start + length]))) is not None:
                return length, concepts
        return None


class QueryParser:
    """Reads questions against one index's vocabulary (for spelling) and the lexicon."""

    def __init__(self, surface_forms: dict[str, str], known_terms: set[str] | dict[str, float],
                 analyzer: Analyzer | None = None) -> None:
        self.analyzer = analyzer or default_analyzer()
        self._known = known_terms
        self._surface = surface_forms
        # Correction candidates by first letter and length, most frequent first (ties go
        # to them): a word within n edits differs in length by n at most.
        self._candidates: dict[tuple[str, int], list[str]] = {}
        self._rank = {form: rank for rank, form in enumerate(surface_forms)}
        for form in surface_forms:
            if len(form) >= MIN_CORRECTED_LENGTH - 1:
                self._candidates.setdefault((form[0], len(form)), []).append(form)
        self._stop_en = load_word_list("stopwords_en.txt")
        self._stop_fr = self.analyzer.stopwords
        english = Stemmer.Stemmer("english").stemWord
        french = functools.lru_cache(maxsize=KEYS_CACHED)(self._french_key)
        # A word that is not fixed by its spelling is looked up again for its stem.
        self._closest = functools.lru_cache(maxsize=KEYS_CACHED)(self._closest_form)
        entries = load_lexicon()
        fr = (Lexicon(entries["fr_hints"], french, self.analyzer, required=False),
              Lexicon(entries["fr"], french, self.analyzer))
        en = (Lexicon(entries["en_hints"], english, self.analyzer, required=False),
              Lexicon(entries["en"], english, self.analyzer))
        self._lexicons: dict[Lang, tuple[Lexicon, ...]] = {"fr": fr, "en": en + fr}
        self._lexicon_words = frozenset(w for lexicon in fr for w in lexicon.words)

    def _french_key(self, folded: str) -> str:
        """How French lexicon keys are matched: the stem after past-participle endings go,
        since Snowball keeps "piratées" ("pirate") apart from "pirates" ("pirat")."""
        return self.analyzer.stem(re.sub(r"(?<=\w{4})e?es?$", "", folded))

    def spelled(self, text: str) -> str:
        """A text's words, folded, French typing slips fixed ("porter plaite" -> "porter
        plainte"), joined by spaces: the `spelled` of its Query."""
        lang = detect_language(text)
        return " ".join(p for _, p in self._parts(split_words(text), lang, self._stopwords(lang)))

    def _stopwords(self, lang: Lang) -> frozenset[str]:
        return self._stop_fr | self._stop_en if lang == "en" else self._stop_fr

    def _parts(self, words: list[Word], lang: Lang,
               stopwords: frozenset[str]) -> list[tuple[int, str]]:
        """Each folded part of each word, with the index of the word it belongs to; in French
        typing slips are fixed first, so that "porter plaite" is a phrase again."""
        parts = [(i, p) for i, w in enumerate(words) for p in w.parts]
        return [(i, self._spell(p, stopwords)) for i, p in parts] if lang == "fr" else parts

    def parse(self, text: str) -> Query:
        words = split_words(text)
        lang = detect_language(text)
        stopwords = self._stopwords(lang)
        parts = self._parts(words, lang, stopwords)
        folded = [p for _, p in parts]
        lexicons = self._lexicons[lang]
        keys: dict[Callable[[str], str], list[str]] = {lexicon.key_stem: [] for lexicon in lexicons}
        for key_stem, stems in keys.items():
            stems.extend(map(key_stem, folded))
        # (word index, concept), so that concepts keep the order of the question.
        found: list[tuple[int, Concept]] = []
        leftover: dict[int, list[str]] = {}
        position = 0
        while position < len(parts):
            match = next((m for lexicon in lexicons
                          if (m := lexicon.match(keys[lexicon.key_stem], position))), None)
            if match:
                length, matched = match
                found.extend((parts[position][0], c) for c in matched)
                position += length
                continue
            word_index, part = parts[position]
            if part not in stopwords:
                leftover.setdefault(word_index, []).append(part)
            position += 1
        found.extend((i, self._word_concept(words[i], kept, lang))
                     for i, kept in leftover.items())
        found.sort(key=lambda pair: pair[0])
        return Query(text=text, lang=lang, concepts=tuple(dict.fromkeys(c for _, c in found)),
                     spelled=" ".join(folded))

    def _word_concept(self, word: Word, parts: list[str], lang: Lang) -> Concept:
        """One concept per written word; a compound is its joined form or all its parts. An
        English word the lexicon does not translate reaches the documents only as written
        there (a name, an acronym): never through a French stem it merely looks like
        ("fine" is not "fin")."""
        term = self.correct if lang == "fr" else self._as_written
        alternatives = [tuple(dict.fromkeys(term(p) for p in parts))]
        if len(parts) > 1:
            alternatives.insert(0, (term("".join(parts)),))
        return Concept(tuple(alternatives), word.text,
                       in_dictionary=word.folded in dictionary(lang))

    def _as_written(self, folded: str) -> str:
        """The stem of a word the documents write this way; else a term no passage has."""
        return self._surface.get(folded, f"{UNTRANSLATED}{folded}")

    def correct(self, folded: str) -> str:
        """The word's stem; for a word the corpus does not know, the stem of the closest
        corpus word within one edit (two for words of eight letters or more) that starts with
        the same letter, as typing slips rarely hit the first one."""
        if not self._may_be_a_slip(folded):
            return self.analyzer.stem(folded)
        closest = self._closest(folded)
        return self._surface[closest] if closest else self.analyzer.stem(folded)

    def _may_be_a_slip(self, folded: str) -> bool:
        """Whether a word could be a typing slip of a corpus word: long enough, letters only,
        unknown to the corpus, and not a word of the French dictionary."""
        return (len(folded) >= MIN_CORRECTED_LENGTH and folded.isalpha()
                and self.analyzer.stem(folded) not in self._known
                and folded not in dictionary("fr"))

    def _spell(self, folded: str, stopwords: frozenset[str]) -> str:
        """A French word as the corpus or the lexicon spells it, if it is a slip of one. A
        word of the French dictionary is a word, not a slip, even where the corpus lacks it."""
        if (folded in self._surface or folded in stopwords or folded in self._lexicon_words
                or not self._may_be_a_slip(folded)):
            return folded
        return self._closest(folded) or folded

    def _closest_form(self, folded: str) -> str | None:
        max_edits = 2 if len(folded) >= 8 else 1
        found = []
        for length in range(len(folded) - max_edits, len(folded) + max_edits + 1):
            candidates = self._candidates.get((folded[0], length), [])
            best = process.extractOne(folded, candidates, scorer=Levenshtein.distance,
                                      score_cutoff=max_edits)
            if best:
                found.append((best[1], self._rank[best[0]], best[0]))
        return min(found)[2] if found else None


_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")


def questions_first(text: str) -> str:
    """The message with its questions (sentences ending in "?") before the rest. A long
    message often asks at its end, after the sender's story; the sentence-embedding model
    reads only the start of a message (embeddings.MAX_QUERY_CHARS)."""
    sentences = _SENTENCE_END.split(text.strip())
    asked = [s for s in sentences if s.rstrip().endswith("?")]
    return " ".join(asked + [s for s in sentences if s not in asked])


def load_language_data() -> None:
    """Load now what reading a question needs (both word lists, their common words, the
    language model): at start, not on a user's time nor once per worker thread in a burst."""
    for lang in ("fr", "en"):
        dictionary(lang)
        common_words(lang)
    _language_identifier()


@cache
def _language_identifier() -> LanguageIdentifier:
    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(["fr", "en"])
    return identifier


def detect_language(text: str) -> Lang:
    """French or English. A message with words that only one of the two languages has is of
    that language ("chaize reponse": a name and a French word); one with neither kind is
    French, the documents' language ("Viamedis ?"); else py3langid's character n-gram model,
    limited to the two, decides."""
    words = {part for word in split_words(text) for part in word.parts}
    french, english = dictionary("fr"), dictionary("en")
    only_fr = any(w in french and w not in english for w in words)
    only_en = any(w in english and w not in french for w in words)
    if only_fr != only_en:
        return "fr" if only_fr else "en"
    if not only_fr:
        return "fr"
    return "en" if _language_identifier().classify(text)[0] == "en" else "fr"


@cache
def dictionary(lang: Lang) -> frozenset[str]:
    """The words of pyspellchecker's word list for a language, folded as the analysis folds
    them: a word found there is a word, not a typing slip, even where the corpus lacks it."""
    words = SpellChecker(language=lang, distance=1).word_frequency.dictionary
    return frozenset(fold(word) for word in words if word.isalpha())


# The most frequent words of a language say little about what a question is about ("lieu",
# "took"): they are not named as words the documents lack.
COMMON_WORDS = 1000


@cache
def common_words(lang: Lang) -> frozenset[str]:
    """The COMMON_WORDS most frequent words of pyspellchecker's list for a language, folded."""
    counts = SpellChecker(language=lang, distance=1).word_frequency.dictionary
    return frozenset(fold(w) for w in sorted(counts, key=lambda w: -counts[w])[:COMMON_WORDS])


@cache
def load_lexicon() -> dict[str, dict[str, list[str]]]:
    text = resources.files("bot").joinpath("data", "lexicon.toml").read_text(encoding="utf-8")
    data = tomllib.loads(text)
    return {name: data.get(name, {}) for name in ("fr", "en", "fr_hints", "en_hints")}
