"""How suggestions show in the console text, the JSON contract and Telegram HTML."""

import json

from bot.answer import Answer
from bot.messages import message
from bot.render import answer_to_json, render_text
from bot.render_html import render_html

SUGGESTED = ("Comment porter plainte ?", "Quelles données ont été volées ?")
CONTRACT_KEYS = {"query", "lang", "answered", "confident", "results", "reply"}


def declined(lang="fr", suggestions=SUGGESTED) -> Answer:
    return Answer(question="tarte tatin ?", lang=lang, outcome="not_found",
                  suggestions=suggestions)


def test_a_declined_reply_lists_the_suggested_questions_numbered_after_the_refusal():
    text = render_text(declined())
    assert text.startswith("Je ne trouve pas la réponse")
    assert text.endswith("Vous pouvez me demander par exemple :\n"
                         "1. Comment porter plainte ?\n2. Quelles données ont été volées ?")


def test_suggestions_are_introduced_in_the_replys_language():
    text = render_text(declined("en", ("How do I file a complaint?",)))
    assert text.startswith("I can't find the answer")
    assert text.endswith("You can ask me, for example:\n1. How do I file a complaint?")


def test_without_suggestions_the_reply_is_the_refusal_alone():
    assert render_text(declined(suggestions=())) == message("not_found", "fr")


def test_the_json_contract_lists_the_suggestions_beside_its_other_keys():
    suggested = answer_to_json(declined())
    assert set(suggested) == CONTRACT_KEYS | {"suggestions", "matched_question"}
    assert suggested["suggestions"] == list(SUGGESTED)
    assert suggested["answered"] is False and suggested["results"] == []
    assert "1. Comment porter plainte ?" in suggested["reply"]
    assert json.loads(json.dumps(suggested)) == suggested
    assert answer_to_json(declined(suggestions=()))["suggestions"] == []


def test_in_telegram_html_a_declined_reply_is_the_refusal_its_suggestions_go_on_buttons():
    html = render_html(declined())
    assert html == message("not_found", "fr").replace("'", "&#x27;")
