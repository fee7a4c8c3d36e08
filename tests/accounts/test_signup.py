"""Registration: email ID, agreement tick of the exact versions, date of birth, verification."""

import datetime

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts.models import User
from tests.accounts.conftest import STRONG_PASSWORD

pytestmark = pytest.mark.django_db


def signup_data(**overrides):
    data = {
        "email": "new.member@example.com",
        "password1": STRONG_PASSWORD,
        "password2": STRONG_PASSWORD,
        "display_name": "New Member",
        "date_of_birth": "1992-03-04",
        "agree": "on",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_signup_records_acceptance_of_the_exact_versions_shown(
    client, agreements, django_capture_on_commit_callbacks
):
    from legal.models import Acceptance

    page = client.get(reverse("account_signup"))
    ua, pp = agreements["user-agreement"], agreements["privacy-policy"]
    assert f"User Agreement (version {ua.number})" in page.text
    assert reverse("legal:version", args=["user-agreement", ua.number]) in page.text
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("account_signup"), signup_data())
    assert response.status_code == 302
    user = User.objects.get(email="new.member@example.com")
    assert user.date_of_birth == datetime.date(1992, 3, 4)
    assert user.display_name == "New Member"
    accepted = set(Acceptance.objects.filter(user=user, method="signup").values_list("version_id", flat=True))
    assert accepted == {ua.pk, pp.pk}
    assert not EmailAddress.objects.get(user=user).verified


def test_signup_sends_a_confirmation_email_in_the_sites_look_after_commit(
    client, agreements, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("account_signup"), signup_data())
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["new.member@example.com"]
    assert message.subject.startswith("[AllMyTracks]")
    assert "/accounts/confirm-email/" in message.body
    html = {m: c for c, m in message.alternatives}["text/html"]
    assert "support@allmytracks.example" in html and "AllMyTracks" in html
    assert "support@allmytracks.example" in message.body


def test_signup_without_the_agreement_tick_is_refused(client, agreements):
    response = client.post(reverse("account_signup"), signup_data(agree=None))
    assert response.status_code == 200
    assert "You need to agree to the User Agreement and Privacy Policy" in response.text
    assert not User.objects.filter(email="new.member@example.com").exists()


def test_signup_without_date_of_birth_is_refused(client, agreements):
    response = client.post(reverse("account_signup"), signup_data(date_of_birth=None))
    assert response.status_code == 200
    assert "Enter your date of birth." in response.text and "This field is required." not in response.text
    assert not User.objects.filter(email="new.member@example.com").exists()


def test_signup_under_thirteen_is_refused(client, agreements):
    today = datetime.date.today()
    response = client.post(
        reverse("account_signup"), signup_data(date_of_birth=today.replace(year=today.year - 10).isoformat())
    )
    assert "at least 13 years old" in response.text
    assert not User.objects.exists()


def test_signup_with_no_published_agreement_refuses_with_a_clear_message(client, db):
    page = client.get(reverse("account_signup"))
    assert page.status_code == 200
    assert "Registration is closed for a moment" in page.text
    response = client.post(reverse("account_signup"), signup_data())
    assert response.status_code == 200
    assert "Registration is closed for a moment" in response.text
    assert not User.objects.exists()


def test_signup_when_a_new_version_is_published_meanwhile_asks_to_tick_again(client, agreements):
    from tests.accounts.conftest import publish

    client.get(reverse("account_signup"))
    shown = f"{agreements['user-agreement'].pk},{agreements['privacy-policy'].pk}"
    publish("user-agreement", number=2, body="New text.")
    response = client.post(reverse("account_signup"), signup_data(agreement_versions=shown))
    assert "The agreement was updated while you were signing up" in response.text
    assert not User.objects.exists()


def test_duplicate_email_in_another_case_creates_no_account_and_reveals_nothing(
    client, agreements, owner, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("account_signup"), signup_data(email="OWNER@Example.COM"))
    assert response.status_code == 302
    assert response.url == reverse("account_email_verification_sent")
    assert User.objects.filter(email__iexact="owner@example.com").count() == 1
    assert mail.outbox[0].to == ["owner@example.com"]
    assert "already" in mail.outbox[0].body.lower()


def test_email_is_stored_lower_case(client, agreements):
    client.post(reverse("account_signup"), signup_data(email="Mixed.Case@Example.com"))
    assert User.objects.filter(email="mixed.case@example.com").exists()


def test_marketing_opt_in_at_signup_is_recorded_with_legal(client, agreements):
    from legal import services as legal

    client.post(reverse("account_signup"), signup_data(marketing_opt_in="on"))
    assert legal.marketing_opted_in(User.objects.get(email="new.member@example.com"))


def test_unverified_account_cannot_sign_in(client, agreements):
    client.post(reverse("account_signup"), signup_data())
    client.logout()
    response = client.post(
        reverse("account_login"), {"login": "new.member@example.com", "password": STRONG_PASSWORD}
    )
    assert response.status_code == 302
    assert response.url == reverse("account_email_verification_sent")
    assert "_auth_user_id" not in client.session


def test_confirming_the_email_lets_the_member_sign_in(client, agreements, django_capture_on_commit_callbacks):
    import re

    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("account_signup"), signup_data())
    link = re.search(r"http://\S+/accounts/confirm-email/\S+/", mail.outbox[0].body).group(0)
    path = link.split("testserver", 1)[-1] if "testserver" in link else "/" + link.split("/", 3)[3]
    page = client.get(path).content.decode()
    assert "Confirm that <strong>new.member@example.com</strong>" in page
    client.post(path)
    assert EmailAddress.objects.get(email="new.member@example.com").verified
    # The link again, later: it says plainly that a confirmed address needs nothing more.
    page = Client().get(path).content.decode()
    assert "already been used or is no longer valid" in page and reverse("account_login") in page
    response = client.post(
        reverse("account_login"), {"login": "new.member@example.com", "password": STRONG_PASSWORD}
    )
    assert response.status_code == 302
    assert client.get(reverse("accounts:account")).status_code == 200


def test_minor_signup_is_held_until_a_guardian_confirms(client, agreements):
    from accounts.services import AccountRestricted, check_can_transact

    today = datetime.date.today()
    client.post(
        reverse("account_signup"), signup_data(date_of_birth=today.replace(year=today.year - 16).isoformat())
    )
    user = User.objects.get(email="new.member@example.com")
    EmailAddress.objects.filter(user=user).update(verified=True)
    assert user.is_held_minor
    with pytest.raises(AccountRestricted) as exc:
        check_can_transact(user)
    assert exc.value.url == reverse("accounts:guardian")


def test_signup_form_shows_third_party_buttons_only_when_configured(client, agreements):
    page = client.get(reverse("account_signup"))
    assert "Continue with Google" not in page.text
    assert "Continue with Apple" not in page.text


def test_signup_asks_for_the_name_licence_letters_give_the_licensee(client, agreements):
    page = client.get(reverse("account_signup")).text
    assert "licence letters name you as the licensee" in page and 'autocomplete="name"' in page
    for missing in ("", "   "):
        response = client.post(reverse("account_signup"), signup_data(display_name=missing))
        assert response.status_code == 200 and "This field is required." in response.text
    assert not User.objects.filter(email="new.member@example.com").exists()
