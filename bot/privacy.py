"""Spotting and removing personal data in what people write to the bot.

Names are found by the way people give them, not from a list of names: after an introduction
("je m'appelle", "moi c'est", "my name is"), a relative ("mon voisin", "my wife"), a civility
title ("Mme", "Dr"), a closing ("cordialement, Jean"), on a signature line, or as capitalised
words of which one is no French word ("Pierre Dubois", not "Harmonie Mutuelle"). Whether a word
may be a name is told by pyspellchecker's word lists, as bot.query loads them: the function
words and the 1,000 most frequent words of each language are no names. The French list has
"pierre", "marie" and "jean" too, further down (1,650th, 2,770th, 4,950th), among words such
as "décédé" (6,330th): frequency cannot tell them apart, so a lower-case word is taken for a
name only after a cue, and a French word is no name in a run of capitalised words.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Literal

from bot.analysis import ELISIONS, compound_parts, fold, load_word_list
from bot.lang import Lang
from bot.query import common_words, dictionary

# A French social security number (NIR): 13 digits, or 15 with the key, written with or
# without spaces, dots or dashes between groups; Corsica's departments are 2A and 2B.
_NIR = re.compile(
    r"(?<![\dA-Za-z])[12][\s.-]?\d{2}[\s.-]?\d{2}[\s.-]?(?:\d{2}|2[AaBb])[\s.-]?\d{3}[\s.-]?\d{3}"
    r"(?:[\s.-]?\d{2})?(?![\dA-Za-z])"
)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE_OR_NUMBER = re.compile(r"\+?\d[\d\s.-]{3,}\d|\d{2,}")

NAME_TAG = "[nom]"
# How a cue tells the words after it: "strong" ones are names unless common words ("mon voisin
# jean dupont", "mon voisin est…"); after a French or English introduction that also says other
# things ("je suis inquiet", "i am worried"), a lower-case word must be no word of the language.
Cue = Literal["strong", "fr", "en"]
# The organisations the bot is about: capitalised next to another word, or alone on the last
# line, they are still no person.
_SUBJECT = frozenset({"viamedis", "almerys", "almerus"})

# A word as a name is written: letters, hyphenated parts ("Jean-Pierre"); an apostrophe ends it.
_WORD = r"[^\W\d_]+(?:[-‐‑][^\W\d_]+)*"
_CAPITALISED = r"[A-ZÀ-ÖØ-ÞŒŸ][^\W\d_]*(?:[-‐‑][^\W\d_]+)*"
_A = "['’]"
_TITLE_WORDS = "madame|monsieur|mademoiselle|docteure?|doctor|professeur|mister|miss"
# Civility titles as written; "M." and "Pr" only with their capital ("pr" is SMS for "pour").
_TITLES = rf"M\.|MM\.|(?:[DdMm]r|Pr|[Mm]rs|[Mm]s|[Mm]mes?|[Mm]lle)\b\.?|(?i:{_TITLE_WORDS})\b"
_TITLE = re.compile(rf"(?:{_TITLES})\Z")
_CAPITAL_ONLY_TITLES = frozenset({"m.", "mm.", "pr", "pr."})
_RELATIVES_FR = (
    r"(?:(?:grand|arri[èe]re-grand|beau|belle|petit|petite)-)?(?:p[èe]re|m[èe]re|fr[èe]re"
    r"|s(?:œ|oe)ur|fils|fille|enfants?|oncle|tante|cousine?|neveu|ni[èe]ce|parents?)"
    r"|mari|[ée]poux|[ée]pouse|femme|conjointe?|compagnon|compagne|copain|copine|concubine?"
    r"|papa|maman|gendre|voisine?|amie?|coll[èe]gue|patronne?|parrain|marraine|filleule?"
)
_RELATIVES_EN = (
    r"(?:(?:grand|great-grand|step)?(?:mother|father|son|daughter|ma|pa|mom|mum|dad|child)"
    r"|wife|husband|spouse|partner|brother|sister|kid|uncle|aunt|cousin|nephew|niece"
    r"|neighbou?r|friend|colleague|boyfriend|girlfriend|boss|fianc[ée]e?)(?:-in-law)?"
)
# The cues, matched on the lower-cased text (a case-blind pattern, or one starting with \b, is
# twice as slow); one group a kind of cue.
_CUE = re.compile(
    rf"(?<![^\W_])(?:(?P<strong>(?:je m{_A}|il s{_A}|elle s{_A})appel+e|je me nomme"
    rf"|m\.|mm\.|(?:dr|pr|mrs?|ms|mmes?|mlle)\.?|{_TITLE_WORDS}"
    rf"|mon (?:pr[ée])?nom (?:est|c{_A}est)|(?:my|his|her) name(?: is|{_A}s)|call me"
    rf"|(?:pr[ée])?nommée?|signée?|signed|named"
    rf"|(?:mon|ma|mes|notre|nos|son|sa|ses|ton|ta|tes) (?:{_RELATIVES_FR})"
    rf"|(?:my|our|his|her) (?:{_RELATIVES_EN}))"
    rf"|(?P<fr>je suis|moi c{_A}est|ici)|(?P<en>i am|i{_A}m|this is))(?![^\W_])"
)
# "ici" introduces its writer only at the start of a sentence: "Bonjour, ici Paul Martin".
_SENTENCE_START = re.compile(r"(?:^|[.!?,:])\s*\Z")
# What may follow a cue: a comma or a bracket, a title, then one or two words.
_AFTER_CUE = re.compile(
    rf"[ \t]*(?:[,(:][ \t]*)?(?:(?:{_TITLES})[ \t]+)?({_WORD})(?:[ \t]+({_WORD}))?"
)
# A closing at the end of the message (matched on the lower-cased text), then the words that
# may sign it.
_CLOSING = re.compile(
    rf"(?<![^\W_])(?:(?:bien )?cordialement|bien à vous|(?:sinc[èe]res |meilleures )?salutations"
    rf"|amicalement|bises|merci(?: beaucoup| d{_A}avance| par avance)?"
    rf"|(?:best |kind |warm )?regards|sincerely|cheers|thanks(?: a lot)?|thank you|best)"
    rf"[ \t]*[,.!]?\s+((?:{_WORD})(?:[ \t]+{_WORD}){{0,2}})[ \t]*[.!]?\s*\Z"
)
# The end of a message a closing and a signature fit in: the closing is looked for there only.
_CLOSING_REACH = 120
_LAST_LINE = re.compile(rf"\n[ \t]*(?:[-–—]+[ \t]*)?((?:{_WORD})(?:[ \t]+{_WORD}){{0,2}})"
                        rf"[ \t]*[.!]?\s*\Z")
_CAPITALISED_RUN = re.compile(rf"{_CAPITALISED}(?:[ \t]+{_CAPITALISED})+")
_WORD_PATTERN = re.compile(_WORD)
_SPACES = re.compile(r"[ \t]+")
# Capitalised words after an article or a possessive are a thing, not a person: "the National
# Assembly", "la Sécurité Sociale", "ma Carte Vitale".
_DETERMINER_BEFORE = re.compile(
    rf"(?:\b(?i:the|an?|le|la|les|du|des|une?|aux?|ce|cet|cette|ces|mon|ma|mes|ton|ta|tes|notre"
    rf"|nos|votre|vos|my|our|your)[ \t]+|\b[lL]{_A})\Z"
)


def contains_social_security_number(text: str) -> bool:
    """Whether the text holds something shaped like a French social security number."""
    return _NIR.search(text) is not None


def redact(text: str) -> str:
    """The text with numbers, e-mail addresses and people's names replaced by tags, fit to be
    kept in statistics."""
    text = _NIR.sub("[numéro]", text)
    text = _EMAIL.sub("[e-mail]", text)
    text = _replace(text, _name_spans(text), NAME_TAG)
    return _PHONE_OR_NUMBER.sub("[nombre]", text)


def _name_spans(text: str) -> list[tuple[int, int]]:
    """Where the text gives people's names, by every cue; spans may overlap."""
    lowered = _lower_keeping_offsets(text)
    spans = [span for position, cue in _cues(text, lowered)
             if (span := _name_after(text, position, cue))]
    spans += _capitalised_names(text)
    start = max(0, len(text) - _CLOSING_REACH)
    if closing := _CLOSING.search(lowered, start):
        spans += _all_names(text, closing.span(1))
    if last_line := _LAST_LINE.search(text, start):
        spans += _signature(last_line)
    return spans


def _cues(text: str, lowered: str) -> list[tuple[int, Cue]]:
    """Where each cue ends, with its kind."""
    cues: list[tuple[int, Cue]] = []
    for match in _CUE.finditer(lowered):
        cue: Cue = "strong" if match["strong"] else "fr" if match["fr"] else "en"
        if match[0] in _CAPITAL_ONLY_TITLES and text[match.start()].islower():
            continue
        if match[0] == "ici" and not _SENTENCE_START.search(text, 0, match.start()):
            continue
        cues.append((match.end(), cue))
    return cues


def _lower_keeping_offsets(text: str) -> str:
    """The text in lower case, each character where it was ("İ" lower-cases to two)."""
    lowered = text.lower()
    return lowered if len(lowered) == len(text) else "".join(c.lower()[0] for c in text)


def _name_after(text: str, position: int, cue: Cue) -> tuple[int, int] | None:
    """The span of the one or two words after a cue that are a name, if the first one is."""
    match = _AFTER_CUE.match(text, position)
    if match is None or not _may_be_name(match[1], cue):
        return None
    first, second = match[1], match[2]
    last = 2 if second and _continues_name(first, second, cue) else 1
    return match.start(1), match.end(last)


def _continues_name(first: str, second: str, cue: Cue) -> bool:
    """Whether the word after a name is part of it: written in the same case (a capitalised
    name is not followed by a lower-case surname: "M. Dubois concerne…"), and a name itself; a
    capitalised surname whatever the cue ("je suis Sophie Petit")."""
    if first[0].isupper():
        return second[0].isupper() and _may_be_name(second, "strong")
    return not second[0].isupper() and _may_be_name(second, cue)


def _all_names(text: str, span: tuple[int, int]) -> list[tuple[int, int]]:
    """The span of a closing's words when all are names ("merci, Paul", not "merci beaucoup")."""
    words = _SPACES.split(text[span[0]:span[1]])
    return [span] if all(_may_be_name(word, "strong") for word in words) else []


def _signature(match: re.Match[str]) -> list[tuple[int, int]]:
    """A last line of one to three capitalised words that are no common words: a signature.
    One word alone must also be no French word ("Urgent", "Cordialement" stay)."""
    words = _SPACES.split(match[1])
    if not all(w[0].isupper() and _may_be_name(w, "strong") for w in words):
        return []
    if len(words) == 1 and _is_french_word(words[0]):
        return []
    return [match.span(1)]


def _capitalised_names(text: str) -> list[tuple[int, int]]:
    """Runs of two or more capitalised words (common words at their ends left out) of which
    one is neither a French word, a common English word, nor the bot's subject: "Pierre
    Dubois", "John Smith", but not "Harmonie Mutuelle", "Assurance Maladie" nor "Comment"."""
    spans: list[tuple[int, int]] = []
    for run in _CAPITALISED_RUN.finditer(text):
        offset = run.start()
        words = [(m[0], offset + m.start(), offset + m.end())
                 for m in _WORD_PATTERN.finditer(run[0])]
        if offset and text[offset - 1].isalpha():  # the run began inside a word: "iPhone Pro"
            words = words[1:]
        group: list[tuple[str, int, int]] = []
        for word in [*words, ("", 0, 0)]:  # an empty word closes the last group
            if word[0] and _is_capitalised(word[0]):
                group.append(word)
                continue
            spans += _name_in_group(text, group)
            group = []
    return spans


def _name_in_group(text: str, group: list[tuple[str, int, int]]) -> list[tuple[int, int]]:
    """The span of consecutive capitalised words that are a name, once greetings, titles and
    other common words at their ends are left out ("Bonjour Jean Dupont", "Mme Delpech")."""
    while group and (_is_common(group[0][0]) or _TITLE.match(group[0][0])):
        group = group[1:]
    while group and _is_common(group[-1][0]):
        group = group[:-1]
    if len(group) < 2 or all(_is_known(word) for word, _, _ in group):
        return []
    start, end = group[0][1], group[-1][2]
    if _DETERMINER_BEFORE.search(text, max(0, start - 8), start):
        return []
    return [(start, end)]


def _may_be_name(word: str, cue: Cue) -> bool:
    """Whether a word after a cue may be a name. After a strong cue, any capitalised word but
    a function word or a title, and a lower-case word unless common or plainly a word: written
    with its accents ("décédé") or an English past participle ("received"). After a weak cue,
    a capitalised word unless common (or, after an English cue, French), a lower-case word only
    if no word of the cue's language ("je suis sophie", not "je suis inquiet")."""
    folded = fold(word)
    if _TITLE.match(word) or folded in _SUBJECT:
        return False
    if cue == "strong":
        if word[0].isupper():
            return folded not in _function_words()
        return not (_is_common(word) or _is_inflected_word(word))
    if word.isupper() and len(word) > 1:  # an acronym: "je suis DPO"
        return False
    if _is_capitalised(word):
        return not _is_common(word) and (cue == "fr" or not _is_french_word(word))
    return not _is_common(word) and not _in_dictionary(folded, cue)


def _is_capitalised(word: str) -> bool:
    """A capital then small letters: "Dubois", not "dubois" nor an acronym ("CNIL")."""
    return word[0].isupper() and not word.isupper()


def _is_inflected_word(word: str) -> bool:
    """A lower-case word that is plainly a word though not a common one: a French word written
    with its accents ("âgée", "hospitalisé"), an English past participle ("received")."""
    folded = fold(word)
    if not word.isascii():
        return _in_dictionary(folded, "fr")
    return len(word) >= 6 and word.endswith("ed") and _in_dictionary(folded, "en")


def _is_known(word: str) -> bool:
    """A word that says a capitalised run is no person: a French word, a common English one,
    or the bot's subject."""
    return _is_french_word(word) or _is_common(word) or fold(word) in _SUBJECT


def _is_french_word(word: str) -> bool:
    return _in_dictionary(fold(word), "fr")


def _in_dictionary(folded: str, lang: Lang) -> bool:
    """Whether every part of a folded word is in pyspellchecker's list for the language."""
    words = dictionary(lang)
    return all(part in words for part in compound_parts(folded))


def _is_common(word: str) -> bool:
    """A function word or one of the most frequent French or English words: no name."""
    return all(part in _common_words() for part in compound_parts(fold(word)))


@cache
def _function_words() -> frozenset[str]:
    return load_word_list("stopwords_fr.txt") | load_word_list("stopwords_en.txt") | ELISIONS


@cache
def _common_words() -> frozenset[str]:
    return _function_words() | common_words("fr") | common_words("en")


def _replace(text: str, spans: list[tuple[int, int]], tag: str) -> str:
    """The text with each span, overlapping spans merged, replaced by the tag."""
    parts: list[str] = []
    end = 0
    for start, stop in sorted(spans):
        if start < end:  # overlaps the span just replaced
            end = max(end, stop)
            continue
        parts += [text[end:start], tag]
        end = stop
    return "".join([*parts, text[end:]])
