"""The pages' environment takes shortcuts for speed (bench/web.py): escaping, translations
without placeholders and dict keys are looked up faster. What a page shows must be exactly
what Jinja's own escaping and gettext would have made."""

from __future__ import annotations

from datetime import date, datetime

from hypothesis import given
from hypothesis import strategies as st
from jinja2 import DictLoader, Environment, select_autoescape
from markupsafe import Markup, escape

from web.i18n import translations
from web.render import _escape, environment

VALUES = st.one_of(st.text(), st.integers(), st.booleans(), st.none(), st.floats(),
                   st.text().map(Markup), st.dates())


@given(VALUES)
def test_escaping_a_value_gives_what_markupsafe_gives(value: object) -> None:
    assert _escape(value) == escape(value)
    assert type(_escape(value)) is Markup


def test_markup_is_printed_as_it_is_and_text_is_escaped() -> None:
    assert _escape(Markup("<b>Huisbezoek</b>")) == "<b>Huisbezoek</b>"
    assert _escape("l'audience <b> & \"x\"") == "l&#39;audience &lt;b&gt; &amp; &#34;x&#34;"
    assert _escape(-42) == "-42"


class Odd:
    def __html__(self) -> str:
        return "<i>safe</i>"


SOURCE = """{{ text }}|{{ number }}|{{ odd }}|{{ row.name }}|{{ row.items }}|\
{{ _("My tasks") }}|{{ _("%(count)s open tasks in all.", count=text) }}|\
{% trans %}My tasks{% endtrans %}|{{ missing.name is defined }}"""


def _both(language: str, **context: object) -> tuple[str, str]:
    """The source rendered by the pages' environment and by a plain Jinja environment with
    the same catalog."""
    plain = Environment(loader=DictLoader({"t.html": SOURCE}), extensions=["jinja2.ext.i18n"],
                        autoescape=select_autoescape(default=True))
    plain.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    ours = environment(language).from_string(SOURCE)
    return ours.render(**context), plain.get_template("t.html").render(**context)


def test_a_template_renders_the_same_as_with_jinjas_own_escaping_and_gettext() -> None:
    context = {"text": "<script>'&'</script>", "number": 7, "odd": Odd(),
               "row": {"name": "Peeters & Zonen", "items": "a key, not the method"},
               "missing": {}}
    for language in ("nl", "fr"):
        ours, theirs = _both(language, **context)
        assert ours == theirs
        assert "&lt;script&gt;" in ours and "<i>safe</i>" in ours


def test_dates_are_formatted_the_same_on_every_call() -> None:
    template = environment("fr").from_string("{{ d | date }} {{ t | date }} {{ d | weekday_date }}")
    first = template.render(language="fr", d=date(2026, 12, 3), t=datetime(2026, 12, 3, 9, 30))
    again = template.render(language="fr", d=date(2026, 12, 3), t=datetime(2026, 12, 3, 9, 30))
    assert first == again
    assert "déc." in first and "9:30" in first
