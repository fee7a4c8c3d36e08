"""A member downloads a track for a new project, gets the letter, and verifies the code."""

import io
import re

import pytest
from pypdf import PdfReader

from licensing.models import License
from tests.browser.fixtures import assert_accessible, login
from tests.factories import DEFAULT_PASSWORD
from tests.licensing.conftest import give_membership, make_ready

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_member_downloads_for_a_new_project_gets_the_letter_and_verifies_it(page, agreements, owner, track):
    make_ready(owner)
    give_membership(owner)
    login(page, owner, DEFAULT_PASSWORD)

    page.goto(track.get_absolute_url())
    page.get_by_role("link", name="Download with licence").click()
    assert page.get_by_text("owner@example.com").first.is_visible()  # which account, in plain view
    assert_accessible(page)

    page.get_by_label(re.compile("End user: the person or company")).fill("Olivia Owner Studio")
    page.get_by_label("Project title").fill("Desert road trip vlog")
    page.get_by_label("Platform").select_option("youtube")
    page.get_by_label("URL or channel (optional)").fill("https://youtube.com/@olivia")
    page.get_by_label("Instrumental").check()
    page.get_by_label(re.compile("I accept the Music Licence Agreement")).check()
    with page.expect_download() as info:
        page.get_by_role("button", name="Download and issue licence").click()
    download = info.value
    lic = License.objects.get()
    assert download.suggested_filename == f"Mira Vale - Golden Hour - Instrumental ({lic.code}).wav"
    # The form lands on the new licence, which started the file and says so.
    page.wait_for_url(f"**/licenses/{lic.code}/")
    assert page.get_by_role("status").filter(has_text="Licence issued").is_visible()
    assert_accessible(page)

    page.goto("/licenses/")
    assert_accessible(page)
    row = page.get_by_role("row").filter(has_text=lic.code)
    assert "Desert road trip vlog" in row.inner_text()
    # One end user for an individual account: named once above the table rather than on each row.
    assert "all for your end user Olivia Owner Studio" in page.locator(".lic-count").inner_text()
    row.get_by_role("link", name=lic.code).click()

    page.get_by_role("button", name="Request licence letter").click()
    letter_link = page.get_by_role("link", name="Download letter (PDF)")
    letter_link.wait_for()
    assert_accessible(page)
    with page.expect_download() as info:
        letter_link.click()
    with open(info.value.path(), "rb") as fh:
        text = " ".join(PdfReader(io.BytesIO(fh.read())).pages[0].extract_text().split())
    assert lic.code in text and "Desert road trip vlog" in text and "Olivia Owner Studio" in text

    page.context.clear_cookies()  # anyone, signed out
    page.goto("/licenses/verify/")
    page.get_by_label("Licence code").fill(lic.code.lower())
    page.get_by_role("button", name="Check licence").click()
    assert page.get_by_role("heading", name="Valid licence").is_visible()
    body = page.locator("main").inner_text()
    assert "Golden Hour" in body and "Desert road trip vlog" in body and "Olivia Owner Studio" in body
    assert "owner@example.com" not in page.content()
    assert_accessible(page)


def test_member_licenses_a_playlist_for_one_project_and_downloads_from_a_licence(
    page, agreements, owner, track, second_track
):
    from catalog import services as catalog

    make_ready(owner)
    give_membership(owner)
    playlist = catalog.create_playlist(user=owner, title="Road trip")
    for t in (track, second_track):
        catalog.set_track_playlists(user=owner, track=t, playlists=[playlist])
    login(page, owner, DEFAULT_PASSWORD)

    page.goto(playlist.get_absolute_url())
    page.get_by_role("link", name="Licence tracks for a project").click()
    assert_accessible(page)
    page.get_by_label(re.compile("End user: the person or company")).fill("Olivia Owner Studio")
    page.get_by_label("Project title").fill("Desert road trip vlog")
    page.get_by_label("Platform").select_option("youtube")
    page.get_by_label(re.compile("I accept the Music Licence Agreement")).check()
    page.get_by_role("button", name="Issue the licences").click()

    page.get_by_role("heading", name="2 tracks licensed").wait_for()
    assert_accessible(page)
    licences = License.objects.filter(account=owner)
    assert {lic.project.title for lic in licences} == {"Desert road trip vlog"} and licences.count() == 2
    page.get_by_role("link", name=licences[0].code).click()
    page.wait_for_url(f"**/licenses/{licences[0].code}/")


def test_a_member_sent_to_the_profile_from_the_track_page_is_told_why(page, agreements, owner, track):
    """The track page swaps only <main> when a link is followed (the player keeps playing): the
    message a redirect leaves comes along with it, and goes on the next page."""
    from legal import services as legal

    for slug in ("user-agreement", "privacy-policy"):
        legal.record_acceptance(user=owner, version=legal.current_version(slug), method="signup")
    give_membership(owner)  # a member, but no date of birth yet
    login(page, owner, DEFAULT_PASSWORD)

    page.goto(track.get_absolute_url())
    page.get_by_role("link", name="Download with licence").click()
    page.wait_for_url("**/account/profile/**")
    assert page.locator("#messages").get_by_text("date of birth").is_visible()

    page.goto(track.get_absolute_url())
    page.get_by_role("link", name="Mira Vale").first.click()
    page.wait_for_url(f"**{track.artist.get_absolute_url()}")
    assert page.locator("#messages").inner_text().strip() == ""
