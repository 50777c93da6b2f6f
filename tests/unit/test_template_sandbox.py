"""Letter templates an administrator uploads cannot execute code, read files or hang the
letters flow (issue 8): injection payloads and hostile packages are refused when the
template is compiled; what can only be seen when rendering is bounded by the limits in
services/docx_render.py. The render bombs run in a child process with a memory cap and a
timeout, so a broken limit fails the test instead of hanging or swapping the machine."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from services import docx_render
from services.docx_render import RenderError
from services.letter_templates import TemplateError, compile_template
from tests.template_attacks import INJECTIONS, PACKAGES, with_text
from tests.unit.test_letter_templates import sparse

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("label", sorted(INJECTIONS))
def test_an_injection_is_refused_when_the_template_is_compiled(label: str) -> None:
    started = time.perf_counter()
    with pytest.raises(TemplateError) as refused:
        compile_template(with_text(INJECTIONS[label]), "fr/tenant_invitation")
    message = str(refused.value)
    assert message.startswith("template fr/tenant_invitation: word/document.xml, line 2: ")
    assert time.perf_counter() - started < 2  # nothing was evaluated (no 1 GB string)


@pytest.mark.parametrize("label", sorted(PACKAGES))
def test_a_hostile_package_is_refused_before_its_xml_is_parsed(label: str) -> None:
    data, reason = PACKAGES[label]()
    with pytest.raises(TemplateError) as refused:
        compile_template(data, "fr/tenant_invitation")
    assert reason.lower() in str(refused.value).lower(), str(refused.value)


#: accepted when compiled (nothing in them is refused by reading the template), stopped
#: when rendered: label → (template text, a word of the error)
RENDER_BOMBS = {
    "nested loops": ("{% for i in range(10000) %}{% for j in range(10000) %}{% endfor %}"
                     "{% endfor %}", "loop turns"),
    "output flood": ("{% for i in range(10000) %}{% for j in range(10000) %}xxxxxxxxxx"
                     "{% endfor %}{% endfor %}", "loop turns"),
    "list times n, joined": ("{% set s = 'x'.ljust(999999) %}{{ ([s] * 999999)|join }}",
                             "characters"),
    "replace amplifies": ("{% set s = 'x'.ljust(999999) %}{{ s|replace('x', s) }}",
                          "characters"),
    "format width": ("{{ '%999999999d'|format(1) }}", "format"),
    "percent width": ("{{ '%999999999d' % 1 }}", "format"),
    "mutual recursion doubling": ("{% macro a(s) %}{{ b(s ~ s) }}{% endmacro %}"
                                  "{% macro b(s) %}{{ a(s ~ s) }}{% endmacro %}{{ a('x') }}",
                                  "limit"),
    "namespace doubling": ("{% set ns = namespace(s='x') %}{% for i in range(100) %}"
                           "{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s|length }}",
                           "characters"),
    "big integer squaring": ("{% set ns = namespace(n=999999) %}{% for i in range(100) %}"
                             "{% set ns.n = ns.n * ns.n %}{% endfor %}{{ ns.n }}", "product"),
    "format string internals": ("{{ '{0.__class__}'.format(tenant) }}", "sandbox"),
}
CHILD = """
import json, resource, sys, time
resource.setrlimit(resource.RLIMIT_AS, (1536 * 2**20, 1536 * 2**20))
from services.docx_render import RenderError, TemplateRejected
from services.letter_templates import compile_template
from tests.template_attacks import with_text
from tests.unit.test_letter_templates import sparse
results = {}
for label, text in json.loads(sys.argv[1]).items():
    started = time.perf_counter()
    try:
        compile_template(with_text(text), "fr/tenant_invitation").render(sparse("fr"))
        outcome = "rendered"
    except (RenderError, TemplateRejected) as exc:
        outcome = f"{type(exc).__name__}: {exc}"
    except MemoryError:
        outcome = "MemoryError"
    results[label] = [outcome, round(time.perf_counter() - started, 2)]
print(json.dumps(results))
"""


def test_render_bombs_are_stopped_by_the_limits() -> None:
    texts = {label: text for label, (text, _) in RENDER_BOMBS.items()}
    child = subprocess.run([sys.executable, "-c", CHILD, json.dumps(texts)], cwd=ROOT,
                           capture_output=True, text=True, timeout=120)
    assert child.returncode == 0, child.stderr[-2000:]
    results = json.loads(child.stdout)
    for label, (_, word) in RENDER_BOMBS.items():
        outcome, seconds = results[label]
        assert outcome.startswith(("RenderError", "TemplateRejected")), (label, outcome)
        assert word in outcome, (label, outcome)
        assert seconds < 5, (label, seconds)


def test_a_slow_render_stops_at_the_time_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(docx_render, "MAX_STEPS", 10**12)
    monkeypatch.setattr(docx_render, "MAX_SECONDS", 0.3)
    slow = compile_template(with_text(RENDER_BOMBS["nested loops"][0]), "fr/slow")
    started = time.perf_counter()
    with pytest.raises(RenderError, match="more than 0.3 s"):
        slow.render(sparse("fr"))
    assert time.perf_counter() - started < 3


def test_a_long_letter_stops_at_the_output_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(docx_render, "MAX_OUTPUT", 200_000)
    text = "{% for i in range(10000) %}0123456789 0123456789 {% endfor %}"
    long = compile_template(with_text(text), "fr/long")
    with pytest.raises(RenderError, match="characters of XML"):
        long.render(sparse("fr"))
    monkeypatch.setattr(docx_render, "MAX_OUTPUT", 20_000_000)
    assert long.render(sparse("fr"))  # the same letter under the normal limit


def test_what_the_sandbox_lets_through_renders_inertly() -> None:
    """Names a template may use that are not letter fields print harmlessly; loops over
    the letter's own data, `~` and a macro work as before."""
    text = ("{{ self }}|{{ namespace }}|{{ range(3)|join(',') }}|{{ dict(a=1) }}|"
            "{% macro shout(s) %}{{ s|upper }}{% endmacro %}{{ shout('ok' ~ '!') }}")
    letter = compile_template(with_text(text), "fr/inert").render(sparse("fr"))
    import io
    import zipfile
    xml = zipfile.ZipFile(io.BytesIO(letter)).read("word/document.xml").decode()
    assert "0,1,2" in xml and "OK!" in xml and "TemplateReference" in xml
    assert "root:" not in xml and "uid=" not in xml
