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
