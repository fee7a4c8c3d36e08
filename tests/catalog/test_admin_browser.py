"""The catalogue's staff pages in real Chromium at 1280 px: nothing cut off, and a failed upload
retried from its own page."""

import pytest
from django.core.files.base import ContentFile
from playwright.sync_api import expect

from catalog import ingest
from tests.browser.fixtures import sign_in
from tests.factories import StaffFactory, TrackFactory, TrackVersionFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

OVERFLOWING = """() => [...document.querySelectorAll('#result_list, .inline-group table')]
    .filter(table => {
        const box = table.parentElement;
        return table.scrollWidth > box.clientWidth + 1 || table.getBoundingClientRect().right > innerWidth;
    })
    .map(table => table.id || table.closest('.inline-group').id)"""


@pytest.fixture
def staff_page(page, live_server, settings):
    settings.ACCOUNTS_STAFF_REQUIRE_MFA = False
    sign_in(page, StaffFactory(), live_server)
    return page


def test_catalogue_tables_fit_a_1280_px_screen(staff_page):
    page = staff_page
    track = TrackFactory(title="A Considerably Longer Title For A Piano Piece", kind="sfx")
    for n, kind in enumerate(["full", "instrumental", "60s", "loop", "stem"]):
        TrackVersionFactory(
            track=track,
            kind=kind,
            name=f"Version {n}" if kind == "stem" else "",
            position=n,
            original_filename=f"{track.slug}-{kind}-master-final-mix.wav",
            sample_rate=48000,
            bit_depth=24,
            channels=2,
            file_size=55_000_000,
        )
    for _ in range(3):
        TrackFactory()
    job = ingest.create_job(ContentFile(b"not audio at all"), filename="Broken mixdown v3 FINAL.wav")
    ingest.run_job(job.pk)

    for path in (
        "/admin/catalog/track/",
        f"/admin/catalog/track/{track.pk}/change/",
        "/admin/catalog/ingestjob/",
        "/admin/catalog/failedingestjob/",
        "/admin/catalog/soundcategory/",
        "/admin/catalog/collection/",
    ):
        page.goto(path)
        assert page.evaluate(OVERFLOWING) == [], path


def test_staff_retry_a_failed_upload_from_its_page(staff_page):
    page = staff_page
    job = ingest.create_job(ContentFile(b"not audio at all"), filename="notes.wav")
    ingest.run_job(job.pk)

    page.goto(f"/admin/catalog/failedingestjob/{job.pk}/change/")
    expect(page.get_by_role("heading", name="notes.wav — Failed")).to_be_visible()
    page.get_by_role("button", name="Retry this upload").click()
    expect(page.locator(".messagelist")).to_contain_text(
        "“notes.wav” failed again: This file is not a WAV audio file"
    )
    job.refresh_from_db()
    assert job.attempts == 2
