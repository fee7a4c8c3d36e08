"""Exactness under concurrency, on PostgreSQL (row locks and constraints do the work)."""

import threading
import uuid

import pytest
from django.db import connection

from licensing import services
from licensing.models import EndUser, License
from licensing.services import LicensingError
from tests.licensing.conftest import full_version, give_membership, make_ready

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

# PostgreSQL here allows 100 connections in all (shared with the test runner and other
# databases), so at most this many threads hold a connection at the same moment.
MAX_CONNECTIONS = 20


def run_in_threads(count, work):
    """Run ``work(i)`` in ``count`` threads started together; return (results, errors)."""
    start = threading.Event()
    slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
    results, errors, lock = [], [], threading.Lock()

    def target(i):
        start.wait()
        with slots:
            try:
                value = work(i)
                with lock:
                    results.append(value)
            except Exception as exc:  # collected and asserted on below
                with lock:
                    errors.append(exc)
            finally:
                connection.close()

    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    start.set()
    for t in threads:
        t.join(60)
    return results, errors


def test_hundred_concurrent_grants_against_ten_units_issue_exactly_ten(agreements, owner, track):
    make_ready(owner)
    give_membership(owner, quota=10)
    EndUser.objects.create(account=owner, kind="sole", name="Olivia Owner")
    version = full_version(track)

    def work(i):
        return services.grant_license(
            user=owner,
            track=track,
            version=version,
            submission=uuid.uuid4(),
            end_user=EndUser.objects.get(account=owner),
            new_project={"title": f"Video {i}", "platform": "youtube"},
        )

    results, errors = run_in_threads(100, work)
    assert len(results) == 10
    assert len(errors) == 90
    assert all(isinstance(e, LicensingError) and "licences of this period" in str(e) for e in errors), errors[
        :3
    ]
    assert License.objects.filter(account=owner).count() == 10
    from billing.models import MembershipUsage

    assert MembershipUsage.objects.get(subscription__user=owner).used == 10


def test_same_submission_posted_concurrently_issues_one_licence(agreements, owner, track):
    make_ready(owner)
    give_membership(owner, quota=10)
    token = uuid.uuid4()
    version = full_version(track)

    def work(i):
        return services.grant_license(
            user=owner,
            track=track,
            version=version,
            submission=token,
            new_end_user={"name": "Olivia Owner"},
            new_project={"title": "Launch video", "platform": "youtube"},
        )

    results, errors = run_in_threads(8, work)
    assert not errors
    assert len({r.license.pk for r in results}) == 1
    assert License.objects.count() == 1


def test_racing_first_downloads_fix_exactly_one_end_user(agreements, owner, track, second_track):
    make_ready(owner)
    give_membership(owner, quota=10)
    version = full_version(track)

    def work(i):
        return services.grant_license(
            user=owner,
            track=track,
            version=version,
            submission=uuid.uuid4(),
            new_end_user={"name": f"Person {i}"},
            new_project={"title": f"Video {i}", "platform": "youtube"},
        )

    results, errors = run_in_threads(10, work)
    assert EndUser.objects.filter(account=owner).count() == 1
    assert len(results) == 1 and len(errors) == 9
    assert all("fixed by your first download" in str(e) for e in errors)


def test_racing_designations_never_exceed_the_seats(agreements):
    from tests.factories import UserFactory

    studio = make_ready(UserFactory(email="studio@example.com"), enterprise=True, seats=3)

    def work(i):
        return services.designate_end_user(user=studio, name=f"Designee {i}")

    results, errors = run_in_threads(12, work)
    assert len(results) == 3 and len(errors) == 9
    assert EndUser.objects.filter(account=studio).count() == 3
