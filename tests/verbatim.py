"""Whether an excerpt is quoted word for word from its corpus file, whitespace aside."""

from functools import cache

from bot.answer import Excerpt
from bot.excerpts import ELLIPSIS

from .conftest import CORPUS


def squeeze(text: str) -> str:
    return " ".join(text.split())


@cache
def corpus_file_text(name: str) -> str:
    """The text of a file of the real corpus, its whitespace squeezed."""
    return squeeze((CORPUS / name).read_text("utf-8"))


def unquoted_pieces(excerpt: Excerpt) -> list[str]:
    """The pieces of an excerpt, between the "…" that mark text left out, that its corpus file
    does not hold word for word: none when the excerpt is verbatim."""
    source = corpus_file_text(excerpt.source.doc_id)
    return [piece for piece in excerpt.text.split(ELLIPSIS) if squeeze(piece) not in source]


def quoted_in_corpus(quote: str) -> bool:
    """Whether a quote as a reader sees it ("…" where text is left out) is word for word in
    one file of the real corpus."""
    pieces = [squeeze(piece) for piece in quote.split(ELLIPSIS)]
    return any(all(piece in corpus_file_text(path.name) for piece in pieces)
               for path in CORPUS.glob("*.md"))
