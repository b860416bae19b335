"""The command line as a newcomer and the scorer use it."""

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.answer import Answer, AnswerBuilder
from bot.cli import _chat
from bot.indexer import build_index
from bot.messages import message

from .conftest import REPO


def run_bot(args: list[str], tmp_path: Path, stdin: str = "", corpus: Path | None = None,
            extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "TELEGRAM_BOT_TOKEN"}
    env |= {"CORPUS_DIR": str(corpus or REPO / "corpus"), "INDEX_DIR": str(tmp_path / "index")}
    env |= extra_env or {}
    return subprocess.run([sys.executable, "-m", "bot", *args], input=stdin, text=True,
                          capture_output=True, cwd=tmp_path, env=env, timeout=60)


def test_ask_json_reads_one_question_per_line_and_answers_each(tmp_path):
    questions = ["comment porter plainte ?", "", "How many people were affected?", "🙂"]
    result = run_bot(["ask", "--json", "-"], tmp_path, stdin="\n".join(questions) + "\n")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["query"] for line in lines] == questions
    first = lines[0]
    assert set(first) == {"query", "lang", "answered", "confident", "matched_question",
                          "results", "reply", "suggestions"}
    assert first["confident"] is True
    assert first["matched_question"] == "Comment porter plainte ?"
    assert all(isinstance(line["suggestions"], list) for line in lines)
    assert first["answered"] and first["lang"] == "fr"
    assert set(first["results"][0]) == {"title", "source", "url", "score", "excerpt"}
    assert "formulaire en ligne" in first["results"][0]["excerpt"]
    assert lines[2]["lang"] == "en" and lines[2]["answered"]
    assert not lines[1]["answered"] and not lines[3]["answered"]


def test_ask_prints_a_readable_reply(tmp_path):
    result = run_bot(["ask", "how do I file a complaint"], tmp_path)
    assert result.returncode == 0
    assert "formulaire en ligne" in result.stdout
    assert "https://www.masecurite.interieur.gouv.fr/" in result.stdout
    assert "Sénat" in result.stdout


def test_index_reports_what_it_built(tmp_path):
    result = run_bot(["index"], tmp_path)
    assert result.returncode == 0
    assert "5 documents" in result.stdout and "passages" in result.stdout
    assert (tmp_path / "index" / "index.json").exists()


def test_without_a_token_the_bare_command_starts_a_console_chat(tmp_path):
    stdin = ("comment porter plainte\n"
             "données de santé piratage tiers payant optique\nplus\nquitter\n")
    result = run_bot([], tmp_path, stdin=stdin)
    assert result.returncode == 0
    assert "TELEGRAM_BOT_TOKEN" in result.stdout
    assert "formulaire en ligne" in result.stdout
    assert "> 2. « " in result.stdout  # "plus" showed the excerpts behind "more"


def test_an_empty_corpus_is_reported_in_one_line(tmp_path):
    (tmp_path / "empty").mkdir()
    result = run_bot(["ask", "plainte"], tmp_path, corpus=tmp_path / "empty")
    assert result.returncode == 2
    assert result.stderr.strip().startswith("error: no readable document")
    assert "Traceback" not in result.stderr


SUGGESTED = ("Comment porter plainte ?", "Quelles données ont été volées ?")


class DecliningBuilder:
    """Declines every question, suggesting two others, and remembers what it was asked."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def answer(self, question: str) -> Answer:
        self.asked.append(question)
        return Answer(question, "fr", "not_found", suggestions=SUGGESTED)


def test_in_the_chat_typing_a_suggestions_number_asks_that_question(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    builder = DecliningBuilder()
    monkeypatch.setattr(sys, "stdin", io.StringIO("1\ntarte tatin ?\n 2 \n3\nquitter\n"))
    assert _chat(builder, announce=False) == 0  # type: ignore[arg-type]
    # "1" before any suggestion and "3" beyond them are questions like any other.
    assert builder.asked == ["1", "tarte tatin ?", SUGGESTED[1], "3"]
    shown = capsys.readouterr().out
    assert "Vous pouvez me demander par exemple :\n1. Comment porter plainte ?\n2. " in shown
    assert "Tapez le numéro d'une question pour la poser." in shown


def test_in_the_chat_sources_and_help_are_commands_not_questions(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    builder = AnswerBuilder(build_index(REPO / "corpus", embeddings=False))
    monkeypatch.setattr(sys, "stdin", io.StringIO("/sources\n/help\nquitter\n"))
    assert _chat(builder, announce=False) == 0
    shown = capsys.readouterr().out
    assert "Les documents que je cite (5) :" in shown
    assert "« Sécurité des données de santé en réponse aux cyberattaques »" in shown
    assert message("help_console", "fr") in shown
    assert message("not_found", "fr") not in shown


def test_every_input_line_gets_one_json_line_even_when_it_is_not_utf8(tmp_path):
    stdin = b"comment porter plainte ?\n\xff\xfe\nx\xe2\x80\xa8y plainte\n"
    env = {k: v for k, v in os.environ.items() if k != "TELEGRAM_BOT_TOKEN"}
    env |= {"CORPUS_DIR": str(REPO / "corpus"), "INDEX_DIR": str(tmp_path / "index"),
            "PYTHONIOENCODING": "ascii"}  # a terminal that cannot write French
    result = subprocess.run([sys.executable, "-m", "bot", "ask", "--json", "-"], input=stdin,
                            capture_output=True, cwd=tmp_path, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.decode("utf-8").split("\n")
    assert lines[-1] == "" and len(lines) == 4
    answers = [json.loads(line) for line in lines[:3]]
    assert answers[0]["answered"] and answers[1]["query"] == "\ufffd\ufffd"
    assert "\u2028" not in lines[2] and answers[2]["query"] == "x\u2028y plainte"


def test_a_reader_that_leaves_early_ends_the_answers_quietly(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "TELEGRAM_BOT_TOKEN"}
    env |= {"CORPUS_DIR": str(REPO / "corpus"), "INDEX_DIR": str(tmp_path / "index")}
    result = subprocess.run(
        f"yes 'comment porter plainte ?' | head -50 | {sys.executable} -m bot ask --json - "
        "| head -1", shell=True, capture_output=True, text=True, cwd=tmp_path, env=env,
        timeout=60)
    assert result.stdout.startswith('{"query": "comment porter plainte ?"')
    assert result.stderr == ""


def test_an_index_folder_that_cannot_be_written_is_one_error_line(tmp_path):
    (tmp_path / "index").write_text("a file where the folder should be")
    result = run_bot(["index"], tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith("error: ") and len(result.stderr.splitlines()) == 1


def test_run_without_a_token_says_where_to_set_it(tmp_path):
    result = run_bot(["run"], tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("error: TELEGRAM_BOT_TOKEN is not set")
    assert ".env.example" in result.stderr


def test_run_without_network_says_so_in_a_few_lines(tmp_path):
    result = run_bot(["run"], tmp_path, extra_env={
        "TELEGRAM_BOT_TOKEN": "123456:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw",
        "TELEGRAM_API_URL": "http://127.0.0.1:9/bot"})
    assert result.returncode == 1
    assert "cannot reach the Telegram Bot API" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.splitlines()) < 10


def test_in_the_chat_more_twice_shows_the_other_excerpts_once(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    builder = AnswerBuilder(build_index(REPO / "corpus", embeddings=False))
    question = "données de santé piratage tiers payant optique"
    monkeypatch.setattr(sys, "stdin", io.StringIO(f"{question}\nplus\nplus\nquitter\n"))
    assert _chat(builder, announce=False) == 0
    shown = capsys.readouterr().out
    assert shown.count("4. « ") == 1
    assert message("no_more", "fr") in shown
