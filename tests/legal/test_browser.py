"""The journey a person makes: staff publish a material change; a signed-in member is asked
to accept it, reads what changed, accepts, and carries on."""

import re

import pytest
from playwright.sync_api import expect

from legal.models import Acceptance
from tests.browser.fixtures import assert_accessible, login
from tests.factories import (
    DEFAULT_PASSWORD,
    AgreementVersionFactory,
    StaffFactory,
    UserFactory,
    publish_agreement,
)
from tests.legal.conftest import accept_all

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_staff_publish_a_material_change_and_a_member_accepts_it_before_carrying_on(page, settings):
    settings.ACCOUNTS_STAFF_REQUIRE_MFA = False
    versions = {
        "user-agreement": publish_agreement("user-agreement", body="## Use\n\nYou may preview tracks.\n"),
        "privacy-policy": publish_agreement("privacy-policy", body="## Data\n\nWe keep little.\n"),
    }
    staff = StaffFactory()
    member = UserFactory(email="member@example.com")
    accept_all(staff, versions)
    accept_all(member, versions)
    draft = AgreementVersionFactory(
        document=versions["user-agreement"].document,
        number=2,
        body="## Use\n\nYou may preview tracks.\n\nYou must not download in bulk with scripts.\n",
        summary="Bulk downloading with scripts is now forbidden.",
        material=True,
    )

    # Staff preview the draft and publish it from the staff site.
    login(page, staff, DEFAULT_PASSWORD)
    page.goto(f"/admin/legal/version/{draft.pk}/preview/")
    expect(page.locator(".diff-added", has_text="You must not download in bulk")).to_be_visible()
    page.get_by_role("button", name="Publish User Agreement v2").click()
    expect(page.locator(".messagelist")).to_contain_text("Published User Agreement v2")
    page.context.clear_cookies()

    # The member signs in and is sent to the acceptance page before anything else.
    login(page, member, DEFAULT_PASSWORD)
    page.goto("/?from=journey")
    expect(page).to_have_url(re.compile(r"/legal/accept/\?next="))
    expect(page.get_by_role("heading", level=1)).to_have_text("Please review and accept the changes")
    expect(page.get_by_text("Bulk downloading with scripts is now forbidden.", exact=True)).to_be_visible()
    expect(page.locator(".diff ins", has_text="You must not download in bulk with scripts.")).to_be_visible()
    assert_accessible(page)

    page.get_by_role("button", name="Accept and continue").click()
    expect(page.get_by_text("Tick the box to accept")).to_be_visible()  # the tick is required
    page.get_by_label(re.compile("I have read and agree to the updated User Agreement")).check()
    page.get_by_role("button", name="Accept and continue").click()

    expect(page).to_have_url(re.compile(r"/\?from=journey$"))
    expect(page.get_by_text("Your acceptance is recorded")).to_be_visible()
    row = Acceptance.objects.get(user=member, version=draft)
    assert row.method == "reaccept" and row.user_agent and row.text_sha256 == draft.body_sha256
    page.goto("/account/inbox/")
    expect(
        page.get_by_role("link", name=re.compile("^Unread: We have updated our User Agreement"))
    ).to_be_visible()


def test_the_agreement_pages_pass_an_accessibility_scan(page):
    publish_agreement("user-agreement", body="## One\n\nFirst.\n")
    publish_agreement("user-agreement", body="## One\n\nFirst, changed.\n", summary="Wording.")
    for path in (
        "/legal/",
        "/legal/user-agreement/",
        "/legal/user-agreement/changes/2/",
        "/legal/user-agreement/v/1/",
    ):
        page.goto(path)
        assert_accessible(page)
