"""May this account take a licence for this track now, and from which source?

The licensing app calls two functions:

- ``check(user, track=...)`` answers without writing anything (to label buttons).
- ``consume(user, track=...)`` takes one unit, inside the caller's transaction, so the unit
  is given back if the licence is not issued. It is exact under concurrency: the membership
  row is locked (``select_for_update``) and the period's counter only moves through a
  conditional ``UPDATE … SET used = used + 1 WHERE used < allowance``; a credit only moves
  through ``UPDATE … WHERE status = 'available'``. Two downloads racing for the last unit:
  exactly one gets it, the other gets ``EntitlementError``.

Which source is used first: **the membership**, then a single-track credit for that exact
track. A credit was paid for one specific track and never expires, while membership units
renew every period; taking the renewable unit first keeps the bought credit for later (a
second project with the same track, or after the membership ends). A credit also works
while a membership payment has failed (past due) or when the plan doesn't include sound
effects: it was paid for separately.

Nothing here ever touches licences already issued: billing state decides only what may be
taken next.
"""

import functools
from dataclasses import dataclass

from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from allmytracks.errors import UserFacingError

from .models import (
    ENTITLING,
    PAYMENT_PROBLEM,
    CreditStatus,
    MembershipUsage,
    Source,
    Subscription,
    TrackCredit,
)


class EntitlementError(UserFacingError):
    """No unit may be taken. ``str()`` is for the user; ``url`` is where to fix it."""


@dataclass(frozen=True)
class Decision:
    allowed: bool
    source: str | None  # "membership", "credit" or None
    reason: str
    url: str | None = None
    remaining: int | None = None  # membership units left this period, when the source is a membership
    unlimited: bool = False  # the membership is unlimited: ``remaining`` is what fair use leaves


@dataclass(frozen=True)
class Consumption:
    source_type: str  # "membership" or "credit"
    source_id: int  # Subscription id or TrackCredit id
    remaining: int | None = None


MEMBERSHIP = "membership"
CREDIT = "credit"


def current_membership(user, *, lock=False):
    """The account's membership that decides entitlements now (or None).

    Entitling memberships come first, then ones with a payment problem; ended, expired
    complimentary and never-paid ones are not memberships at all."""
    if lock:
        # One statement: every live membership of the account (a handful at most), locked, then
        # ranked in Python as ``current_first`` ranks them, on what the locked rows say now.
        candidates = sorted(
            Subscription.objects.for_account(user)
            .live()
            .select_related("plan")
            .select_for_update(of=("self",)),
            key=_rank_key,
        )[:5]
    else:
        candidates = list(
            Subscription.objects.for_account(user).live().current_first().select_related("plan")[:5]
        )
    now = timezone.now()
    for membership in candidates:
        if membership.status == "incomplete":
            continue
        if (
            membership.is_complimentary
            and membership.current_period_end
            and membership.current_period_end <= now
        ):
            continue
        return membership
    return None


def _rank_key(membership):
    """The order of ``SubscriptionQuerySet.current_first``, for rows already loaded."""
    rank = 0 if membership.status in ENTITLING else 1 if membership.status in PAYMENT_PROBLEM else 2
    return (rank, -membership.created_at.timestamp(), -membership.pk)


def _pricing_url():
    return reverse("billing:pricing")


def _billing_url():
    return reverse("billing:account-billing")


def _membership_refusal(membership, track, used):
    """Why this membership cannot cover this track now ("" if it can)."""
    plan = membership.plan
    if membership.has_payment_problem:
        return (
            "Your last membership payment failed, so new licences are paused. Update your payment "
            "method to continue; licences you already have stay valid.",
            _billing_url(),
        )
    if membership.status not in ("active", "trialing"):
        return ("Your membership is not active.", _pricing_url())
    if track.kind == "sfx" and not plan.includes_sfx:
        return (
            f"Your {plan.name} plan covers music only. Sound effects come with plans that include them, "
            "or buy this sound effect on its own.",
            _pricing_url(),
        )
    allowance = plan.allowance(membership.quantity)
    if used >= allowance:
        if plan.is_unlimited:
            return (
                "You have reached this period's fair-use limit. Write to support if you need more.",
                _billing_url(),
            )
        _start, end = membership.usage_window()
        return (
            f"You have used all {allowance} licences of this period. They renew on {end:%d %B %Y}; "
            "you can also buy this track on its own.",
            _pricing_url(),
        )
    return None


def _used_now(membership):
    start, _end = membership.usage_window()
    row = MembershipUsage.objects.filter(subscription=membership, period_start=start).only("used").first()
    return row.used if row else 0


def _no_source_reason(user):
    return ("Choose a membership or buy this track to download it with a licence.", _pricing_url())


def check(user, *, track):
    """Could ``user`` take a licence for ``track`` right now? Writes nothing."""
    if user is None or not user.is_authenticated:
        return Decision(False, None, "Sign in to download with a licence.", reverse("account_login"))
    membership = current_membership(user)
    refusal = None
    if membership is not None:
        used = _used_now(membership)
        refusal = _membership_refusal(membership, track, used)
        if refusal is None:
            allowance = membership.plan.allowance(membership.quantity)
            return Decision(
                True,
                MEMBERSHIP,
                f"Included in your {membership.plan.name} membership.",
                remaining=allowance - used,
                unlimited=membership.plan.is_unlimited,
            )
    if TrackCredit.objects.for_account(user).available().filter(track=track).exists():
        return Decision(True, CREDIT, "You bought this track: one licence is ready to use.")
    reason, url = refusal or _no_source_reason(user)
    return Decision(False, None, reason, url)


def can_license_any(user, tracks):
    """Whether ``user`` has anything to licence some of ``tracks`` with: a current membership, or
    one of them bought (which of them it covers is each grant's own check)."""
    if current_membership(user) is not None:
        return True
    return TrackCredit.objects.for_account(user).available().filter(track__in=tracks).exists()


def _usage_row(membership):
    start, end = membership.usage_window()
    allowance = membership.plan.allowance(membership.quantity)
    row = MembershipUsage.objects.filter(subscription=membership, period_start=start).first()
    if row is None:
        try:
            with transaction.atomic():
                row = MembershipUsage.objects.create(
                    subscription=membership, period_start=start, period_end=end, allowance=allowance
                )
        except IntegrityError:
            row = MembershipUsage.objects.get(subscription=membership, period_start=start)
    elif row.allowance != allowance and allowance > row.used:
        # Seats or plan changed mid-period: the new allowance counts from now on.
        MembershipUsage.objects.filter(pk=row.pk).update(allowance=allowance)
        row.allowance = allowance
    return row


@functools.cache
def _take_unit_sql():
    """``UPDATE … SET used = used + 1 … WHERE … used < allowance RETURNING used, allowance``.

    Names come from the model's metadata; the values are always parameters."""
    meta = MembershipUsage._meta
    q = connection.ops.quote_name

    def col(name):
        return q(meta.get_field(name).column)

    used, allowance = col("used"), col("allowance")
    return (
        f"UPDATE {q(meta.db_table)} SET {used} = {used} + 1, {allowance} = %s, {col('updated_at')} = %s "  # noqa: S608
        f"WHERE {col('subscription')} = %s AND {col('period_start')} = %s AND {used} < %s "
        f"RETURNING {used}, {allowance}"
    )


def _take_membership_unit(membership):
    """One statement: ``used + 1`` on this period's row if a unit is left under the plan's allowance.

    Returns (used, allowance) after taking, ``False`` when every unit is used, ``None`` when the
    period has no row yet. The allowance follows the plan (seats or plan changed mid-period)
    exactly as ``_usage_row`` does: a unit is taken only while ``used < allowance``."""
    start, _end = membership.usage_window()
    allowance = membership.plan.allowance(membership.quantity)
    prep = MembershipUsage._meta.get_field("period_start").get_db_prep_value
    with connection.cursor() as cursor:
        cursor.execute(
            _take_unit_sql(),
            [allowance, prep(timezone.now(), connection), membership.pk, prep(start, connection), allowance],
        )
        row = cursor.fetchone()
    if row is not None:
        return row[0], row[1]
    if MembershipUsage.objects.filter(subscription=membership, period_start=start).exists():
        return False
    return None


def consume(user, *, track):
    """Take one unit for a licence of ``track``; run inside the caller's transaction.

    Returns a ``Consumption`` naming the source; raises ``EntitlementError`` when there is
    nothing to take (no unit left, membership past due or ended, sound effects not in the
    plan, and no credit for this track)."""
    if user is None or not user.is_authenticated:
        raise EntitlementError("Sign in to download with a licence.", reverse("account_login"))
    if connection.in_atomic_block:  # the caller's transaction holds the locks; no savepoint needed
        return _consume(user, track)
    with transaction.atomic():
        return _consume(user, track)


def _consume(user, track):
    """``consume`` inside a transaction. Writes only what it returns (or an empty period row)."""
    membership = current_membership(user, lock=True)
    refusal = None
    if membership is not None:
        refusal = _membership_refusal(membership, track, 0)
        if refusal is None:
            taken = _take_membership_unit(membership)
            if taken is None:  # first licence of the period: make the period's row, then try again
                _usage_row(membership)
                taken = _take_membership_unit(membership)
            if taken:
                used, allowance = taken
                return Consumption(MEMBERSHIP, membership.pk, remaining=allowance - used)
            full = membership.plan.allowance(membership.quantity)
            refusal = _membership_refusal(membership, track, full)
    for credit_id in (
        TrackCredit.objects.select_for_update()
        .filter(user=user, track=track, status=CreditStatus.AVAILABLE)
        .order_by("created_at", "id")
        .values_list("id", flat=True)
    ):
        taken = TrackCredit.objects.filter(pk=credit_id, status=CreditStatus.AVAILABLE).update(
            status=CreditStatus.USED, used_at=timezone.now()
        )
        if taken:
            return Consumption(CREDIT, credit_id)
    reason, url = refusal or _no_source_reason(user)
    raise EntitlementError(reason, url)


def usage_summary(membership):
    """(used, allowance, period end) for the billing page; no writes."""
    start, end = membership.usage_window()
    row = MembershipUsage.objects.filter(subscription=membership, period_start=start).first()
    allowance = membership.plan.allowance(membership.quantity)
    return (row.used if row else 0), allowance, end


__all__ = ["Consumption", "Decision", "EntitlementError", "Source", "check", "consume"]
