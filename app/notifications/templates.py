"""Notification wording in English and Italian.

These are format strings of ours; what users wrote (names, subjects, messages) is only
ever substituted in as a value, escaped for HTML, and never read as a template.
"""

from __future__ import annotations

from typing import Final

Wording = dict[str, str]

EN: Final[Wording] = {
    "_locale": "en",
    "greeting": "Hello {name},",
    "signature": "The support team",
    "footer": "Reply to this email to add to your request. Reference: #{ticket_id}",
    "footer_notice": "This message was sent automatically by our support team.",
    "received": "We have received your request #{ticket_id} \u201c{subject}\u201d. "
    "We will get back to you as soon as possible.",
    "reply_to_requester": "{actor} replied to your request:",
    "reply_to_staff": "{actor} wrote on #{ticket_id}:",
    "internal_note": "{actor} added an internal note on #{ticket_id}:",
    "status_pending": "We need a little more information from you to continue.",
    "status_resolved": "Your request has been resolved. If anything is still not right, "
    "just reply and we will reopen it.",
    "status_closed": "Your request is now closed.",
    "status_reopened": "Your request has been reopened and is back with us.",
    "status_to_staff": "{actor} moved #{ticket_id} from {from_status} to {to_status}.",
    "contact_changed": "{to} is now handling your request{because}.",
    "contact_queue": "Your request is back with our team{because}; "
    "someone will pick it up shortly.",
    "assigned_to_you": "Ticket #{ticket_id} \u201c{subject}\u201d is now yours{because}.",
    "taken_from_you": "Ticket #{ticket_id} has been handed over to {to}{because}.",
    "handover_note": "A note for you:",
    "note_label": "A message from the team:",
    "activity": "#{ticket_id}: {summary}",
    "because_escalation": " (your case was escalated)",
    "because_unavailability": " ({previous} is not available at the moment)",
    "because_rebalancing": " (to balance our team's workload)",
    "because_routing": "",
    "because_manual": "",
    "because_staff_escalation": " (escalation)",
    "because_staff_unavailability": " (previous owner unavailable)",
    "because_staff_rebalancing": " (rebalancing)",
    "because_staff_routing": " (routing)",
    "because_staff_manual": "",
    "because_hand_back": "",
    "because_staff_hand_back": " (back from absence)",
    # Handovers that say why in a sentence of their own (continuity).
    "contact_away": "{previous} is away until {until}; {to} is now handling your request.",
    "contact_away_open": "{previous} is away for a while; {to} is now handling your request.",
    "contact_gone": "{previous} is no longer available; {to} is now handling your request.",
    "queue_away": "{previous} is away until {until}; your request is back with our team "
    "and someone will pick it up shortly.",
    "queue_away_open": "{previous} is away for a while; your request is back with our team "
    "and someone will pick it up shortly.",
    "queue_gone": "{previous} is no longer available; your request is back with our team "
    "and someone will pick it up shortly.",
    "contact_back": "{to} is back and is handling your request again.",
    "escalated_to_team": "Your case was escalated to {target}; {to} is now handling it.",
    "escalated_to_person": "Your case was escalated to {to}, who is now handling it.",
    "escalated_to_queue": "Your case was escalated to {target}; "
    "someone there will pick it up shortly.",
}

IT: Final[Wording] = {
    "_locale": "it",
    "greeting": "Gentile {name},",
    "signature": "Il team di assistenza",
    "footer": "Rispondi a questa email per aggiungere informazioni. Riferimento: #{ticket_id}",
    "footer_notice": "Questo messaggio è stato inviato automaticamente dal team di assistenza.",
    "received": "Abbiamo ricevuto la tua richiesta #{ticket_id} \u201c{subject}\u201d. "
    "Ti risponderemo il prima possibile.",
    "reply_to_requester": "{actor} ha risposto alla tua richiesta:",
    "reply_to_staff": "{actor} ha scritto su #{ticket_id}:",
    "internal_note": "{actor} ha aggiunto una nota interna su #{ticket_id}:",
    "status_pending": "Per procedere abbiamo bisogno di qualche informazione in più.",
    "status_resolved": "La tua richiesta è stata risolta. Se qualcosa non va ancora, "
    "rispondi e la riapriremo.",
    "status_closed": "La tua richiesta è stata chiusa.",
    "status_reopened": "La tua richiesta è stata riaperta ed è di nuovo in carico a noi.",
    "status_to_staff": "{actor} ha spostato #{ticket_id} da {from_status} a {to_status}.",
    "contact_changed": "Ora la tua richiesta è seguita da {to}{because}.",
    "contact_queue": "La tua richiesta è tornata al nostro team{because}; "
    "qualcuno la prenderà in carico a breve.",
    "assigned_to_you": "Il ticket #{ticket_id} \u201c{subject}\u201d ora è tuo{because}.",
    "taken_from_you": "Il ticket #{ticket_id} è passato a {to}{because}.",
    "handover_note": "Una nota per te:",
    "note_label": "Un messaggio dal team:",
    "activity": "#{ticket_id}: {summary}",
    "because_escalation": " (il tuo caso è stato inoltrato a un livello superiore)",
    "because_unavailability": " ({previous} al momento non è disponibile)",
    "because_rebalancing": " (per bilanciare il carico di lavoro del team)",
    "because_routing": "",
    "because_manual": "",
    "because_staff_escalation": " (escalation)",
    "because_staff_unavailability": " (precedente assegnatario non disponibile)",
    "because_staff_rebalancing": " (ribilanciamento)",
    "because_staff_routing": " (smistamento)",
    "because_staff_manual": "",
    "because_hand_back": "",
    "because_staff_hand_back": " (rientro dall'assenza)",
    "contact_away": "{previous} è assente fino al {until}; ora la tua richiesta è seguita da {to}.",
    "contact_away_open": "{previous} è assente per qualche tempo; "
    "ora la tua richiesta è seguita da {to}.",
    "contact_gone": "{previous} non è più disponibile; ora la tua richiesta è seguita da {to}.",
    "queue_away": "{previous} è assente fino al {until}; la tua richiesta è tornata al nostro "
    "team e qualcuno la prenderà in carico a breve.",
    "queue_away_open": "{previous} è assente per qualche tempo; la tua richiesta è tornata al "
    "nostro team e qualcuno la prenderà in carico a breve.",
    "queue_gone": "{previous} non è più disponibile; la tua richiesta è tornata al nostro team "
    "e qualcuno la prenderà in carico a breve.",
    "contact_back": "{to} è di nuovo disponibile e segue di nuovo la tua richiesta.",
    "escalated_to_team": "Il tuo caso è stato inoltrato a {target}; ora è seguito da {to}.",
    "escalated_to_person": "Il tuo caso è stato inoltrato a {to}, che ora lo segue.",
    "escalated_to_queue": "Il tuo caso è stato inoltrato a {target}; "
    "qualcuno lo prenderà in carico a breve.",
}

WORDINGS: Final[dict[str, Wording]] = {"en": EN, "it": IT}


def wording_for(locale: str) -> Wording:
    return WORDINGS.get(locale.split("-", 1)[0].lower(), EN)
