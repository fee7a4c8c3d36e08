"""check_can_transact, allauth rate limits, mail through the adapter, third-party sign-up."""

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.urls import reverse

from accounts import services
from accounts.adapter import AccountAdapter
from accounts.forms import SignupExtraForm

pytestmark = pytest.mark.django_db


def test_member_in_good_standing_may_transact(members):
    services.check_can_transact(members[0])


def test_stranger_may_not_transact(db):
    from django.contrib.auth.models import AnonymousUser

    with pytest.raises(services.AccountRestricted) as exc:
        services.check_can_transact(AnonymousUser())
    assert exc.value.url == reverse("account_login")


def test_unverified_email_blocks_transactions(members):
    owner = members[0]
    EmailAddress.objects.filter(user=owner).update(verified=False)
    with pytest.raises(services.AccountRestricted) as exc:
        services.check_can_transact(owner)
    assert "Confirm your email" in str(exc.value)


def test_locked_and_cancelled_accounts_may_not_transact(members):
    from django.utils import timezone

    owner, other, _ = members
    owner.locked_at = timezone.now()
    other.cancelled_at = timezone.now()
    for user in (owner, other):
        with pytest.raises(services.AccountRestricted):
            services.check_can_transact(user)


def test_repeated_failed_sign_ins_answer_429_with_a_clear_page(client, members):
    owner = members[0]
    for _ in range(5):
        client.post(reverse("account_login"), {"login": owner.email, "password": "wrong-password"})
    response = client.post(reverse("account_login"), {"login": owner.email, "password": "wrong-password"})
    assert response.status_code == 429
    assert "Slow down" in response.text


def test_password_reset_requests_are_limited(client, members):
    statuses = [
        client.post(reverse("account_reset_password"), {"email": "owner@example.com"}).status_code
        for _ in range(8)
    ]
    assert 429 in statuses


def test_allauth_mail_is_sent_by_celery_only_after_commit(members, django_capture_on_commit_callbacks):
    adapter = AccountAdapter()
    with django_capture_on_commit_callbacks() as callbacks:
        adapter.send_mail("account/email/password_changed", "owner@example.com", {"user": members[0]})
        assert not mail.outbox
    assert len(callbacks) == 1
    callbacks[0]()
    message = mail.outbox[0]
    assert message.subject.startswith("[AllMyTracks]")
    assert "support@allmytracks.example" in message.body
    assert any(mimetype == "text/html" for _, mimetype in message.alternatives)


@pytest.mark.parametrize(
    "name",
    [
        "guardian_request",
        "guardian_confirmed",
        "account_suspended",
        "account_banned",
        "account_reinstated",
        "profile_review",
        "enterprise_received",
        "enterprise_decided",
        "cancellation_received",
        "cancellation_rejected",
        "cancellation_completed",
        "compromise_recovery",
        "account_recovered",
    ],
)
def test_every_account_email_has_subject_text_and_html(name):
    from django.template.loader import get_template

    for part in ("subject.txt", "message.txt", "message.html"):
        get_template(f"emails/{name}_{part}")


def test_third_party_sign_up_asks_for_the_agreement_tick_and_date_of_birth(agreements):
    from allauth.socialaccount.forms import SignupForm as SocialSignupForm

    assert issubclass(SocialSignupForm, SignupExtraForm)
    assert {"agree", "date_of_birth"} <= set(SignupExtraForm().fields)


def test_third_party_providers_are_configured_from_the_environment(settings, client, agreements):
    from allauth.socialaccount.adapter import get_adapter

    settings.SOCIALACCOUNT_PROVIDERS = {"google": {"APPS": [{"client_id": "cid", "secret": "s"}]}}
    page = client.get(reverse("account_login"))
    assert "Continue with Google" in page.text
    assert "Continue with Apple" not in page.text
    assert [p.id for p in get_adapter().list_providers(page.wsgi_request)] == ["google"]
    # A provider without credentials is not there: its sign-in URLs are 404, not a server error.
    assert client.get("/accounts/apple/login/").status_code == 404
    assert client.post("/accounts/apple/login/").status_code == 404
    assert client.get("/accounts/apple/login/callback/finish/").status_code == 404
    assert client.get("/accounts/google/login/").status_code == 200
    settings.SOCIALACCOUNT_PROVIDERS = {}
    assert client.get("/accounts/google/login/callback/").status_code == 404


def pending_google_signup(client, settings, email="social@example.com"):
    from allauth.account.models import EmailAddress as Address
    from allauth.socialaccount.adapter import get_adapter
    from allauth.socialaccount.models import SocialAccount, SocialLogin
    from django.test import RequestFactory

    from accounts.models import User

    settings.SOCIALACCOUNT_PROVIDERS = {"google": {"APPS": [{"client_id": "cid", "secret": "s"}]}}
    provider = get_adapter().get_provider(RequestFactory().get("/"), "google")
    sociallogin = SocialLogin(
        provider=provider,
        user=User(email=email, display_name="Sam Social"),
        account=SocialAccount(provider="google", uid="g-123", extra_data={"email": email}),
        email_addresses=[Address(email=email, verified=True, primary=True)],
    )
    session = client.session
    session["socialaccount_sociallogin"] = sociallogin.serialize()
    session.save()


def test_third_party_sign_up_stops_at_the_agreement_tick_and_date_of_birth(client, settings, agreements):
    from accounts.models import User

    pending_google_signup(client, settings)
    page = client.get(reverse("socialaccount_signup"))
    assert page.status_code == 200
    assert "I have read and agree to" in page.text and "Date of birth" in page.text
    assert 'value="Sam Social"' in page.text  # the provider's name, to confirm or change
    response = client.post(reverse("socialaccount_signup"), {"email": "social@example.com"})
    assert response.status_code == 200
    assert not User.objects.filter(email="social@example.com").exists()


def test_third_party_sign_up_records_the_acceptance(client, settings, agreements):
    from accounts.models import User
    from legal.models import Acceptance

    pending_google_signup(client, settings)
    response = client.post(
        reverse("socialaccount_signup"),
        {
            "email": "social@example.com",
            "display_name": "Sam Social",
            "date_of_birth": "1988-02-02",
            "agree": "on",
        },
    )
    assert response.status_code == 302
    user = User.objects.get(email="social@example.com")
    assert not user.has_usable_password()
    assert Acceptance.objects.filter(user=user, method="signup").count() == 2
    assert user.socialaccount_set.filter(provider="google").exists()
