"""Admins managing the corpus, offline (bot_testing.offline answers the bot's calls): /docs,
/remove with its confirmation, /reindex telling what changed, and a new question bank sent
as questions.toml, checked against the corpus before it replaces the old one."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from telegram import CallbackQuery, Chat, Document, Message, MessageEntity, Update, User

from bot.answer import AnswerBuilder
from bot.bank import BANK_FILE
from bot.corpus import remove_file
from bot.corpus_report import IndexChanges, document_summaries
from bot.messages import message
from bot.render_html import TELEGRAM_MAX_CHARS
from bot.telegram import admins
from bot.telegram.admins import changes_report, packed
from tests.test_rebuild import ADMIN_ID, OfflineTelegram, offline_application

CITIZEN_ID = 1001
DUBOIS = "an-16-qe-18344-dubois.md"
# The bank with one entry under a new id and a new label: what an admin's edit looks like.
NEW_ID, NEW_LABEL = "codes-de-regroupement", "Les codes dits de regroupement suffiraient-ils ?"
PHRASE_NOWHERE = "la tarte tatin se cuit à 180 degrés"
TARTE_ENTRY = f"""
[[entry]]
id = "tarte"
fr = ["À quelle température cuire la tarte tatin ?"]
en = ["How hot to bake a tarte tatin?"]
answer = ["{PHRASE_NOWHERE}"]
"""


@pytest_asyncio.fixture
async def bot(corpus_dir: Path, tmp_path: Path,
              builder: AnswerBuilder) -> AsyncIterator[tuple[Any, OfflineTelegram]]:
    """The bot answering offline, serving the real corpus, rebuilding from a copy of it."""
    offline = OfflineTelegram()
    async with offline_application(corpus_dir, tmp_path, builder, offline) as app:
        yield app, offline


def sent(app: Any, *, text: str | None = None, document: Document | None = None,
         user_id: int = ADMIN_ID, chat: Chat | None = None) -> Update:
    """What Telegram would send for a command, a question or a document from that user."""
    sender = User(user_id, "Alex", False, language_code="fr")
    entities = [MessageEntity(MessageEntity.BOT_COMMAND, 0, len(text.split()[0]))] if (
        text and text.startswith("/")) else None
    message_ = Message(1, datetime.now(UTC), chat or Chat(user_id, Chat.PRIVATE),
                       from_user=sender, text=text, document=document, entities=entities)
    return bound(app, Update(1, message=message_), message_, document)


def pressed(app: Any, data: str, user_id: int = ADMIN_ID) -> Update:
    """What Telegram would send when that user presses the button with `data`."""
    sender = User(user_id, "Alex", False, language_code="fr")
    shown = Message(2, datetime.now(UTC), Chat(user_id, Chat.PRIVATE), text="?")
    query = CallbackQuery("q1", sender, "instance", message=shown, data=data)
    return bound(app, Update(2, callback_query=query), shown, query)


def bound(app: Any, update: Update, *parts: Any) -> Update:
    for part in (update, *parts):
        if part is not None:
            part.set_bot(app.bot)
    return update


def replies(offline: OfflineTelegram) -> list[str]:
    return [params["text"] for params in offline.sent()]


def button_data(offline: OfflineTelegram) -> list[str]:
    markup = offline.sent()[-1].get("reply_markup") or {}
    return [button["callback_data"] for row in markup.get("inline_keyboard", [])
            for button in row]


def alerts(offline: OfflineTelegram) -> list[str]:
    return [params.get("text", "") for params in offline.sent("answerCallbackQuery")]


async def bank_sent(app: Any, offline: OfflineTelegram, data: bytes,
                    user_id: int = ADMIN_ID) -> None:
    offline.files["bank"] = data
    document = Document("bank", "u3", file_name=BANK_FILE, file_size=len(data))
    await app.process_update(sent(app, document=document, user_id=user_id))


def renamed_entry_bank(corpus_dir: Path) -> bytes:
    """The bank, its entry codes-regroupement under NEW_ID and NEW_LABEL."""
    text = (corpus_dir / BANK_FILE).read_text(encoding="utf-8")
    new = text.replace('id = "codes-regroupement"', f'id = "{NEW_ID}"').replace(
        '"Les codes de regroupement ne suffisent-ils pas ?",', f'"{NEW_LABEL}",')
    assert new.count(NEW_ID) == 1 and new.count(NEW_LABEL) == 1
    return new.encode()


# --- /docs -------------------------------------------------------------------------------


async def test_docs_lists_each_document_with_its_passages_date_and_bank_entries(
        bot: tuple[Any, OfflineTelegram]) -> None:
    app, offline = bot
    await app.process_update(sent(app, text="/docs"))
    [text] = replies(offline)
    lines = text.split("\n")
    assert lines[0] == "Documents indexés (5) :"
    [dubois] = [line for line in lines if DUBOIS in line]
    summary = next(s for s in document_summaries(app.bot_data.answers.index)
                   if s.name == DUBOIS)
    assert dubois.startswith(f"• {DUBOIS} — {summary.passages} passages, 4 juin 2024 ; ")
    assert len(summary.entries) > 5  # too many to name: counted
    assert dubois.endswith(f"banque : {len(summary.entries)} questions")
    assert lines[-1] == "Retirer un document : /remove <nom du fichier>"


def test_a_long_listing_is_split_into_messages_telegram_accepts() -> None:
    lines = [f"• document-{n}.md — 12 passages, 4 juin 2024 ; banque : 9 questions"
             for n in range(400)]
    parts = packed(lines, TELEGRAM_MAX_CHARS)
    assert len(parts) > 1
    assert all(len(part) <= TELEGRAM_MAX_CHARS for part in parts)
    assert "\n".join(parts).split("\n") == lines  # every line, in order, none cut


@pytest.mark.parametrize("command", ["/docs", f"/remove {DUBOIS}"])
async def test_corpus_commands_from_a_citizen_are_refused_and_change_nothing(
        bot: tuple[Any, OfflineTelegram], corpus_dir: Path, command: str) -> None:
    app, offline = bot
    await app.process_update(sent(app, text=command, user_id=CITIZEN_ID))
    assert replies(offline) == [message("admin_only", "fr")]
    assert (corpus_dir / DUBOIS).is_file()


async def test_docs_in_a_group_is_refused_even_for_an_admin(
        bot: tuple[Any, OfflineTelegram]) -> None:
    app, offline = bot
    await app.process_update(sent(app, text="/docs", chat=Chat(-5, Chat.SUPERGROUP)))
    assert replies(offline) == [message("admin_private_only", "fr")]


# --- /remove -----------------------------------------------------------------------------


async def test_remove_asks_first_then_a_cancel_keeps_the_document(
        bot: tuple[Any, OfflineTelegram], corpus_dir: Path) -> None:
    app, offline = bot
    await app.process_update(sent(app, text=f"/remove {DUBOIS}"))
    [question] = replies(offline)
    assert question.startswith(f"Retirer « {DUBOIS} » du corpus ?")
    confirm, cancel = button_data(offline)
    assert confirm.startswith("remove:confirm:") and cancel.startswith("remove:cancel:")
    assert all(len(data.encode()) <= 64 for data in (confirm, cancel))
    assert (corpus_dir / DUBOIS).is_file()  # nothing removed before the confirmation

    await app.process_update(pressed(app, cancel))
    assert replies(offline)[-1] == f"« {DUBOIS} » reste dans le corpus."
    assert (corpus_dir / DUBOIS).is_file()
    await app.process_update(pressed(app, confirm))  # the removal is no longer pending
    assert alerts(offline)[-1] == message("remove_gone", "fr")
    assert (corpus_dir / DUBOIS).is_file()


async def test_a_confirmed_removal_rebuilds_and_names_the_bank_entries_lost(
        bot: tuple[Any, OfflineTelegram], corpus_dir: Path) -> None:
    app, offline = bot
    served = app.bot_data.answers.index
    answered_from_dubois = next(s for s in document_summaries(served)
                                if s.name == DUBOIS).entries
    await app.process_update(sent(app, text=f"/remove {DUBOIS}"))
    confirm, _ = button_data(offline)
    asked = len(replies(offline))
    await app.process_update(pressed(app, confirm))

    report = "\n".join(replies(offline)[asked:])  # as long as Telegram needs: split
    assert report.startswith(f"« {DUBOIS} » retiré du corpus.\nIndex reconstruit : 4 documents")
    assert f"• documents retirés : {DUBOIS}" in report
    lost = [entry for entry in answered_from_dubois
            if entry not in {e.id for e in app.bot_data.answers.index.bank}]
    assert lost  # some entries were answered from it alone
    assert f"perdu leur réponse ({len(lost)})" in report
    assert f"  {lost[0]}: question bank entry '{lost[0]}' skipped" in report
    assert not (corpus_dir / DUBOIS).exists()
    assert DUBOIS not in app.bot_data.answers.index.documents


async def test_a_failed_rebuild_puts_the_document_back_and_keeps_the_index(
        bot: tuple[Any, OfflineTelegram], corpus_dir: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    app, offline = bot
    before, served = (corpus_dir / DUBOIS).read_bytes(), app.bot_data.builder

    def full_disk(corpus: Path, *_: object) -> None:
        assert not (corpus / DUBOIS).exists()  # removed while the index is rebuilt
        raise OSError("No space left on device")

    monkeypatch.setattr(admins, "rebuild_index", full_disk)
    await app.process_update(sent(app, text=f"/remove {DUBOIS}"))
    confirm, _ = button_data(offline)
    await app.process_update(pressed(app, confirm))
    assert replies(offline)[-1] == (
        "La reconstruction a échoué ; l'index précédent reste en service. Erreur : No space "
        "left on device\nLe corpus est remis tel qu'il était.")
    assert (corpus_dir / DUBOIS).read_bytes() == before
    assert app.bot_data.builder is served


@pytest.mark.parametrize("name", ["absent.md", "../conftest.py", "../corpus/" + DUBOIS,
                                  "/etc/passwd", BANK_FILE, DUBOIS.upper()])
async def test_remove_of_a_name_that_is_no_document_says_where_to_find_the_names(
        bot: tuple[Any, OfflineTelegram], corpus_dir: Path, name: str) -> None:
    app, offline = bot
    files = sorted(corpus_dir.parent.rglob("*"))
    await app.process_update(sent(app, text=f"/remove {name}"))
    assert replies(offline) == [
        f"Aucun document « {name} » dans le corpus. /docs liste les noms des documents."]
    assert button_data(offline) == []
    assert sorted(corpus_dir.parent.rglob("*")) == files


async def test_remove_without_a_name_says_how_to_write_it(
        bot: tuple[Any, OfflineTelegram]) -> None:
    app, offline = bot
    await app.process_update(sent(app, text="/remove"))
    assert replies(offline) == [message("remove_usage", "fr")]


@pytest.mark.parametrize("name", ["../outside.md", str(Path("/tmp") / "outside.md"),
                                  BANK_FILE, "absent.md"])
def test_remove_file_never_removes_a_file_outside_the_corpus_nor_the_bank(
        corpus_dir: Path, name: str) -> None:
    outside = corpus_dir.parent / "outside.md"
    outside.write_text("# Dehors\n\nUne phrase.")
    with pytest.raises(FileNotFoundError):
        remove_file(corpus_dir, name)
    assert outside.is_file() and (corpus_dir / BANK_FILE).is_file()


# --- /reindex ------------------------------------------------------------------------------


async def test_reindex_says_which_documents_were_added_removed_changed_or_nothing(
        bot: tuple[Any, OfflineTelegram], corpus_dir: Path) -> None:
    app, offline = bot
    (corpus_dir / DUBOIS).unlink()
    (corpus_dir / "reunion.md").write_text(
        "# Communiqué\n\nUne réunion publique se tiendra à la mairie de Tulle le 3 mars.")
    khalife = corpus_dir / "senat-qseq241000739-khalife.md"
    khalife.write_text(khalife.read_text() + "\nUne phrase ajoutée à la fin.\n")
    await app.process_update(sent(app, text="/reindex"))
    started, *report = "\n".join(replies(offline)).split("\n")
    assert started == "Reconstruction de l'index…"
    assert report[0].startswith("Index reconstruit : 5 documents")
    assert report[1:5] == ["Changements depuis l'index précédent :",
                           "• documents ajoutés : reunion.md",
                           f"• documents retirés : {DUBOIS}",
                           f"• documents modifiés : {khalife.name}"]

    await app.process_update(sent(app, text="/reindex"))
    assert replies(offline)[-1].split("\n")[1] == "Aucun changement depuis l'index précédent."


def test_a_report_of_many_changes_names_the_first_and_counts_the_rest() -> None:
    changes = IndexChanges(entries_added=tuple(f"entry-{n}" for n in range(150)),
                           entries_lost=tuple((f"old-{n}", None) for n in range(30)))
    lines = changes_report(changes, "en").split("\n")
    assert lines[1].startswith("• bank questions now served: entry-0, entry-1, ")
    assert lines[1].endswith(", entry-19 … and 130 more.")
    assert lines[2] == "• bank questions that lost their answer (30):"
    assert lines[3:] == [*(f"  old-{n}: removed from the bank" for n in range(10)),
                         "… and 20 more."]


# --- a new question bank -------------------------------------------------------------------


async def test_a_bank_with_a_phrase_the_corpus_lacks_is_refused_naming_the_entry(
        bot: tuple[Any, OfflineTelegram], corpus_dir: Path) -> None:
    app, offline = bot
    bank, served = (corpus_dir / BANK_FILE).read_bytes(), app.bot_data.builder
    await bank_sent(app, offline, bank + TARTE_ENTRY.encode())
    [refusal] = replies(offline)
    assert refusal.startswith("Banque de questions refusée ; l'ancienne reste en service. "
                              "Problèmes (1) :\n")
    assert "question bank entry 'tarte' skipped: its answer phrase" in refusal
    assert PHRASE_NOWHERE in refusal
    assert (corpus_dir / BANK_FILE).read_bytes() == bank
    assert app.bot_data.builder is served


async def test_a_bank_that_is_not_toml_is_refused_and_a_citizens_is_not_read(
        bot: tuple[Any, OfflineTelegram], corpus_dir: Path) -> None:
    app, offline = bot
    bank = (corpus_dir / BANK_FILE).read_bytes()
    await bank_sent(app, offline, b"[[entry]\nid = 1")
    assert "questions.toml: not a readable TOML question bank" in replies(offline)[-1]
    await bank_sent(app, offline, renamed_entry_bank(corpus_dir), user_id=CITIZEN_ID)
    assert replies(offline)[-1] == message("not_text", "fr")
    # The admin's file only was downloaded: the citizen's never.
    assert [method for method, _ in offline.calls].count("getFile") == 1
    assert (corpus_dir / BANK_FILE).read_bytes() == bank


async def test_a_valid_bank_replaces_the_old_and_its_new_entry_is_answered(
        bot: tuple[Any, OfflineTelegram], corpus_dir: Path) -> None:
    app, offline = bot
    new_bank = renamed_entry_bank(corpus_dir)
    await bank_sent(app, offline, new_bank)
    report = replies(offline)[-1]
    assert report.startswith("Banque de questions remplacée.\nIndex reconstruit : 5 documents")
    assert f"• questions de la banque désormais servies : {NEW_ID}" in report
    assert "  codes-regroupement: retirée de la banque" in report
    assert (corpus_dir / BANK_FILE).read_bytes() == new_bank

    await app.process_update(sent(app, text=NEW_LABEL, user_id=CITIZEN_ID))
    answer = replies(offline)[-1]
    assert answer.startswith(f"Question la plus proche : {NEW_LABEL}\n")
    assert "<blockquote>" in answer
