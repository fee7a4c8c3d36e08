"""Entitlements: which source a licence comes from, and quotas that hold under concurrency."""

import datetime
import threading

import pytest
from django.db import connection, transaction
from django.utils import timezone

from billing import entitlements
from billing.entitlements import EntitlementError
from billing.models import MembershipUsage, Subscription, TrackCredit
from tests.factories import PlanFactory, SubscriptionFactory, TrackCreditFactory, TrackFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def track():
    return TrackFactory(kind="music")


@pytest.fixture
def sfx():
    return TrackFactory(kind="sfx")


def test_no_membership_and_no_credit_is_refused_with_a_link_to_pricing(owner, track):
    decision = entitlements.check(owner, track=track)
    assert not decision.allowed and decision.source is None
    assert decision.url == "/pricing/"
    with pytest.raises(EntitlementError) as exc:
        entitlements.consume(owner, track=track)
    assert exc.value.url == "/pricing/"
    assert "membership" in str(exc.value)


def test_anonymous_users_are_told_to_sign_in(track):
    from django.contrib.auth.models import AnonymousUser

    assert not entitlements.check(AnonymousUser(), track=track).allowed
    with pytest.raises(EntitlementError):
        entitlements.consume(AnonymousUser(), track=track)


def test_check_writes_nothing(owner, track):
    SubscriptionFactory(user=owner)
    decision = entitlements.check(owner, track=track)
    assert decision.allowed and decision.source == "membership" and decision.remaining == 10
    assert not MembershipUsage.objects.exists()


def test_consume_takes_one_unit_from_the_membership_period(owner, track):
    sub = SubscriptionFactory(user=owner, plan=PlanFactory(licences_per_period=2))
    first = entitlements.consume(owner, track=track)
    assert (first.source_type, first.source_id, first.remaining) == ("membership", sub.pk, 1)
    entitlements.consume(owner, track=track)
    with pytest.raises(EntitlementError) as exc:
        entitlements.consume(owner, track=track)
    assert "used all 2 licences" in str(exc.value)
    usage = MembershipUsage.objects.get()
    assert (usage.used, usage.allowance) == (2, 2)


def test_consumption_is_given_back_when_the_callers_transaction_rolls_back(owner, track):
    SubscriptionFactory(user=owner, plan=PlanFactory(licences_per_period=1))
    with pytest.raises(RuntimeError), transaction.atomic():
        entitlements.consume(owner, track=track)
        raise RuntimeError("licence could not be written")
    assert entitlements.consume(owner, track=track).source_type == "membership"


def test_a_new_period_starts_a_new_count(owner, track):
    sub = SubscriptionFactory(user=owner, plan=PlanFactory(licences_per_period=1))
    entitlements.consume(owner, track=track)
    with pytest.raises(EntitlementError):
        entitlements.consume(owner, track=track)
    now = timezone.now()
    Subscription.objects.filter(pk=sub.pk).update(
        current_period_start=now, current_period_end=now + datetime.timedelta(days=30)
    )
    assert entitlements.consume(owner, track=track).source_type == "membership"
    assert MembershipUsage.objects.count() == 2


def test_membership_is_used_before_a_credit_for_the_same_track(owner, track):
    SubscriptionFactory(user=owner, plan=PlanFactory(licences_per_period=1))
    credit = TrackCreditFactory(user=owner, track=track)
    assert entitlements.consume(owner, track=track).source_type == "membership"
    second = entitlements.consume(owner, track=track)
    assert (second.source_type, second.source_id) == ("credit", credit.pk)
    credit.refresh_from_db()
    assert credit.status == "used" and credit.used_at is not None


def test_a_credit_is_only_for_its_own_track(owner, track):
    TrackCreditFactory(user=owner, track=TrackFactory())
    assert not entitlements.check(owner, track=track).allowed
    with pytest.raises(EntitlementError):
        entitlements.consume(owner, track=track)


def test_a_credit_is_only_for_its_own_account(owner, other, track):
    TrackCreditFactory(user=other, track=track)
    with pytest.raises(EntitlementError):
        entitlements.consume(owner, track=track)


def test_revoked_and_used_credits_give_nothing(owner, track):
    TrackCreditFactory(user=owner, track=track, status="revoked")
    TrackCreditFactory(user=owner, track=track, status="used")
    assert not entitlements.check(owner, track=track).allowed


def test_past_due_membership_stops_new_licences_and_points_to_billing(owner, track):
    SubscriptionFactory(user=owner, status="past_due")
    decision = entitlements.check(owner, track=track)
    assert not decision.allowed
    assert decision.url == "/account/billing/"
    with pytest.raises(EntitlementError) as exc:
        entitlements.consume(owner, track=track)
    assert "payment failed" in str(exc.value)
    assert exc.value.url == "/account/billing/"


def test_a_bought_credit_still_works_while_the_membership_is_past_due(owner, track):
    SubscriptionFactory(user=owner, status="past_due")
    credit = TrackCreditFactory(user=owner, track=track)
    assert entitlements.consume(owner, track=track).source_id == credit.pk


def test_ended_membership_gives_nothing(owner, track):
    SubscriptionFactory(user=owner, status="canceled", ended_at=timezone.now())
    assert not entitlements.check(owner, track=track).allowed
    with pytest.raises(EntitlementError):
        entitlements.consume(owner, track=track)


def test_sound_effects_need_a_plan_that_includes_them(owner, sfx):
    SubscriptionFactory(user=owner, plan=PlanFactory(includes_sfx=False))
    decision = entitlements.check(owner, track=sfx)
    assert not decision.allowed and "music only" in decision.reason
    with pytest.raises(EntitlementError):
        entitlements.consume(owner, track=sfx)
    TrackCreditFactory(user=owner, track=sfx)
    assert entitlements.consume(owner, track=sfx).source_type == "credit"


def test_sound_effects_are_covered_by_plans_that_include_them(owner, sfx):
    SubscriptionFactory(user=owner, plan=PlanFactory(includes_sfx=True))
    assert entitlements.consume(owner, track=sfx).source_type == "membership"


def test_unlimited_plans_stop_at_the_fair_use_ceiling(owner, track):
    SubscriptionFactory(user=owner, plan=PlanFactory(licences_per_period=None, fair_use_ceiling=2))
    entitlements.consume(owner, track=track)
    entitlements.consume(owner, track=track)
    with pytest.raises(EntitlementError) as exc:
        entitlements.consume(owner, track=track)
    assert "fair-use" in str(exc.value)


def test_business_allowance_grows_with_seats(owner, track):
    plan = PlanFactory(licences_per_period=None, fair_use_ceiling=2, is_business=True)
    SubscriptionFactory(user=owner, plan=plan, quantity=3)
    for _ in range(6):
        entitlements.consume(owner, track=track)
    with pytest.raises(EntitlementError):
        entitlements.consume(owner, track=track)


def test_expired_complimentary_membership_gives_nothing(owner, track):
    now = timezone.now()
    Subscription.objects.create(
        user=owner,
        plan=PlanFactory(),
        source="complimentary",
        status="active",
        started_at=now - datetime.timedelta(days=40),
        current_period_start=now - datetime.timedelta(days=40),
        current_period_end=now - datetime.timedelta(days=1),
    )
    assert not entitlements.check(owner, track=track).allowed


def test_complimentary_membership_counts_in_monthly_windows(owner, track):
    now = timezone.now()
    sub = Subscription.objects.create(
        user=owner,
        plan=PlanFactory(licences_per_period=1),
        source="complimentary",
        status="active",
        started_at=now - datetime.timedelta(days=45),
        current_period_start=now - datetime.timedelta(days=45),
        current_period_end=now + datetime.timedelta(days=300),
    )
    start, end = sub.usage_window(now)
    assert start <= now < end
    assert (end - start).days in (28, 29, 30, 31)
    assert entitlements.consume(owner, track=track).source_id == sub.pk


def test_issued_licences_are_never_touched_by_billing_changes():
    """Billing has no path to licences: nothing in billing imports or writes the licensing models."""
    import pathlib

    import billing

    root = pathlib.Path(billing.__file__).parent
    for path in root.rglob("*.py"):
        text = path.read_text()
        assert "from licensing" not in text and "import licensing" not in text, path
        assert '"licensing.' not in text, path


# --- concurrency (PostgreSQL, real threads) ------------------------------------------------


def _race(workers, action):
    barrier = threading.Barrier(len(workers))
    results = []
    lock = threading.Lock()

    def run(user, track):
        from django.db import connections

        try:
            barrier.wait()
            with transaction.atomic():
                outcome = action(user, track)
            with lock:
                results.append(outcome)
        except EntitlementError as exc:
            with lock:
                results.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=args) for args in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_consumption_of_the_last_unit_lets_exactly_one_through():
    user = UserFactory()
    track = TrackFactory()
    sub = SubscriptionFactory(user=user, plan=PlanFactory(licences_per_period=3))
    entitlements.consume(user, track=track)
    entitlements.consume(user, track=track)  # one unit left

    results = _race([(user, track)] * 8, lambda u, t: entitlements.consume(u, track=t))
    taken = [r for r in results if not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, EntitlementError)]
    assert len(results) == 8
    assert len(taken) == 1 and taken[0].source_id == sub.pk
    assert len(refused) == 7
    assert MembershipUsage.objects.get().used == 3
    assert connection.vendor == "postgresql"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_first_downloads_of_a_period_never_exceed_the_quota():
    user = UserFactory()
    track = TrackFactory()
    SubscriptionFactory(user=user, plan=PlanFactory(licences_per_period=5))
    results = _race([(user, track)] * 12, lambda u, t: entitlements.consume(u, track=t))
    assert sum(1 for r in results if not isinstance(r, Exception)) == 5
    assert MembershipUsage.objects.count() == 1
    assert MembershipUsage.objects.get().used == 5


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_use_of_one_credit_lets_exactly_one_through():
    user = UserFactory()
    track = TrackFactory()
    credit = TrackCreditFactory(user=user, track=track)
    results = _race([(user, track)] * 6, lambda u, t: entitlements.consume(u, track=t))
    taken = [r for r in results if not isinstance(r, Exception)]
    assert len(taken) == 1 and taken[0].source_id == credit.pk
    assert TrackCredit.objects.get().status == "used"
