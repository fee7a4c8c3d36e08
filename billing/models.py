"""Billing state: plans (data), the local mirror of Stripe subscriptions and invoices,
single-track credits, usage per membership period, and every Stripe event received.

Money and purchase rows are never deleted by a user action: credits move between
statuses, subscriptions end, invoices and events are mirrors.
"""

import datetime
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from .money import format_money


class Interval(models.TextChoices):
    MONTH = "month", "Monthly"
    YEAR = "year", "Yearly"


class PlanQuerySet(models.QuerySet):
    def active(self):
        return self.filter(active=True)

    def paid(self):
        return self.filter(price_cents__gt=0)


class Plan(models.Model):
    """One price of one membership: "Personal, monthly" and "Personal, yearly" are two plans
    of the same ``family``. Staff edit plans in admin; ``manage.py seed_plans`` creates them."""

    slug = models.SlugField(max_length=60, unique=True)
    family = models.SlugField(max_length=40, help_text="Plans shown in one pricing column (e.g. personal).")
    name = models.CharField(max_length=80)
    tagline = models.CharField(max_length=160, blank=True)
    interval = models.CharField(max_length=5, choices=Interval.choices, default=Interval.MONTH)
    price_cents = models.PositiveIntegerField(
        "price in cents",
        default=0,
        help_text="Price per interval in the smallest unit (per seat for business plans).",
    )
    currency = models.CharField(max_length=3, default="usd")
    stripe_price_id = models.CharField(
        max_length=100, blank=True, help_text="Stripe Price id (price_…). Empty: cannot be bought online."
    )
    licences_per_period = models.PositiveIntegerField(
        null=True, blank=True, help_text="Licences per billing period. Empty means unlimited (fair use)."
    )
    fair_use_ceiling = models.PositiveIntegerField(
        default=0,
        help_text="For unlimited plans: the most licences per period (per seat) before staff review.",
    )
    includes_sfx = models.BooleanField("includes sound effects", default=False)
    default_seats = models.PositiveSmallIntegerField(default=1, help_text="Designated end users included.")
    is_business = models.BooleanField(
        "business plan",
        default=False,
        help_text="Buying it makes the account an enterprise; the quantity is the seat count.",
    )
    highlight = models.BooleanField(default=False, help_text="Marked as the most popular plan.")
    features = models.JSONField(
        default=list, blank=True, help_text="Bullet points shown on the pricing page."
    )
    sort_order = models.PositiveSmallIntegerField(default=0)
    active = models.BooleanField(default=True, help_text="Shown on the pricing page and open to new buyers.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PlanQuerySet.as_manager()

    class Meta:
        ordering = ["sort_order", "price_cents"]
        constraints = [
            models.CheckConstraint(
                condition=Q(licences_per_period__isnull=False) | Q(fair_use_ceiling__gt=0),
                name="billing_plan_unlimited_needs_ceiling",
            )
        ]

    def __str__(self):
        return f"{self.name} ({self.get_interval_display().lower()})" if self.price_cents else self.name

    @property
    def is_free(self):
        return self.price_cents == 0

    @property
    def is_unlimited(self):
        return self.licences_per_period is None

    @property
    def price_display(self):
        return format_money(self.price_cents, self.currency)

    @property
    def monthly_equivalent_display(self):
        cents = self.price_cents // 12 if self.interval == Interval.YEAR else self.price_cents
        return format_money(cents, self.currency)

    @property
    def period_word(self):
        return "year" if self.interval == Interval.YEAR else "month"

    def allowance(self, quantity=1):
        """Licences one period allows; unlimited plans stop at the fair-use ceiling."""
        per_seat = self.fair_use_ceiling if self.is_unlimited else self.licences_per_period
        return per_seat * max(quantity, 1) if self.is_business else per_seat

    @property
    def allowance_display(self):
        if self.is_unlimited:
            return "Unlimited licences (fair use)"
        if self.licences_per_period == 0:
            return "Previews only"
        return f"{self.licences_per_period} licences a {self.period_word}"

    @property
    def purchasable(self):
        return self.active and not self.is_free and bool(self.stripe_price_id)


class BillingAccount(models.Model):
    """Billing facts about one account: its Stripe customer and staff-granted extra seats."""

    # The most extra seats staff may grant one account (``services.check_can_set_extra_seats``): far
    # above any real agency, and far below what the seat count can hold.
    MAX_EXTRA_SEATS = 1000

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="billing")
    stripe_customer_id = models.CharField(max_length=100, unique=True, null=True, blank=True)
    extra_seats = models.PositiveSmallIntegerField(
        default=0, help_text="Designated-user seats granted by staff on top of the purchased quantity."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"Billing for {self.user}"


class Status(models.TextChoices):
    """Stripe's subscription statuses, plus nothing of our own."""

    INCOMPLETE = "incomplete", "Waiting for first payment"
    INCOMPLETE_EXPIRED = "incomplete_expired", "First payment never arrived"
    TRIALING = "trialing", "Trial"
    ACTIVE = "active", "Active"
    PAST_DUE = "past_due", "Payment failed"
    UNPAID = "unpaid", "Unpaid"
    PAUSED = "paused", "Paused"
    CANCELED = "canceled", "Ended"


ENTITLING = {Status.ACTIVE, Status.TRIALING}
PAYMENT_PROBLEM = {Status.PAST_DUE, Status.UNPAID}
TERMINAL = {Status.CANCELED, Status.INCOMPLETE_EXPIRED}
LIVE = ENTITLING | PAYMENT_PROBLEM | {Status.INCOMPLETE, Status.PAUSED}


class Source(models.TextChoices):
    STRIPE = "stripe", "Paid through Stripe"
    COMPLIMENTARY = "complimentary", "Complimentary (granted by staff)"


class SubscriptionQuerySet(models.QuerySet):
    def for_account(self, user):
        return self.filter(user=user)

    def live(self):
        return self.filter(status__in=LIVE)

    def current_first(self):
        """Entitling memberships first, then payment problems, newest first."""
        rank = models.Case(
            models.When(status__in=ENTITLING, then=0),
            models.When(status__in=PAYMENT_PROBLEM, then=1),
            default=2,
            output_field=models.IntegerField(),
        )
        return self.annotate(_rank=rank).order_by("_rank", "-created_at", "-id")


class Subscription(models.Model):
    """The local mirror of a Stripe subscription, or a complimentary membership from staff.

    Changes come from verified webhooks, reconciliation, and staff; each change from Stripe
    carries the time Stripe made it (``stripe_updated_at``), and older news never overwrites
    newer. An ended subscription never comes back (Stripe cannot revive one either).
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="subscriptions")
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="subscriptions")
    source = models.CharField(max_length=14, choices=Source.choices, default=Source.STRIPE)
    stripe_subscription_id = models.CharField(max_length=100, unique=True, null=True, blank=True)
    stripe_customer_id = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.INCOMPLETE)
    quantity = models.PositiveSmallIntegerField(default=1)
    current_period_start = models.DateTimeField(null=True, blank=True)
    current_period_end = models.DateTimeField(null=True, blank=True)
    cancel_at_period_end = models.BooleanField(default=False)
    cancel_at = models.DateTimeField(null=True, blank=True)
    trial_end = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    stripe_updated_at = models.DateTimeField(
        null=True, blank=True, help_text="When Stripe made the newest change applied here."
    )
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    grant_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = SubscriptionQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "membership"
        indexes = [models.Index(fields=["user", "status"]), models.Index(fields=["status", "updated_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(source="complimentary") | Q(stripe_subscription_id__isnull=False),
                name="billing_subscription_stripe_has_id",
            )
        ]

    def __str__(self):
        return f"{self.plan} for {self.user} ({self.get_status_display()})"

    @property
    def is_complimentary(self):
        return self.source == Source.COMPLIMENTARY

    @property
    def is_entitling(self):
        return self.status in ENTITLING

    @property
    def has_payment_problem(self):
        return self.status in PAYMENT_PROBLEM

    @property
    def is_ended(self):
        return self.status in TERMINAL

    def usage_window(self, now=None):
        """The (start, end) of the period whose licences are counted now.

        Stripe subscriptions use Stripe's current period. Complimentary memberships count
        in windows of the plan's interval from their start, up to their end date.
        """
        now = now or timezone.now()
        if not self.is_complimentary and self.current_period_start and self.current_period_end:
            return self.current_period_start, self.current_period_end
        start = self.started_at or self.created_at or now
        step_months = 12 if self.plan.interval == Interval.YEAR else 1
        window_start, index = start, 0
        while True:
            window_end = add_months(start, step_months * (index + 1))
            if window_end > now:
                break
            index += 1
            window_start = window_end
        if self.current_period_end and window_end > self.current_period_end:
            window_end = self.current_period_end
        return window_start, window_end


class ComplimentaryMembership(Subscription):
    """Staff's view of memberships granted without payment (admin grants them here)."""

    class Meta:
        proxy = True
        verbose_name = "complimentary membership"


def add_months(moment, months):
    """The same day and time ``months`` later (clamped to the month's last day)."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    for day in (moment.day, 30, 29, 28):
        try:
            return moment.replace(year=year, month=month, day=min(moment.day, day))
        except ValueError:
            continue
    raise ValueError("unreachable")  # pragma: no cover


class MembershipUsage(models.Model):
    """Licences taken from one membership in one period. ``used`` only ever goes up, and
    only through a conditional UPDATE … WHERE used < allowance (see entitlements.consume)."""

    subscription = models.ForeignKey(Subscription, on_delete=models.PROTECT, related_name="usage")
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    allowance = models.PositiveIntegerField()
    used = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-period_start"]
        verbose_name = "licences used in a period"
        verbose_name_plural = "licences used per period"
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "period_start"], name="billing_usage_one_per_period"
            ),
            models.CheckConstraint(
                condition=Q(used__lte=models.F("allowance")), name="billing_usage_within_quota"
            ),
        ]

    def __str__(self):
        return f"{self.used} of {self.allowance} licences used from {self.period_start:%-d %b %Y}"

    @property
    def remaining(self):
        return max(self.allowance - self.used, 0)


class CheckoutKind(models.TextChoices):
    MEMBERSHIP = "membership", "Membership"
    TRACK = "track", "Single track"


class CheckoutStatus(models.TextChoices):
    CREATED = "created", "Being created"
    OPEN = "open", "Waiting for payment"
    COMPLETED = "completed", "Paid"
    EXPIRED = "expired", "Expired"
    FAILED = "failed", "Could not start"


class Checkout(models.Model):
    """One confirmed purchase attempt and its Stripe Checkout Session.

    ``attempt`` comes from the confirmation form, so submitting the same form twice
    finds this row (and Stripe's idempotency key returns the same session)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="checkouts")
    kind = models.CharField(max_length=10, choices=CheckoutKind.choices)
    attempt = models.UUIDField(default=uuid.uuid4)
    plan = models.ForeignKey(Plan, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    track = models.ForeignKey(
        "catalog.Track", null=True, blank=True, on_delete=models.PROTECT, related_name="billing_checkouts"
    )
    quantity = models.PositiveSmallIntegerField(default=1)
    amount_cents = models.PositiveIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=10, choices=CheckoutStatus.choices, default=CheckoutStatus.CREATED)
    stripe_session_id = models.CharField(max_length=200, unique=True, null=True, blank=True)
    stripe_url = models.URLField(max_length=1000, blank=True)
    stripe_payment_intent_id = models.CharField(max_length=100, blank=True, db_index=True)
    agreement_version = models.CharField(
        "membership terms accepted",
        max_length=60,
        blank=True,
        help_text="The Premium Membership Service Agreement version accepted at checkout (memberships only).",
    )
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["user", "attempt"], name="billing_checkout_attempt_unique"),
            models.CheckConstraint(
                condition=(Q(kind="membership", plan__isnull=False) | Q(kind="track", track__isnull=False)),
                name="billing_checkout_has_item",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} checkout {self.pk} for {self.user}"

    @property
    def idempotency_key(self):
        return f"amt-checkout-{self.user_id}-{self.attempt}"

    @property
    def amount_display(self):
        return format_money(self.amount_cents, self.currency)


class CreditStatus(models.TextChoices):
    AVAILABLE = "available", "Available"
    USED = "used", "Used"
    REVOKED = "revoked", "Revoked"


class TrackCreditQuerySet(models.QuerySet):
    def for_account(self, user):
        return self.filter(user=user)

    def available(self):
        return self.filter(status=CreditStatus.AVAILABLE)


class TrackCredit(models.Model):
    """One paid licence for one specific track (a single-track purchase)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="track_credits")
    track = models.ForeignKey("catalog.Track", on_delete=models.PROTECT, related_name="billing_credits")
    status = models.CharField(max_length=10, choices=CreditStatus.choices, default=CreditStatus.AVAILABLE)
    checkout = models.OneToOneField(
        Checkout, null=True, blank=True, on_delete=models.PROTECT, related_name="credit"
    )
    purchase_ref = models.CharField(
        "payment reference",
        max_length=100,
        blank=True,
        db_index=True,
        help_text="Stripe PaymentIntent id, or a staff note.",
    )
    amount_cents = models.PositiveIntegerField(default=0)
    currency = models.CharField(max_length=3, default="usd")
    created_at = models.DateTimeField(auto_now_add=True)
    used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.CharField(max_length=200, blank=True)

    objects = TrackCreditQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "single-track purchase"
        indexes = [models.Index(fields=["user", "track", "status"])]

    def __str__(self):
        return f"Credit for {self.track} ({self.get_status_display()}) — {self.user}"

    @property
    def amount_display(self):
        return format_money(self.amount_cents, self.currency)


class InvoiceQuerySet(models.QuerySet):
    def for_account(self, user):
        return self.filter(user=user)


class Invoice(models.Model):
    """The local mirror of a Stripe invoice (memberships)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="invoices")
    subscription = models.ForeignKey(
        Subscription,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="invoices",
        verbose_name="membership",
    )
    stripe_invoice_id = models.CharField(max_length=100, unique=True)
    number = models.CharField(max_length=60, blank=True)
    status = models.CharField(max_length=20, blank=True)
    amount_due = models.IntegerField(default=0)
    amount_paid = models.IntegerField(default=0)
    currency = models.CharField(max_length=3, default="usd")
    hosted_invoice_url = models.URLField(max_length=1000, blank=True)
    invoice_pdf = models.URLField(max_length=1000, blank=True)
    attempt_count = models.PositiveSmallIntegerField("payment attempts", default=0)
    next_payment_attempt = models.DateTimeField(null=True, blank=True)
    issued_at = models.DateTimeField(null=True, blank=True)
    stripe_updated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = InvoiceQuerySet.as_manager()

    class Meta:
        ordering = ["-issued_at", "-id"]

    def __str__(self):
        return self.number or self.stripe_invoice_id

    @property
    def amount_display(self):
        cents = self.amount_paid if self.status == "paid" else self.amount_due
        return format_money(cents, self.currency)


class StripeEvent(models.Model):
    """Every verified webhook event, stored once by its Stripe id and processed after commit."""

    stripe_id = models.CharField(max_length=100, unique=True)
    type = models.CharField(max_length=100, db_index=True)
    livemode = models.BooleanField("live mode", default=False, help_text="Off: a Stripe test-mode event.")
    api_version = models.CharField("Stripe API version", max_length=40, blank=True)
    stripe_created_at = models.DateTimeField(null=True, blank=True)
    payload = models.JSONField()
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-received_at"]
        indexes = [models.Index(fields=["processed_at", "received_at"])]

    def __str__(self):
        return f"{self.type} {self.stripe_id}"

    @property
    def data_object(self):
        return (self.payload.get("data") or {}).get("object") or {}


class TaskKind(models.TextChoices):
    REFUND_USED_CREDIT = "refund-used", "Refund of a credit already used"
    DISPUTE_USED_CREDIT = "dispute-used", "Dispute on a credit already used"
    DISPUTE = "dispute", "Dispute on a purchase"
    PARTIAL_REFUND = "partial-refund", "Partial refund"
    FAIR_USE = "fair-use", "Fair-use ceiling reached"


class StaffTask(models.Model):
    """Something billing cannot decide alone: staff look at it in admin and resolve it.

    Licences are never revoked automatically; staff decide here."""

    kind = models.CharField(max_length=20, choices=TaskKind.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="billing_tasks",
    )
    credit = models.ForeignKey(
        TrackCredit,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="tasks",
        verbose_name="single-track purchase",
    )
    stripe_object_id = models.CharField(max_length=100, blank=True)
    details = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolution = models.TextField(blank=True)

    class Meta:
        ordering = ["resolved_at", "-created_at"]
        verbose_name = "billing staff task"
        constraints = [
            models.UniqueConstraint(fields=["kind", "stripe_object_id"], name="billing_task_once_per_object"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} — {self.user}"


def from_timestamp(value):
    """Stripe's Unix seconds to an aware datetime (None stays None)."""
    if value in (None, ""):
        return None
    return datetime.datetime.fromtimestamp(int(value), tz=datetime.UTC)
