"""The bot's own words, in French and English. Quoted excerpts always stay in French."""

from __future__ import annotations

from datetime import date

from bot.corpus import format_french_date
from bot.query import Lang

ENGLISH_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
                  "September", "October", "November", "December")

MESSAGES: dict[str, dict[Lang, str]] = {
    "intro": {
        "fr": "Voici ce que disent les documents officiels :",
        "en": "Here is what the official documents say (quoted in French):",
    },
    "not_found": {
        "fr": "Je ne trouve pas la réponse à cette question dans mes sources. Essayez de la "
              "reformuler avec d'autres mots, ou consultez la liste des documents avec /sources.",
        "en": "I can't find the answer to this question in my sources. Try rephrasing it, or "
              "see the list of documents with /sources.",
    },
    "no_question": {
        "fr": "Je n'ai pas trouvé de question dans votre message. Écrivez-la en quelques mots, "
              "par exemple : « comment porter plainte ? » ou « quelles données ont été volées ? »",
        "en": "I couldn't find a question in your message. Write it in a few words, for "
              "example: \"how do I file a complaint?\" or \"what data was stolen?\"",
    },
    "personal_data": {
        "fr": "⚠️ Votre message semble contenir un numéro de sécurité sociale. Ne le communiquez "
              "jamais ici ni à un inconnu : je n'en ai pas besoin et je ne l'enregistre pas.",
        "en": "⚠️ Your message seems to contain a French social security number. Never share it "
              "here or with a stranger: I don't need it and I don't keep it.",
    },
    "more_console": {
        "fr": "{count} autre(s) extrait(s) : tapez « plus » pour les voir.",
        "en": "{count} more excerpt(s): type \"more\" to see them.",
    },
    "no_more": {
        "fr": "Je n'ai pas d'autre extrait pour cette question.",
        "en": "I have no other excerpt for this question.",
    },
    "link": {"fr": "Lien", "en": "Link"},
}


def message(key: str, lang: Lang, **values: object) -> str:
    return MESSAGES[key][lang].format(**values)


def format_date(day: date, lang: Lang) -> str:
    """A date as people of that language write it: "3 octobre 2024", "3 October 2024"."""
    if lang == "en":
        return f"{day.day} {ENGLISH_MONTHS[day.month - 1]} {day.year}"
    return format_french_date(day)
