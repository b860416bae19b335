import itertools

from bot.corpus import read_document
from bot.passages import MAX_PASSAGE_CHARS, split_passages, split_sentences

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


def test_passages_overlap_by_one_sentence_and_cover_every_sentence():
    for path in sorted(CORPUS.glob("*.md")):
        document = read_document(path)
        passages = split_passages(document)
        assert passages[0].sentences[0].startswith(document.meta.institution or "")
        seen = set()
        for before, after in itertools.pairwise(passages):
            if before.section == after.section:
                assert after.first_sentence == before.first_sentence + len(before.sentences) - 1
                assert after.sentences[0] == before.sentences[-1]
            else:  # a new section starts fresh: no sentence crosses a heading
                assert after.first_sentence == before.first_sentence + len(before.sentences)
        for passage in passages:
            assert passage.doc_id == path.name
            assert len(passage.text) <= MAX_PASSAGE_CHARS or len(passage.sentences) == 1
            seen.update(range(passage.first_sentence,
                              passage.first_sentence + len(passage.sentences)))
        assert seen == set(range(max(seen) + 1))


def test_the_first_passage_carries_the_key_facts():
    document = read_document(CORPUS / "an-16-qe-15289-peytavie.md")
    facts = split_passages(document)[0].sentences[0]
    assert "Question écrite n° 15289" in facts
    assert "M. Sébastien Peytavie" in facts
    assert "20 février 2024" in facts
    assert "Question retirée le 11 juin 2024 (Fin de mandat)" in facts
