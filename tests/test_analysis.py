from bot.analysis import default_analyzer, split_words


def terms(text: str) -> list[str]:
    return default_analyzer().terms(text)


def test_elisions_are_dropped_and_the_word_kept():
    assert terms("l'état") == terms("état")
    assert terms("d’identité") == terms("identité")  # typographic apostrophe too
    assert terms("jusqu'à l'usurpation") == terms("usurpation")
    assert terms("qu'elle") == []


def test_accents_are_folded_before_stemming():
    assert terms("données") == terms("donnees") == terms("DONNÉES")
    assert terms("sécurité sociale") == terms("securite sociale")


def test_hyphenated_words_give_their_parts_and_the_joined_word():
    hyphenated = terms("cyber-attaques")
    assert terms("cyberattaques")[0] in hyphenated
    assert terms("cyber")[0] in hyphenated and terms("attaques")[0] in hyphenated
    assert terms("tiers-payant")[:2] == terms("tiers payant")


def test_stopwords_and_punctuation_give_no_terms():
    assert terms("Est-ce que c'est pour les ?!") == []
    assert terms("🙂 👍 …") == []


def test_plural_and_singular_meet():
    assert terms("plaintes") == terms("plainte")
    assert terms("mutuelles") == terms("mutuelle")


def test_web_addresses_are_not_words():
    words = [w.text for w in split_words("Voir www.exemple.gouv.fr/plainte-en-ligne ici")]
    assert words == ["Voir", "ici"]
