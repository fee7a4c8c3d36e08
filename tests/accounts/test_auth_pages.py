"""allauth's sign-in, verification and password pages in the site's words: sentence case, the
support address as a link, a way to get the confirmation email again, sign-in help only where
signing in is the point, and the password reset still working end to end."""

import datetime
import re

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.urls import reverse

from tests.accounts.conftest import STRONG_PASSWORD, assert_no_stock_wording
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

TROUBLE = "Trouble signing in?"
SUPPORT_LINK = f'href="mailto:{settings.OPERATOR["support_email"]}"'
ALLAUTH_TITLE_CASE = [
    "Verify Your Email Address",
    "Password Reset",
    "Reset My Password",
    "Change Password",
    "Current Password",
    "New Password",
    "Remember Me",
    "Bad Token",
    "Set Password",
]


def assert_no_title_case(html):
    assert_no_stock_wording(html, ALLAUTH_TITLE_CASE)


def sign_up(client, email="new.member@example.com"):
    return client.post(
        reverse("account_signup"),
        {
            "email": email,
            "password1": STRONG_PASSWORD,
            "password2": STRONG_PASSWORD,
            "display_name": "New Member",
            "date_of_birth": "1992-03-04",
            "agree": "on",
        },
    )


def links_in(message, path):
    return [
        url.split("testserver", 1)[1]
        for url in re.findall(r"http://testserver\S+", message.body)
        if path in url
    ]


# --- sign-in help where it belongs --------------------------------------------------------


def test_sign_in_page_offers_to_keep_the_member_signed_in_and_help_with_signing_in(anon_client):
    page = anon_client.get(reverse("account_login") + "?next=/account/").text
    assert "Keep me signed in" in page
    assert '<input type="checkbox" name="remember"' in page
    assert TROUBLE in page and reverse("accounts:report-compromise") in page and SUPPORT_LINK in page
    assert 'name="next" value="/account/"' in page and "csrfmiddlewaretoken" in page
    assert_no_title_case(page)


def test_sign_up_page_does_not_offer_sign_in_help(anon_client, agreements):
    page = anon_client.get(reverse("account_signup")).text
    assert "Create your account" in page
    assert TROUBLE not in page


def test_sign_in_form_errors_are_still_shown(anon_client, owner):
    response = anon_client.post(
        reverse("account_login"), {"login": owner.email, "password": "not-the-password"}
    )
    assert response.status_code == 200
    assert 'class="errorlist nonfield"' in response.text
    assert "_auth_user_id" not in anon_client.session


# --- after sign-up: check your email, and how to get it again ---------------------------


def test_after_sign_up_the_member_is_told_to_check_their_email_and_how_to_get_a_new_link(
    anon_client, agreements
):
    response = sign_up(anon_client)
    assert response.url == reverse("account_email_verification_sent")
    page = anon_client.get(response.url).text
    assert "<h1>Check your email</h1>" in page
    assert "Need a new link?" in page and f'href="{reverse("account_login")}"' in page
    assert SUPPORT_LINK in page
    assert TROUBLE not in page
    assert_no_title_case(page)


def test_a_signed_in_member_on_the_verification_page_is_sent_to_email_settings(owner_client):
    page = owner_client.get(reverse("account_email_verification_sent")).text
    assert f'href="{reverse("account_email")}"' in page
    assert "Sign in to get a new link" not in page


def test_signing_in_with_an_unconfirmed_address_sends_a_new_link_at_most_every_few_minutes(
    anon_client, agreements, django_capture_on_commit_callbacks
):
    """What the verification page promises."""
    credentials = {"login": "new.member@example.com", "password": STRONG_PASSWORD}
    with django_capture_on_commit_callbacks(execute=True):
        sign_up(anon_client)
        right_away = anon_client.post(reverse("account_login"), credentials)
    assert right_away.url == reverse("account_email_verification_sent")
    assert len(mail.outbox) == 1  # the sign-up's email; no second one straight after
    with (
        time_machine.travel(datetime.timedelta(minutes=4)),
        django_capture_on_commit_callbacks(execute=True),
    ):
        later = anon_client.post(reverse("account_login"), credentials)
    assert later.url == reverse("account_email_verification_sent")
    assert len(mail.outbox) == 2 and mail.outbox[1].to == ["new.member@example.com"]
    assert links_in(mail.outbox[1], "/accounts/confirm-email/")
    assert "_auth_user_id" not in anon_client.session


# --- password reset -------------------------------------------------------------------------


def test_password_reset_page_speaks_in_sentence_case_and_keeps_sign_in_help(anon_client):
    page = anon_client.get(reverse("account_reset_password") + "?next=/account/").text
    assert "<h1>Reset your password</h1>" in page and "Send me a reset link" in page
    assert 'name="email"' in page
    assert 'name="next" value="/account/"' in page and "csrfmiddlewaretoken" in page
    assert TROUBLE in page
    assert_no_title_case(page)


def test_password_reset_form_errors_are_still_shown(anon_client):
    page = anon_client.post(reverse("account_reset_password"), {"email": "not an address"}).text
    assert 'class="errorlist"' in page


def test_reset_link_sent_page_links_to_a_new_link_and_support(anon_client):
    page = anon_client.get(reverse("account_reset_password_done")).text
    assert "<h1>Check your email</h1>" in page
    assert f'href="{reverse("account_reset_password")}"' in page and SUPPORT_LINK in page
    assert TROUBLE not in page
    assert_no_title_case(page)


def test_a_used_or_wrong_reset_link_says_so_and_offers_a_new_one(anon_client, owner):
    page = anon_client.get(reverse("account_reset_password_from_key", args=["1", "not-a-key"])).text
    assert "This link no longer works" in page
    assert f'href="{reverse("account_reset_password")}"' in page
    assert_no_title_case(page)


def test_a_member_resets_the_password_by_email_and_signs_in_with_the_new_one(
    anon_client, owner, password, django_capture_on_commit_callbacks
):
    new_password = "Brand-New-Tune-2024"
    with django_capture_on_commit_callbacks(execute=True):
        response = anon_client.post(reverse("account_reset_password"), {"email": owner.email})
    assert response.url == reverse("account_reset_password_done")
    assert [m.to for m in mail.outbox] == [[owner.email]]
    (link,) = links_in(mail.outbox[0], "/accounts/password/reset/key/")

    form_url = anon_client.get(link).url  # the key moves into the session, off the address bar
    page = anon_client.get(form_url).text
    assert "<h1>Choose a new password</h1>" in page
    assert 'placeholder="New password"' in page and 'placeholder="New password (again)"' in page
    assert 'autocomplete="new-password"' in page and 'form="logout-from-stage"' in page
    assert_no_title_case(page)

    mismatch = anon_client.post(form_url, {"password1": new_password, "password2": new_password + "x"})
    assert mismatch.status_code == 200 and "You must type the same password each time." in mismatch.text
    assert 'aria-invalid="true"' in mismatch.text

    with django_capture_on_commit_callbacks(execute=True):
        done = anon_client.post(form_url, {"password1": new_password, "password2": new_password})
    assert done.url == reverse("account_reset_password_from_key_done")
    page = anon_client.get(done.url).text
    assert "Your password has been changed" in page and f'href="{reverse("account_login")}"' in page
    assert_no_title_case(page)

    refused = anon_client.post(reverse("account_login"), {"login": owner.email, "password": password})
    assert refused.status_code == 200 and "_auth_user_id" not in anon_client.session
    signed_in = anon_client.post(reverse("account_login"), {"login": owner.email, "password": new_password})
    assert signed_in.status_code == 302
    assert anon_client.session["_auth_user_id"] == str(owner.pk)


# --- password change and set (signed in) ----------------------------------------------------


def test_password_change_page_speaks_in_sentence_case(owner_client):
    page = owner_client.get(reverse("account_change_password")).text
    assert "<h1>Change your password</h1>" in page
    for label in ("Current password", "New password", "New password (again)"):
        assert f">{label}</label>" in page and f'placeholder="{label}"' in page
    assert 'autocomplete="current-password"' in page and "Forgot your password?" in page
    assert_no_title_case(page)


def test_password_change_is_for_signed_in_members_only(anon_client):
    response = anon_client.get(reverse("account_change_password"))
    assert response.status_code == 302 and response.url.startswith(reverse("account_login"))


def test_changing_the_password_signs_out_here_too_and_the_new_password_works(
    owner_client, owner, password, django_capture_on_commit_callbacks
):
    """What the change page says: signed out everywhere, this browser included."""
    wrong = owner_client.post(
        reverse("account_change_password"),
        {"oldpassword": "not-it", "password1": STRONG_PASSWORD, "password2": STRONG_PASSWORD},
    )
    assert wrong.status_code == 200 and 'aria-invalid="true"' in wrong.text
    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(
            reverse("account_change_password"),
            {"oldpassword": password, "password1": STRONG_PASSWORD, "password2": STRONG_PASSWORD},
        )
    assert "_auth_user_id" not in owner_client.session
    owner_client.post(reverse("account_login"), {"login": owner.email, "password": STRONG_PASSWORD})
    assert owner_client.session["_auth_user_id"] == str(owner.pk)


def test_set_password_page_for_a_member_without_one_speaks_in_sentence_case(client):
    member = UserFactory(email="social@example.com", password=None)
    member.set_unusable_password()
    member.save()
    client.force_login(member)
    page = client.get(reverse("account_set_password")).text
    assert "<h1>Set a password</h1>" in page and 'name="password1"' in page
    assert_no_title_case(page)
