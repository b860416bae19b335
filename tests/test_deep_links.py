"""Links to one answer (t.me/<bot>?start=<entry id>) and the Share button: every bank entry
can be linked to, and its link opens that entry's answer, in either language."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest

from bot.answer import Answer, AnswerBuilder, own_passages_first
from bot.bank import BANK_FILE, read_bank
from bot.lang import LANGS, Lang
from bot.messages import message
from bot.search import Hit, Ranking
from bot.telegram.keyboards import answer_keyboard
from tests.conftest import CORPUS

# What Telegram lets a /start payload hold (core.telegram.org/bots/features#deep-linking).
START_PAYLOAD = re.compile(r"[A-Za-z0-9_-]{1,64}")
BOT_USERNAME = "fuite_bot"


@pytest.fixture(scope="module")
def entry_answers(builder: AnswerBuilder) -> dict[tuple[str, Lang], Answer]:
    """answer_entry for every entry of the bank in both languages, computed once."""
    answers = {}
    for entry in builder.index.bank:
        for lang in LANGS:
            answer = builder.answer_entry(entry.id, lang)
            assert answer is not None, entry.id
            answers[entry.id, lang] = answer
    return answers


def test_every_bank_id_fits_a_telegram_start_payload() -> None:
    entries, _ = read_bank(CORPUS / BANK_FILE)
    assert len(entries) >= 150
    assert [e.id for e in entries if not START_PAYLOAD.fullmatch(e.id)] == []


def test_every_entry_s_link_opens_with_its_own_answer_and_its_label_in_both_languages(
    builder: AnswerBuilder, entry_answers: dict[tuple[str, Lang], Answer]
) -> None:
    wrong = []
    for entry in builder.index.bank:
        for lang in LANGS:
            answer = entry_answers[entry.id, lang]
            first = answer.shown[0].quote.passages if answer.shown else set()
            if not (answer.answered and answer.confident and first & set(entry.passages)
                    and answer.matched_question == entry.text(lang)
                    and answer.matched_entry == entry.id and answer.lang == lang):
                wrong.append(f"{entry.id} ({lang}): {answer.matched_question!r}")
    assert wrong == []


def test_the_share_button_of_every_linked_answer_carries_its_link_and_question(
    builder: AnswerBuilder, entry_answers: dict[tuple[str, Lang], Answer]
) -> None:
    for (entry_id, lang), answer in entry_answers.items():
        keyboard = answer_keyboard(answer, builder.catalogue, BOT_USERNAME)
        assert keyboard is not None
        rows = keyboard.inline_keyboard
        assert all(len(row) <= 8 for row in rows) and sum(map(len, rows)) <= 100
        [share] = [b for row in rows for b in row if b.text == message("share_button", lang)]
        assert share.url is not None and share.url.startswith("https://t.me/share/url?")
        shared = parse_qs(urlsplit(share.url).query)
        assert shared == {"url": [f"https://t.me/{BOT_USERNAME}?start={entry_id}"],
                          "text": [answer.matched_question]}


def test_an_id_the_bank_lacks_gets_no_answer(builder: AnswerBuilder) -> None:
    for entry_id in ("plainte-inconnue", "Plainte-Formulaire", "", "plainte formulaire"):
        assert builder.answer_entry(entry_id, "fr") is None


def test_an_answer_says_which_entry_it_answers_and_only_a_matched_one_can_be_shared(
    builder: AnswerBuilder,
) -> None:
    matched = builder.answer("comment porter plainte ?")
    assert matched.matched_entry == "plainte-formulaire"
    hedged = builder.answer("Viamedis a-t-il été racheté par un concurrent ?")
    assert hedged.answered and hedged.matched_entry is None
    keyboard = answer_keyboard(hedged, builder.catalogue, BOT_USERNAME)
    texts = [b.text for row in (keyboard.inline_keyboard if keyboard else ()) for b in row]
    assert message("share_button", "fr") not in texts


def test_the_entry_s_passages_lead_even_when_others_score_higher(
    builder: AnswerBuilder,
) -> None:
    entry = builder.bank_entry("plainte-formulaire")
    assert entry is not None
    passages = builder.index.passages
    others = [p for p in passages if p.position not in entry.passages][:3]
    own = passages[entry.passages[0]]
    hits = [Hit(p, score, frozenset()) for p, score in
            zip([others[0], others[1], own, others[2]], [4.0, 3.0, 2.0, 1.0], strict=True)]
    ranking = own_passages_first(Ranking(hits, np.zeros(len(passages)), 1.0), entry)
    assert [h.passage for h in ranking.hits] == [own, others[0], others[1], others[2]]
