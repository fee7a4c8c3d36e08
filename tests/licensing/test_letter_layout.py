"""Licence letters for many licences run over several pages, every one of them a tidy page:
the table's headings repeated, nothing drawn over anything else or off the page, and the terms and
the verify box in full at the end. A letter for one licence stays one page."""

import datetime
import io
import re
from dataclasses import dataclass

import pytest
from pypdf import PdfReader
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics

from licensing import pdf, services
from licensing.models import License
from licensing.services import LETTER_MAX_LICENCES
from tests.factories import TrackFactory, TrackVersionFactory, UserFactory
from tests.licensing.conftest import give_membership, grant, make_ready

WIDTH, HEIGHT = A4
MARGIN = 20 * mm  # the page's margin left, right and at the foot (where only the page number stands)
TOP_MARGIN = 15 * mm  # the masthead's letters reach 17 mm from the top edge
ISSUED = datetime.datetime(2026, 11, 27, 12, tzinfo=datetime.UTC)
CODE = re.compile(r"AMT-[0-9A-Z]{4}-[0-9A-Z]{4}")
PAGE_NUMBER = re.compile(r"Page (\d+) of (\d+)")


@dataclass(frozen=True)
class Text:
    """One string drawn on a page, with the box its glyphs take (in points, from the bottom left)."""

    text: str
    x: float
    y: float
    width: float
    bottom: float
    top: float

    def overlaps(self, other):
        return (
            self.x < other.x + other.width
            and other.x < self.x + self.width
            and self.bottom < other.top
            and other.bottom < self.top
        )


def page_texts(page):
    """Every string drawn on ``page``, where pypdf's text visitor finds it."""
    pdf.register_fonts()
    found = []

    def visit(text, cm, tm, font, size):
        text = text.strip()
        if not text or font is None:
            return
        name = pdf.FONT_BOLD if "Bold" in str(font["/BaseFont"]) else pdf.FONT
        x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
        y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
        ascent, descent = pdfmetrics.getAscentDescent(name, size)
        width = pdfmetrics.stringWidth(text, name, size)
        found.append(Text(text, x, y, width, y + descent, y + ascent))

    page.extract_text(visitor_text=visit)
    return found


def read(content):
    """[(strings drawn, the page's text with single spaces)] for each page of the PDF ``content``."""
    pages = [page_texts(page) for page in PdfReader(io.BytesIO(content)).pages]
    return [(texts, " ".join(" ".join(t.text for t in texts).split())) for texts in pages]


def assert_tidy(pages):
    """Each page: text inside the margins (the page number under the body), no two strings on top
    of each other, and nothing above the verify box reaching into it."""
    for number, (texts, _) in enumerate(pages, 1):
        for t in texts:
            where = f"page {number}: {t.text!r} at ({t.x / mm:.1f} mm, {t.y / mm:.1f} mm)"
            assert t.x >= MARGIN - 0.5 and t.x + t.width <= WIDTH - MARGIN + 0.5, where
            assert t.top <= HEIGHT - TOP_MARGIN, where
            assert t.bottom >= (8 * mm if PAGE_NUMBER.fullmatch(t.text) else MARGIN), where
        by_foot = sorted(texts, key=lambda t: t.bottom)
        for i, one in enumerate(by_foot):
            for other in by_foot[i + 1 :]:
                if other.bottom >= one.top:
                    break
                assert not one.overlaps(other), f"page {number}: {one.text!r} drawn over {other.text!r}"
        headings = [t for t in texts if t.text == "Verify this licence"]
        if headings:
            # The box's top edge is 10 mm above its heading (4 mm above the QR code's top edge).
            box_top = headings[0].y + 10 * mm
            for t in texts:
                if t.y > headings[0].y:
                    assert t.bottom >= box_top, f"page {number}: {t.text!r} runs into the verify box"


@pytest.fixture
def studio(agreements):
    user = make_ready(
        UserFactory(email="studio@example.com", display_name="Studio Lead", company="Northwind Studio"),
        enterprise=True,
        seats=2,
    )
    give_membership(user, quota=LETTER_MAX_LICENCES + 5)
    return user


def licences(user, count):
    """``count`` licences of one client project, for tracks with long titles, issued on 27 November."""
    made = []
    for i in range(count):
        track = TrackVersionFactory(
            track=TrackFactory(title=f"The long way home through the city at night, part {i + 1}"),
            kind="full",
        ).track
        if made:
            made.append(grant(user, track, end_user=made[0].end_user, project=made[0].project).license)
        else:
            made.append(
                grant(user, track, name="Client Co", title="Spring campaign", platform="advert").license
            )
    issued = License.objects.filter(pk__in=[lic.pk for lic in made])
    issued.update(issued_at=ISSUED)
    # in the order a letter lists them, with what it prints (as services.render_letter loads them)
    return list(issued.select_related("track__artist", "end_user", "project", "version").order_by("id"))


def letter_pdf(user, licenses):
    """The letter ``user`` asks for, as ``licensing.pdf`` makes it (rendered here: the worker's
    storing and serving of it are tested in test_letters.py)."""
    return pdf.render_letter(services.request_letter(user=user, licenses=licenses), licenses)


@pytest.fixture
def longest(studio):
    """The letter of the most licences one request may name, read page by page."""
    made = licences(studio, LETTER_MAX_LICENCES)
    return made, read(letter_pdf(studio, made))


def table_rows(texts):
    """The licences table's rows on a page, top to bottom: the strings on each code's baseline."""
    codes = sorted((t for t in texts if CODE.fullmatch(t.text)), key=lambda t: -t.y)
    return [sorted((t for t in texts if abs(t.y - code.y) < 0.5), key=lambda t: t.x) for code in codes]


def test_a_letter_of_the_most_licences_runs_over_numbered_pages_listing_each_licence_once(longest):
    made, pages = longest
    assert len(pages) > 1
    rows = [row for texts, _ in pages for row in table_rows(texts)]
    assert [row[0].text for row in rows] == [lic.code for lic in made]
    # the whole date, where the table used to cut it to "27 November 2…"
    assert {row[-1].text for row in rows} == {"27 Nov 2026"}
    headings = ["CODE", "TRACK", "ARTIST", "VERSION", "ISSUED"]
    for number, (texts, text) in enumerate(pages, 1):
        assert f"Reference {made[0].code} +{len(made) - 1}" in text
        assert f"Page {number} of {len(pages)}" in [t.text for t in texts]
        if table_rows(texts):  # the table's headings over its rows on every page it runs over
            heads = [t for t in texts if t.text in headings]
            assert [t.text for t in heads] == headings
            assert min(t.y for t in heads) > table_rows(texts)[0][0].y


def test_every_page_of_the_longest_letter_is_tidy_and_the_last_closes_with_the_terms_and_verify_box(
    longest, settings
):
    made, pages = longest
    assert_tidy(pages)
    last_texts, last = pages[-1]
    for expected in (
        "What this licence allows",
        *pdf.SCOPE,
        "Verify this licence",
        "Scan the code or open:",
        f"{settings.SITE_URL}/licenses/verify/{made[0].code}/",
        f"Verify every code listed at {settings.SITE_URL}/licenses/verify/",
    ):
        assert expected in last, expected
    terms = next(t for t in last_texts if t.text == "What this licence allows")
    assert all(terms.y < row[0].y for row in table_rows(last_texts))
    for _, text in pages[:-1]:
        assert "What this licence allows" not in text and "Verify this licence" not in text


def test_letters_of_every_size_are_tidy_and_list_every_licence_once(studio):
    made = licences(studio, LETTER_MAX_LICENCES)
    letter = services.request_letter(user=studio, licenses=made)  # its PDF is made below, size by size
    # Rendered and read: the sizes on either side of each change in the layout's page count (cheap to
    # work out for every size), the smallest and the largest.
    page_counts = {n: len(pdf.paginate(pdf.letter_data(letter, made[:n]))) for n in range(1, len(made) + 1)}
    turns = {n for n in range(2, len(made) + 1) if page_counts[n] != page_counts[n - 1]}
    sizes = sorted({2, len(made)} | turns | {n - 1 for n in turns if n > 2})
    assert len(set(page_counts.values())) > 1 and turns
    for count in sizes:
        pages = read(pdf.render_letter(letter, made[:count]))
        assert_tidy(pages)
        rows = [row for texts, _ in pages for row in table_rows(texts)]
        assert [row[0].text for row in rows] == [lic.code for lic in made[:count]], count
        assert "What this licence allows" in pages[-1][1] and "Verify this licence" in pages[-1][1], count
        if len(pages) > 1:
            assert f"Page {len(pages)} of {len(pages)}" in pages[-1][1], count


def test_a_letter_for_one_licence_is_one_page_without_a_page_number(studio):
    (lic,) = licences(studio, 1)
    pages = read(letter_pdf(studio, [lic]))
    assert len(pages) == 1
    _, text = pages[0]
    assert "Page 1" not in text
    assert lic.code in text and "27 November 2026" in text and "What this licence allows" in text
    assert_tidy(pages)


def sample(**changes):
    """Letter data as ``letter_data`` makes it for several licences, with ``changes``."""
    pdf.register_fonts()
    data = pdf.LetterData(
        reference="AMT-WWWW-WWWW +1",
        issued="27 November 2026",
        operator=["AllMyTracks Technology Ltd.", "1 Sample Street, Example City"],
        licensee=["Northwind Studio", "Account ID: studio@example.com"],
        end_user="Client Co",
        project=["Spring campaign (Advert)"],
        rows=[("Licences", "2"), ("Agreement", "Music Licence Agreement, version 1")],
        licenses=[("AMT-WWWW-WWWW", "Track", "Artist", "Full track", "28 May 2026")] * 2,
        verify_url="http://127.0.0.1:8000/licenses/verify/AMT-WWWW-WWWW/",
        verify_hint="http://127.0.0.1:8000/licenses/verify/",
    )
    for name, value in changes.items():
        setattr(data, name, value)
    return data


def test_the_widest_code_and_date_are_never_cut():
    ((texts, text),) = read(pdf.render_pdf(sample()))
    assert [t.text for t in texts if t.text.startswith("AMT-W")] == ["AMT-WWWW-WWWW"] * 2
    assert text.count("28 May 2026") == 2


def test_a_value_longer_than_the_rest_of_the_page_goes_on_on_the_next_one():
    end_users = [f"End user {i}, head of marketing" for i in range(LETTER_MAX_LICENCES)]
    codes = [f"AMT-{i:04d}-ABCD" for i in range(LETTER_MAX_LICENCES)]
    data = sample(
        end_user="; ".join(end_users),
        licenses=[(code, "Track", "Artist", "Full track", "28 May 2026") for code in codes],
    )
    pages = read(pdf.render_pdf(data))
    assert len(pages) > 1
    assert_tidy(pages)
    text = " ".join(text for _, text in pages)
    assert all(f"{name};" in text for name in end_users[:-1]) and end_users[-1] in text
    assert [row[0].text for texts, _ in pages for row in table_rows(texts)] == codes


def test_the_key_of_the_largest_letter_fits_its_column():
    """A letter is found again by its key: the sorted ids of its licences, the longest ids there are."""
    from types import SimpleNamespace

    from licensing.models import Letter

    largest = [SimpleNamespace(pk=10**18 - 1 - n) for n in range(LETTER_MAX_LICENCES)]
    assert len(services.letter_key(largest)) <= Letter._meta.get_field("key").max_length
