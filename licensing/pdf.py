"""The licence letter as a one-page PDF (reportlab canvas, qrcode for the QR matrix).

Cheap on purpose: fonts are registered once per process, the QR matrix of a URL is cached,
and the page is drawn straight on a canvas (no platypus layout pass).
"""

import io
import os
from dataclasses import dataclass, field
from functools import lru_cache

import qrcode
import reportlab
from django.conf import settings
from django.utils import timezone
from reportlab.lib.colors import HexColor
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

FONT = "AMT-Sans"
FONT_BOLD = "AMT-Sans-Bold"
INK = HexColor("#17182b")
MUTED = HexColor("#5d6078")
BRAND = HexColor("#4b2fd6")
LINE = HexColor("#e3e2ee")
DANGER = HexColor("#b0213a")

SCOPE = [
    "One end user: only the end user named above may use the licensed work.",
    "One project: the work may be used in the project named above only. Another project needs a new licence.",
    "No sublicensing and no transfer: the licence cannot be passed, shared or sold to anyone else.",
    "No standalone resale: the audio may not be resold, redistributed or offered on its own, "
    "for example as a sound file, sample pack or ringtone.",
    "The licence stays valid after a membership ends; the operator may revoke it only for a breach.",
]


@lru_cache(maxsize=1)
def register_fonts():
    """Register the embedded TrueType fonts once per process."""
    folder = os.path.join(os.path.dirname(reportlab.__file__), "fonts")
    pdfmetrics.registerFont(TTFont(FONT, os.path.join(folder, "Vera.ttf")))
    pdfmetrics.registerFont(TTFont(FONT_BOLD, os.path.join(folder, "VeraBd.ttf")))
    return FONT, FONT_BOLD


@lru_cache(maxsize=512)
def qr_runs(text):
    """The dark modules of the QR code of ``text`` as (row, start, length) runs, and its size."""
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=0)
    qr.add_data(text)
    qr.make(fit=True)
    matrix = qr.get_matrix()
    runs = []
    for y, row in enumerate(matrix):
        x = 0
        while x < len(row):
            if row[x]:
                start = x
                while x < len(row) and row[x]:
                    x += 1
                runs.append((y, start, x - start))
            else:
                x += 1
    return tuple(runs), len(matrix)


def draw_qr(c, text, x, y, size):
    runs, modules = qr_runs(text)
    cell = size / modules
    c.setFillColor(INK)
    path = c.beginPath()
    for row, start, length in runs:
        path.rect(x + start * cell, y + size - (row + 1) * cell, length * cell + 0.01, cell + 0.01)
    c.drawPath(path, stroke=0, fill=1)


@dataclass
class LetterData:
    """Everything printed on the page, as plain strings."""

    reference: str
    issued: str
    operator: list
    licensee: list
    end_user: str
    project: list
    rows: list  # [(label, value)] for one licence, or one per licence
    licenses: list = field(
        default_factory=list
    )  # [(code, track, artist, version, date, end user)] for several
    verify_url: str = ""
    verify_hint: str = ""
    revision: int = 1


def _date(moment):
    return f"{timezone.localtime(moment):%d %B %Y}"


def letter_data(letter, licenses):
    op = settings.OPERATOR
    first = licenses[0]
    project = letter.project
    account = letter.account
    licensee = [
        account.company or account.display_name or "AllMyTracks member",
        f"Account ID: {account.email}",
    ]
    project_lines = [f"{project.title} ({project.get_platform_display()})"]
    if project.url:
        project_lines.append(project.url)
    if project.client_name:
        project_lines.append(f"Client: {project.client_name}")
    end_users = sorted(
        {lic.end_user.name + (f", {lic.end_user.role}" if lic.end_user.role else "") for lic in licenses}
    )
    data = LetterData(
        reference=first.code if len(licenses) == 1 else f"{first.code} +{len(licenses) - 1}",
        issued=_date(first.issued_at),
        operator=[op["name"], op["registration"], op["address"], op["support_email"]],
        licensee=licensee,
        end_user="; ".join(end_users),
        project=project_lines,
        rows=[],
        verify_url=f"{settings.SITE_URL}{first.get_verify_url()}",
        verify_hint=f"{settings.SITE_URL}/licenses/verify/",
        revision=letter.revision,
    )
    if len(licenses) == 1:
        version = first.version.label if first.version else "All versions"
        data.rows = [
            ("Licence code", first.code),
            ("Track", first.track.title),
            ("Artist", first.track.artist.name),
            ("Version", version),
            ("Date issued", _date(first.issued_at)),
            ("Agreement", f"Music Licence Agreement, version {first.agreement_version}"),
        ]
    else:
        versions = sorted({lic.agreement_version for lic in licenses})
        data.rows = [
            ("Licences", str(len(licenses))),
            ("Agreement", "Music Licence Agreement, version " + ", ".join(str(v) for v in versions)),
        ]
        data.licenses = [
            (
                lic.code,
                lic.track.title,
                lic.track.artist.name,
                lic.version.label if lic.version else "All versions",
                _date(lic.issued_at),
            )
            for lic in licenses
        ]
    return data


def draw_letter(c, data):
    """Draw one A4 page of ``data`` on canvas ``c``."""
    width, height = A4
    left, right = 20 * mm, width - 20 * mm
    y = height - 22 * mm

    c.setFillColor(BRAND)
    c.setFont(FONT_BOLD, 18)
    c.drawString(left, y, "AllMyTracks")
    c.setFillColor(MUTED)
    c.setFont(FONT, 9)
    c.drawRightString(right, y + 4, f"Reference {data.reference}")
    c.drawRightString(
        right, y - 8, f"Issued {data.issued}" + (f" · revision {data.revision}" if data.revision > 1 else "")
    )
    y -= 16 * mm
    c.setFillColor(INK)
    c.setFont(FONT_BOLD, 20)
    c.drawString(left, y, "Music licence letter")
    y -= 7 * mm
    c.setFont(FONT, 10)
    c.setFillColor(MUTED)
    c.drawString(
        left, y, "This letter confirms a licence issued under the Music Licence Agreement named below."
    )
    y -= 10 * mm

    # Parties, side by side
    col = (right - left) / 2
    c.setFillColor(MUTED)
    c.setFont(FONT_BOLD, 8)
    c.drawString(left, y, "LICENSOR (OPERATOR)")
    c.drawString(left + col, y, "LICENSEE (ACCOUNT HOLDER)")
    c.setFillColor(INK)
    c.setFont(FONT, 10)
    for i, line in enumerate(data.operator):
        c.drawString(left, y - 13 - i * 12.5, line)
    for i, line in enumerate(data.licensee):
        c.drawString(left + col, y - 13 - i * 12.5, line)
    y -= 13 + 12.5 * max(len(data.operator), len(data.licensee)) + 6 * mm

    c.setStrokeColor(LINE)
    c.line(left, y + 5 * mm, right, y + 5 * mm)

    label_w = 38 * mm

    def row(label, value, bold=False):
        nonlocal y
        lines = simpleSplit(value, FONT_BOLD if bold else FONT, 10.5, right - left - label_w - 40 * mm)
        c.setFillColor(MUTED)
        c.setFont(FONT, 9)
        c.drawString(left, y, label)
        c.setFillColor(INK)
        c.setFont(FONT_BOLD if bold else FONT, 10.5)
        for line in lines or [""]:
            c.drawString(left + label_w, y, line)
            y -= 14
        y -= 3

    row("End user", data.end_user, bold=True)
    row("Project", data.project[0], bold=True)
    for extra in data.project[1:]:
        row("", extra)
    for label, value in data.rows:
        row(label, value, bold=label == "Licence code")

    if data.licenses:
        y -= 2 * mm
        c.setFillColor(MUTED)
        c.setFont(FONT_BOLD, 8)
        cols = [left, left + 32 * mm, left + 82 * mm, left + 120 * mm, left + 145 * mm]
        for x, head in zip(cols, ("CODE", "TRACK", "ARTIST", "VERSION", "ISSUED"), strict=True):
            c.drawString(x, y, head)
        y -= 13
        c.setFillColor(INK)
        c.setFont(FONT, 9)
        for values in data.licenses:
            for x, value, limit in zip(cols, values, (31, 49, 37, 24, 30), strict=True):
                c.drawString(x, y, _fit(value, FONT, 9, limit * mm))
            y -= 12.5
        y -= 2 * mm

    y -= 4 * mm
    c.setFillColor(INK)
    c.setFont(FONT_BOLD, 11)
    c.drawString(left, y, "What this licence allows")
    y -= 15
    c.setFont(FONT, 9.5)
    for item in SCOPE:
        lines = simpleSplit(item, FONT, 9.5, right - left - 8 * mm)
        c.drawString(left, y, "•")
        for line in lines:
            c.drawString(left + 5 * mm, y, line)
            y -= 12.5
        y -= 2

    # Verification block at the foot of the page
    qr_size = 32 * mm
    base = 22 * mm
    c.setStrokeColor(LINE)
    c.roundRect(left, base - 4 * mm, right - left, qr_size + 8 * mm, 6, stroke=1, fill=0)
    draw_qr(c, data.verify_url, right - qr_size - 4 * mm, base, qr_size)
    c.setFillColor(INK)
    c.setFont(FONT_BOLD, 11)
    c.drawString(left + 5 * mm, base + qr_size - 6 * mm, "Verify this licence")
    c.setFont(FONT, 9.5)
    c.setFillColor(MUTED)
    c.drawString(left + 5 * mm, base + qr_size - 12 * mm, "Scan the code or open:")
    c.setFillColor(BRAND)
    c.setFont(FONT, 9)
    for i, line in enumerate(simpleSplit(data.verify_url, FONT, 9, right - left - qr_size - 14 * mm)):
        c.drawString(left + 5 * mm, base + qr_size - 17 * mm - i * 11, line)
    if data.licenses:
        c.setFillColor(MUTED)
        c.drawString(left + 5 * mm, base + 2 * mm, f"Verify every code listed at {data.verify_hint}")


def _fit(text, font, size, width):
    if pdfmetrics.stringWidth(text, font, size) <= width:
        return text
    while text and pdfmetrics.stringWidth(text + "…", font, size) > width:
        text = text[:-1]
    return text + "…"


def render_pdf(data):
    register_fonts()
    buffer = io.BytesIO()
    c = canvas.Canvas(buffer, pagesize=A4, pageCompression=1)
    c.setTitle(f"AllMyTracks licence letter {data.reference}")
    c.setAuthor(settings.OPERATOR["name"])
    c.setSubject("Music licence letter")
    draw_letter(c, data)
    c.showPage()
    c.save()
    return buffer.getvalue()


def render_letter(letter, licenses):
    return render_pdf(letter_data(letter, licenses))
