"""A copy of everything an account holds, as one JSON file its owner downloads from their account
(the right of access and to data portability).

Each app adds its own part: ``register(name, collect)`` in the app's ``ready()``, where
``collect(user)`` returns JSON-ready values (strings, numbers, lists, dicts; dates as ISO text via
``when``). Only the account's own records are read, through each app's ``for_account`` filters;
staff notes, other customers' data and internal identifiers (Stripe ids, storage paths, IP
addresses of other people) stay out.
"""

import datetime

from django.utils import timezone

FORMAT = "AllMyTracks account data"
VERSION = 1

_SECTIONS = {}


def register(name, collect):
    """Add a part to every export: ``collect(user)`` gives the value stored under ``name``."""
    _SECTIONS[name] = collect


def when(moment):
    """A date or time as ISO 8601 text (times in UTC), or None."""
    if moment is None:
        return None
    if hasattr(moment, "tzinfo") and moment.tzinfo is not None:
        moment = moment.astimezone(datetime.UTC)
    return moment.isoformat()


def collect(user):
    """The whole export: the account itself first, then each app's part in the order registered."""
    data = {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": when(timezone.now()),
        "account": _account(user),
    }
    for name, part in _SECTIONS.items():
        data[name] = part(user)
    return data


def _account(user):
    from allauth.mfa.models import Authenticator
    from allauth.usersessions.models import UserSession

    from .models import CancellationRequest, CompromiseReport, EnterpriseApplication, GuardianConsent

    return {
        "email": user.email,
        "display_name": user.display_name,
        "company": user.company,
        "country": user.country,
        "date_of_birth": when(user.date_of_birth),
        "profile_text": user.bio,
        "account_type": user.get_account_type_display(),
        "enterprise_since": when(user.enterprise_since),
        "designated_seats": user.designated_seats if user.is_enterprise else None,
        "joined": when(user.date_joined),
        "last_sign_in": when(user.last_login),
        "two_factor": sorted(
            Authenticator.objects.filter(user=user).values_list("type", flat=True).distinct()
        ),
        "sessions": [
            {
                "signed_in": when(s.created_at),
                "last_seen": when(s.last_seen_at),
                "ip": s.ip,
                "browser": s.user_agent,
            }
            for s in UserSession.objects.filter(user=user).order_by("-created_at")
        ],
        "guardian_consents": [
            {
                "guardian_name": c.guardian_name,
                "guardian_email": c.guardian_email,
                "requested": when(c.requested_at),
                "confirmed": when(c.confirmed_at),
            }
            for c in GuardianConsent.objects.filter(user=user).order_by("requested_at")
        ],
        "enterprise_applications": [
            {
                "company_name": a.company_name,
                "registration_number": a.registration_number,
                "address": a.address,
                "contact_name": a.contact_name,
                "contact_phone": a.contact_phone,
                "status": a.get_status_display(),
                "submitted": when(a.submitted_at),
                "decided": when(a.decided_at),
                "decision_reason": a.decision_reason,
            }
            for a in EnterpriseApplication.objects.filter(user=user).order_by("submitted_at")
        ],
        "cancellation_requests": [
            {
                "reason": r.reason,
                "status": r.get_status_display(),
                "requested": when(r.requested_at),
                "decided": when(r.decided_at),
                "decision_reason": r.decision_reason,
            }
            for r in CancellationRequest.objects.filter(user=user).order_by("requested_at")
        ],
        "compromise_reports": [
            {"reported": when(r.created_at), "details": r.details, "recovered": when(r.recovered_at)}
            for r in CompromiseReport.objects.filter(user=user).order_by("created_at")
        ],
    }
