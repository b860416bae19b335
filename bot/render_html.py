"""An Answer -> Telegram HTML: excerpts as blockquotes, matched words in bold, links live.

Every piece of text goes through html.escape; the only tags are the ones written here. A reply
is made of whole blocks and stops before Telegram's 4096-character limit, so it is never cut
inside a tag.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from bot.answer import Answer, Excerpt
from bot.lang import Lang
from bot.messages import message
from bot.render import reply_notices, source_line

TELEGRAM_MAX_CHARS = 4096


def render_excerpt_html(excerpt: Excerpt, number: int | None, lang: Lang) -> str:
    """One excerpt: the quote with bold matches and live links, then its source, numbered
    unless it is sent on its own."""
    quote = _marked_up(excerpt)
    source = html.escape(source_line(excerpt.source, lang))
    if excerpt.source.url:
        source = f'<a href="{html.escape(excerpt.source.url)}">{source}</a>'
    label = "" if number is None else f"{number}. "
    return f"<blockquote>{quote}</blockquote>\n{label}<i>{source}</i>"


def render_html(answer: Answer, limit: int = TELEGRAM_MAX_CHARS) -> str:
    """The whole reply to a question, as Telegram HTML within `limit` characters."""
    excerpts = [render_excerpt_html(e, n, answer.lang) for n, e in enumerate(answer.shown, 1)]
    return _after_notices(answer, excerpts, limit)


def render_excerpt_alone_html(answer: Answer, excerpt: Excerpt,
                              limit: int = TELEGRAM_MAX_CHARS) -> str:
    """One excerpt of an answer as a message of its own (an inline result sent into a
    group): what the reply says before its excerpts, then it; a hedged answer says that the
    documents do not answer exactly and that this is the closest passage, to read with care."""
    quote = render_excerpt_html(excerpt, None, answer.lang)
    if not answer.confident:
        quote = f"{html.escape(message('closest_intro', answer.lang))}\n{quote}"
    return _after_notices(answer, [quote], limit)


def _after_notices(answer: Answer, excerpts: list[str], limit: int) -> str:
    """What the reply says first, then the excerpts. The first quote follows the line
    before it with no blank line: its box sets it apart, and the reply keeps to one phone
    screen."""
    blocks = [html.escape(n) for n in reply_notices(answer)]
    if blocks and excerpts:
        blocks[-1] = f"{blocks[-1]}\n{excerpts.pop(0)}"
    return join_blocks([*blocks, *excerpts], limit)


def join_blocks(blocks: Sequence[str], limit: int) -> str:
    """As many whole blocks as fit in `limit` characters, blank-line separated."""
    kept: list[str] = []
    size = 0
    for block in blocks:
        extra = len(block) + (2 if kept else 0)
        if size + extra > limit:
            break
        kept.append(block)
        size += extra
    return "\n\n".join(kept)


def _marked_up(excerpt: Excerpt) -> str:
    """The excerpt escaped, its highlighted words in bold and its web addresses as links."""
    text = excerpt.text
    links = {(link.start, link.end): link.url for link in excerpt.links}
    spans = sorted([*links, *excerpt.quote.highlights])
    pieces: list[str] = []
    position = 0
    for start, end in spans:
        if start < position:  # a highlight inside a link: the link wins
            continue
        pieces.append(html.escape(text[position:start]))
        chunk = html.escape(text[start:end])
        if (start, end) in links:
            pieces.append(f'<a href="{html.escape(links[start, end])}">{chunk}</a>')
        else:
            pieces.append(f"<b>{chunk}</b>")
        position = end
    pieces.append(html.escape(text[position:]))
    return "".join(pieces)
