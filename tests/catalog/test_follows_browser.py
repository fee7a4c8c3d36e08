"""In Chromium: a member follows an artist from the artist's page (in place), finds the artist and
their new track on the following page, and turns the weekly email off and on; the page passes an
accessibility scan."""

import pytest
from playwright.sync_api import expect

from legal.services import set_marketing_consent
from tests.browser.fixtures import assert_accessible, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def track(golden_hour):
    return golden_hour


def test_a_member_follows_an_artist_and_chooses_the_weekly_email(page, live_server, owner, track):
    set_marketing_consent(user=owner, opted_in=True, source="test")
    sign_in(page, owner, live_server)
    page.goto(track.artist.get_absolute_url())
    page.get_by_role("button", name="Follow").click()
    expect(page.get_by_role("button", name="Following")).to_have_attribute("aria-pressed", "true")

    page.goto("/account/following/")
    expect(
        page.get_by_role("list", name="Followed artists").get_by_role("link", name="Mira Vale")
    ).to_be_visible()
    expect(page.locator(".track-row")).to_contain_text("Golden Hour")
    expect(page.get_by_text("Each Monday we email you")).to_be_visible()
    assert_accessible(page)

    page.get_by_role("button", name="Stop this email").click()
    expect(page.locator(".messages")).to_contain_text("no more emails about the artists you follow")
    page.get_by_role("button", name="Email me their new tracks each Monday").click()
    expect(page.locator(".messages")).to_contain_text("Each Monday we will email you")
    expect(page.get_by_role("button", name="Stop this email")).to_be_visible()
