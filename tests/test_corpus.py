from datetime import date
from pathlib import Path

import pytest

from bot.corpus import (
    MAX_FILE_BYTES,
    AddedFile,
    CorpusFileError,
    FileRefused,
    add_file,
    check_file,
    corpus_files,
    free_name,
    load_corpus,
    read_document,
)

from .conftest import CORPUS


def body(document) -> str:
    return "\n".join(p for s in document.sections for p in s.paragraphs)


def test_the_seed_documents_are_clean_and_carry_their_metadata():
    loaded = load_corpus(CORPUS)
    assert loaded.errors == ()
    assert len(loaded.documents) == 5
    for document in loaded.documents:
        text = body(document)
        for leftover in ("Page mise à jour", "](#)", "<sup>", "- page "):
            assert leftover not in text, (document.doc_id, leftover)
        assert "partager" not in [line.strip().lower() for line in text.split("\n")]
        assert document.meta.institution in ("Assemblée nationale", "Sénat")
        assert document.meta.published is not None
    khalife = read_document(CORPUS / "senat-qseq241000739-khalife.md")
    assert khalife.meta.status == "answered"
    assert khalife.meta.answered == date(2025, 4, 17)
    assert [s.heading for s in khalife.sections] == [
        None, "Texte de la question", "Réponse du Ministère de l'intérieur"]
    # No address is invented where no source gives one.
    assert read_document(CORPUS / "an-16-qe-15289-peytavie.md").meta.url is None


def test_a_text_file_without_metadata_takes_its_first_line_as_title(tmp_path: Path):
    path = tmp_path / "note.txt"
    path.write_text("Communiqué de la CNIL\n\nLa CNIL a reçu des notifications.\n", "utf-8")
    document = read_document(path)
    assert document.meta.title == "Communiqué de la CNIL"
    assert "La CNIL a reçu des notifications." in body(document)


def test_a_markdown_file_without_metadata_takes_its_first_heading_as_title(tmp_path: Path):
    path = tmp_path / "note.md"
    path.write_text("# Fiche pratique\n\nPortez plainte en ligne.\n", "utf-8")
    document = read_document(path)
    assert document.meta.title == "Fiche pratique"
    assert body(document) == "Portez plainte en ligne."


def test_web_page_leftovers_are_stripped_and_key_facts_stay_quotable_and_become_metadata(
        tmp_path: Path):
    path = tmp_path / "page.md"
    path.write_text(
        "# Une question\n\n[Mme Jeanne Martin](#) interroge le 1<sup>er</sup> ministre.\n\n"
        "partager\n\n### Données clés\n\n**Auteur :** [Mme Jeanne Martin](#)\n\n"
        "**Question publiée au JO le :** [3 mars 2024](#), page 12\n\nPage mise à jour le\n",
        "utf-8",
    )
    document = read_document(path)
    assert body(document) == ("Mme Jeanne Martin interroge le 1er ministre.\n"
                              "Auteur : Mme Jeanne Martin\n"
                              "Question publiée au JO le : 3 mars 2024, page 12")
    assert document.meta.author == "Mme Jeanne Martin"
    assert document.meta.published == date(2024, 3, 3)
    assert document.meta.journal_page == "12"


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"---\ntitle: [unclosed\n---\nTexte.", "front matter is not valid YAML"),
        (b"---\ntitle: Ok\n---\n", "no text"),
        ("Donn\u00e9es".encode("latin-1"), "not UTF-8"),
        # Each of these took the bot down (exit 1, or a segfault for the nesting).
        (b"---\ntitle: x\nz: " + b"[" * 25000 + b"]" * 25000 + b"\n---\n\nplainte.\n",
         "front matter longer than"),
        (b"---\ntitle: x\nz: " + b"[" * 50 + b"]" * 50 + b"\n---\n\nplainte.\n",
         "nested too deeply"),
        (b"---\ntitle: x\npublished: 2024-13-45\n---\n\nplainte.\n",
         "front matter is not valid YAML (month must be in 1..12)"),
        (b"---\ntitle: 2024-02-30\n---\n\nplainte.\n", "front matter is not valid YAML"),
        (b"---\ntitle: x\n1: x\n---\n\nplainte.\n", "lines of `name: value`"),
        (b"---\n- a\n- b\n---\n\nplainte.\n", "lines of `name: value`"),
        (b"---\njust text\n---\n\nplainte.\n", "lines of `name: value`"),
        (b"---\ntitle: x\n\nplainte.\n", "front matter is not closed"),
        (b"---\ntitle: 42\n---\n\nplainte.\n", "invalid metadata (title"),
        (b"\x00" * 200 + b"\x01\x02 plainte", "control character"),
    ],
)
def test_a_malformed_file_is_reported_by_name_and_skipped(tmp_path: Path, content, problem):
    (tmp_path / "good.md").write_text("Un texte correct.", "utf-8")
    (tmp_path / "bad.md").write_bytes(content)
    loaded = load_corpus(tmp_path)
    assert [d.doc_id for d in loaded.documents] == ["good.md"]
    [error] = loaded.errors
    assert isinstance(error, CorpusFileError)
    assert str(error).startswith("bad.md: ")
    assert problem in str(error)


NOTE = b"# Note\n\nLe formulaire de plainte en ligne est ouvert."
OTHER_NOTE = b"# Note\n\nUne autre version de la note."


def test_an_added_file_joins_the_corpus_under_its_lower_cased_name(tmp_path: Path):
    added = add_file(tmp_path, "Note.md", NOTE)
    assert added == AddedFile("note.md", "added")
    assert [d.doc_id for d in load_corpus(tmp_path).documents] == ["note.md"]


def test_a_different_file_of_the_same_name_is_not_overwritten_unless_asked(tmp_path: Path):
    add_file(tmp_path, "note.md", NOTE)
    assert add_file(tmp_path, "NOTE.md", OTHER_NOTE) == AddedFile(
        "note.md", "name_taken", "note-2.md")
    assert (tmp_path / "note.md").read_bytes() == NOTE
    assert add_file(tmp_path, "note.md", OTHER_NOTE, existing="replace").outcome == "replaced"
    assert (tmp_path / "note.md").read_bytes() == OTHER_NOTE
    kept = add_file(tmp_path, "note.md", NOTE, existing="keep")
    assert kept == AddedFile("note-2.md", "added")
    assert (tmp_path / "note-2.md").read_bytes() == NOTE


def test_the_same_file_again_changes_nothing(tmp_path: Path):
    add_file(tmp_path, "note.md", NOTE)
    assert add_file(tmp_path, "note.md", NOTE).outcome == "unchanged"


def test_a_copy_of_a_corpus_file_under_another_name_is_refused(tmp_path: Path):
    add_file(tmp_path, "note.md", NOTE)
    with pytest.raises(FileRefused) as refused:
        add_file(tmp_path, "copie.md", NOTE)
    assert (refused.value.reason, refused.value.detail) == ("duplicate", "note.md")
    assert corpus_files(tmp_path) == [tmp_path / "note.md"]


def test_keeping_both_files_needs_a_free_name(tmp_path: Path):
    add_file(tmp_path, "note.md", NOTE)
    add_file(tmp_path, "note-2.md", OTHER_NOTE)
    assert free_name(tmp_path, "Note.md") == "note-3.md"
    assert free_name(tmp_path, "autre.txt") == "autre.txt"


def test_a_file_too_big_to_index_quickly_is_refused_and_the_refusal_says_the_limit() -> None:
    with pytest.raises(FileRefused) as refused:
        check_file("rapport.md", 925_000)  # the upload of issue 11: 158 s of embedding
    assert (refused.value.reason, refused.value.detail) == ("too_large", "500")  # kB
    check_file("rapport.md", MAX_FILE_BYTES)


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [("../evil.md", NOTE, "bad_name"), ("note.pdf", NOTE, "bad_suffix"),
     ("big.md", b"a" * (MAX_FILE_BYTES + 1), "too_large"),
     ("latin1.md", "données".encode("latin-1"), "unreadable")],
)
def test_a_refused_file_says_why_and_leaves_the_corpus_as_it_was(
    tmp_path: Path, name: str, data: bytes, reason: str
):
    with pytest.raises(FileRefused) as refused:
        add_file(tmp_path / "corpus", name, data)
    assert refused.value.reason == reason
    assert corpus_files(tmp_path / "corpus") == []
    assert not (tmp_path / "evil.md").exists()


@pytest.mark.parametrize(
    ("front_matter", "kept", "warning"),
    [("auteur: typo", {}, "unknown field 'auteur' ignored"),
     ("published: not a date", {}, "field 'published' ignored (published: Input should be"),
     ("url: javascript:alert(1)", {}, "field 'url' ignored (url:"),
     ("author: M. X\nrubrik: Santé", {"author": "M. X"}, "unknown field 'rubrik' ignored")],
)
def test_an_unknown_or_bad_optional_field_is_left_out_with_a_warning_not_the_document(
    tmp_path: Path, front_matter: str, kept: dict[str, str], warning: str
):
    (tmp_path / "doc.md").write_text(f"---\ntitle: Ok\n{front_matter}\n---\nTexte.", "utf-8")
    [document] = load_corpus(tmp_path).documents
    assert document.meta.title == "Ok"
    assert {k: getattr(document.meta, k) for k in kept} == kept
    assert document.meta.url is None and document.meta.published is None
    [found] = document.warnings
    assert found.startswith(f"doc.md: {warning}")


def test_a_corpus_file_that_cannot_be_read_is_reported_not_raised(tmp_path: Path):
    (tmp_path / "folder.md").mkdir()  # reading it raises IsADirectoryError
    with pytest.raises(CorpusFileError, match=r"folder\.md: cannot be read"):
        read_document(tmp_path / "folder.md")
