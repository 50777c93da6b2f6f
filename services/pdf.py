"""Word to PDF with LibreOffice headless: one `soffice` process for a whole batch.

LibreOffice refuses to start a second instance on the same user profile, so every
conversion gets a profile of its own in a temporary folder (two batches may run at once).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

INSTALL_HINT = ("LibreOffice is needed for --pdf: install it with "
                "`apt-get install libreoffice-writer-nogui` (Debian/Ubuntu) or from "
                "libreoffice.org, or point DOMUS_SOFFICE at its `soffice` program")


class PdfUnavailable(RuntimeError):
    """No LibreOffice to convert with, or it failed; the message says what to do."""


def find_soffice(configured: str | None = None) -> str:
    found = shutil.which(configured) if configured else (
        shutil.which("soffice") or shutil.which("libreoffice"))
    if not found:
        raise PdfUnavailable(INSTALL_HINT if not configured else
                             f"DOMUS_SOFFICE={configured}: no such program. {INSTALL_HINT}")
    return found


def convert_to_pdf(documents: Sequence[Path], out_dir: Path, *, soffice: str | None = None,
                   timeout_per_document: float = 10.0) -> list[Path]:
    """Convert the .docx files to PDF in `out_dir` (same names, .pdf) in one LibreOffice run;
    returns the PDFs in the order given."""
    if not documents:
        return []
    program = find_soffice(soffice)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="domus-soffice-") as profile:
        command = [program, f"-env:UserInstallation=file://{profile}", "--headless",
                   "--norestore", "--convert-to", "pdf", "--outdir", str(out_dir),
                   *map(str, documents)]
        try:
            result = subprocess.run(command, capture_output=True, text=True, check=False,
                                    timeout=60 + timeout_per_document * len(documents))
        except subprocess.TimeoutExpired:
            raise PdfUnavailable(f"LibreOffice did not finish converting {len(documents)} "
                                 "documents in time") from None
    pdfs = [out_dir / (Path(doc).stem + ".pdf") for doc in documents]
    missing = [pdf for pdf in pdfs if not pdf.exists()]
    if result.returncode != 0 or missing:
        detail = (result.stderr or result.stdout).strip().splitlines()
        raise PdfUnavailable(f"LibreOffice could not convert {len(missing)} of "
                             f"{len(documents)} documents"
                             + (f": {detail[-1]}" if detail else ""))
    return pdfs
