"""Notification e-mails: subjects, bodies and template strictness, in Dutch and French."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from types import SimpleNamespace

import pytest
from jinja2 import UndefinedError, meta

from services import messages, vocabulary
from services.messages import (
    AtRiskNotice,
    CaseRef,
    Digest,
    DigestItem,
    TaskNotice,
    render,
)

CASE = CaseRef(
    case_id="c-1",
    court="Vredegerecht Schaarbeek",
    docket_number="26A1234",
    tenant_first_name="Amina",
    tenant_last_name="El Idrissi",
    url="http://127.0.0.1:8000/cases/c-1",
)
OTHER = CaseRef("c-2", "Justice de paix de Saint-Gilles", "26B0077", None, "Dupont",
                "http://127.0.0.1:8000/cases/c-2")
RULE = {"nl": "10 werkdagen na ontvangst van het verzoekschrift",
        "fr": "10 jours ouvrables après réception de la requête"}
DUE = {"nl": "15 januari 2027", "fr": "15 janvier 2027"}


def task(reason: str, language: str = "nl", **changes: object) -> TaskNotice:
    notice = TaskNotice(
        reason=reason,
        recipient_name="Sofie Peeters",
        task_kind="home_visit",
        due_on=date(2027, 1, 15),
        rule=RULE[language],
        assignee_name="Jan Janssens",
        working_days_late=2,
        case=CASE,
    )
    return replace(notice, **changes)


def at_risk(event: str = "hearing") -> AtRiskNotice:
    return AtRiskNotice("Sofie Peeters", event, datetime(2026, 12, 10, 9, 30), CASE)


def digest() -> Digest:
    return Digest(
        recipient_name="Sofie Peeters",
        day=date(2026, 11, 23),
        items=(
            DigestItem("home_visit", date(2026, 11, 23), False, CASE),
            DigestItem("first_contact", date(2026, 11, 19), True, OTHER),
            DigestItem("landlord_contact", date(2026, 11, 23), False, OTHER),
        ),
    )


@pytest.mark.parametrize(
    ("reason", "language", "subject"),
    [
        ("due", "nl", "Vandaag te doen: Huisbezoek — 26A1234 (El Idrissi)"),
        ("overdue", "nl", "Te laat: Huisbezoek — 26A1234 (El Idrissi)"),
        ("escalated", "nl", "Escalatie: Huisbezoek — 26A1234 (El Idrissi) is 2 werkdagen te laat"),
        ("due", "fr", "À faire aujourd'hui : Visite à domicile — 26A1234 (El Idrissi)"),
        ("overdue", "fr", "En retard : Visite à domicile — 26A1234 (El Idrissi)"),
        ("escalated", "fr",
         "Escalade : Visite à domicile — 26A1234 (El Idrissi) a 2 jours ouvrables de retard"),
    ],
)
def test_task_notice(reason: str, language: str, subject: str) -> None:
    got_subject, body = render(task(reason, language), language)
    assert got_subject == subject
    for text in ("26A1234", "Amina El Idrissi", "Vredegerecht Schaarbeek", DUE[language],
                 RULE[language], CASE.url):
        assert text in body
    assert body.startswith("Beste Sofie Peeters," if language == "nl" else
                           "Bonjour Sofie Peeters,")
    assert body.endswith("\n") and "Subject:" not in body


def test_one_working_day_is_singular() -> None:
    assert render(task("escalated", working_days_late=1), "nl")[0].endswith(
        "is 1 werkdag te laat")
    assert render(task("escalated", "fr", working_days_late=1), "fr")[0].endswith(
        "a 1 jour ouvrable de retard")


def test_escalation_names_the_assignee_or_the_team_queue() -> None:
    assert "Jan Janssens" in render(task("escalated"), "nl")[1]
    assert "in de wachtrij van het team" in render(task("escalated", assignee_name=None),
                                                   "nl")[1]
    assert "Jan Janssens" in render(task("escalated", "fr"), "fr")[1]
    assert "dans la file de l'équipe" in render(task("escalated", "fr", assignee_name=None),
                                                "fr")[1]


def test_without_a_rule_there_is_no_why_line() -> None:
    assert "Waarom" not in render(task("due", rule=None), "nl")[1]
    assert "Motif" not in render(task("due", "fr", rule=None), "fr")[1]


@pytest.mark.parametrize(
    ("event", "language", "subject", "when"),
    [
        ("hearing", "nl", "Dossier in gevaar: zitting op 10 december 2026 — 26A1234 (El Idrissi)",
         "10 december 2026 om 09:30"),
        ("eviction", "nl",
         "Dossier in gevaar: uithuiszetting op 10 december 2026 — 26A1234 (El Idrissi)",
         "10 december 2026 om 09:30"),
        ("hearing", "fr",
         "Dossier à risque : audience le 10 décembre 2026 — 26A1234 (El Idrissi)",
         "10 décembre 2026 à 09:30"),
        ("eviction", "fr",
         "Dossier à risque : expulsion le 10 décembre 2026 — 26A1234 (El Idrissi)",
         "10 décembre 2026 à 09:30"),
    ],
)
def test_at_risk_notice(event: str, language: str, subject: str, when: str) -> None:
    got_subject, body = render(at_risk(event), language)
    assert got_subject == subject
    for text in ("26A1234", "Amina El Idrissi", "Vredegerecht Schaarbeek", when, CASE.url):
        assert text in body
    if language == "nl":
        assert "5 werkdagen" in " ".join(body.split())
        assert "nog geen effectief contact" in body and "contact op te nemen" in body
    else:
        assert "5 jours ouvrables" in " ".join(body.split())
        assert "aucun contact effectif" in body and "prendre contact avec le ménage" in body


@pytest.mark.parametrize(
    ("language", "subject", "overdue", "today", "dates"),
    [
        ("nl", "Uw taken voor maandag 23 november 2026 (3)", "Te laat", "Vandaag te doen",
         ("19 november 2026", "23 november 2026")),
        ("fr", "Vos tâches pour lundi 23 novembre 2026 (3)", "En retard", "À faire aujourd'hui",
         ("19 novembre 2026", "23 novembre 2026")),
    ],
)
def test_digest(language: str, subject: str, overdue: str, today: str,
                dates: tuple[str, str]) -> None:
    got_subject, body = render(digest(), language)
    assert got_subject == subject
    labels = [vocabulary.task_label(kind, language)
              for kind in ("first_contact", "home_visit", "landlord_contact")]
    # overdue first, then today's (by due date, then docket number)
    positions = [body.index(text) for text in (overdue, labels[0], today, labels[1], labels[2])]
    assert positions == sorted(positions)
    for text in (*dates, "26A1234", "Amina El Idrissi", "26B0077", "Dupont", CASE.url,
                 OTHER.url, "Justice de paix de Saint-Gilles"):
        assert text in body


@pytest.mark.parametrize("language", ["nl", "fr"])
def test_empty_digest(language: str) -> None:
    subject, body = render(Digest("Sofie Peeters", date(2026, 11, 23), ()), language)
    assert subject.endswith("(0)")
    assert "26A" not in body


def test_strict_undefined_catches_a_missing_field() -> None:
    case = SimpleNamespace(**{k: v for k, v in vars(CASE).items() if k != "url"},
                           tenant_name="Amina El Idrissi")
    with pytest.raises(UndefinedError, match="url"):
        render(task("due", case=case), "nl")
    with pytest.raises(UndefinedError):
        messages.environment().from_string("{{ nothing }}").render()


@pytest.mark.parametrize("language", ["nl", "fr"])
@pytest.mark.parametrize(("name", "notice"),
                         [("task.txt", task("due")), ("at_risk.txt", at_risk()),
                          ("digest.txt", digest())])
def test_templates_use_only_what_they_are_given(language: str, name: str, notice: object) -> None:
    env = messages.environment()
    source = env.loader.get_source(env, f"{language}/{name}")[0]  # type: ignore[union-attr]
    used = meta.find_undeclared_variables(env.parse(source))
    assert used <= set(messages.context_of(notice, language))  # type: ignore[arg-type]


def test_unknown_language() -> None:
    with pytest.raises(ValueError, match="'de'"):
        render(task("due"), "de")


def test_unknown_reason_or_event() -> None:
    with pytest.raises(ValueError, match="reason"):
        task("late")
    with pytest.raises(ValueError, match="event"):
        at_risk("auction")


def test_tenant_name() -> None:
    assert CASE.tenant_name == "Amina El Idrissi"
    assert OTHER.tenant_name == "Dupont"
