import re

import pytest

from bot.privacy import contains_social_security_number, redact


@pytest.mark.parametrize("text", [
    "1850578006084", "185057800608436", "1 85 05 78 006 084 36", "2 99 12 2A 123 456",
    "mon numéro est 2.85.05.78.006.084 merci",
])
def test_social_security_numbers_are_spotted(text):
    assert contains_social_security_number(text)


@pytest.mark.parametrize("text", [
    "33 millions de personnes", "question n° 18344", "en 2024", "06 12 34 56 78",
    "12345678901234567",
])
def test_other_numbers_are_not_taken_for_one(text):
    assert not contains_social_security_number(text)


def test_redaction_removes_numbers_emails_and_names():
    text = "Je m'appelle Jean Dupont, jean@exemple.fr, né en 1985, NIR 1 85 05 78 006 084 36"
    redacted = redact(text)
    for secret in ("Jean", "Dupont", "jean@exemple.fr", "1985", "006"):
        assert secret not in redacted
    assert redact("je suis inquiet pour ma mutuelle") == "je suis inquiet pour ma mutuelle"


# The common ways people give a name in a question, with the words that must not be kept.
NAMES_GIVEN = [
    ("je m'appelle jean dupont", ["jean", "dupont"]),
    ("Je m'appelle Jean Dupont, ma mutuelle est-elle concernée ?", ["Jean", "Dupont"]),
    ("moi c'est Marie, ma carte vitale a fuité ?", ["Marie"]),
    ("ici Paul Martin, que faire ?", ["Paul", "Martin"]),
    ("mon voisin jean dupont a reçu un courrier", ["jean", "dupont"]),
    ("ma mère, Mme Durand, a reçu un courrier de sa mutuelle", ["Durand"]),
    ("j'ai écrit à M. Bernard de ma mutuelle", ["Bernard"]),
    ("madame martin de la cpam m'a appelée", ["martin"]),
    ("le Dr Lefèvre a-t-il accès à mes données ?", ["Lefèvre"]),
    ("monsieur dupont", ["dupont"]),
    ("signé Jean", ["Jean"]),
    ("que faire ? cordialement, Jean Dupont", ["Jean", "Dupont"]),
    ("Que faire ?\nCordialement\nJean Dupont", ["Jean", "Dupont"]),
    ("Que faire ?\nJean Dupont", ["Jean", "Dupont"]),
    ("Comment savoir si je suis touchée ?\nSophie", ["Sophie"]),
    ("merci, Paul", ["Paul"]),
    ("Bonjour, je suis Sophie Petit et ma mutuelle est Harmonie", ["Sophie", "Petit"]),
    ("je suis sophie, suis-je concernée ?", ["sophie"]),
    ("mon nom est dupont", ["dupont"]),
    ("mon prénom est Hélène", ["Hélène"]),
    ("j'ai parlé avec Pierre Dubois hier", ["Pierre", "Dubois"]),
    ("Pierre Dubois a reçu un mail bizarre", ["Pierre", "Dubois"]),
    ("mon mari Pierre a-t-il été touché ?", ["Pierre"]),
    ("ma femme marie a reçu un sms", ["marie"]),
    ("mon fils pierre est concerné ?", ["pierre"]),
    ("ma fille Chloé est-elle concernée ?", ["Chloé"]),
    ("ma sœur léa est concernée ?", ["léa"]),
    ("mon ami, Julien Moreau, a été piraté", ["Julien", "Moreau"]),
    ("Mon mari Jean-Pierre Dupont", ["Jean-Pierre", "Dupont"]),
    ("j'ai vu M. DUPONT à la CPAM", ["DUPONT"]),
    ("my name is john smith", ["john", "smith"]),
    ("I'm John, was my data leaked?", ["John"]),
    ("this is Anna, am I affected?", ["Anna"]),
    ("my neighbour John Smith got a letter", ["John", "Smith"]),
    ("Mr Smith from my insurer called me", ["Smith"]),
    ("I talked to John Smith yesterday", ["John", "Smith"]),
    ("my husband david received a letter", ["david"]),
    ("Best regards, John Smith", ["John", "Smith"]),
    ("thanks, Anna", ["Anna"]),
]
RELATIVES_FR = ["mon mari", "ma femme", "mon fils", "ma fille", "mon père", "ma mère", "mon frère",
                "ma sœur", "mon voisin", "ma voisine", "mon ami", "mon collègue"]
RELATIVES_EN = ["my wife", "my husband", "my son", "my daughter", "my mother", "my father",
                "my friend", "my neighbour"]
NAMES_AFTER_RELATIVES = [
    *[(f"{rel} jean dupont a reçu un courrier", ["jean", "dupont"]) for rel in RELATIVES_FR],
    *[(f"{rel} Jean Dupont a reçu un courrier", ["Jean", "Dupont"]) for rel in RELATIVES_FR],
    *[(f"{rel} john smith got a letter", ["john", "smith"]) for rel in RELATIVES_EN],
    *[(f"{rel} John Smith got a letter", ["John", "Smith"]) for rel in RELATIVES_EN],
]
# What is no name and must stay, for the statistics to say what people ask.
NO_NAMES = [
    "je suis inquiet pour ma mutuelle", "je suis concerné par la fuite", "i am worried",
    "I'm not sure", "i am concerned", "this is a scam", "moi c'est pareil",
    "mon assureur Harmonie Mutuelle est-il concerné ?", "Is Harmonie Mutuelle affected?",
    "je suis assuré chez Harmonie Mutuelle", "ma mutuelle a été piratée",
    "mon numéro de sécu a fuité ?", "Viamedis a-t-il prévenu ?", "la fuite Viamedis Almerys",
    "Quelles données ont fuité chez Viamedis ?", "Est-ce que Almerys a porté plainte ?",
    "la CNIL a-t-elle sanctionné ?", "l'Assurance Maladie est-elle touchée",
    "Ma Carte Vitale est-elle en danger ?", "Mon Espace Santé est-il touché ?",
    "Comment porter plainte ?", "Est-ce que ma mutuelle est concernée ?",
    "ma mutuelle est concernee ?", "Bonjour, je voudrais savoir si ma mutuelle est touchée",
    "Hello, was my data stolen?", "What should I do?", "the National Assembly",
    "mon voisin est concerné aussi", "ma mère a reçu un courrier", "mon fils a été touché",
    "ma fille aussi", "mon mari et moi sommes chez Harmonie Mutuelle", "mon père âgé est inquiet",
    "ma mère hospitalisée", "ma femme, elle, n'a rien reçu", "mon ami m'a dit que",
    "my wife and I got a letter", "my husband received a letter", "my mother's data",
    "my friend told me", "Madame, Monsieur, je vous écris", "Bonjour Madame",
    "merci beaucoup", "Merci d'avance", "Cordialement", "Que faire ?\nCordialement",
    "Que faire ?\nMerci", "Que faire ?\nUrgent", "j'ai signé un contrat", "Je suis DPO",
    "ici on parle de quoi ?", "le gvt va faire koi pr securiser le tiers payant",
]


@pytest.mark.parametrize(("text", "secrets"), NAMES_GIVEN + NAMES_AFTER_RELATIVES)
def test_names_given_the_common_ways_are_redacted(text, secrets):
    redacted = redact(text)
    assert "[nom]" in redacted
    for secret in secrets:
        assert re.search(rf"(?<!\w){re.escape(secret)}(?!\w)", redacted) is None, redacted


@pytest.mark.parametrize("relative", RELATIVES_FR)
def test_what_follows_a_relative_stays_when_it_is_no_name(relative):
    assert redact(f"{relative} a reçu un courrier") == f"{relative} a reçu un courrier"
    assert redact(f"{relative} est concerné aussi") == f"{relative} est concerné aussi"


@pytest.mark.parametrize("text", NO_NAMES)
def test_words_that_are_no_names_stay(text):
    assert redact(text) == text


@pytest.mark.parametrize(("text", "redacted"), [
    ("ma mère, Mme Durand, a reçu un courrier", "ma mère, Mme [nom], a reçu un courrier"),
    ("je m'appelle jean dupont", "je m'appelle [nom]"),
    ("mon voisin, Jean Dupont, et ma soeur marie", "mon voisin, [nom], et ma soeur [nom]"),
    ("Merci de votre réponse.\nCordialement,\nJean Dupont",
     "Merci de votre réponse.\nCordialement,\n[nom]"),
    ("La question de M. Dubois concerne la santé", "La question de M. [nom] concerne la santé"),
])
def test_a_name_becomes_one_tag_and_the_words_around_it_stay(text, redacted):
    assert redact(text) == redacted
