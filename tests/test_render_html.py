"""Telegram HTML, without a network: escaping, links, limits."""

import re
from datetime import date

from bot.answer import Answer, Excerpt, Source, find_links
from bot.excerpts import Quote
from bot.metadata import DocumentMeta
from bot.render_html import TELEGRAM_MAX_CHARS, join_blocks, render_excerpt_html, render_html
from bot.suggestions import Catalogue
from bot.telegram.keyboards import answer_keyboard, page_keyboard

SOURCE = Source("doc.md", DocumentMeta(title="Titre", institution="Sénat",
                                       reference="Question écrite", published=date(2024, 10, 3),
                                       url="https://www.senat.fr/q.html"), "Réponse")


def excerpt(text: str, highlights=()) -> Excerpt:
    quote = Quote(text, frozenset({0}), tuple(highlights), whole=frozenset({0}))
    return Excerpt(quote, SOURCE, 1.0, find_links(text))


def answer(*excerpts: Excerpt, lang="fr") -> Answer:
    return Answer("q", lang, "answered", excerpts)


def test_excerpt_text_is_escaped_and_matches_are_bold():
    text = "Les <b>données</b> & « garanties » du *contrat*."
    start = text.index("garanties")
    html = render_html(answer(excerpt(text, [(start, start + len("garanties"))])))
    assert "&lt;b&gt;données&lt;/b&gt; &amp;" in html
    assert "<b>garanties</b>" in html
    assert "*contrat*" in html  # Markdown characters mean nothing in HTML mode
    assert "<blockquote>" in html and "</blockquote>" in html


def test_web_addresses_become_links_and_the_source_links_to_its_page():
    text = "Un formulaire (www.masecurite.interieur.gouv.fr/fr/plainte) existe."
    html = render_html(answer(excerpt(text)))
    assert ('<a href="https://www.masecurite.interieur.gouv.fr/fr/plainte">'
            "www.masecurite.interieur.gouv.fr/fr/plainte</a>") in html
    assert '<a href="https://www.senat.fr/q.html">' in html
    assert "3 octobre 2024" in html


def test_a_highlight_inside_a_link_does_not_break_the_link():
    text = "Voir www.exemple.gouv.fr/plainte pour porter plainte."
    inside = text.index("plainte")
    html = render_html(answer(excerpt(text, [(inside, inside + 7)])))
    assert html.count("<a href=") == 2
    assert re.search(r"<a href=\"[^\"]*\"><b>", html) is None


def link_buttons(markup):
    return [(button.text, button.url) for row in markup.inline_keyboard for button in row
            if button.url]


def test_each_link_of_an_excerpt_gets_one_button_in_reading_order_under_its_message():
    first = ("Formulaire : www.exemple.gouv.fr/p, ou https://cnil.fr/plainte. "
             "Encore www.exemple.gouv.fr/p.")
    second = "Voir https://cnil.fr/plainte et www.interieur.gouv.fr/fuite."
    reply = answer(excerpt(first), excerpt(second))
    assert link_buttons(answer_keyboard(reply, Catalogue(()), "fuite_bot")) == [
        ("🔗 Ouvrir www.exemple.gouv.fr", "https://www.exemple.gouv.fr/p"),
        ("🔗 Ouvrir cnil.fr", "https://cnil.fr/plainte"),
    ]
    assert link_buttons(page_keyboard(reply, 2)) == [
        ("🔗 Ouvrir cnil.fr", "https://cnil.fr/plainte"),
        ("🔗 Ouvrir www.interieur.gouv.fr", "https://www.interieur.gouv.fr/fuite"),
    ]


def test_a_reply_never_exceeds_telegrams_limit_nor_cuts_a_tag():
    long = "mot " * 110
    html = join_blocks([render_excerpt_html(excerpt(long), n, "fr") for n in range(20)],
                       TELEGRAM_MAX_CHARS)
    assert len(html) <= TELEGRAM_MAX_CHARS
    assert html.count("<blockquote>") == html.count("</blockquote>") > 0
    assert join_blocks(["a" * 10, "b" * 10], 15) == "a" * 10


def test_declines_and_warnings_are_plain_escaped_text():
    html = render_html(Answer("<script>", "en", "not_found", (), personal_data_warning=True))
    assert "<script>" not in html
    assert html.startswith("⚠️")
    assert "/sources" in html
