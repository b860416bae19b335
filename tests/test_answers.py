"""What a citizen sees: the right passage, quoted verbatim, or an honest "I don't know"."""

from datetime import date

import pytest

from bot.answer import AnswerBuilder, Excerpt
from bot.embeddings import MAX_QUERY_CHARS
from bot.excerpts import ELLIPSIS, MAX_EXCERPT_CHARS
from bot.indexer import build_index
from bot.messages import message
from bot.query import questions_first
from bot.render import answer_to_json, render_text, source_line
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
    assert any(expected in excerpt.text for excerpt in answer.excerpts[:3])


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
    "How much does a passport cost?",
])
def test_off_topic_questions_are_declined_with_a_pointer_to_the_sources(builder, question):
    answer = builder.answer(question)
    assert answer.outcome == "not_found"
    assert answer.excerpts == ()
    assert "/sources" in render_text(answer)


@pytest.mark.parametrize("question", [
    "my dog is lost what should I do", "j'ai perdu mon portefeuille, que faire ?",
    "how do I file a complaint against my landlord?", "mon vélo a été volé que faire",
    "my cat is sick what to do",
])
def test_a_question_off_the_subject_worded_like_a_bank_question_is_declined(builder, question):
    """The intent classifier finds "what should I do?" likely, but the topic classifier is
    surer that the question is not about the breach: no quote about the breach."""
    assert builder.answer(question).outcome == "not_found"


@pytest.mark.parametrize("question", ["que faire ?", "what do I do now?", "plainte ?",
                                      "am I affected?"])
def test_a_short_bank_question_is_answered_whatever_the_topic_classifier_says(
    builder, question
):
    answer = builder.answer(question)
    assert answer.answered and answer.confident


@pytest.mark.parametrize("text", ["", "   ", "🙂🙂🙂", "?!…"])
def test_messages_without_a_question_get_a_prompt_not_a_quote(builder, text):
    answer = builder.answer(text)
    assert answer.outcome == "no_question"
    assert answer.excerpts == ()
    assert "porter plainte" in render_text(answer)  # it shows an example question


@pytest.mark.parametrize(("text", "outcome", "lang", "reply"), [
    ("merci beaucoup", "thanks", "fr", "Avec plaisir"),
    ("ok", "thanks", "fr", "Avec plaisir"),
    ("thanks!", "thanks", "en", "You're welcome"),
    ("Thank you so much 🙏", "thanks", "en", "You're welcome"),
    ("bonjour", "greeting", "fr", "Bonjour !"),
    ("Salut à tous", "greeting", "fr", "Bonjour !"),
    ("hi there", "greeting", "en", "Hello!"),
])
def test_thanks_and_greetings_get_a_short_friendly_reply_not_a_refusal(
    builder, text, outcome, lang, reply
):
    answer = builder.answer(text)
    assert (answer.outcome, answer.lang, answer.excerpts) == (outcome, lang, ())
    assert render_text(answer).startswith(reply)
    assert "Je ne trouve pas" not in render_text(answer)


def test_thanks_followed_by_a_question_is_a_question(builder):
    answer = builder.answer("merci, et comment porter plainte ?")
    assert answer.answered and "formulaire en ligne" in answer.excerpts[0].text


@pytest.mark.parametrize("question", [
    "What is the salary of the CEO of Almerys?",
    "Quel est le salaire du directeur général de Viamedis ?",
    "Did the hackers get a ransom from Almerys?",
])
def test_questions_about_the_breach_the_documents_do_not_answer_are_never_confident(
    builder, question
):
    answer = builder.answer(question)
    assert not (answer.answered and answer.confident), answer.excerpts[:1]
    if answer.answered:  # hedged: says so, at most two closest quotes, and suggestions
        text = render_text(answer)
        assert text.startswith(("Les documents ne répondent pas exactement",
                                "The documents do not answer this question exactly"))
        assert len(answer.excerpts) <= 2 and answer.suggestions


def test_a_hedged_answer_names_the_words_no_document_uses(builder):
    answer = builder.answer("Viamedis a-t-il été racheté par un concurrent ?")
    assert answer.answered and not answer.confident
    assert answer.missing_words == ("racheté", "concurrent")
    assert "Les documents ne parlent pas de : racheté, concurrent." in render_text(answer)
    assert answer_to_json(answer)["confident"] is False


def test_the_bot_speaks_the_language_of_the_question(builder):
    english = builder.answer("What data was stolen?")
    french = builder.answer("Quelles données ont été volées ?")
    assert (english.lang, french.lang) == ("en", "fr")
    assert render_text(english).startswith("Closest question: What data was stolen? "
                                           "(quoted in French)\n")
    assert render_text(french).startswith("Question la plus proche : Quelles données ont été "
                                          "volées ?\n")
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
    assert any("En attente de réponse du Ministère" in e.text for e in answer.excerpts[:3])


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


def test_no_sentence_shows_twice_in_a_reply_whole_or_cut(tmp_path):
    # The first hit is short and its long neighbour answers too: the neighbour does not fit
    # whole beside it, so it is not joined cut there, and comes whole in its own excerpt.
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
    texts = [e.text for e in builder.answer(question).excerpts]
    assert texts[0] == best
    assert neighbour in texts
    words = "mener des investigations sur la perte"
    assert sum(words in text for text in texts) == 1


def test_no_passage_is_quoted_twice_in_real_replies(builder):
    for question in ("what did the CNIL do?", "que fait la CNIL ?", "qui enquête ?",
                     "quelles données ont été volées ?", "What should I do now?"):
        answer = builder.answer(question)
        shown = [p for e in answer.excerpts for p in e.quote.passages]
        assert len(shown) == len(set(shown)), question


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


def test_an_english_word_never_reaches_a_french_stem_it_merely_looks_like(builder):
    # "fine" is not "Fin (de mandat)": the English word reaches no French passage.
    answer = builder.answer("was there a fine")
    assert not any("Fin de mandat" in e.text for e in answer.excerpts[:1])
    query = builder.parser.parse("was there a fine")
    assert all(term.startswith("en:") for c in query.concepts for term in c.terms)


@pytest.mark.parametrize(("text", "lang"), [
    ("chaize reponse", "fr"), ("peytavie retrait", "fr"), ("Viamedis ?", "fr"),
    ("was there a fine", "en"), ("should i change my passwords", "en"),
])
def test_a_question_of_names_and_french_words_is_french(builder, text, lang):
    assert builder.parser.parse(text).lang == lang


def test_a_status_line_is_dated_as_the_question_never_as_an_answer(builder):
    answer = builder.answer("Le sénateur Chaize a-t-il eu une réponse ?")
    status = next(e for e in answer.excerpts if "En attente de réponse" in e.text)
    assert status.source.filing
    # the reference dates it as the question's; no answer's date, no section named
    assert source_line(status.source, "fr") == (
        "Sénat — Question écrite publiée au JO Sénat du 03/10/2024, page 3625")


@pytest.mark.parametrize("question", [
    "cest quoi le tiers payant", "Qu'a fait le gouvernement ?", "what data was stolen",
    "Quand a eu lieu la cyberattaque ?",
])
def test_a_filing_line_never_opens_an_answer_to_a_question_not_about_the_filing(
    builder, question
):
    answer = builder.answer(question)
    assert answer.answered and not answer.excerpts[0].source.filing, answer.excerpts[0].text


@pytest.mark.parametrize(("question", "opening"), [
    ("Qui est l'auteur de la question écrite n° 15289 ?", "Sébastien Peytavie"),
    ("When was Julie Delpech's question published?", "8 octobre 2024"),
])
def test_questions_about_the_filing_are_answered_from_it(builder, question, opening):
    assert opening in builder.answer(question).excerpts[0].text


def test_the_reply_says_which_bank_question_it_answered_in_every_transport(builder):
    answer = builder.answer("cmt je porte plainte pr le vol de mes donnees")
    assert answer.matched_question == "Comment porter plainte ?"
    assert render_text(answer).startswith("Question la plus proche : Comment porter plainte ?")
    assert answer_to_json(answer)["matched_question"] == "Comment porter plainte ?"
    english = builder.answer("how can I report this to the police")
    assert english.matched_question == "How do I file a complaint?"


def test_a_source_line_names_the_answering_ministry_and_never_repeats_a_date(builder):
    complaint = builder.answer("Comment porter plainte ?").excerpts[0].source
    assert source_line(complaint, "fr") == (
        "Sénat — Question écrite publiée au JO Sénat du 03/10/2024, page 3491 — réponse du "
        "Ministère de l'intérieur, 17 avril 2025")
    assert source_line(complaint, "en").endswith(
        "— answer from the Ministère de l'intérieur, 17 April 2025")
    peytavie = next(e.source for e in builder.answer("Que demande le député Peytavie ?").excerpts
                    if e.source.doc_id.startswith("an-16-qe-15289"))
    assert source_line(peytavie, "fr") == (
        "Assemblée nationale — Question écrite n° 15289 — question du 20 février 2024")


def test_a_hedged_reply_shows_its_closest_passages_only_on_request(builder):
    answer = builder.answer("Viamedis a-t-il été racheté par un concurrent ?")
    assert not answer.confident and answer.shown == () and answer.more == answer.excerpts
    text = render_text(answer)
    assert "1. « " not in text
    assert message("closest_console", "fr", count=len(answer.excerpts)) in text


def test_a_confident_reply_shows_one_quote_and_keeps_the_others_for_more(builder):
    answer = builder.answer("données de santé piratage tiers payant optique")
    assert answer.confident and len(answer.shown) == 1 and len(answer.more) >= 2
    text = render_text(answer)
    assert "1. « " in text and "2. « " not in text
