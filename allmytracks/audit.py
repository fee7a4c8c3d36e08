"""Writing to the audit log: one call per staff action or service change."""

import logging

from allauth.account.adapter import get_adapter
from django.core.exceptions import ImproperlyConfigured, PermissionDenied

from .models import AuditLog

log = logging.getLogger(__name__)


def client_ip(request):
    """The client's address: allauth's rule (``ALLAUTH_TRUSTED_PROXY_COUNT`` proxies trusted in
    X-Forwarded-For, or ``ALLAUTH_TRUSTED_CLIENT_IP_HEADER``; else REMOTE_ADDR), so its sign-in
    limits and ours count the same client; REMOTE_ADDR when the proxy's header is missing (a probe
    straight to the server). Worked out once per request. None without a request."""
    if request is None:
        return None
    try:
        return request._amt_client_ip
    except AttributeError:
        pass
    try:
        ip = get_adapter(request).get_client_ip(request)
    except PermissionDenied:  # no usable address in the trusted header
        ip = request.META.get("REMOTE_ADDR") or None
    except ImproperlyConfigured:  # fewer forwarded addresses than trusted proxies
        log.warning(
            "X-Forwarded-For %r has fewer addresses than trusted proxies",
            request.headers.get("x-forwarded-for"),
        )
        ip = request.META.get("REMOTE_ADDR") or None
    request._amt_client_ip = ip
    return ip


def record(action, *, actor=None, target=None, reason="", request=None, **data):
    """Append one audit row. ``actor`` is a user or None for the system."""
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    return AuditLog.objects.create(
        actor=actor,
        action=action,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        target_repr=str(target)[:200] if target is not None else "",
        reason=reason,
        data=data,
        ip=client_ip(request),
    )


# --- labels for the staff site ------------------------------------------------------------
# What each action code means, in the words staff use. Codes stay stable in the database; only
# these labels change. A code missing here is shown humanised ("catalog.ingest_retry" → "Catalog:
# ingest retry"); tests/foundation checks that every code the project writes has a label.
ACTION_LABELS = {
    # Members
    "accounts.registered": "Account registered",
    "accounts.admin_created": "Account created by staff",
    "accounts.admin_edited": "Account edited by staff",
    "accounts.suspended": "Account suspended",
    "accounts.banned": "Account banned",
    "accounts.reinstated": "Account reinstated",
    "accounts.rename_forced": "New display name required",
    "accounts.registration_refused": "Registration details refused",
    "accounts.profile_resubmitted": "Profile details resubmitted",
    "accounts.enterprise_marked": "Became an enterprise account",
    "accounts.enterprise_applied": "Enterprise application submitted",
    "accounts.enterprise_approved": "Enterprise application approved",
    "accounts.enterprise_rejected": "Enterprise application rejected",
    "accounts.guardian_requested": "Guardian's confirmation requested",
    "accounts.guardian_confirmed": "Guardian confirmed",
    "accounts.cancellation_requested": "Cancellation requested",
    "accounts.cancellation_withdrawn": "Cancellation request withdrawn",
    "accounts.cancellation_approved": "Cancellation approved",
    "accounts.cancellation_rejected": "Cancellation rejected",
    "accounts.cancelled": "Account cancelled",
    "accounts.compromise_locked": "Locked after a compromise report",
    "accounts.compromise_reported_unknown": "Compromise reported for an unknown email",
    "accounts.compromise_reported_again": "Compromise reported again while locked",
    "accounts.compromise_report_held": "Compromise reported soon after recovery: not locked, for staff",
    "accounts.data_exported": "Copy of account data downloaded",
    "accounts.compromise_resolved": "Compromise report resolved",
    "accounts.recovered": "Account recovered by its owner",
    "accounts.blocklist_saved": "Blocked name word saved",
    "accounts.blocklist_deleted": "Blocked name word deleted",
    # Catalogue
    "catalog.upload": "Track uploaded",
    "catalog.ingest_retry": "Ingest retried",
    "catalog.publish": "Tracks published",
    "catalog.unpublish": "Tracks unpublished",
    "catalog.artist_merged": "Artist merged into this one",
    "catalog.track_edited": "Track edited by staff",
    "catalog.track_deleted": "Track deleted",
    "catalog.artist_added": "Artist added",
    "catalog.artist_edited": "Artist edited by staff",
    "catalog.artist_deleted": "Artist deleted",
    "catalog.collection_added": "Collection added",
    "catalog.collection_edited": "Collection edited by staff",
    "catalog.collection_deleted": "Collection deleted",
    "catalog.category_added": "Sound category added",
    "catalog.category_edited": "Sound category edited by staff",
    "catalog.category_deleted": "Sound category deleted",
    "catalog.follow_digest": "Followed-artists email turned on or off",
    # Billing
    "billing.plan_added": "Plan added",
    "billing.plan_changed": "Plan changed",
    "billing.event_reopened": "Stripe event to be processed again",
    "billing.checkout_confirmed": "Checkout confirmed by the member",
    "billing.credit_purchased": "Single track bought",
    "billing.credit_revoked": "Single-track credit revoked",
    "billing.complimentary_granted": "Complimentary membership granted",
    "billing.complimentary_ended": "Complimentary membership ended",
    "billing.complimentary_expired": "Complimentary membership expired",
    "billing.subscription_status": "Membership status changed",
    "billing.reconciled": "Membership corrected from Stripe",
    "billing.extra_seats": "Extra seats changed",
    "billing.seats_set": "Designated seats changed",
    "billing.task_resolved": "Billing task resolved",
    "billing.account_cancelled": "Billing closed for a cancelled account",
    # Licensing
    "licensing.license_granted": "Licence granted",
    "licensing.license_revoked": "Licence revoked",
    "licensing.sole_end_user_fixed": "End user fixed",
    "licensing.end_user_designated": "Designated end user named",
    "licensing.end_user_emails_erased": "End users' emails erased",
    "licensing.letter_requested": "Licence letter requested",
    "licensing.letter_rendered": "Licence letter made",
    "licensing.letter_regenerated": "Licence letter made again",
    "licensing.project_corrected": "Project corrected by staff",
    "licensing.end_user_corrected": "End user corrected by staff",
    # Legal
    "legal.draft": "Agreement draft started",
    "legal.publish": "Agreement version published",
    "legal.decline": "Agreement declined",
    "legal.message": "Private message sent",
    "legal.notice.start": "Notice sending started",
    "legal.notice.resume": "Notice sending resumed",
}

# Keys of an entry's details, where the plain humanised key would mislead or be unclear.
DETAIL_LABELS = {
    "track_ids": "Tracks",
    "email_sha256": "Email fingerprint (SHA-256)",
    "sha256": "Text fingerprint (SHA-256)",
    "via": "Signed up with",
    "minor": "Under 18",
    "old": "Before",
    "new": "After",
    "why": "Because of",
    "fields": "Fields changed",
    "stripe_object": "Stripe object",
    "stripe_subscription": "Stripe subscription",
    "payment_intent": "Stripe payment",
}


def action_label(code):
    """The staff-facing words for an audit action code."""
    if code in ACTION_LABELS:
        return ACTION_LABELS[code]
    app, _, rest = code.partition(".")
    if not rest:
        return code.replace("_", " ").capitalize()
    return f"{app.capitalize()}: {rest.replace('.', ' ').replace('_', ' ')}"


def detail_label(key):
    return DETAIL_LABELS.get(key) or key.replace("_", " ").capitalize()
