"""Browser journeys in real Chromium: sign up to the account page, and a staff suspension."""

import re

import pytest
from django.core import mail

from tests.accounts.conftest import STRONG_PASSWORD, accept_current, give_totp
from tests.browser.fixtures import assert_accessible, login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_sign_up_confirm_the_email_sign_in_and_see_the_account_page(page, agreements):
    page.goto("/accounts/signup/")
    assert_accessible(page)
    page.get_by_label("Email").fill("journey@example.com")
    page.get_by_label("Your name").fill("Journey Tester")
    page.get_by_label("Date of birth").fill("1991-07-14")
    page.get_by_label("Password", exact=True).fill(STRONG_PASSWORD)
    page.get_by_label("Password (again)").fill(STRONG_PASSWORD)
    page.get_by_label("I have read and agree to").check()
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url("**/accounts/confirm-email/")

    body = mail.outbox[-1].body
    link = re.search(r"https?://[^\s]+/accounts/confirm-email/[^\s]+/", body).group(0)
    page.goto("/" + link.split("/", 3)[3])
    page.get_by_role("button", name="Confirm").click()

    page.goto("/accounts/login/")
    page.get_by_label("Email").fill("journey@example.com")
    page.get_by_label("Password").fill(STRONG_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    page.goto("/account/")
    assert page.get_by_text("journey@example.com").first.is_visible()
    assert page.get_by_role("heading", name="Who you are").is_visible()
    assert_accessible(page)


def test_staff_suspends_a_member_who_is_then_signed_out_and_told_why(
    page, _browser, live_server, members, password
):
    from django.test import Client

    owner, _other, staff = members
    give_totp(staff)
    accept_current()

    member = _browser.new_context(base_url=live_server.url).new_page()
    login(member, owner, password)
    member.goto("/account/")
    assert member.get_by_role("heading", name="Who you are").is_visible()

    staff_client = Client()
    staff_client.force_login(staff)
    page.context.add_cookies(
        [{"name": "sessionid", "value": staff_client.cookies["sessionid"].value, "url": live_server.url}]
    )
    page.goto("/admin/accounts/user/?q=owner%40example.com")
    page.get_by_role("link", name=re.compile("owner@example.com")).click()
    page.get_by_role("button", name="Suspend").click()  # the account page's own button
    page.wait_for_load_state()
    assert page.get_by_text("cannot sign in, buy or download").is_visible()
    assert page.locator("#content-main").get_by_role("link", name="owner@example.com").is_visible()
    assert_accessible(page)
    page.get_by_label("Reason").fill("Repeated chargebacks")
    page.locator("#id_until_0").fill("2099-01-31")
    page.locator("#id_until_1").fill("12:00")
    page.get_by_role("button", name="Suspend 1 account").click()
    page.wait_for_url(f"**/admin/accounts/user/{owner.pk}/change/")
    assert page.get_by_text("Suspended: owner@example.com.").is_visible()
    assert page.get_by_text("Suspended until 31 Jan 2099 12:00").first.is_visible()

    member.goto("/account/")
    member.wait_for_url("**/accounts/login/")
    assert member.get_by_text("You have been signed out.").is_visible()
    assert member.get_by_text("Repeated chargebacks", exact=False).is_visible()
    assert_accessible(member)
    member.context.close()


def test_account_pages_pass_an_accessibility_scan(page, members, password):
    owner = members[0]
    page.goto("/account/report-compromise/")
    assert_accessible(page)
    login(page, owner, password)
    page.wait_for_load_state()
    for path in (
        "/account/profile/",
        "/account/security/",
        "/account/enterprise/",
        "/account/cancel/",
        "/account/data/",
    ):
        page.goto(path)
        assert page.get_by_text(owner.email).first.is_visible()
        assert_accessible(page)
