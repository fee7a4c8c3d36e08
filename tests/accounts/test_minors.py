"""Members under 18: browse and preview only until a guardian confirms by a signed email link."""

import datetime
import re

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts import services
from accounts.models import GuardianConsent, User

pytestmark = pytest.mark.django_db


def ask_guardian(client, django_capture_on_commit_callbacks, **data):
    payload = {"guardian_name": "Grace Guardian", "guardian_email": "grace@example.net", **data}
    with django_capture_on_commit_callbacks(execute=True):
        return client.post(reverse("accounts:guardian"), payload)


def link_path(message):
    return re.search(r"(/account/guardian/confirm/[^/\s]+/)", message.body).group(1)


@pytest.fixture
def minor_client(client, minor):
    client.force_login(minor)
    return client


def test_held_minor_cannot_transact_and_is_pointed_to_the_guardian_page(minor):
    with pytest.raises(services.AccountRestricted) as exc:
        services.check_can_transact(minor)
    assert "under 18" in str(exc.value)
    assert exc.value.url == reverse("accounts:guardian")


def test_adult_may_transact(adult):
    services.check_can_transact(adult)


def test_guardian_gets_a_signed_link_and_confirming_records_name_email_time_and_ip(
    minor_client, minor, anon_client, django_capture_on_commit_callbacks
):
    from legal.models import Acceptance

    ask_guardian(minor_client, django_capture_on_commit_callbacks)
    message = mail.outbox[-1]
    assert message.to == ["grace@example.net"]
    assert minor.email in message.body
    assert message.body.startswith("Dear Grace Guardian,\n")  # the guardian, not the member
    path = link_path(message)
    page = anon_client.get(path)
    assert page.status_code == 200 and "Grace Guardian" in page.text
    with django_capture_on_commit_callbacks(execute=True):
        response = anon_client.post(
            path, {"confirm": "on"}, REMOTE_ADDR="203.0.113.9", HTTP_USER_AGENT="Guardian UA"
        )
    assert response.status_code == 200
    consent = GuardianConsent.objects.get(user=minor)
    assert consent.confirmed_at is not None
    assert consent.confirmed_ip == "203.0.113.9"
    assert consent.guardian_name == "Grace Guardian" and consent.guardian_email == "grace@example.net"
    minor.refresh_from_db()
    assert not minor.is_held_minor
    services.check_can_transact(minor)
    assert Acceptance.objects.filter(user=minor, method="guardian").count() == 2
    assert mail.outbox[-1].to == [minor.email]


def test_tampered_guardian_link_is_refused(
    minor_client, minor, anon_client, django_capture_on_commit_callbacks
):
    ask_guardian(minor_client, django_capture_on_commit_callbacks)
    path = link_path(mail.outbox[-1])
    tampered = path[:-3] + ("A" if path[-3] != "A" else "B") + path[-2:]
    response = anon_client.post(tampered, {"confirm": "on"})
    assert response.status_code == 400
    assert "not valid" in response.text
    assert User.objects.get(pk=minor.pk).is_held_minor


def test_expired_guardian_link_is_refused(
    minor_client, minor, anon_client, django_capture_on_commit_callbacks
):
    ask_guardian(minor_client, django_capture_on_commit_callbacks)
    path = link_path(mail.outbox[-1])
    with time_machine.travel(timezone.now() + datetime.timedelta(days=8)):
        response = anon_client.post(path, {"confirm": "on"})
    assert response.status_code == 400
    assert "expired" in response.text
    assert User.objects.get(pk=minor.pk).is_held_minor


def test_guardian_email_must_not_be_the_members_own(minor_client, minor, django_capture_on_commit_callbacks):
    response = ask_guardian(minor_client, django_capture_on_commit_callbacks, guardian_email=minor.email)
    assert "not yours" in response.text
    assert not GuardianConsent.objects.exists()


def test_a_guardian_name_carrying_a_web_address_is_refused(minor_client, django_capture_on_commit_callbacks):
    response = ask_guardian(
        minor_client,
        django_capture_on_commit_callbacks,
        guardian_name="Pay your invoice at https://pay.example/",
    )
    assert "The name cannot contain a web address." in response.text
    assert not GuardianConsent.objects.exists() and not mail.outbox


def test_guardian_page_requires_sign_in(anon_client):
    assert anon_client.get(reverse("accounts:guardian")).status_code == 302


def test_adults_cannot_request_guardian_confirmation(client, adult, django_capture_on_commit_callbacks):
    client.force_login(adult)
    response = ask_guardian(client, django_capture_on_commit_callbacks)
    assert "does not need" in response.text
    assert not mail.outbox


def test_a_minor_who_turns_eighteen_is_no_longer_held(minor):
    with time_machine.travel(timezone.now() + datetime.timedelta(days=366 * 3 + 2)):
        assert not User.objects.get(pk=minor.pk).is_held_minor


def test_guardian_emails_are_rate_limited(minor_client, minor, django_capture_on_commit_callbacks):
    statuses = [ask_guardian(minor_client, django_capture_on_commit_callbacks).status_code for _ in range(6)]
    assert statuses[-1] == 429
    assert GuardianConsent.objects.count() == 5
