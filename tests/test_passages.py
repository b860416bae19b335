from bot.corpus import read_document
from bot.passages import split_passages, split_sentences

from .conftest import CORPUS


def test_sentences_do_not_end_after_civilities_or_initials():
    text = ("M. Patrick Chaize appelle l'attention de Mme la ministre. Voir p. 12 du JO. "
            "J. Dupont répond. Fin !")
    assert split_sentences(text) == [
        "M. Patrick Chaize appelle l'attention de Mme la ministre.",
        "Voir p. 12 du JO.",
        "J. Dupont répond.",
        "Fin !",
    ]


def test_web_addresses_and_numbers_do_not_end_sentences():
    text = ("Un formulaire (www.masecurite.interieur.gouv.fr/fr/plainte) existe. "
            "La loi n° 78-17 s'applique.")
    assert split_sentences(text) == [
        "Un formulaire (www.masecurite.interieur.gouv.fr/fr/plainte) existe.",
        "La loi n° 78-17 s'applique.",
    ]


def test_every_sentence_of_the_corpus_is_a_passage_in_order():
    for path in sorted(CORPUS.glob("*.md")):
        document = read_document(path)
        passages = split_passages(document, first_position=7)
        sentences = [s for section in document.sections for paragraph in section.paragraphs
                     for s in split_sentences(paragraph)]
        assert [p.text for p in passages] == sentences
        assert [p.position for p in passages] == list(range(7, 7 + len(sentences)))
        assert all(p.doc_id == path.name for p in passages)


def test_neighbours_stop_at_a_heading():
    document = read_document(CORPUS / "senat-qseq241000739-khalife.md")
    passages = split_passages(document)
    transmitted = "Transmise au Ministère de l'intérieur"
    last_of_question = next(p for p in passages if p.text == transmitted)
    first_of_answer = passages[last_of_question.sentence + 1]
    assert first_of_answer.section == "Réponse du Ministère de l'intérieur"
    assert not last_of_question.is_beside(first_of_answer)
    assert passages[1].is_beside(passages[2])


def test_the_documents_own_status_lines_are_passages():
    texts = {p.text for path in CORPUS.glob("*.md") for p in split_passages(read_document(path))}
    assert "En attente de réponse du Ministère de la santé et de l'accès aux soins." in texts
    assert "Réponse du Ministère de l'intérieur publiée le 17/04/2025" in texts
    assert "Cause : Fin de mandat" in texts
    assert "Question retirée le : 11 juin 2024 (Fin de mandat)" in texts
