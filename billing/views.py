"""Billing pages: pricing, purchase confirmation, Stripe's return pages, the webhook,
the account's billing page and the way into Stripe's Customer Portal."""

import logging

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, HttpResponseBadRequest, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST, require_safe

from allmytracks.ratelimit import ratelimit

from . import entitlements, services, stripe_client, webhooks
from .forms import MembershipCheckoutForm, TrackCheckoutForm
from .models import (
    BillingAccount,
    Checkout,
    CheckoutStatus,
    Interval,
    Invoice,
    Plan,
    Subscription,
    TrackCredit,
)
from .money import format_money

log = logging.getLogger(__name__)


def _see_other(url):
    """Off to Stripe with a 303, so the browser does a plain GET there."""
    response = HttpResponseRedirect(url)
    response.status_code = 303
    return response


def _signed_in_template():
    """accounts provides the "signed in as" strip; fall back to our own until it exists."""
    try:
        get_template("accounts/_signed_in_as.html")
    except TemplateDoesNotExist:
        return "billing/_account_strip.html"
    return "accounts/_signed_in_as.html"


def _pricing_columns(plans, interval):
    """One column per plan family, showing the plan of the chosen interval."""
    families = {}
    for plan in plans:
        families.setdefault(plan.family, []).append(plan)
    columns = []
    for members in families.values():
        by_interval = {p.interval: p for p in members}
        plan = by_interval.get(interval) or members[0]
        monthly = by_interval.get(Interval.MONTH)
        yearly = by_interval.get(Interval.YEAR)
        saving = 0
        if yearly and monthly and monthly.price_cents:
            full = monthly.price_cents * 12
            saving = round(100 * (full - yearly.price_cents) / full) if full > yearly.price_cents else 0
        columns.append(
            {
                "plan": plan,
                "family": plan.family,
                "saving": saving if plan == yearly else 0,
                "yearly_saving": saving,
            }
        )
    return columns


@require_safe
def pricing(request):
    interval = Interval.YEAR if request.GET.get("interval") == "year" else Interval.MONTH
    columns = _pricing_columns(list(Plan.objects.active().order_by("sort_order", "pk")), interval)
    membership = None
    if request.user.is_authenticated:
        membership = entitlements.current_membership(request.user)
    music_cents, currency = services.single_track_price("music")
    sfx_cents, _ = services.single_track_price("sfx")

    return render(
        request,
        "billing/pricing.html",
        {
            "columns": columns,
            "best_saving": max((col["yearly_saving"] for col in columns), default=0),
            "interval": interval,
            "membership": membership,
            "payments_configured": stripe_client.is_configured(),
            "single_track_price": format_money(music_cents, currency),
            "single_sfx_price": format_money(sfx_cents, currency),
        },
    )


def _blocked_reason(user, item="membership"):
    try:
        services.check_can_buy(user, item=item)
    except services.CheckoutError as exc:
        return exc
    return None


@login_required
@ratelimit("billing-checkout", "20/m", methods=("POST",))
@require_http_methods(["GET", "POST"])
def checkout(request, plan):
    """Confirmation page for a membership: price, period, account, terms, no-refund tick."""
    plan = get_object_or_404(Plan.objects.active(), slug=plan)
    if plan.is_free:
        return redirect("billing:pricing")
    existing = services.live_membership(request.user)
    form = MembershipCheckoutForm(request.POST or None, plan=plan)
    if request.method == "POST" and form.is_valid():
        try:
            started = services.start_membership_checkout(
                user=request.user,
                plan=plan,
                attempt=form.cleaned_data["attempt"],
                quantity=form.cleaned_data.get("quantity") or 1,
                request=request,
            )
        except services.CheckoutError as exc:
            messages.error(request, str(exc))
            if exc.url and exc.url != request.path:
                return redirect(exc.url)
        else:
            return _see_other(started.stripe_url) if started.stripe_url else redirect("billing:pricing")
    return render(
        request,
        "billing/checkout.html",
        {
            "plan": plan,
            "form": form,
            "blocked": _blocked_reason(request.user),
            "existing": existing,
            "agreement": services.membership_agreement(),
            "signed_in_template": _signed_in_template(),
        },
    )


@login_required
@ratelimit("billing-checkout", "20/m", methods=("POST",))
@require_http_methods(["GET", "POST"])
def buy_track(request, slug):
    """Confirmation page for one licence credit for one track."""
    from catalog.models import Track

    track = get_object_or_404(Track.objects.select_related("artist"), slug=slug, is_published=True)
    cents, currency = services.single_track_price(track.kind)
    form = TrackCheckoutForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            started = services.start_track_checkout(
                user=request.user, track=track, attempt=form.cleaned_data["attempt"], request=request
            )
        except services.CheckoutError as exc:
            messages.error(request, str(exc))
            if exc.url and exc.url != request.path:
                return redirect(exc.url)
        else:
            return _see_other(started.stripe_url)
    return render(
        request,
        "billing/buy_track.html",
        {
            "track": track,
            "price": format_money(cents, currency),
            "form": form,
            "blocked": _blocked_reason(request.user, item="track"),
            "decision": entitlements.check(request.user, track=track),
            "credits_for_track": TrackCredit.objects.for_account(request.user)
            .available()
            .filter(track=track)
            .count(),
            "signed_in_template": _signed_in_template(),
        },
    )


def _own_checkout(request):
    ref = request.GET.get("ref", "")
    try:
        return get_object_or_404(
            Checkout.objects.select_related("plan", "track"), user=request.user, attempt=ref
        )
    except Exception as exc:  # a malformed UUID is as unknown as a missing one
        raise Http404("No such checkout.") from exc


@login_required
@require_GET
def checkout_success(request):
    """Back from Stripe. This page grants nothing: only the verified webhook does."""
    checkout = _own_checkout(request)
    template = "billing/_checkout_status.html" if request.htmx else "billing/checkout_success.html"
    return render(
        request,
        template,
        {
            "checkout": checkout,
            "done": checkout.status == CheckoutStatus.COMPLETED,
            "credit": _credit(checkout),
        },
    )


def _credit(checkout):
    return TrackCredit.objects.filter(checkout=checkout).first()


@login_required
@require_safe
def checkout_cancel(request):
    checkout = _own_checkout(request)
    return render(request, "billing/checkout_cancel.html", {"checkout": checkout})


@csrf_exempt
@require_POST
def webhook(request):
    """Stripe → AllMyTracks. Verify, store once, answer fast; the work happens in a task."""
    try:
        event = stripe_client.construct_event(request.body, request.headers.get("Stripe-Signature"))
    except (ValueError, stripe_client.SignatureVerificationError) as exc:
        log.warning("Refused a Stripe webhook: %s", exc)
        return HttpResponseBadRequest("Invalid signature or payload.", content_type="text/plain")
    if not isinstance(event, dict) or not event.get("id") or not event.get("type"):
        return HttpResponseBadRequest("Not an event.", content_type="text/plain")
    _stored, created = webhooks.receive(event)
    return HttpResponse("stored" if created else "duplicate", content_type="text/plain")


@login_required
@require_safe
def account_billing(request):
    user = request.user
    membership = entitlements.current_membership(user)
    usage = None
    if membership is not None:
        used, allowance, period_end = entitlements.usage_summary(membership)
        usage = {
            "used": used,
            "allowance": allowance,
            "period_end": period_end,
            "percent": min(100, round(100 * used / allowance)) if allowance else 0,
        }
    invoices = list(Invoice.objects.for_account(user).order_by("-issued_at", "-id")[:24])
    credits = list(TrackCredit.objects.for_account(user).select_related("track", "track__artist")[:50])
    past = list(
        Subscription.objects.for_account(user)
        .exclude(pk=getattr(membership, "pk", None))
        .select_related("plan")
        .order_by("-created_at")[:10]
    )
    return render(
        request,
        "billing/account_billing.html",
        {
            "membership": membership,
            "usage": usage,
            "invoices": invoices,
            "credits": credits,
            "available_credits": sum(1 for c in credits if c.status == "available"),
            "past_memberships": past,
            "has_customer": BillingAccount.objects.filter(
                user=user, stripe_customer_id__isnull=False
            ).exists(),
            "payments_configured": stripe_client.is_configured(),
        },
    )


@login_required
@ratelimit("billing-portal", "10/m")
@require_POST
def portal(request):
    """Into Stripe's Customer Portal: card, plan change, seats, cancellation."""
    return_url = f"{settings.SITE_URL}{reverse('billing:account-billing')}"
    try:
        url = services.portal_url(user=request.user, return_url=return_url)
    except services.CheckoutError as exc:
        messages.error(request, str(exc))
        return redirect("billing:account-billing")
    return _see_other(url)
