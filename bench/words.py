"""Vocabulary for generated tickets: Italian and English helpdesk words, names, tags.

`CONTENT_WORDS` is also what the `search` scenario queries, so every word in it occurs
in the loaded data. Words are drawn with a Zipf-like weight (the first words of the
list are the most frequent), so a search hits a mix of very common and rare terms,
as it would on real text.
"""

from __future__ import annotations

import random
from itertools import accumulate


def _words(text: str) -> list[str]:
    return text.split()


_ITALIAN = _words(
    """
stampante fattura password accesso errore rete ordine consegna rimborso pagamento
account problema richiesta assistenza cliente servizio sistema server posta
messaggio collegamento connessione schermo tastiera computer portatile telefono
cellulare aggiornamento installazione configurazione licenza abbonamento contratto
preventivo spedizione pacco corriere indirizzo magazzino prodotto garanzia reso
sostituzione riparazione guasto blocco lentezza avvio spegnimento batteria
caricatore cavo alimentatore monitor mouse cuffie microfono videochiamata riunione
calendario cartella documento allegato file archivio backup ripristino sicurezza
virus antivirus firewall proxy certificato scadenza rinnovo utente profilo
credenziali autenticazione codice verifica notifica avviso segnalazione urgente
importante subito domani oggi ieri settimana mese ufficio sede filiale reparto
amministrazione contabilita magazzino vendite acquisti fornitore bolla scontrino
iva importo saldo bonifico carta addebito accredito conto banca pagina sito
applicazione modulo campo pulsante menu finestra stampa scansione copia toner
inchiostro carta foglio inceppamento vassoio driver stampanti rete wifi router
modem fibra linea interruzione disservizio ripristinato funziona bloccato lento
impossibile sbagliato mancante duplicato annullato sospeso scaduto attivo
disattivato cancellato modificato inviato ricevuto perso danneggiato rotto nuovo
vecchio grazie cordiali saluti gentilmente prego attendo risposta aiuto
"""
)

_ENGLISH = _words(
    """
printer invoice password login error network order delivery refund payment
account issue request support customer service system server email mailbox
message connection screen keyboard laptop desktop phone mobile update upgrade
installation configuration license subscription contract quote shipping parcel
courier address warehouse product warranty return replacement repair failure
crash freeze slowness boot shutdown battery charger cable adapter monitor mouse
headset microphone videocall meeting calendar folder document attachment file
archive backup restore security virus antivirus firewall proxy certificate
expiry renewal user profile credentials authentication code verification
notification alert report urgent important asap tomorrow today yesterday week
month office branch department billing accounting sales purchasing vendor receipt
tax amount balance transfer card charge credit bank page website app form field
button menu window print scan copy toner ink paper jam tray driver wireless
router modem fiber outage downtime restored works stuck slow unable wrong missing
duplicate cancelled suspended expired active disabled deleted changed sent
received lost damaged broken new old thanks regards please waiting answer help
vpn sso mfa token quota storage sync upload download export import dashboard
"""
)

# Function words: frequent in real text, so vectors have realistic sizes, but not
# searched for (a query matching nearly every ticket measures nothing useful).
FUNCTION_WORDS = _words(
    """
il la lo le gli di da in con su per tra fra che non una un del della sono ho
the a an of to in on for with is are was it this that my our not and or but
"""
)


def _unique(words: list[str]) -> list[str]:
    return list(dict.fromkeys(w for w in words if w))


CONTENT_WORDS: list[str] = _unique(
    [w for pair in zip(_ITALIAN, _ENGLISH, strict=False) for w in pair] + _ITALIAN + _ENGLISH
)

FIRST_NAMES = _words(
    """
Giulia Marco Francesca Luca Chiara Alessandro Sara Matteo Valentina Andrea Elena
Davide Martina Simone Federica Lorenzo Giorgia Paolo Anna Stefano Laura Roberto
James Mary John Patricia Robert Jennifer Michael Linda William Elizabeth David
Susan Richard Jessica Joseph Sarah Thomas Karen Charles Nancy Daniel Lisa Emma
Oliver Sophie Harry Amelia Jack Olivia George Isla Noah Ava
"""
)

LAST_NAMES = _words(
    """
Rossi Russo Ferrari Esposito Bianchi Romano Colombo Ricci Marino Greco Bruno
Gallo Conti DeLuca Mancini Costa Giordano Rizzo Lombardi Moretti Barbieri
Smith Johnson Williams Brown Jones Garcia Miller Davis Wilson Anderson Taylor
Thomas Moore Martin Jackson Thompson White Harris Clark Lewis Walker Hall Young
"""
)

CATEGORIES = [
    "hardware",
    "software",
    "network",
    "billing",
    "account",
    "shipping",
    "returns",
    "security",
    "email",
    "printing",
    "licensing",
    "onboarding",
    "fatturazione",
    "spedizioni",
    "assistenza-tecnica",
]

TAGS = [
    "vip",
    "urgent",
    "follow-up",
    "escalated",
    "refund",
    "bug",
    "how-to",
    "outage",
    "duplicate",
    "password-reset",
    "hardware",
    "warranty",
    "invoice",
    "italia",
    "milano",
    "roma",
    "torino",
    "napoli",
    "london",
    "enterprise",
    "smb",
    "trial",
    "churn-risk",
    "feedback",
    "feature-request",
    "mobile",
    "web",
    "api",
    "sso",
    "vpn",
    "printer",
    "wifi",
    "backup",
    "gdpr",
    "fattura",
    "reso",
    "garanzia",
    "spedizione",
    "cliente-nuovo",
    "rinnovo",
]

TEAMS = ["Service Desk", "Billing & Fatturazione", "Logistics", "Infrastructure", "Security"]


def zipf_cum_weights(n: int, exponent: float = 0.9) -> list[float]:
    """Cumulative Zipf weights for `random.choices(..., cum_weights=...)`."""
    return list(accumulate(1.0 / (rank**exponent) for rank in range(1, n + 1)))


# A third of the descriptions quote a reference such as "rif482913": each one occurs in
# a ticket or two, so searching for one is the rare-term case.
REFERENCE_SHARE = 0.3


def reference(rng: random.Random) -> str:
    return f"rif{rng.randrange(100_000, 1_000_000)}"


class TextMaker:
    """Subjects and descriptions from the vocabulary, fast enough for a million tickets."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        # A shuffled order per run would change which words are common; keep it fixed.
        self.words = CONTENT_WORDS + FUNCTION_WORDS
        weights = [1.0 / (rank**0.9) for rank in range(1, len(CONTENT_WORDS) + 1)]
        # Function words make up about 40% of the running text, as in real prose.
        weights += [sum(weights) * (0.4 / 0.6) / len(FUNCTION_WORDS)] * len(FUNCTION_WORDS)
        self.cum = list(accumulate(weights))
        self.subject_cum = zipf_cum_weights(len(CONTENT_WORDS))

    def subject(self) -> str:
        rng = self.rng
        words = rng.choices(CONTENT_WORDS, cum_weights=self.subject_cum, k=rng.randint(3, 9))
        return " ".join(words).capitalize()

    def description(self) -> str:
        rng = self.rng
        words = rng.choices(self.words, cum_weights=self.cum, k=rng.randint(12, 90))
        # A few sentences: the text a person would type, punctuation included.
        cut = rng.randint(5, len(words) - 3)
        text = " ".join(words[:cut]).capitalize() + ". " + " ".join(words[cut:]).capitalize() + "."
        if rng.random() < REFERENCE_SHARE:
            # An order or invoice number: the rare term people search for most.
            text += f" Rif. {reference(rng)}"
        return text
