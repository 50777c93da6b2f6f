"""Letter templates, for administrators: every kept version per kind and language, which
one is in use, upload a new Word file (checked as `domus templates add` checks it),
activate another version, download a version to edit it in Word."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from services.letter_templates import (
    LANGUAGES,
    LETTER_KINDS,
    TemplateError,
    activate,
    active_template,
    add_template,
    list_templates,
    template_bytes,
)
from services.web_import import template_version
from web.render import render
from web.security import Admin, Visitor

router = APIRouter(include_in_schema=False)
#: the largest Word file taken as a template
MAX_TEMPLATE_BYTES = 10 * 1024 * 1024
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@router.get("/templates")
def templates_page(request: Request, visitor: Admin, added: str = "",
                   activated: str = "") -> Response:
    return _page(request, visitor, added=added, activated=activated)


def _page(request: Request, visitor: Visitor, *, added: str = "", activated: str = "",
          refused: str | None = None, kind: str = "", lang: str = "",
          status_code: int = 200) -> Response:
    state = request.app.state
    with state.domus.engine.begin() as connection:
        for letter_kind in LETTER_KINDS:  # the packaged ones count as version 1
            for language in LANGUAGES:
                active_template(connection, letter_kind, language, now=state.clock())
        versions = list_templates(connection)
    grouped: dict[tuple[str, str], list[dict]] = {}  # type: ignore[type-arg]
    for version in reversed(versions):
        grouped.setdefault((version["kind"], version["language"]), []).append(version)
    return render(request, "templates.html", language=visitor.language, kinds=LETTER_KINDS,
                  languages=LANGUAGES, grouped=grouped, added=added, activated=activated,
                  refused=refused, kind=kind, lang=lang, status_code=status_code)


@router.post("/templates")
def upload_template(request: Request, visitor: Admin, kind: Annotated[str, Form()],
                    lang: Annotated[str, Form()], file: Annotated[UploadFile, File()],
                    note: Annotated[str, Form(max_length=2000)] = "") -> Response:
    state = request.app.state
    if (file.size or 0) > MAX_TEMPLATE_BYTES:
        return _page(request, visitor, refused="too_large", kind=kind, lang=lang,
                     status_code=413)
    try:
        version = add_template(state.domus.engine, kind, lang, file.file.read(),
                               data_dir=state.domus.settings.data_dir,
                               note=note.strip() or None, who=visitor.actor.name,
                               now=state.clock())
    except TemplateError as exc:
        return _page(request, visitor, refused=str(exc), kind=kind, lang=lang,
                     status_code=422)
    return RedirectResponse(f"/templates?added={kind}.{lang}.{version.version}",
                            status_code=303)


@router.post("/templates/{kind}/{lang}/{version}/activate")
def activate_version(request: Request, kind: str, lang: str, version: int,
                     visitor: Admin) -> Response:
    try:
        activate(request.app.state.domus.engine, kind, lang, version)
    except TemplateError:
        raise HTTPException(404, f"no version {version} of the {lang} {kind} template") from None
    return RedirectResponse(f"/templates?activated={kind}.{lang}.{version}", status_code=303)


@router.get("/templates/{kind}/{lang}/{version}.docx")
def download_version(request: Request, kind: str, lang: str, version: int,
                     visitor: Admin) -> Response:
    state = request.app.state
    try:
        with state.domus.engine.connect() as connection:
            found = template_version(connection, kind, lang, version)
        data = template_bytes(found, state.domus.settings.data_dir)
    except (TemplateError, OSError):
        raise HTTPException(404, f"no version {version} of the {lang} {kind} template") from None
    return Response(data, media_type=DOCX, headers={
        "Content-Disposition": f'attachment; filename="{kind}-{lang}-v{version}.docx"',
        "Cache-Control": "private, no-store"})
