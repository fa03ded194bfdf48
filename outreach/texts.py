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

# ---------------------------------------------------------------- handoff (resident side)
HANDOFF_OPENED = "C'est noté : je préviens un adulte-relais. Il va vous répondre ici, dans cette conversation."
HANDOFF_OPENED_CLOSED_HOURS = (
    "C'est noté : je préviens un adulte-relais. Les adultes-relais répondent en semaine, de 9 h à 17 h : "
    "quelqu'un vous répondra ici {quand}."
)
HANDOFF_FALLBACK = "Je n'arrive pas à bien comprendre, pardon. " + HANDOFF_OPENED
HANDOFF_SCREENING = "Votre situation mérite d'être regardée avec une personne. " + HANDOFF_OPENED
HANDOFF_ALREADY = "Un adulte-relais a déjà votre demande. Il va vous répondre ici. Écrivez « fin » pour annuler."
HANDOFF_QUEUED = "C'est noté, je le transmets à l'adulte-relais dès qu'il vous répond."
HANDOFF_CLAIMED = (
    "Bonjour, c'est {prenom}, adulte-relais. Je lis vos messages, je vous réponds ici. Écrivez « fin » pour terminer."
)
HANDOFF_FROM_STAFF = "{prenom} : {texte}"
HANDOFF_TRANSFERRED = "{prenom} va continuer avec vous. Il ou elle lit vos messages."
HANDOFF_CLOSED = (
    "{prenom} a terminé la conversation. Je suis de nouveau là pour vous aider. Comment l'avez-vous trouvée ?"
)
HANDOFF_ENDED_BY_RESIDENT = "C'est terminé, merci. Je suis de nouveau là pour vous aider. Comment l'avez-vous trouvée ?"
HANDOFF_CANCELLED_WAITING = "D'accord, j'annule la demande. Je suis de nouveau là pour vous aider."
SATISFACTION_THANKS = "Merci pour votre réponse ! Elle aide les adultes-relais à s'améliorer."
WHICH_TERRITORY = "Pour vous mettre en lien avec un adulte-relais, dites-moi où vous habitez :"
OUTSIDE_TERRITORY = (
    "Nos adultes-relais sont à Dijon métropole et à Troyes Champagne Métropole. Ailleurs, la mairie, "
    "le CCAS ou une France services de votre commune peut vous aider."
)
END_WORDS = ("fin", "terminer", "termine", "c est fini", "fin de la conversation", "stop conversation")

# ---------------------------------------------------------------- staff
INVITE_INVALID = "Ce code d'invitation n'est plus valable (déjà utilisé, expiré ou inconnu). Demandez-en un nouveau à votre coordinatrice."
STAFF_DISABLED = "Votre compte équipe a été désactivé. Contactez votre coordinatrice si c'est une erreur."
STAFF_WELCOME = "Bienvenue {prenom} ! Vous êtes dans l'équipe ({role}, {territoire}). Voici votre menu."
STAFF_MENU = "Menu équipe — vous êtes {etat}."
STAFF_AVAILABLE = "✅ Je suis disponible"
STAFF_UNAVAILABLE = "⏸ Je suis indisponible"
STAFF_PENDING = "📥 Cas en attente"
STAFF_MINE = "🗂 Mes cas"
STAFF_APPOINTMENTS = "📅 Mes rendez-vous"
STAFF_NOW_AVAILABLE = "Vous êtes disponible : vous recevrez les nouveaux cas de votre territoire."
STAFF_NOW_UNAVAILABLE = "Vous êtes indisponible : vous ne recevrez plus de nouveaux cas."
STAFF_NO_PENDING = "Aucun cas en attente dans votre territoire."
STAFF_NO_CASE = "Vous n'avez pas de cas ouvert. Vos messages ne sont envoyés à personne."
STAFF_NO_APPOINTMENTS = "Aucun rendez-vous à venir."
CARD = "🆕 {prenom}{quartier} — {raison}\nEn attente depuis {attente}.{droits}{echanges}"
CARD_TAKE = "Je prends"
CARD_LATER = "Plus tard"
CARD_TAKEN_BY = "✔️ Pris par {prenom}"
CARD_TAKEN_BY_YOU = (
    "Vous avez pris le cas de {prenom}. Vos messages ici lui sont envoyés. Pour finir : « Clore » dans Mes cas."
)
CARD_GONE = "Ce cas n'est plus en attente."
CARD_LATER_OK = "D'accord. Le cas reste dans « Cas en attente »."
CASE_LINE = "{prenom}{quartier} — {raison}"
CASE_WRITE = "✍️ Écrire à {prenom}"
CASE_CLOSE = "✅ Clore"
CASE_TRANSFER = "↪️ Transférer"
CASE_FOCUS = "Vos messages vont maintenant à {prenom}."
CASE_OUTCOME = "Comment s'est terminé le cas de {prenom} ?"
CASE_CLOSED = "Cas de {prenom} clos ({issue}). Pour ajouter une note : /note votre texte"
CASE_ENDED_BY_RESIDENT = "{prenom} a mis fin à la conversation. Comment s'est terminé le cas ?"
CASE_TRANSFER_TO = "À qui transférer le cas de {prenom} ?"
CASE_NO_COLLEAGUE = "Aucun autre adulte-relais de votre territoire n'est inscrit."
CASE_TRANSFERRED = "Cas de {prenom} transféré à {collegue}."
CASE_RECEIVED = "{collegue} vous transfère le cas de {prenom}. Vos messages ici lui sont envoyés."
RESIDENT_SAYS = "{prenom} : {texte}"
RESIDENT_SENT_PHOTO = "{prenom} a envoyé une photo{legende}"
RESIDENT_SENT_DOCUMENT = "{prenom} a envoyé un document{legende}"
NOTE_SAVED = "Note enregistrée."
NOTE_NOTHING = "Aucun cas clos où mettre cette note."
RESEND_PREFIX = "⏰ Toujours en attente — "
COORDINATOR_ALERT = "⏰ Un cas attend depuis {attente} sans adulte-relais : {prenom}{quartier} — {raison}"
NOBODY_AVAILABLE = "⚠️ Nouveau cas et aucun adulte-relais disponible : {prenom}{quartier} — {raison}"
STAFF_NOT_FOR_YOU = "Ce cas n'est pas de votre territoire."

# ---------------------------------------------------------------- the web console (staff)
CONSOLE_LINK_WAIT = "Un lien vient d'être envoyé. Attendez une minute avant d'en demander un autre."
CONSOLE_NO_ACCESS = "Vous n'avez pas encore accès à la console. Demandez-le à votre coordinateur."

# ---------------------------------------------------------------- the dialogue's forms (said by actions/)
SCREENING_INTRO = (
    "On fait le point sur vos droits : une dizaine de questions, 3 minutes. Répondez avec les boutons ou en "
    "quelques mots. Vous pouvez répondre « je ne sais pas »."
)
SCREENING_INTRO_NOTED = (
    "On fait le point sur vos droits. J'ai noté : {noted}. Je vous pose seulement les questions qui manquent. "
    "Vous pouvez répondre « je ne sais pas »."
)
SCREENING_NOT_UNDERSTOOD = "Je n'ai pas compris votre réponse. Par exemple, écrivez : {example}"
ASK_COMMUNE = "Question 1 sur 2 : dans quelle commune habitez-vous ? Vous pouvez aussi écrire votre quartier."
ASK_QUARTIER = "Question 2 sur 2 : dans quel quartier de {commune} habitez-vous ?"
COMMUNE_NOT_UNDERSTOOD = (
    "Je ne trouve pas cette commune. Écrivez son nom ou celui de votre quartier, par exemple « Chenôve » ou "
    "« Grésilles », ou appuyez sur un bouton."
)
QUARTIER_NOT_UNDERSTOOD = "Je ne trouve pas ce quartier. Écrivez son nom, par exemple « Grésilles », ou appuyez sur un bouton."
PLACE_UNKNOWN = "Pas de souci. Un adulte-relais peut vous aider à trouver la permanence la plus proche."
PLACE_OUTSIDE = (
    "Nos adultes-relais sont à Dijon métropole et à Troyes Champagne Métropole. Pour ailleurs, la mairie ou le "
    "CCAS de votre commune peut vous aider."
)
ASK_REPHRASE = "Pardon, je n'ai pas bien compris. Pouvez-vous le dire autrement, ou choisir un sujet ?"
FORM_HELP = (
    "Je vous pose quelques questions pour estimer vos droits. Vos réponses restent ici, seul un adulte-relais de "
    "votre territoire peut les voir. Appuyez sur un bouton ou écrivez « je ne sais pas »."
)
PLACE_HELP = (
    "Je vous demande où vous habitez pour vous proposer la permanence la plus proche. Appuyez sur un bouton, écrivez "
    "le nom de votre commune ou de votre quartier, ou « je ne sais pas »."
)
