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
