"""The licence letter as a PDF (reportlab canvas, qrcode for the QR matrix).

One page for one licence. A letter for many licences runs over as many pages as its table needs:
the table's headings are repeated on each, and the terms and the verify box close the last one.

Cheap on purpose: fonts are registered once per process, the QR matrix of a URL is cached, where
things go is worked out with plain arithmetic (``paginate``), and the pages are drawn straight on a
canvas (no platypus layout pass).
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

PAGE_WIDTH, PAGE_HEIGHT = A4
LEFT, RIGHT = 20 * mm, PAGE_WIDTH - 20 * mm
TOP = PAGE_HEIGHT - 22 * mm  # the masthead's baseline, on every page
CONTINUED_TOP = TOP - 16 * mm  # where a page after the first goes on
BOTTOM = 22 * mm  # the lowest baseline of the letter's body on a page
QR_SIZE = 32 * mm
VERIFY_BASE = 22 * mm  # the QR code's lower edge; the verify box stands 4 mm around the code
VERIFY_TOP = VERIFY_BASE + QR_SIZE + 4 * mm
FOOTER = 11 * mm  # "Page N of M", under the verify box
LABEL_WIDTH = 38 * mm
ROW_HEIGHT = 12.5

# The licences table (a letter for several licences): heading, left edge and widest text, in mm
# from the left margin, 170 mm in all. A code (AMT-WWWW-WWWW is 34.3 mm in 9 pt) and a date
# ("28 May 2026" is 20.7 mm) always fit; a longer title, artist or version name ends in "…".
COLUMNS = (("CODE", 0, 35), ("TRACK", 36, 47), ("ARTIST", 85, 35), ("VERSION", 122, 25), ("ISSUED", 149, 21))

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
    licenses: list = field(default_factory=list)  # [(code, track, artist, version, date)] for several
    verify_url: str = ""
    verify_hint: str = ""
    revision: int = 1


def _date(moment):
    return f"{timezone.localtime(moment):%d %B %Y}"


def _short_date(moment):
    """The licences table's date: "27 Nov 2026" fits its column, "27 September 2026" would not."""
    return f"{timezone.localtime(moment):%d %b %Y}"


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
                _short_date(lic.issued_at),
            )
            for lic in licenses
        ]
    return data


def _opening_bottom(data):
    """The baseline of the first detail row: under the masthead, the title and the parties."""
    y = TOP - 16 * mm - 7 * mm - 10 * mm
    return y - (13 + 12.5 * max(len(data.operator), len(data.licensee)) + 6 * mm)


def _draw_masthead(c, y, data):
    c.setFillColor(BRAND)
    c.setFont(FONT_BOLD, 18)
    c.drawString(LEFT, y, "AllMyTracks")
    c.setFillColor(MUTED)
    c.setFont(FONT, 9)
    c.drawRightString(RIGHT, y + 4, f"Reference {data.reference}")
    c.drawRightString(
        RIGHT, y - 8, f"Issued {data.issued}" + (f" · revision {data.revision}" if data.revision > 1 else "")
    )


def _draw_opening(c, y, data):
    """The first page's head: masthead, title, and the parties side by side."""
    _draw_masthead(c, y, data)
    y -= 16 * mm
    c.setFillColor(INK)
    c.setFont(FONT_BOLD, 20)
    c.drawString(LEFT, y, "Music licence letter")
    y -= 7 * mm
    c.setFont(FONT, 10)
    c.setFillColor(MUTED)
    c.drawString(
        LEFT, y, "This letter confirms a licence issued under the Music Licence Agreement named below."
    )
    y -= 10 * mm

    col = (RIGHT - LEFT) / 2
    c.setFillColor(MUTED)
    c.setFont(FONT_BOLD, 8)
    c.drawString(LEFT, y, "LICENSOR (OPERATOR)")
    c.drawString(LEFT + col, y, "LICENSEE (ACCOUNT HOLDER)")
    c.setFillColor(INK)
    c.setFont(FONT, 10)
    for i, line in enumerate(data.operator):
        c.drawString(LEFT, y - 13 - i * 12.5, line)
    for i, line in enumerate(data.licensee):
        c.drawString(LEFT + col, y - 13 - i * 12.5, line)

    c.setStrokeColor(LINE)
    y = _opening_bottom(data)
    c.line(LEFT, y + 5 * mm, RIGHT, y + 5 * mm)


def _detail_rows(data):
    """The label and value rows under the parties: (label, value's lines, bold)."""
    rows = [("End user", data.end_user, True), ("Project", data.project[0], True)]
    rows += [("", extra, False) for extra in data.project[1:]]
    rows += [(label, value, label == "Licence code") for label, value in data.rows]
    width = RIGHT - LEFT - LABEL_WIDTH - 40 * mm
    return [
        (label, simpleSplit(value, FONT_BOLD if bold else FONT, 10.5, width) or [""], bold)
        for label, value, bold in rows
    ]


def _draw_detail(c, y, row):
    label, lines, bold = row
    c.setFillColor(MUTED)
    c.setFont(FONT, 9)
    c.drawString(LEFT, y, label)
    c.setFillColor(INK)
    c.setFont(FONT_BOLD if bold else FONT, 10.5)
    for line in lines:
        c.drawString(LEFT + LABEL_WIDTH, y, line)
        y -= 14


def _draw_table_head(c, y, _):
    """The licences table's column headings (on every page the table runs over)."""
    c.setFillColor(MUTED)
    c.setFont(FONT_BOLD, 8)
    for head, x, _limit in COLUMNS:
        c.drawString(LEFT + x * mm, y, head)
    c.setFillColor(INK)
    c.setFont(FONT, 9)


def _draw_table_row(c, y, values):
    for (_head, x, limit), value in zip(COLUMNS, values, strict=True):
        c.drawString(LEFT + x * mm, y, _fit(value, FONT, 9, limit * mm))


@lru_cache(maxsize=1)
def _scope_lines():
    """SCOPE wrapped to the page: one tuple of lines per item."""
    return tuple(tuple(simpleSplit(item, FONT, 9.5, RIGHT - LEFT - 8 * mm)) for item in SCOPE)


def _terms_depth(items):
    """From the baseline of "What this licence allows" to the last line of its last item."""
    return 15 + ROW_HEIGHT * (sum(len(lines) for lines in items) - 1) + 2 * (len(items) - 1)


def _draw_terms(c, y, items):
    c.setFillColor(INK)
    c.setFont(FONT_BOLD, 11)
    c.drawString(LEFT, y, "What this licence allows")
    y -= 15
    c.setFont(FONT, 9.5)
    for lines in items:
        c.drawString(LEFT, y, "•")
        for line in lines:
            c.drawString(LEFT + 5 * mm, y, line)
            y -= ROW_HEIGHT
        y -= 2


def _draw_verification(c, data):
    """The verify box with the QR code, at the foot of the last page."""
    base = VERIFY_BASE
    c.setStrokeColor(LINE)
    c.roundRect(LEFT, base - 4 * mm, RIGHT - LEFT, QR_SIZE + 8 * mm, 6, stroke=1, fill=0)
    draw_qr(c, data.verify_url, RIGHT - QR_SIZE - 4 * mm, base, QR_SIZE)
    c.setFillColor(INK)
    c.setFont(FONT_BOLD, 11)
    c.drawString(LEFT + 5 * mm, base + QR_SIZE - 6 * mm, "Verify this licence")
    c.setFont(FONT, 9.5)
    c.setFillColor(MUTED)
    c.drawString(LEFT + 5 * mm, base + QR_SIZE - 12 * mm, "Scan the code or open:")
    c.setFillColor(BRAND)
    c.setFont(FONT, 9)
    for i, line in enumerate(simpleSplit(data.verify_url, FONT, 9, RIGHT - LEFT - QR_SIZE - 14 * mm)):
        c.drawString(LEFT + 5 * mm, base + QR_SIZE - 17 * mm - i * 11, line)
    if data.licenses:
        c.setFillColor(MUTED)
        c.drawString(LEFT + 5 * mm, base + 2 * mm, f"Verify every code listed at {data.verify_hint}")


def _draw_footer(c, number, total):
    c.setFillColor(MUTED)
    c.setFont(FONT, 8)
    c.drawRightString(RIGHT, FOOTER, f"Page {number} of {total}")


class _Pages:
    """Where each part of a letter goes, worked out before anything is drawn (so that every page can
    say how many there are): ``pages`` is a list of pages, each a list of (draw, y, item)."""

    def __init__(self, data):
        self.data = data
        self.pages = [[(_draw_opening, TOP, data)]]
        self.y = _opening_bottom(data)
        self.fresh = False  # a page with nothing under its masthead yet

    def new_page(self):
        self.pages.append([(_draw_masthead, TOP, self.data)])
        self.y = CONTINUED_TOP
        self.fresh = True

    def fits(self, depth, bottom=BOTTOM):
        return self.y - depth >= bottom

    def place(self, draw, item, *, depth, advance, bottom=BOTTOM):
        """Put ``item`` at the cursor (its lowest baseline ``depth`` under it) and move ``advance``
        down; on a new page if it would reach below ``bottom`` (unless this page is still empty)."""
        if not self.fits(depth, bottom) and not self.fresh:
            self.new_page()
        self.pages[-1].append((draw, self.y, item))
        self.y -= advance
        self.fresh = False


def paginate(data):
    """The pages of ``data``: detail rows, the licences table (its headings repeated on every page
    it runs over), then the terms and the verify box together on the last page."""
    pages = _Pages(data)
    for label, lines, bold in _detail_rows(data):
        # A value longer than the rest of the page (many end users, say) goes on on the next one.
        while len(lines) > 1 and not pages.fits(14 * (len(lines) - 1)):
            room = int((pages.y - BOTTOM) // 14) + 1
            if room > 1:
                pages.place(_draw_detail, (label, lines[:room], bold), depth=14 * (room - 1), advance=0)
                label, lines = "", lines[room:]
            pages.new_page()
        pages.place(
            _draw_detail, (label, lines, bold), depth=14 * (len(lines) - 1), advance=14 * len(lines) + 3
        )
    if data.licenses:
        pages.y -= 2 * mm
        pages.place(_draw_table_head, None, depth=13, advance=13)  # never without its first row
        for values in data.licenses:
            if not pages.fits(0):
                pages.new_page()
                pages.place(_draw_table_head, None, depth=13, advance=13)
            pages.place(_draw_table_row, values, depth=0, advance=ROW_HEIGHT)
        pages.y -= 2 * mm
    pages.y -= 4 * mm
    items = _scope_lines()
    pages.place(_draw_terms, items, depth=_terms_depth(items), advance=0, bottom=VERIFY_TOP + 6 * mm)
    return pages.pages


def draw_letter(c, data):
    """Draw the pages of ``data`` on canvas ``c`` (the caller shows the last one).

    A letter that fits on one page has no page numbers; a longer one says "Page N of M" on each."""
    pages = paginate(data)
    for number, placed in enumerate(pages, 1):
        if number > 1:
            c.showPage()
        for draw, y, item in placed:
            draw(c, y, item)
        if number == len(pages):
            _draw_verification(c, data)
        if len(pages) > 1:
            _draw_footer(c, number, len(pages))


def _fit(text, font, size, width):
    """``text``, or as much of it as fits in ``width`` with "…" after it."""
    if pdfmetrics.stringWidth(text, font, size) <= width:
        return text
    room = width - pdfmetrics.stringWidth("…", font, size)
    short, long = 0, len(text)  # the longest start of ``text`` that fits, by halves
    while short < long:
        middle = (short + long + 1) // 2
        if pdfmetrics.stringWidth(text[:middle], font, size) <= room:
            short = middle
        else:
            long = middle - 1
    return text[:short] + "…"


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
