"""Every sentence the bot itself says (Rasa's sentences live in nlu/domain/*.yml). French, short, "vous"."""

CONSENT = (
    "Bonjour 👋 Je suis l'assistant des adultes-relais de votre quartier. "
    "Je vous aide à trouver vos droits et à prendre rendez-vous.\n\n"
    "Pour cela, je garde votre prénom et vos réponses. Seuls les adultes-relais de votre territoire les voient. "
    "Ils sont effacés après 2 ans sans contact. Avec /donnees, vous pouvez tout voir ou tout effacer.\n\n"
    "Êtes-vous d'accord ?"
)
CONSENT_ACCEPT = "✅ J'accepte"
CONSENT_REFUSE = "❌ Je refuse"
CONSENT_NEEDED = "Avant de continuer, j'ai besoin de votre accord. Appuyez sur un bouton ci-dessous."
CONSENT_REFUSED = (
    "D'accord, je ne garde rien sur vous. Vous pouvez aussi voir un adulte-relais sans ce service, "
    "à la maison de quartier. Si vous changez d'avis, écrivez /start."
)
CONSENT_ALREADY = "C'est noté, merci. Vous pouvez écrire votre question."
REFUSED_REMINDER = "Vous avez refusé que je garde vos réponses, alors je ne peux pas vous aider ici. Écrivez /start si vous changez d'avis."

NON_TEXT = (
    "Je ne sais lire que les messages écrits pour l'instant 🙏 Pouvez-vous écrire votre question ? "
    "Pour un document (lettre de la CAF…), un adulte-relais peut le regarder avec vous : écrivez /parler."
)
GROUP_CHAT = "Je réponds seulement en conversation privée. Écrivez-moi directement 🙂"
LONG_MESSAGE = "Votre message est très long, j'ai lu surtout la fin. Si j'ai mal compris, dites-le en une phrase."
FLOOD = (
    "Vous envoyez beaucoup de messages d'un coup. Attendez quelques secondes, puis renvoyez votre dernière question."
)
BUTTON_EXPIRED = "Ce bouton n'est plus valable. Écrivez votre question ou utilisez le menu."
BUTTON_EXPIRED_ALERT = "Ce bouton a expiré."
ONE_MOMENT = "Un instant, je reviens vers vous dans quelques secondes… ⏳"
STILL_DOWN = (
    "Désolé, je n'arrive pas à répondre pour le moment. Réessayez dans quelques minutes. "
    "Si c'est urgent, allez à la permanence de votre quartier."
)
NOT_UNDERSTOOD = "Je n'ai pas bien compris. Pouvez-vous le dire autrement ?"
TECHNICAL_ERROR = "Désolé, j'ai eu un souci technique. Réessayez dans un instant."

DATA_SUMMARY = (
    "Voici ce que je garde sur vous :\n"
    "• prénom : {prenom}\n"
    "• quartier : {quartier}\n"
    "• accord donné le {accord}\n"
    "• messages de rappel : {rappels}\n\n"
    "Vous pouvez recevoir une copie ou tout effacer."
)
DATA_EXPORT = "📄 Recevoir mes données"
DATA_ERASE = "🗑️ Tout effacer"
DATA_EXPORT_CAPTION = "Toutes vos données, dans un fichier."
DATA_ERASE_CONFIRM = "Tout effacer ? Vos réponses et vos rendez-vous seront supprimés. On ne pourra pas les retrouver."
DATA_ERASE_YES = "Oui, tout effacer"
DATA_ERASE_NO = "Non, garder"
DATA_ERASED = "C'est fait : tout est effacé. Si vous voulez recommencer un jour, écrivez /start. Au revoir 👋"
DATA_KEPT = "D'accord, je garde tout comme avant."
NOT_SET = "non renseigné"

STOPPED = (
    "C'est noté : je ne vous enverrai plus de messages ni de rappels. "
    "Vous pouvez toujours m'écrire. Pour les recevoir à nouveau, écrivez /reprendre."
)
RESUMED = "C'est noté : vous recevrez à nouveau les rappels."

# Bot commands shown in Telegram's menu (name, description).
COMMANDS = [
    ("droits", "Mes droits"),
    ("rendezvous", "Prendre rendez-vous"),
    ("parler", "Parler à quelqu'un"),
    ("donnees", "Mes données"),
    ("aide", "Aide"),
    ("stop", "Ne plus recevoir de messages"),
]
