"""The command line: `python -m bot [ask|index|chat|run]`."""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Iterable

from bot.answer import Answer, AnswerBuilder
from bot.bank import unlinked_passages
from bot.config import Settings, SettingsError, load_settings
from bot.index import INDEX_FILE, IndexUnavailable, SearchIndex
from bot.index_store import load_or_build_index, rebuild_index
from bot.lang import Lang
from bot.messages import message
from bot.render import answer_to_json, render_excerpts_text, render_sources, render_text

log = logging.getLogger("bot")

MORE_WORDS = frozenset({"plus", "more", "encore", "suite"})
QUIT_WORDS = frozenset({"quit", "exit", "q", "quitter", "sortir"})
# The console's commands, in the language of the last answer (French before any).
CONSOLE_COMMANDS: dict[str, Callable[[AnswerBuilder, Lang], str]] = {
    "/sources": lambda builder, lang: render_sources(builder.index.documents, lang),
    "/help": lambda _builder, lang: message("help_console", lang),
}


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # Answers are UTF-8 whatever the terminal's locale says; nothing read can break that.
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(encoding="utf-8", errors="replace")
    try:
        return _run(args)
    except (IndexUnavailable, SettingsError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader left (`| head`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as error:  # an index folder that cannot be written, say
        print(f"error: {error}", file=sys.stderr)
        return 1


def _run(args: argparse.Namespace) -> int:
    settings = load_settings()
    command = args.command or ("run" if settings.telegram_bot_token else "chat")
    if command == "run":
        if settings.telegram_bot_token is None:
            raise SettingsError("TELEGRAM_BOT_TOKEN is not set: copy .env.example to .env "
                                "and set it there (or in the environment)")
        from bot.telegram import run_bot  # the console paths never load telegram

        return run_bot(settings)
    if command == "index":
        return _index(settings)
    builder = AnswerBuilder(load_or_build_index(settings.corpus_dir, settings.index_dir))
    if command == "ask":
        return _ask(builder, args.question, args.json)
    return _chat(builder, announce=args.command is None)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description="Answers questions on the 2024 Viamedis/Almerys health-data breach "
                    "from official documents.",
    )
    commands = parser.add_subparsers(dest="command")
    ask = commands.add_parser("ask", help="answer one question, or one per line of stdin")
    ask.add_argument("question", help='the question, or "-" to read questions from stdin')
    ask.add_argument("--json", action="store_true", help="one JSON object per answer")
    commands.add_parser("index", help="rebuild the index from the corpus")
    commands.add_parser("chat", help="talk with the bot in this terminal")
    commands.add_parser("run", help="run the Telegram bot (needs TELEGRAM_BOT_TOKEN)")
    return parser


def _index(settings: Settings) -> int:
    started = time.perf_counter()
    index = rebuild_index(settings.corpus_dir, settings.index_dir)
    print(f"{len(index.documents)} documents, {len(index.passages)} passages, "
          f"{index.vocabulary_size} terms, built in {time.perf_counter() - started:.2f} s "
          f"-> {settings.index_dir / INDEX_FILE}")
    for problem in index.skipped:
        print(f"skipped {problem}")
    for warning in index.warnings:
        print(f"warning {warning}")
    print(bank_coverage(index))
    return 0


def bank_coverage(index: SearchIndex) -> str:
    """The question bank's size and the passages a citizen could ask about that no entry
    points at: where the bank needs another entry."""
    wordings = sum(len(entry.wordings) for entry in index.bank)
    unlinked = unlinked_passages(index.bank, index.passages)
    lines = [f"question bank: {len(index.bank)} entries, {wordings} wordings; "
             f"{len(unlinked)} passage(s) that no entry answers"]
    lines += [f"  [{p.doc_id} #{p.sentence}] {p.text[:90]}" for p in unlinked]
    return "\n".join(lines)


def _ask(builder: AnswerBuilder, question: str, as_json: bool) -> int:
    """One answer per question: the argument, or each line of standard input (bytes that are
    not UTF-8 become U+FFFD, so a bad line is still one question, answered)."""
    questions: Iterable[str] = [question] if question != "-" else (
        line.decode("utf-8", errors="replace").rstrip("\r\n") for line in sys.stdin.buffer)
    for text in questions:
        answer = builder.answer(text)
        if as_json:
            print(json_line(answer_to_json(answer)), flush=True)
        else:
            print(render_text(answer), end="\n\n", flush=True)
    return 0


def json_line(data: dict[str, object]) -> str:
    """JSON on one line, UTF-8 as written, with the two line separators JavaScript reads as
    line ends escaped."""
    text = json.dumps(data, ensure_ascii=False)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def _chat(builder: AnswerBuilder, announce: bool) -> int:
    if announce:
        print(message("console_no_token", "fr"), message("console_no_token", "en"), sep="\n")
    print(message("console_welcome", "fr"), message("console_welcome", "en"), sep="\n",
          end="\n\n")
    last: Answer | None = None
    more_shown = False  # whether "more" already showed the last answer's other excerpts
    while True:
        try:
            text = input("> ")
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        if (command := text.strip().lower()) in QUIT_WORDS:
            return 0
        if command in CONSOLE_COMMANDS:
            lang = last.lang if last is not None else "fr"
            print(CONSOLE_COMMANDS[command](builder, lang), end="\n\n")
            continue
        if command in MORE_WORDS and last is not None:
            more = () if more_shown else last.more
            print(render_excerpts_text(more, last.lang, len(last.shown) + 1) if more
                  else message("no_more", last.lang), end="\n\n")
            more_shown = True
            continue
        more_shown = False
        last = builder.answer(_suggestion_chosen(text, last) or text)
        print(render_text(last), end="\n\n")
        if last.suggestions:
            print(message("suggestion_number_console", last.lang), end="\n\n")


def _suggestion_chosen(text: str, last: Answer | None) -> str | None:
    """The question suggested under the last reply whose number was typed, if one was."""
    suggestions = last.suggestions if last is not None else ()
    number = int(text) if text.strip().isdecimal() else 0
    return suggestions[number - 1] if 0 < number <= len(suggestions) else None
