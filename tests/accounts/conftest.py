"""Fixtures for the accounts tests: published agreements, staff with two-factor, helpers."""

import datetime

import pytest
from django.utils import timezone

from tests.factories import UserFactory

STRONG_PASSWORD = "Correct-Horse-Battery-9"


def publish(kind, number=1, body="Text of the agreement."):
    from legal.models import Document, DocumentKind, Version
    from legal.services import publish_version

    # get_or_create: transactional (browser) tests flush the rows data migrations made.
    document, _ = Document.objects.get_or_create(kind=kind, defaults={"title": DocumentKind(kind).label})
    version = Version.objects.create(
        document=document, number=number, title=document.title, body=body, summary="Changes for testing."
    )
    publish_version(
        version=version, actor=None, notify=False, now=timezone.now() - datetime.timedelta(seconds=1)
    )
    version.refresh_from_db()
    return version


def accept_current(*users):
    from legal import services as legal

    for user in users:
        for slug in ("user-agreement", "privacy-policy"):
            version = legal.current_version(slug)
            if version is not None:
                legal.record_acceptance(user=user, version=version, method="signup")


@pytest.fixture
def agreements(db):
    """The current User Agreement and Privacy Policy (version 1 of each)."""
    return {"user-agreement": publish("user-agreement"), "privacy-policy": publish("privacy-policy")}


@pytest.fixture
def members(agreements, owner, other, staff):
    """The personas, having accepted the current agreements, with a date of birth."""
    for user in (owner, other, staff):
        user.date_of_birth = datetime.date(1990, 5, 17)
        user.save(update_fields=["date_of_birth"])
    accept_current(owner, other, staff)
    return owner, other, staff


def give_totp(user):
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    return TOTP.activate(user, generate_totp_secret())


@pytest.fixture
def mfa_staff_client(members, staff):
    from django.test import Client

    give_totp(staff)
    client = Client()
    client.force_login(staff)
    return client


@pytest.fixture
def adult(agreements):
    user = UserFactory(email="adult@example.com", date_of_birth=datetime.date(1985, 1, 1))
    accept_current(user)
    return user


@pytest.fixture
def minor(agreements):
    today = timezone.localdate()
    user = UserFactory(email="teen@example.com", date_of_birth=today.replace(year=today.year - 15))
    accept_current(user)
    return user


def run_on_commit(django_capture_on_commit_callbacks, func, *args, **kwargs):
    with django_capture_on_commit_callbacks(execute=True):
        return func(*args, **kwargs)


def assert_no_stock_wording(page, phrases):
    """None of allauth's stock (Title Case) ``phrases`` is left on ``page``."""
    shown = [text for text in phrases if text in page]
    assert not shown, f"allauth's stock wording still on the page: {shown}"
