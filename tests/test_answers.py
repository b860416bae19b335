"""What a citizen sees: the right passage, quoted verbatim, or an honest "I don't know"."""

from datetime import date

import pytest

from bot.answer import AnswerBuilder, Excerpt
from bot.embeddings import MAX_QUERY_CHARS
from bot.excerpts import ELLIPSIS, MAX_EXCERPT_CHARS
from bot.indexer import build_index
from bot.query import questions_first
from bot.render import render_text
from bot.search import search

from .verbatim import unquoted_pieces

COMPLAINT_FORM = ("https://www.masecurite.interieur.gouv.fr/fr/actualites/"
                  "lettre-plainte-vol-donnees-personnelles-viamedis-almerys")


def top_text(builder: AnswerBuilder, question: str) -> str:
    answer = builder.answer(question)
    assert answer.answered, question
    return answer.excerpts[0].text


@pytest.mark.parametrize("question", [
    "comment porter plainte ?",
    "how do I file a complaint",
    "Comment deposer plainte pour la fuite Viamedis",
    "comment porter plaite",  # typo
])
def test_complaint_questions_quote_the_online_form_with_a_real_link(builder, question):
    answer = builder.answer(question)
    assert answer.answered
    assert "formulaire en ligne" in answer.excerpts[0].text
    assert COMPLAINT_FORM in [link.url for link in answer.links]


@pytest.mark.parametrize(("question", "expected"), [
    ("What is the risk of identity theft?", "usurpation d'identité"),
    ("Was my social security number stolen?", "numéro de sécurité sociale"),
    ("Did the CNIL send formal notices to hospitals?", "mettant en demeure"),
])
def test_english_questions_find_the_french_passages(builder, question, expected):
    assert expected in top_text(builder, question)


@pytest.mark.parametrize(("question", "expected"), [
    ("quelles donées ont été piratées chez almerus", "numéro de sécurité sociale"),
    ("viamedys et almerys, combien de persones ?", "33 millions"),
    ("quelle brigade enquete sur l'ataque ?", "Brigade de Lutte Contre la Cybercriminalité"),
    ("usurpasion d'identité", "usurpation d'identité"),
])
def test_misspelled_words_are_matched_to_the_corpus_vocabulary(builder, question, expected):
    answer = builder.answer(question)
    assert answer.answered
    assert any(expected in excerpt.text for excerpt in answer.shown)


def test_colloquial_french_reaches_the_documents_words(builder):
    # "secu" and "mutuelle" are not how the documents say it.
    assert "régime de sécurité sociale et leur mutuelle" in top_text(
        builder, "ma secu et ma mutuelle ont fuité ?")
    # Nor "vendues" and "dark web": the documents speak of "la vente" to cybercriminals.
    assert "proposer à la vente ces données" in top_text(
        builder, "mes données vendues sur le dark web")


@pytest.mark.parametrize("question", [
    "quelle est la recette de la tarte tatin ?",
    "What's the weather in Paris tomorrow?",
    "horaires d'ouverture de la mairie de Lyon",
    "Is Almerys hiring developers?",
])
def test_off_topic_questions_are_declined_with_a_pointer_to_the_sources(builder, question):
    answer = builder.answer(question)
    assert answer.outcome == "not_found"
    assert answer.excerpts == ()
    assert "/sources" in render_text(answer)


@pytest.mark.parametrize("text", ["", "   ", "🙂🙂🙂", "?!…", "bonjour", "merci"])
def test_messages_without_a_question_get_a_prompt_not_a_quote(builder, text):
    answer = builder.answer(text)
    assert answer.outcome == "no_question"
    assert answer.excerpts == ()
    assert "porter plainte" in render_text(answer)  # it shows an example question


def test_the_bot_speaks_the_language_of_the_question(builder):
    english = builder.answer("What data was stolen?")
    french = builder.answer("Quelles données ont été volées ?")
    assert (english.lang, french.lang) == ("en", "fr")
    assert render_text(english).startswith("Here is what the official documents say")
    assert render_text(french).startswith("Voici ce que disent les documents officiels")
    # the excerpts themselves stay in French: quoted from the documents as they are
    assert english.excerpts
    for excerpt in english.excerpts:
        assert unquoted_pieces(excerpt) == []


def fits(excerpt: Excerpt) -> bool:
    """Whether an excerpt keeps to MAX_EXCERPT_CHARS as bot/excerpts.py cuts it: a sentence
    with its neighbour fits, "…" included where the neighbour is cut; a sentence too long
    alone is cut to fit, between the "…" that mark what was left out."""
    text = excerpt.text
    if len(excerpt.quote.passages) == 1:
        text = text.removeprefix(ELLIPSIS).removesuffix(ELLIPSIS)
    return len(text) <= MAX_EXCERPT_CHARS


def test_every_excerpt_is_verbatim_short_and_has_its_source(builder):
    kinds = set()
    for question in ("que faire après la fuite ?", "what did the government do?",
                     "la blockchain des opticiens", "qui a posé la question n° 484 ?"):
        answer = builder.answer(question)
        assert answer.answered, question
        for excerpt in answer.excerpts:
            assert unquoted_pieces(excerpt) == [], question
            assert fits(excerpt), excerpt.text
            assert excerpt.source.meta.institution and excerpt.source.meta.reference
            alone = len(excerpt.quote.passages) == 1
            kinds.add("cut alone" if alone and ELLIPSIS in excerpt.text else
                      "alone" if alone else "with its neighbour")
    assert {"cut alone", "with its neighbour"} <= kinds  # both ways of cutting are tested


def test_an_excerpt_of_the_ministry_s_answer_is_dated_by_the_answer(builder):
    answer = builder.answer("comment porter plainte ?")
    source = answer.excerpts[0].source
    assert source.section == "Réponse du Ministère de l'intérieur"
    assert source.date == date(2025, 4, 17)
    assert "17 avril 2025" in render_text(answer)


def test_whether_a_question_was_answered_is_quoted_from_the_document(builder):
    answer = builder.answer("la question du sénateur Chaize a-t-elle eu une réponse ?")
    assert any("En attente de réponse du Ministère" in e.text for e in answer.shown)


MANY_EXCERPTS = "données de santé piratage tiers payant optique"


def test_every_excerpt_quotes_whole_a_sentence_no_earlier_excerpt_showed_whole(builder):
    answer = builder.answer(MANY_EXCERPTS)
    assert len(answer.excerpts) > 3  # some stand behind "more"
    shown: set[int] = set()
    for excerpt in answer.excerpts:
        assert excerpt.quote.whole - shown, excerpt.text
        shown |= excerpt.quote.whole


def test_no_sentence_is_quoted_whole_in_two_excerpts_of_one_answer(builder):
    quoted = [p for e in builder.answer(MANY_EXCERPTS).excerpts for p in e.quote.whole]
    assert len(quoted) == len(set(quoted))


def test_matched_words_are_located_for_highlighting(builder):
    excerpt = builder.answer("comment porter plainte ?").excerpts[0]
    highlighted = {excerpt.text[start:end] for start, end in excerpt.quote.highlights}
    assert {"dépôt", "plainte"} <= highlighted


def test_a_social_security_number_gets_a_warning_and_is_never_repeated(builder):
    question = "mon numéro 1 85 05 78 006 084 36 a-t-il fuité ?"
    answer = builder.answer(question)
    assert answer.personal_data_warning
    reply = render_text(answer)
    assert "numéro de sécurité sociale" in reply.split("\n")[0]
    assert "006 084" not in reply


def test_a_sentence_cut_as_a_neighbour_still_gets_its_own_excerpt(tmp_path):
    # The first hit is short and its long neighbour answers too: the first excerpt shows only
    # the neighbour's start, so the neighbour must come whole in an excerpt of its own.
    neighbour = ("Il revient à l'autorité de contrôle de mener des investigations sur la perte "
                 "des données de santé, afin de déterminer si les mesures de sécurité mises "
                 "en oeuvre par les opérateurs avant l'incident étaient appropriées au regard de "
                 "leurs obligations légales, contractuelles et réglementaires de toute nature, et "
                 "d'appliquer le cas échéant les procédures et les peines prévues par la loi.")
    best = "Les investigations sur la fuite des données des assurés sont en cours."
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "doc.md").write_text(
        f"---\ntitle: Enquête\n---\n\n{best} {neighbour}\n\n"
        "## Autre\n\nUn autre paragraphe parle de tout autre chose.\n", "utf-8")
    builder = AnswerBuilder(build_index(corpus, embeddings=False))
    question = "investigations en cours sur la fuite des données des assurés"
    excerpts = builder.answer(question).excerpts
    assert excerpts[0].text.startswith(best) and excerpts[0].text.endswith(ELLIPSIS)
    assert any(e.text == neighbour for e in excerpts[1:])


def test_a_sentence_holding_more_of_the_question_beats_one_repeating_a_word(tmp_path):
    # BM25 alone puts first the short sentence that repeats one word of the question three
    # times; the one holding two of its three ideas answers it.
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "doc.md").write_text(
        "---\ntitle: Note\n---\n\n## Un\n\nZorglub, encore Zorglub, toujours Zorglub.\n\n"
        "## Deux\n\nLe ministère chargé de la santé devra répondre avant la fin du mois "
        "prochain, selon le règlement de l'assemblée.\n\n"
        "## Trois\n\nUn texte sans rapport avec le reste, sur les jardins et les fleurs.\n",
        "utf-8")
    builder = AnswerBuilder(build_index(corpus, embeddings=False))
    answer = builder.answer("quel ministère doit répondre à Zorglub ?")
    assert answer.excerpts[0].text.startswith("Le ministère chargé de la santé devra répondre")


def test_a_long_message_is_embedded_question_first():
    # The embedding reads the start of a message; the question must be in it.
    story = ("Bonjour, je suis à la retraite depuis trois ans et je vis seule à la campagne, "
             "loin de tout, avec mon chat et mes poules. Ma mutuelle m'a écrit la semaine "
             "dernière au sujet d'un piratage.")
    message = f"{story} Que dois-je faire maintenant ? Merci d'avance."
    assert questions_first(message).startswith("Que dois-je faire maintenant ?")
    assert len(story) > MAX_QUERY_CHARS
    assert sorted(questions_first(message).split()) == sorted(message.split())


def test_of_two_neighbouring_sentences_the_one_holding_the_words_ranks_first(tmp_path):
    # Each sentence is indexed with its neighbours as context; its own words must still
    # decide between the two.
    answering = "La blockchain sert de tiers de confiance neutre."
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "doc.md").write_text(
        "---\ntitle: Note\n---\n\n## Un\n\nLes opticiens ont travaillé sur une solution "
        f"nouvelle pour leurs clients. {answering}\n\n"
        "## Deux\n\nUn autre sujet sans rapport, sur les jardins et les fleurs.\n", "utf-8")
    index = build_index(corpus, embeddings=False)
    query = AnswerBuilder(index).parser.parse("à quoi sert la blockchain ?")
    assert search(index, query).hits[0].passage.text == answering
