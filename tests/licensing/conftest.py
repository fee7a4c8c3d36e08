"""Licensing fixtures: agreements in force, members with a membership, a track with files."""

import datetime
import uuid

import pytest

from tests.factories import (
    PlanFactory,
    SubscriptionFactory,
    TrackFactory,
    TrackVersionFactory,
    UserFactory,
    publish_agreement,
)


def make_ready(user, *, seats=None, enterprise=False):
    """A user who may transact: date of birth, current agreements accepted."""
    from legal import services as legal

    user.date_of_birth = datetime.date(1990, 5, 17)
    fields = ["date_of_birth"]
    if enterprise:
        user.account_type = "enterprise"
        user.designated_seats = seats or 1
        fields += ["account_type", "designated_seats"]
    user.save(update_fields=fields)
    for slug in ("user-agreement", "privacy-policy"):
        version = legal.current_version(slug)
        legal.record_acceptance(user=user, version=version, method="signup")
    return user


def give_membership(user, *, quota=10, **kwargs):
    plan = PlanFactory(licences_per_period=quota, includes_sfx=True)
    return SubscriptionFactory(user=user, plan=plan, **kwargs)


@pytest.fixture
def agreements(db):
    return {
        "user-agreement": publish_agreement("user-agreement"),
        "privacy-policy": publish_agreement("privacy-policy"),
        "music-licence": publish_agreement(
            "music-licence", body="## Music licence\n\nOne end user, one project.\n"
        ),
    }


@pytest.fixture
def member(agreements, owner):
    """The owner persona: an individual member with 10 licences this period."""
    make_ready(owner)
    give_membership(owner, quota=100)
    return owner


@pytest.fixture
def other_member(agreements, other):
    make_ready(other)
    give_membership(other)
    return other


@pytest.fixture
def enterprise(agreements):
    user = make_ready(
        UserFactory(email="studio@example.com", display_name="Studio Lead", company="Northwind Studio"),
        enterprise=True,
        seats=2,
    )
    give_membership(user)
    return user


@pytest.fixture
def track(db):
    track = TrackFactory(title="Golden Hour", slug="golden-hour", artist__name="Mira Vale")
    TrackVersionFactory(track=track, kind="full", position=0)
    TrackVersionFactory(track=track, kind="instrumental", position=1)
    TrackVersionFactory(track=track, kind="stem", name="Drums stem", position=2, format="flac")
    return track


@pytest.fixture
def second_track(db):
    track = TrackFactory(title="Night Drive", slug="night-drive", artist__name="Kai Rowan")
    TrackVersionFactory(track=track, kind="full")
    return track


def full_version(track):
    return track.versions.get(kind="full")


def grant(
    user, track, *, project=None, title="Launch video", platform="youtube", end_user=None, name=None, **kw
):
    """Call grant_license the way the download form does."""
    from licensing import services

    new_end_user = None
    if end_user is None and name is not None:
        new_end_user = {"name": name, "role": ""}
    elif end_user is None:
        from licensing.models import EndUser

        end_user = (
            EndUser.objects.filter(account=user, kind="sole").first() if not user.is_enterprise else None
        )
        if end_user is None:
            new_end_user = {"name": user.display_name or "Someone", "role": ""}
    return services.grant_license(
        user=user,
        track=track,
        version=kw.pop("version", None) or full_version(track),
        submission=kw.pop("submission", None) or uuid.uuid4(),
        end_user=end_user,
        new_end_user=new_end_user,
        project=project,
        new_project=None if project else {"title": title, "platform": platform, "url": kw.pop("url", "")},
        **kw,
    )
