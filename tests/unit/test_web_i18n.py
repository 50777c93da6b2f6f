"""The web app speaks Dutch and French: every string the pages use is translated in both
catalogs, and the language is the visitor's choice, else their browser's, else Dutch."""

from __future__ import annotations

import pytest

from web.i18n import LANGUAGES, missing_translations, pick_language, translations, used_messages


def test_the_pages_use_strings_that_the_extractor_finds() -> None:
    used = used_messages()
    assert {"My tasks", "Log in to Domus", "Not found"} <= set(used)
    assert used["Log in to Domus"].startswith("login.html:")  # where it is, for the report
    assert "%(count)s open tasks in all." in used  # newstyle gettext with a placeholder


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_string_the_pages_use_is_translated(language: str) -> None:
    missing = missing_translations(language)
    assert not missing, f"{len(missing)} strings without a {language} translation:\n" + \
        "\n".join(f"  {where}: {msgid!r}" for msgid, where in sorted(missing.items(),
                                                                       key=lambda x: x[1]))


def test_the_catalogs_translate_into_their_own_language() -> None:
    assert translations("nl").gettext("My tasks") == "Mijn taken"
    assert translations("fr").gettext("My tasks") == "Mes tâches"


def test_an_explicit_choice_wins_over_the_browser() -> None:
    assert pick_language("fr", accept_language="nl-BE,nl;q=0.9") == "fr"
    assert pick_language(None, "nl", accept_language="fr-BE") == "nl"  # the first known one


def test_without_a_choice_the_browsers_preference_counts_in_its_order() -> None:
    assert pick_language(None, accept_language="fr-BE,fr;q=0.9,nl;q=0.8") == "fr"
    assert pick_language(accept_language="en-GB,en;q=0.9,nl;q=0.5,fr;q=0.4") == "nl"
    assert pick_language("de", accept_language="FR") == "fr"  # an unknown choice is passed over


def test_otherwise_dutch() -> None:
    assert pick_language() == "nl"
    assert pick_language(None, "", "en", accept_language="en-US,de;q=0.5") == "nl"
    assert pick_language(accept_language="") == "nl"
