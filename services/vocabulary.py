"""What Domus calls things in the two working languages of the Brussels OCMWs (e-mails,
calendar feeds, and later the web app and letters). One table, so every channel agrees."""

from __future__ import annotations

LANGUAGES = ("nl", "fr")

TASK_LABELS: dict[str, dict[str, str]] = {
    "invitation_letter": {"nl": "Uitnodigingsbrief aan de huurder",
                          "fr": "Lettre d'invitation au locataire"},
    "first_contact": {"nl": "Eerste contactpoging", "fr": "Première tentative de contact"},
    "home_visit": {"nl": "Huisbezoek", "fr": "Visite à domicile"},
    "landlord_contact": {"nl": "Contact met de verhuurder",
                         "fr": "Contact avec le bailleur"},
    "hearing_preparation": {"nl": "Voorbereiding van de zitting",
                            "fr": "Préparation de l'audience"},
    "hearing_result": {"nl": "Resultaat van de zitting noteren",
                       "fr": "Noter le résultat de l'audience"},
    "post_judgment_contact": {"nl": "Contact na het vonnis", "fr": "Contact après le jugement"},
    "rehousing_plan": {"nl": "Herhuisvestingsplan", "fr": "Plan de relogement"},
    "urgent_home_visit": {"nl": "Dringend huisbezoek", "fr": "Visite à domicile urgente"},
    "emergency_rehousing": {"nl": "Noodopvang of herhuisvesting",
                            "fr": "Relogement d'urgence ou hébergement"},
}

EVENT_LABELS: dict[str, dict[str, str]] = {
    "hearing": {"nl": "Zitting", "fr": "Audience"},
    "eviction": {"nl": "Uithuiszetting", "fr": "Expulsion"},
}


def task_label(kind: str, language: str) -> str:
    """The task kind in `language` ("nl" or "fr"); an unknown kind is shown as it is."""
    return TASK_LABELS.get(kind, {}).get(language, kind)


def event_label(event: str, language: str) -> str:
    return EVENT_LABELS.get(event, {}).get(language, event)

CHANNEL_LABELS: dict[str, dict[str, str]] = {
    "letter": {"nl": "brief", "fr": "courrier"},
    "phone": {"nl": "telefoon", "fr": "téléphone"},
    "email": {"nl": "e-mail", "fr": "e-mail"},
    "office": {"nl": "gesprek op kantoor", "fr": "entretien au bureau"},
    "home_visit": {"nl": "huisbezoek", "fr": "visite à domicile"},
    "hearing": {"nl": "op de zitting", "fr": "à l'audience"},
}
RESULT_LABELS: dict[str, dict[str, str]] = {
    "reached": {"nl": "bereikt", "fr": "joint"},
    "not_reached": {"nl": "niet bereikt", "fr": "pas joint"},
}
FLAG_LABELS: dict[str, dict[str, str]] = {
    "moratorium": {
        "nl": "De aangekondigde uithuiszetting valt in het wintermoratorium (1 november – "
              "15 maart) en het vonnis heft dat niet op.",
        "fr": "L'expulsion annoncée tombe pendant le moratoire hivernal (1er novembre – "
              "15 mars) et le jugement ne le lève pas."},
    "short_notice": {
        "nl": "De deurwaarder kondigde de uithuiszetting minder dan 15 werkdagen vooraf aan.",
        "fr": "L'huissier a annoncé l'expulsion moins de 15 jours ouvrables à l'avance."},
    "before_delay": {
        "nl": "De uithuiszetting is gepland vóór het einde van de termijn van een maand na "
              "de betekening van het vonnis.",
        "fr": "L'expulsion est prévue avant la fin du délai d'un mois après la "
              "signification du jugement."},
    "hearing_too_early": {
        "nl": "De zitting valt minder dan 40 dagen na de neerlegging van het verzoekschrift.",
        "fr": "L'audience a lieu moins de 40 jours après le dépôt de la requête."},
    "at_risk": {
        "nl": "Zitting of uithuiszetting binnen 5 werkdagen zonder echt contact met het gezin.",
        "fr": "Audience ou expulsion dans les 5 jours ouvrables sans contact effectif avec "
              "le ménage."},
}

#: a case's final outcome (CONTRACT.md `outcome --code`); the kept_* ones and rehoused are
#: a solution
OUTCOME_LABELS: dict[str, dict[str, str]] = {
    "kept_payment_plan": {"nl": "Woning behouden: afbetalingsplan",
                          "fr": "Logement conservé : plan de paiement"},
    "kept_debt_cleared": {"nl": "Woning behouden: schuld betaald of kwijtgescholden",
                          "fr": "Logement conservé : dette payée ou remise"},
    "kept_agreement": {"nl": "Woning behouden: ander akkoord met de verhuurder",
                       "fr": "Logement conservé : autre accord avec le bailleur"},
    "rehoused": {"nl": "Herhuisvest", "fr": "Relogé"},
    "left_voluntarily": {"nl": "Vrijwillig vertrokken", "fr": "Parti volontairement"},
    "evicted": {"nl": "Uit huis gezet", "fr": "Expulsé"},
    "procedure_stopped": {"nl": "Procedure stopgezet (de verhuurder zag ervan af)",
                          "fr": "Procédure arrêtée (le bailleur s'est désisté)"},
    "refused_help": {"nl": "Hulp geweigerd", "fr": "Aide refusée"},
    "lost_contact": {"nl": "Contact verloren", "fr": "Contact perdu"},
    "unknown": {"nl": "Onbekend", "fr": "Inconnu"},
}
#: a referral's status (CONTRACT.md `referral --status`)
REFERRAL_STATUS_LABELS: dict[str, dict[str, str]] = {
    "sent": {"nl": "verstuurd", "fr": "envoyée"},
    "accepted": {"nl": "aanvaard", "fr": "acceptée"},
    "refused": {"nl": "geweigerd", "fr": "refusée"},
    "housed": {"nl": "gehuisvest", "fr": "logé"},
    "closed": {"nl": "afgesloten", "fr": "clôturée"},
}


def label(table: dict[str, dict[str, str]], key: str, language: str) -> str:
    return table.get(key, {}).get(language, key)
