"""Which language a resident writes in, from one short message, offline.

py3langid (its model ships inside its 4.5 MB wheel, 0.1 ms a message) does the statistics, restricted per script
to the languages residents write; two things it cannot do are added: Arabic in Latin letters ("arabizi": "salam
3likom bghit rdv", digits for letters), and French as residents text it ("jsp", "g pas compris", "ok daccord"),
which it reads as Polish or Dutch. When a message is too short or too mixed to tell, the answer is "unsure" (code
None): the caller keeps the language it had (or Telegram's language_code, a hint). Measured in bench/language_id.py
against lingua on a held-out set (BENCHMARKS.md)."""

from __future__ import annotations

import functools
import re
import threading
import unicodedata
from dataclasses import dataclass

from outreach.i18n import LANGUAGES

LATIN_CANDIDATES = ["fr", "en", "tr", "pt", "es", "it", "de", "ro", "nl", "pl", "sq"]
ARABIC_CANDIDATES = ["ar", "fa", "ur", "ps"]
CYRILLIC_CANDIDATES = ["ru", "uk", "bg", "sr", "mk"]

# Words residents use in French messages, SMS forms included (accents folded). Common enough to tell French from
# its neighbours on two or three words; not a dictionary.
FRENCH = set(
    """
    je j jai g tu t il elle on nous vous ils elles me m te se s moi toi lui leur le la l les un une des de d du au
    aux et ou mais donc car ni pas ne n plus rien jamais que qu qui quoi quand comment combien pourquoi pk pq pcq
    ou est c cest ce cet cette ces ca sa ici la y en a ai as avez avons ont suis es etes sommes sont etre avoir
    fait faire fais veux veut voulez voudrais voudrai peux peut pouvez pourriez dois doit devez faut besoin aide
    aider aides svp stp sil plait merci mrc mci bonjour bjr bonsoir bsr slt salut coucou cc oui ouais ouai non nn
    daccord dacc dac ok okay bien bon bonne tres trop mal rdv rendez vous demain aujourdhui hier maintenant apres
    avant matin soir midi semaine mois ans an jour jours heure heures lundi mardi mercredi jeudi vendredi samedi
    dimanche enfant enfants fils fille mari femme mere pere famille travail boulot emploi chomage logement loyer
    argent droits droit allocations allocation papiers dossier courrier lettre mairie quartier seul seule toute
    tout tous toutes avec sans pour par sur sous dans chez vers entre mon ma mes ton ta tes son ses notre votre vos
    leurs jsp jsais sais savoir connais comprends compris pas encore deja aussi alors voila quelqu quelque
    personne parler appeler appel telephone numero envoyer recevoir messages message effacer supprimer donnees
    arreter stop annuler changer prendre voir veux jveux chui jsuis suis mdr svp wsh wesh frere madame monsieur
    gratuit payer paye combien cher euros mon ma grave vraiment juste
    """.split()
)
# Arabic written in Latin letters: frequent words of Maghrebi, Levantine and Egyptian Arabic (folded, no digits).
ARABIZI = set(
    """
    salam slm salamou alikoum aleykoum alaykoum alikom likom wach wash wech chno chnou chnu achno ach ash shno
    shnu kifach kifash kif kifech kayn kain kayen makaynch makaench makayn bghit bghina nbghi tbghi bgha ngdar
    nqder nqdar kanbghi kan kanet ana nta nti ntouma howa hiya hna hnaya daba dorka tawa drouk lyoum ghedwa ghda
    ghadi ghad bzaf bezaf barcha yesser chwiya chouia mezyan mzyan mzian zwin wakha wakhha waha iyeh iyyeh ah
    aywa eh la lla machi mashi mabghitch mabghitsh choukran chokran shukran shokran chukran barak baraka llah
    allah lah fik fikom inchallah nchallah hamdoullah hamdulillah hamdolah labas bikhir khouya khoya khti khtiti
    oukhti wlidi wladi drari dyal dial ta3 ntaa lkhedma khedma khdma flous floss lflous dar ddar kra lkra sbitar
    tbib wrak wra9 lwra9 lwraq mochkil mushkil mouchkil 3lach 3lah 3la m3a ma3a 3and 3andi 3ndi 3andek 7na 7ta
    bach bash besh bech ila ida kol koll kolchi kulshi walo walou hada hadi hadak hadik hadchi hadshi ya3ni
    yani yalla yallah tfadal smahli smeh sme7li 3afak 3afakom afak 3awni 3awnni mosa3ada n3ref n3raf nchouf
    nshouf nhder nhdar ntkellem nhki n7ki nahki ndir ndiro ndirou mata matta fin fayn feen win mnin emta imta
    ghir ghi rani rak raki rahi rahom kima kifkif bslama beslama bsalama thalla tahalla m3a salama salamo salamu
    salaam sbah sabah lkhir lkheir khir msa mse masa ahlan ahla ahlane ahlen marhba marhaba sahla sahlan sahlane
    kidayr kidayra kidayrin kifak kifek kifik chlonak chlounek ezzayak ezayak izzayak aslema 3aslema chnahwalek
    khawti jma3a jmaa hala bikoum bikom dyalkom dyali dyalek yaatik ya3tik saha sahit yarham rabi rebbi ntouma
    wakha iwa iwah safi bsa7a bsaha mabrouk tbarkallah smahli mafhamtch mafhemtch fhemt fhamt nfhem ma3rftch
    li lli had hadi enta enti chi shi kayna kaynin kaynine jdid jdida nhar tnin tlat werrini wrini dirli dir
    sajelni nji njib nkhdem khedmtek nchouf mediateur badi baddi bade chouf shouf wasit bokra bukra momkin mumkin
    momken liya lia lya bnadem bani adam mech mich mush msh akalem akallem 3ayez 3ayza aayez baghi baghya bghiti
    """.split()
)
# Frequent English words of residents' messages, non-native forms included.
ENGLISH = set(
    """
    i im am is are was the a an to my me you your u ur need needs want wanna would like help please pls plz can
    could how what when where who why do does dont have has had for with and not no yes yeah ok thanks thank thx
    bye see later good morning evening night hello hi hey dear appointment appointments meeting book talk speak
    someone somebody person human real english money rent job work kids children child data delete stop messages
    message it this that there here get got know understand from about of in on at am will be been if any some
    sister brother madam sir friend please stuck lost info information benefits allowance allowances eligible
    """.split()
)
# One or two words that are clearly one language (greetings, yes, no, thanks), for messages too short for statistics.
SHORT_WORDS: dict[str, str] = {
    **dict.fromkeys("yes yeah yep no nope thanks thank thx bye goodbye help pls plz morning hii heyy hiya helo hellow"
                    " hy stuck sos dear menu".split(), "en"),
    **dict.fromkeys("evet hayir hayır tamam merhaba tesekkurler tesekkur sagol sagolun lutfen gunaydin".split(), "tr"),
    **dict.fromkeys("sim nao não obrigado obrigada ola olá bom dia tchau ajuda".split(), "pt"),
    **dict.fromkeys("gracias hola buenos buenas necesito ayuda por favor".split(), "es"),
    **dict.fromkeys("oui non merci bonjour bonsoir salut daccord".split(), "fr"),
}
# Too common to French speakers' messages to tell anything alone ("hello", "ok", "salam" open many French messages).
AMBIGUOUS = {"ok", "okay", "hello", "hi", "hey", "salam", "slm", "bye", "ah", "eh", "la", "merci", "please", "sorry"}
# Names of French services, written alike in every language residents write ("bghit rdv", "my caf").
NEUTRAL = {"rdv", "caf", "rsa", "apl", "css", "aah", "cmu", "pole", "france", "travail", "ameli", "vitale", "bot"}
DIGIT_LETTERS = re.compile(r"^(?=.*[a-z])[a-z]*[23579][a-z0-9]*$")
NOT_ARABIZI = re.compile(r"^\d+(e|er|eme|h|h\d+|min|mn|ans?|k|x|m|km|eur|euros?)$")
TOKEN = re.compile(r"[^\W_]+", re.UNICODE)


@dataclass(frozen=True)
class Guess:
    """The language of a message: an ISO 639-1 code ("ar" for arabizi too) or None when unsure."""

    code: str | None
    script: str  # latn | arab | cyrl | other
    confidence: float

    @property
    def supported(self) -> bool:
        return self.code in LANGUAGES

    @property
    def sure(self) -> bool:
        return self.code is not None


_lock = threading.Lock()  # the models are loaded once: warm() in a thread may race the first message


@functools.cache
def _model(candidates: tuple[str, ...]):  # type: ignore[no-untyped-def]
    """py3langid restricted to `candidates` (one instance per script: restricting is slow, ranking is fast)."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    model = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    model.set_languages(list(candidates))
    return model


def warm() -> None:
    """Load the models now (about 1 s each) rather than on the first resident's message."""
    for candidates in (LATIN_CANDIDATES, ARABIC_CANDIDATES, CYRILLIC_CANDIDATES):
        _model(tuple(candidates))


def _rank(text: str, candidates: list[str]) -> list[tuple[str, float]]:
    with _lock:
        model = _model(tuple(candidates))
    return [(code, float(p)) for code, p in model.rank(text)]


def fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.lower().replace("’", "'"))
    return "".join(c for c in text if not unicodedata.combining(c))


def _script(text: str) -> tuple[str, int]:
    counts = {"latn": 0, "arab": 0, "cyrl": 0, "other": 0}
    for char in text:
        if not char.isalpha():
            continue
        code = ord(char)
        if 0x0600 <= code <= 0x08FF or 0xFB50 <= code <= 0xFDFF or 0xFE70 <= code <= 0xFEFF:
            counts["arab"] += 1
        elif 0x0400 <= code <= 0x052F:
            counts["cyrl"] += 1
        elif code < 0x0250 or 0x1E00 <= code <= 0x1EFF:
            counts["latn"] += 1
        else:
            counts["other"] += 1
    total = sum(counts.values())
    if counts["arab"] >= 0.3 * total and counts["arab"] >= 2:  # Arabic with French words inside ("موعد rdv")
        return "arab", total
    script = max(counts, key=lambda k: counts[k])
    return script, total


def _arabizi(tokens: list[str]) -> float:
    """Arabizi evidence: 1 per known word, 2 per word with digits for letters ("3andi", "sba7")."""
    return sum(
        2 if DIGIT_LETTERS.match(t) and not NOT_ARABIZI.match(t) else 1 if t in ARABIZI else 0 for t in tokens
    )


def identify(text: str) -> Guess:
    """The language of `text`, or an unsure Guess (code None) when a short or mixed message cannot tell."""
    script, letters = _script(text)
    if letters < 2:
        return Guess(None, script, 0.0)
    if script == "arab":
        ranked = _rank(text, ARABIC_CANDIDATES)
        code, p = ranked[0]
        if code != "ar" and p < 0.6:  # dialectal Arabic borrows Persian letters (گ, ڤ): Arabic unless clear
            return Guess("ar", script, 1 - p)
        return Guess(code, script, p)
    if script == "cyrl":
        code, p = _rank(text, CYRILLIC_CANDIDATES)[0]
        return Guess(code, script, p)
    if script != "latn":
        return Guess(None, script, 0.0)
    tokens = [t for t in TOKEN.findall(fold(text)) if not t.isdigit() and t not in NEUTRAL]
    words = len(tokens)
    if not words:
        return Guess(None, script, 0.0)
    arabizi = _arabizi(tokens)
    french = sum(1 for t in tokens if t in FRENCH)
    english = sum(1 for t in tokens if t in ENGLISH)
    if arabizi >= 2 and arabizi / words >= 0.3 and arabizi > french and arabizi > english:
        return Guess("ar", script, min(1.0, arabizi / words / 2 + 0.3))
    if words <= 2:
        meaningful = [t for t in tokens if t not in AMBIGUOUS]
        if not meaningful:
            return Guess(None, script, 0.0)
        known = {SHORT_WORDS[t] for t in meaningful if t in SHORT_WORDS}
        if len(known) == 1:
            return Guess(known.pop(), script, 0.9)
        if arabizi and not french and not english:
            return Guess("ar", script, 0.7)
        if french and french >= len(meaningful) and not english:
            return Guess("fr", script, 0.7)
        if english and english >= len(meaningful) and not french:
            return Guess("en", script, 0.7)
    if french / words >= 0.5 and french > english:
        return Guess("fr", script, min(1.0, french / words + 0.2))
    if english / words >= 0.5 and english > french:
        return Guess("en", script, min(1.0, english / words + 0.2))
    code, p = _rank(text, LATIN_CANDIDATES)[0]
    if p >= 0.6 or (words >= 3 and p >= 0.45) or (code in LANGUAGES and code != "fr" and p >= 0.4):
        return Guess(code, script, p)
    return Guess(None, script, p)
