"""The bot's own words, in French and English. Quoted excerpts always stay in French."""

from __future__ import annotations

from datetime import date

from bot.corpus import format_french_date
from bot.lang import Lang

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
    "too_long": {
        "fr": "Votre message est très long. Posez-moi une question courte (moins de "
              "{limit} caractères), par exemple : « quelles données ont été volées ? »",
        "en": "Your message is very long. Ask me a short question (under {limit} "
              "characters), for example: \"what data was stolen?\"",
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
    "link": {"fr": "Lien :", "en": "Link:"},
    "suggestions_intro": {
        "fr": "Vous pouvez me demander par exemple :",
        "en": "You can ask me, for example:",
    },
    "suggestion_number_console": {
        "fr": "Tapez le numéro d'une question pour la poser.",
        "en": "Type a question's number to ask it.",
    },
    # Telegram
    "start": {
        "fr": "Bonjour ! Je réponds aux questions sur la fuite de données de santé de début 2024 "
              "chez Viamedis et Almerys, les opérateurs de tiers payant des mutuelles "
              "(environ 33 millions de personnes concernées).\n\n"
              "Je cite mot pour mot des documents officiels (questions écrites de députés et de "
              "sénateurs, réponse du ministère de l'intérieur) et je donne toujours la source. "
              "Si la réponse n'y est pas, je le dis.\n\n"
              "Posez votre question, par exemple : « comment porter plainte ? »\n"
              "/sources : les documents · /help : exemples · /privacy : vos données\n\n"
              "🔒 N'envoyez jamais votre numéro de sécurité sociale ni vos coordonnées : je n'en "
              "ai pas besoin et je ne conserve pas vos messages.",
        "en": "Hello! I answer questions about the early-2024 health-data breach at Viamedis "
              "and Almerys, the third-party-payment operators behind French health insurers "
              "(about 33 million people affected).\n\n"
              "I quote official documents word for word (French parliamentary written questions "
              "and the Interior Ministry's answer), always with their source, in French. If the "
              "answer isn't there, I say so.\n\n"
              "Ask your question, for example: \"how do I file a complaint?\"\n"
              "/sources: the documents · /help: examples · /privacy: your data\n\n"
              "🔒 Never send your social security number or contact details: I don't need them "
              "and I don't keep your messages.",
    },
    "help": {
        "fr": "Écrivez votre question en une phrase, en français ou en anglais. Exemples :\n"
              "• comment porter plainte ?\n• quelles données ont été volées ?\n"
              "• que faire après la fuite ?\n• la CNIL a-t-elle sanctionné quelqu'un ?\n"
              "• How do I file a complaint?\n• What data was stolen?\n\n"
              "Dans un groupe, mentionnez-moi, répondez à l'un de mes messages ou utilisez "
              "/ask votre question.\n/sources : les documents que je cite.",
        "en": "Write your question in one sentence, in English or French. Examples:\n"
              "• How do I file a complaint?\n• What data was stolen?\n"
              "• What should I do after the breach?\n• comment porter plainte ?\n\n"
              "In a group, mention me, reply to one of my messages, or use /ask your question."
              "\n/sources: the documents I quote.",
    },
    "sources_intro": {
        "fr": "Les documents que je cite ({count}) :",
        "en": "The documents I quote ({count}), all in French:",
    },
    "privacy": {
        "fr": "🔒 Vos données\n\n"
              "• Je ne conserve ni vos messages ni votre identité : le texte de vos questions "
              "n'est jamais écrit dans les journaux.\n"
              "• Je compte, en mémoire seulement, les questions répondues ou non et les 👍/👎, "
              "sans savoir qui les a donnés. Les questions sans réponse sont gardées, en mémoire, "
              "une fois les nombres, e-mails et noms effacés, pour que les administrateurs "
              "sachent quels documents manquent. Tout disparaît au redémarrage du bot.\n"
              "• Ne m'envoyez jamais votre numéro de sécurité sociale, vos coordonnées "
              "bancaires ou vos mots de passe. Personne de sérieux ne vous les demandera ici.",
        "en": "🔒 Your data\n\n"
              "• I keep neither your messages nor who you are: the text of your questions is "
              "never written to the logs.\n"
              "• I count, in memory only, answered and unanswered questions and the 👍/👎, "
              "without knowing who gave them. Unanswered questions are kept in memory, with "
              "numbers, e-mails and names removed, so that admins know which documents are "
              "missing. Everything is gone when the bot restarts.\n"
              "• Never send me your social security number, bank details or passwords. No one "
              "serious will ask you for them here.",
    },
    "not_text": {
        "fr": "Je ne lis que le texte. Écrivez-moi votre question en quelques mots.",
        "en": "I can only read text. Write your question in a few words.",
    },
    "unknown_command": {
        "fr": "Je ne connais pas cette commande. Essayez /help, /sources ou posez votre question.",
        "en": "I don't know that command. Try /help, /sources, or just ask your question.",
    },
    "ask_usage": {
        "fr": "Écrivez votre question après la commande, par exemple : /ask comment porter "
              "plainte ?",
        "en": "Write your question after the command, for example: /ask how do I file a "
              "complaint?",
    },
    "more_button": {"fr": "➕ Autres extraits ({count})", "en": "➕ More excerpts ({count})"},
    "more_gone": {
        "fr": "Ces extraits ne sont plus disponibles ; reposez la question.",
        "en": "These excerpts are no longer available; please ask again.",
    },
    "suggestion_gone": {
        "fr": "Cette suggestion n'est plus disponible ; écrivez votre question.",
        "en": "This suggestion is no longer available; please type your question.",
    },
    "open_link": {"fr": "🔗 Ouvrir {host}", "en": "🔗 Open {host}"},
    "feedback_thanks": {"fr": "Merci pour votre avis !", "en": "Thanks for your feedback!"},
    "feedback_already": {"fr": "Vous avez déjà donné votre avis.",
                         "en": "You have already given your feedback."},
    "error": {
        "fr": "Désolé, une erreur s'est produite. Réessayez dans un instant.",
        "en": "Sorry, something went wrong. Please try again in a moment.",
    },
    "admin_only": {
        "fr": "Désolé, cette commande est réservée aux administrateurs du bot.",
        "en": "Sorry, this command is for the bot's administrators only.",
    },
    "reindex_started": {"fr": "Reconstruction de l'index…", "en": "Rebuilding the index…"},
    "reindex_done": {
        "fr": "Index reconstruit : {documents} documents, {passages} passages, en {seconds:.2f} s.",
        "en": "Index rebuilt: {documents} documents, {passages} passages, in {seconds:.2f} s.",
    },
    "reindex_skipped": {"fr": "Fichiers ignorés :", "en": "Files skipped:"},
    "reindex_failed": {
        "fr": "La reconstruction a échoué ; l'index précédent reste en service. Erreur : {error}",
        "en": "The rebuild failed; the previous index keeps serving. Error: {error}",
    },
    "upload_refused": {
        "fr": "Document refusé : {reason}",
        "en": "Document refused: {reason}",
    },
    "upload_saved": {
        "fr": "« {name} » ajouté au corpus.",
        "en": "\"{name}\" added to the corpus.",
    },
    "stats": {
        "fr": "Statistiques depuis le démarrage :\n• questions répondues : {answered}\n"
              "• questions sans réponse : {declined}\n• 👍 {up} · 👎 {down}",
        "en": "Statistics since start-up:\n• questions answered: {answered}\n"
              "• questions declined: {declined}\n• 👍 {up} · 👎 {down}",
    },
    "stats_declined": {
        "fr": "Questions sans réponse les plus fréquentes (données personnelles effacées) :",
        "en": "Most frequent unanswered questions (personal data removed):",
    },
}


def message(key: str, lang: Lang, **values: object) -> str:
    return MESSAGES[key][lang].format(**values)


def format_date(day: date, lang: Lang) -> str:
    """A date as people of that language write it: "3 octobre 2024", "3 October 2024"."""
    if lang == "en":
        return f"{day.day} {ENGLISH_MONTHS[day.month - 1]} {day.year}"
    return format_french_date(day)
