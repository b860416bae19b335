"""An Answer -> plain text (console) and the JSON object of the `ask --json` contract; the
source lines and the list of sources, which every transport shows alike."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from bot.answer import MAX_QUESTION_CHARS, Answer, Excerpt, Source
from bot.lang import Lang
from bot.messages import format_date, message
from bot.metadata import DocumentMeta


def joined(parts: Iterable[str | None]) -> str:
    """Pieces of metadata as a source line writes them, the missing ones left out."""
    return " — ".join(p for p in parts if p)


def source_line(source: Source, lang: Lang) -> str:
    """"Sénat — Question écrite … — réponse du Ministère de l'intérieur, 17 avril 2025": the
    date says whether the quote is the question's or the answer's, and by whom the answer;
    a question's date that its reference gives already is not repeated."""
    meta = source.meta
    reference = meta.reference or meta.title
    return joined([meta.institution, reference, source.shown_section,
                   _dated(source, reference, lang)])


def _dated(source: Source, reference: str, lang: Lang) -> str | None:
    day = source.date
    if day is None:
        return None
    if source.in_answer:
        by = source.meta.answer_ministry
        return message("dated_answer_by" if by else "dated_answer", lang,
                       day=format_date(day, lang), ministry=by)
    if day.strftime("%d/%m/%Y") in reference:
        return None
    return message("dated_question", lang, day=format_date(day, lang))


def render_sources(documents: Mapping[str, DocumentMeta], lang: Lang) -> str:
    """The documents quoted, one paragraph each: where from, by whom, when, title, link."""
    lines = [message("sources_intro", lang, count=len(documents))]
    for meta in documents.values():
        day = format_date(meta.published, lang) if meta.published else None
        line = f"• {joined([meta.institution, meta.reference, meta.author, day])}\n" \
               f"  « {meta.title} »"
        if meta.url:
            line += f"\n  {meta.url}"
        lines.append(line)
    return "\n\n".join(lines)


def reply_notices(answer: Answer) -> list[str]:
    """What the bot says before the excerpts: the personal-data warning; the refusal, or
    the reply to thanks; for a hedged answer, that the documents do not answer exactly and
    the words they never use; else the bank question answered, or when none is, the
    introduction (either says that the quotes are in French to an English reader)."""
    lang = answer.lang
    notices = [message("personal_data", lang)] if answer.personal_data_warning else []
    if not answer.answered:
        notices.append(message(answer.outcome, lang, limit=MAX_QUESTION_CHARS))
    elif not answer.confident:
        notices.append(message("hedged", lang))
        if answer.missing_words:
            notices.append(message("missing_words", lang,
                                   words=", ".join(answer.missing_words)))
    elif answer.matched_question:
        notices.append(message("matched_question", lang, question=answer.matched_question))
    else:
        notices.append(message("intro", lang))
    return notices


def render_excerpts_text(excerpts: Sequence[Excerpt], lang: Lang, first_number: int = 1) -> str:
    blocks = []
    for number, excerpt in enumerate(excerpts, first_number):
        lines = [f"{number}. « {excerpt.text} »", f"   — {source_line(excerpt.source, lang)}"]
        if excerpt.source.url:
            lines.append(f"   {excerpt.source.url}")
        lines.extend(f"   {message('link', lang)} {link.url}" for link in excerpt.links)
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def render_text(answer: Answer) -> str:
    """The reply as a person reads it in a terminal."""
    parts = reply_notices(answer)
    if answer.answered:
        if answer.shown:
            parts.append(render_excerpts_text(answer.shown, answer.lang))
        if answer.more:
            key = "more_console" if answer.confident else "closest_console"
            parts.append(message(key, answer.lang, count=len(answer.more)))
    if answer.suggestions:
        parts.append(render_suggestions_text(answer.suggestions, answer.lang))
    return "\n\n".join(parts)


def render_suggestions_text(suggestions: Sequence[str], lang: Lang) -> str:
    """"Vous pouvez me demander par exemple :" and the questions, numbered from 1."""
    lines = [message("suggestions_intro", lang)]
    lines.extend(f"{number}. {text}" for number, text in enumerate(suggestions, 1))
    return "\n".join(lines)


def answer_to_json(answer: Answer) -> dict[str, object]:
    """The object of `python -m bot ask --json` (see ../shared/eval/README.md)."""
    return {
        "query": answer.question,
        "lang": answer.lang,
        "answered": answer.answered,
        "confident": answer.confident,
        "matched_question": answer.matched_question,
        "results": [
            {"title": e.source.title, "source": source_line(e.source, answer.lang),
             "url": e.source.url, "score": round(e.score, 4), "excerpt": e.text}
            for e in answer.excerpts
        ],
        "reply": render_text(answer),
        "suggestions": list(answer.suggestions),
    }
