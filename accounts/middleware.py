"""Account gates that run on every request.

- A suspended, banned, locked or cancelled member is signed out at their next request and
  sent to the sign-in page, which tells them why.
- A member whom staff asked to rename or resubmit their profile is kept on the profile page.
- Staff reach /admin/ only with two-factor authentication set up.
"""

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import reverse

REFUSAL_SESSION_KEY = "accounts_refusal"
SIGNED_OUT_SESSION_KEY = "accounts_signed_out"  # the refusal ended a session (not a sign-in attempt)
# Pages a member under profile review may still use.
_REVIEW_ALLOWED_PREFIXES = (
    "/account/profile/",
    "/accounts/",
    "/static/",
    "/media/",
    "/legal/",
    "/healthz",
    "/account/report-compromise/",
    "/account/recover/",
    "/account/cancel/",
)


class AccountStatusMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # The email is the account ID: on allauth's email page only "send the confirmation again" is allowed.
        if (
            request.method == "POST"
            and request.path == reverse("account_email")
            and set(request.POST) & {"action_add", "action_remove", "action_primary"}
        ):
            raise PermissionDenied("Your email address is your account ID and cannot be changed.")
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            refusal = user.sign_in_refusal()
            if refusal:
                logout(request)
                request.session[REFUSAL_SESSION_KEY] = refusal
                request.session[SIGNED_OUT_SESSION_KEY] = True
                return redirect("account_login")
            if user.profile_review and not request.path.startswith(_REVIEW_ALLOWED_PREFIXES):
                messages.warning(request, "Please update your profile before you continue.")
                return redirect("accounts:profile")
            if (
                user.is_staff
                and settings.ACCOUNTS_STAFF_REQUIRE_MFA
                and request.path.startswith(reverse("admin:index"))
                and not _has_mfa(user)
            ):
                messages.warning(
                    request,
                    "The staff site needs two-factor authentication. Set up an authenticator app "
                    "now; you will be taken to the staff site afterwards.",
                )
                return redirect("mfa_activate_totp")
        return self.get_response(request)


def _has_mfa(user):
    from allauth.mfa.models import Authenticator

    return Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()


class SessionActivityMiddleware:
    """Record a signed-in session's last activity (IP, browser, time) for the security page,
    at most once per ``ACCOUNTS_SESSION_ACTIVITY_INTERVAL`` seconds per session.

    allauth's own activity tracking writes to the database on every request (five
    statements); this keeps the same record for the "sessions" list without that cost.
    """

    SESSION_KEY = "accounts_activity_at"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        session = getattr(request, "session", None)
        if session is not None and session.session_key and request.user.is_authenticated:
            now = int(time.time())
            if now - session.get(self.SESSION_KEY, 0) >= settings.ACCOUNTS_SESSION_ACTIVITY_INTERVAL:
                from allauth.usersessions.models import UserSession

                UserSession.objects.create_from_request(request)
                session[self.SESSION_KEY] = now
        return self.get_response(request)
