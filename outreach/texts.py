"""Every sentence the bot itself says (Rasa's sentences live in nlu/domain/*.yml). French, short, "vous": the
msgids of the catalogue (outreach/i18n.py). `texts.X` is read in the language of the turn (the module's
__getattr__ translates the French constant of `French`); staff-only texts (`staff(...)`) stay French."""

from __future__ import annotations

from typing import Any

from outreach import i18n
from outreach.i18n import N_, staff

# The version of CONSENT (below), stored with each resident's consent (resident.consent_version). Change it whenever
# CONSENT changes in substance (what is kept, who sees it, for how long): every resident who accepted an older
# version is shown CONSENT_CHANGED and CONSENT again at their next message (bot/channel.py ask_consent).
CONSENT_VERSION = "2026-12"  # 2026-12: the coordinators among who sees, disability answers named


class French:
    """The reference texts; read them as texts.NAME."""

    CONSENT = N_(
        "Bonjour 👋 Je suis l'assistant des adultes-relais de votre quartier. "
        "Je vous aide à trouver vos droits et à prendre rendez-vous.\n\n"
        "Pour cela, je garde votre prénom et vos réponses, y compris sur un handicap si vous en parlez. Seule l'équipe "
        "de votre territoire les voit : adultes-relais et coordinateurs. Tout est effacé après 2 ans sans "
        "contact. Avec /donnees, vous pouvez tout voir ou tout effacer.\n\n"
        "Êtes-vous d'accord ?"
    )
    CONSENT_ACCEPT = N_("✅ J'accepte")
    CONSENT_REFUSE = N_("❌ Je refuse")
    # Before CONSENT, to a resident who accepted an older version of it (CONSENT_VERSION).
    CONSENT_CHANGED = N_(
        "Les règles sur vos données ont changé. Lisez le message ci-dessous, puis dites-moi si vous êtes d'accord. "
        "Si vous refusez, j'efface tout ce que je garde sur vous."
    )
    CONSENT_NEEDED = N_("Avant de continuer, j'ai besoin de votre accord. Appuyez sur un bouton ci-dessous.")
    CONSENT_REFUSED = N_(
        "D'accord, je ne garde rien sur vous. Vous pouvez aussi voir un adulte-relais sans ce service, "
        "à la maison de quartier. Si vous changez d'avis, écrivez /start."
    )
    CONSENT_ALREADY = N_("C'est noté, merci. Vous pouvez écrire votre question.")
    REFUSED_REMINDER = N_(
        "Vous avez refusé que je garde vos réponses, alors je ne peux pas vous aider ici. Écrivez /start si vous changez d'avis."
    )

    NON_TEXT = N_(
        "Je ne sais lire que les messages écrits pour l'instant 🙏 Pouvez-vous écrire votre question ? "
        "Pour un document (lettre de la CAF…), un adulte-relais peut le regarder avec vous : écrivez /parler."
    )
    GROUP_CHAT = N_("Je réponds seulement en conversation privée. Écrivez-moi directement 🙂")
    LONG_MESSAGE = N_(
        "Votre message est très long, j'ai lu surtout la fin. Si j'ai mal compris, dites-le en une phrase."
    )
    FLOOD = N_(
        "Vous envoyez beaucoup de messages d'un coup. Attendez quelques secondes, puis renvoyez votre dernière question."
    )
    BUTTON_EXPIRED = N_("Ce bouton n'est plus valable. Écrivez votre question ou utilisez le menu.")
    BUTTON_EXPIRED_ALERT = N_("Ce bouton a expiré.")
    ONE_MOMENT = N_("Un instant, je reviens vers vous dans quelques secondes… ⏳")
    STILL_DOWN = N_(
        "Désolé, je n'arrive pas à répondre pour le moment. Réessayez dans quelques minutes. "
        "Si c'est urgent, allez à la permanence de votre quartier."
    )
    NOT_UNDERSTOOD = N_("Je n'ai pas bien compris. Pouvez-vous le dire autrement ?")
    TECHNICAL_ERROR = N_("Désolé, j'ai eu un souci technique. Réessayez dans un instant.")

    DATA_SUMMARY = N_(
        "Voici ce que je garde sur vous :\n"
        "• prénom : {prenom}\n"
        "• quartier : {quartier}\n"
        "• accord donné le {accord}\n"
        "• messages de rappel : {rappels}\n\n"
        "Vous pouvez recevoir une copie ou tout effacer."
    )
    DATA_EXPORT = N_("📄 Recevoir mes données")
    DATA_ERASE = N_("🗑️ Tout effacer")
    DATA_EXPORT_CAPTION = N_("Toutes vos données, dans un fichier.")
    DATA_ERASE_CONFIRM = N_(
        "Tout effacer ? Vos réponses et vos rendez-vous seront supprimés. On ne pourra pas les retrouver."
    )
    DATA_ERASE_YES = N_("Oui, tout effacer")
    DATA_ERASE_NO = N_("Non, garder")
    DATA_ERASED = N_("C'est fait : tout est effacé. Si vous voulez recommencer un jour, écrivez /start. Au revoir 👋")
    DATA_KEPT = N_("D'accord, je garde tout comme avant.")
    NOT_SET = N_("non renseigné")

    STOPPED = N_(
        "C'est noté : je ne vous enverrai plus de messages ni de rappels. "
        "Vous pouvez toujours m'écrire. Pour les recevoir à nouveau, écrivez /reprendre."
    )
    RESUMED = N_("C'est noté : vous recevrez à nouveau les rappels.")

    # Bot commands shown in Telegram's menu (name, description).
    COMMANDS = (
        ("droits", N_("Mes droits")),
        ("rendezvous", N_("Prendre rendez-vous")),
        ("parler", N_("Parler à quelqu'un")),
        ("donnees", N_("Mes données")),
        ("langue", N_("Changer de langue")),
        ("aide", N_("Aide")),
        ("stop", N_("Ne plus recevoir de messages")),
    )

    # ---------------------------------------------------------------- languages (outreach/i18n.py)
    # Said in the language offered, so "this language" is that one: "Do you want to continue in this language?"
    LANGUAGE_OFFER = N_("Voulez-vous continuer dans cette langue ?")
    LANGUAGE_CHOOSE = N_("Dans quelle langue voulez-vous que je vous écrive ?")
    LANGUAGE_SET = N_("C'est noté : je vous écris maintenant dans cette langue. Pour changer, écrivez /langue.")
    LANGUAGE_KEPT = N_("D'accord, je continue dans cette langue. Pour changer, écrivez /langue.")
    LANGUAGE_BUTTON = "🌍 Langue · Language · اللغة"  # i18n: ignore (the same in every language)
    # Said in French and in English, one after the other, to a message in a language the bot does not speak.
    UNSUPPORTED_LANGUAGE = N_(
        "Je ne parle pas encore votre langue. Un adulte-relais peut vous aider, avec un interprète si besoin."
    )
    UNSUPPORTED_BUTTON = "👤 Parler à une personne · Talk to a person"  # i18n: ignore (French and English)
    VOICE_NOTE = N_(
        "Je ne peux pas écouter les messages vocaux. Écrivez votre question en quelques mots. "
        "Ou bien un adulte-relais peut écouter votre message : appuyez sur le bouton."
    )
    VOICE_BUTTON = N_("👤 Parler à une personne")
    # A case from a resident whose language nobody available speaks: honest about when and how.
    HANDOFF_NO_SPEAKER = N_(
        "Dans l'équipe, personne ne parle {langue} pour le moment. Un adulte-relais va vous répondre ici en "
        "français simple, avec un outil de traduction. Si besoin, il prévoit un rendez-vous avec un interprète."
    )

    # ---------------------------------------------------------------- handoff (resident side)
    HANDOFF_OPENED = N_("C'est noté : je préviens un adulte-relais. Il va vous répondre ici, dans cette conversation.")
    HANDOFF_OPENED_CLOSED_HOURS = N_(
        "C'est noté : je préviens un adulte-relais. Les adultes-relais répondent en semaine, de 9 h à 17 h : "
        "quelqu'un vous répondra ici {quand}."
    )
    HANDOFF_FALLBACK = N_(
        "Je n'arrive pas à bien comprendre, pardon. "
        "C'est noté : je préviens un adulte-relais. Il va vous répondre ici, dans cette conversation."
    )
    HANDOFF_SCREENING = N_(
        "Votre situation mérite d'être regardée avec une personne. "
        "C'est noté : je préviens un adulte-relais. Il va vous répondre ici, dans cette conversation."
    )
    HANDOFF_ALREADY = N_(
        "Un adulte-relais a déjà votre demande. Il va vous répondre ici. Écrivez « fin » pour annuler."
    )
    HANDOFF_QUEUED = N_("C'est noté, je le transmets à l'adulte-relais dès qu'il vous répond.")
    HANDOFF_CLAIMED = N_(
        "Bonjour, c'est {prenom}, adulte-relais. Je lis vos messages, je vous réponds ici. Écrivez « fin » pour terminer."
    )
    HANDOFF_FROM_STAFF = N_("{prenom} : {texte}")
    HANDOFF_TRANSFERRED = N_("{prenom} va continuer avec vous. Il ou elle lit vos messages.")
    HANDOFF_CLOSED = N_(
        "{prenom} a terminé la conversation. Je suis de nouveau là pour vous aider. Comment l'avez-vous trouvée ?"
    )
    HANDOFF_ENDED_BY_RESIDENT = N_(
        "C'est terminé, merci. Je suis de nouveau là pour vous aider. Comment l'avez-vous trouvée ?"
    )
    HANDOFF_CANCELLED_WAITING = N_("D'accord, j'annule la demande. Je suis de nouveau là pour vous aider.")
    SATISFACTION_THANKS = N_("Merci pour votre réponse ! Elle aide les adultes-relais à s'améliorer.")
    WHICH_TERRITORY = N_("Pour vous mettre en lien avec un adulte-relais, dites-moi où vous habitez :")
    OUTSIDE_TERRITORY = N_(
        "Nos adultes-relais sont à Dijon métropole et à Troyes Champagne Métropole. Ailleurs, la mairie, "
        "le CCAS ou une France services de votre commune peut vous aider."
    )
    END_WORDS = (  # i18n: ignore
        "fin", "terminer", "termine", "c est fini", "fin de la conversation", "stop conversation",  # i18n: ignore
        "end", "the end", "finish", "انهاء", "إنهاء", "نهاية", "خلاص", "bitir", "bitti", "son", "fim", "terminar",
    )  # fmt: skip

    # ---------------------------------------------------------------- staff
    INVITE_INVALID = staff(
        "Ce code d'invitation n'est plus valable (déjà utilisé, expiré ou inconnu). Demandez-en un nouveau à votre coordinatrice."
    )
    STAFF_DISABLED = staff("Votre compte équipe a été désactivé. Contactez votre coordinatrice si c'est une erreur.")
    STAFF_WELCOME = staff("Bienvenue {prenom} ! Vous êtes dans l'équipe ({role}, {territoire}). Voici votre menu.")
    STAFF_MENU = staff("Menu équipe — vous êtes {etat}.")
    STAFF_AVAILABLE = staff("✅ Je suis disponible")
    STAFF_UNAVAILABLE = staff("⏸ Je suis indisponible")
    STAFF_PENDING = staff("📥 Cas en attente")
    STAFF_MINE = staff("🗂 Mes cas")
    STAFF_APPOINTMENTS = staff("📅 Mes rendez-vous")
    STAFF_NOW_AVAILABLE = staff("Vous êtes disponible : vous recevrez les nouveaux cas de votre territoire.")
    STAFF_NOW_UNAVAILABLE = staff("Vous êtes indisponible : vous ne recevrez plus de nouveaux cas.")
    STAFF_NO_PENDING = staff("Aucun cas en attente dans votre territoire.")
    STAFF_NO_CASE = staff("Vous n'avez pas de cas ouvert. Vos messages ne sont envoyés à personne.")
    STAFF_NO_APPOINTMENTS = staff("Aucun rendez-vous à venir.")
    CARD = staff("🆕 {prenom}{quartier} — {raison}\nEn attente depuis {attente}.{droits}{echanges}")
    CARD_TAKE = staff("Je prends")
    CARD_LATER = staff("Plus tard")
    CARD_TAKEN_BY = staff("✔️ Pris par {prenom}")
    CARD_TAKEN_BY_YOU = staff(
        "Vous avez pris le cas de {prenom}. Vos messages ici lui sont envoyés. Pour finir : « Clore » dans Mes cas."
    )
    CARD_GONE = staff("Ce cas n'est plus en attente.")
    CARD_LATER_OK = staff("D'accord. Le cas reste dans « Cas en attente ».")
    CASE_LINE = staff("{prenom}{quartier} — {raison}")
    CASE_WRITE = staff("✍️ Écrire à {prenom}")
    CASE_CLOSE = staff("✅ Clore")
    CASE_TRANSFER = staff("↪️ Transférer")
    CASE_FOCUS = staff("Vos messages vont maintenant à {prenom}.")
    CASE_OUTCOME = staff("Comment s'est terminé le cas de {prenom} ?")
    CASE_CLOSED = staff("Cas de {prenom} clos ({issue}). Pour ajouter une note : /note votre texte")
    CASE_ENDED_BY_RESIDENT = staff("{prenom} a mis fin à la conversation. Comment s'est terminé le cas ?")
    CASE_TRANSFER_TO = staff("À qui transférer le cas de {prenom} ?")
    CASE_NO_COLLEAGUE = staff("Aucun autre adulte-relais de votre territoire n'est inscrit.")
    CASE_TRANSFERRED = staff("Cas de {prenom} transféré à {collegue}.")
    CASE_RECEIVED = staff("{collegue} vous transfère le cas de {prenom}. Vos messages ici lui sont envoyés.")
    RESIDENT_SAYS = staff("{prenom} : {texte}")
    RESIDENT_SENT_PHOTO = staff("{prenom} a envoyé une photo{legende}")
    RESIDENT_SENT_DOCUMENT = staff("{prenom} a envoyé un document{legende}")
    RESIDENT_SENT_VOICE = staff("🎤 {prenom} a envoyé un message vocal{legende}")
    NOTE_SAVED = staff("Note enregistrée.")
    NOTE_NOTHING = staff("Aucun cas clos où mettre cette note.")
    RESEND_PREFIX = staff("⏰ Toujours en attente — ")
    COORDINATOR_ALERT = staff("⏰ Un cas attend depuis {attente} sans adulte-relais : {prenom}{quartier} — {raison}")
    NOBODY_AVAILABLE = staff("⚠️ Nouveau cas et aucun adulte-relais disponible : {prenom}{quartier} — {raison}")
    STAFF_NOT_FOR_YOU = staff("Ce cas n'est pas de votre territoire.")

    # ---------------------------------------------------------------- the web console (staff)
    CONSOLE_LINK_WAIT = staff("Un lien vient d'être envoyé. Attendez une minute avant d'en demander un autre.")
    CONSOLE_NO_ACCESS = staff("Vous n'avez pas encore accès à la console. Demandez-le à votre coordinateur.")

    # ---------------------------------------------------------------- the dialogue's forms (said by actions/)
    SCREENING_INTRO = N_(
        "On fait le point sur vos droits : une dizaine de questions, 3 minutes. Répondez avec les boutons ou en "
        "quelques mots. Vous pouvez répondre « je ne sais pas »."
    )
    SCREENING_INTRO_NOTED = N_(
        "On fait le point sur vos droits. J'ai noté : {noted}. Je vous pose seulement les questions qui manquent. "
        "Vous pouvez répondre « je ne sais pas »."
    )
    SCREENING_NOT_UNDERSTOOD = N_("Je n'ai pas compris votre réponse. Par exemple, écrivez : {example}")
    ASK_COMMUNE = N_("Question 1 sur 2 : dans quelle commune habitez-vous ? Vous pouvez aussi écrire votre quartier.")
    ASK_QUARTIER = N_("Question 2 sur 2 : dans quel quartier de {commune} habitez-vous ?")
    COMMUNE_NOT_UNDERSTOOD = N_(
        "Je ne trouve pas cette commune. Écrivez son nom ou celui de votre quartier, par exemple « Chenôve » ou "
        "« Grésilles », ou appuyez sur un bouton."
    )
    QUARTIER_NOT_UNDERSTOOD = N_(
        "Je ne trouve pas ce quartier. Écrivez son nom, par exemple « Grésilles », ou appuyez sur un bouton."
    )
    PLACE_WISH_NOTED = N_("C'est noté, je chercherai d'abord un créneau à ce moment-là.")
    PLACE_FACTS_NOTED = N_("Merci. Vous pourrez en parler à l'adulte-relais pendant le rendez-vous.")
    PLACE_THANKS = N_("Avec plaisir.")
    PLACE_QUESTION_LATER = N_("Je ne peux pas répondre à cela ici. L'adulte-relais pourra vous répondre au rendez-vous.")
    PLACE_UNKNOWN = N_("Pas de souci. Un adulte-relais peut vous aider à trouver la permanence la plus proche.")
    PLACE_OUTSIDE = N_(
        "Nos adultes-relais sont à Dijon métropole et à Troyes Champagne Métropole. Pour ailleurs, la mairie ou le "
        "CCAS de votre commune peut vous aider."
    )
    ASK_REPHRASE = N_("Pardon, je n'ai pas bien compris. Pouvez-vous le dire autrement, ou choisir un sujet ?")
    FORM_HELP = N_(
        "Je vous pose quelques questions pour estimer vos droits. Vos réponses restent ici, seule l'équipe de votre "
        "territoire peut les voir. Appuyez sur un bouton ou écrivez « je ne sais pas »."
    )
    PLACE_HELP = N_(
        "Je vous demande où vous habitez pour vous proposer la permanence la plus proche. Appuyez sur un bouton, écrivez "
        "le nom de votre commune ou de votre quartier, ou « je ne sais pas »."
    )


def __getattr__(name: str) -> Any:
    """`texts.NAME`: the text in the language of the turn (tuples and lists as they are)."""
    try:
        value = getattr(French, name)
    except AttributeError:
        raise AttributeError(f"module 'outreach.texts' has no attribute {name!r}") from None
    return i18n._(value) if isinstance(value, str) else value


def french(name: str) -> str:
    """The French reference of `texts.NAME`, whatever the language of the turn."""
    value = getattr(French, name)
    assert isinstance(value, str)  # noqa: S101 - narrows the type, not a check
    return value
