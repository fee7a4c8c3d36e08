"""One function per account email. Each renders now (text + HTML in the site's look) and
is sent by Celery once the current transaction commits, through the account adapter —
the same path allauth's own messages take."""

from django.conf import settings
from django.urls import reverse


def _absolute(path):
    return f"{settings.SITE_URL}{path}"


def _send(name, to, context):
    from allauth.account.adapter import get_adapter

    get_adapter().send_mail(f"emails/{name}", to, context)


def guardian_request(consent, link):
    _send(
        "guardian_request",
        consent.guardian_email,
        {
            "consent": consent,
            "member": consent.user,
            "link": link,
            "max_days": settings.ACCOUNTS_GUARDIAN_LINK_MAX_AGE // 86400,
        },
    )


def guardian_confirmed(consent):
    _send(
        "guardian_confirmed",
        consent.user.email,
        {"consent": consent, "user": consent.user, "account_url": _absolute(reverse("accounts:account"))},
    )


def account_suspended(user):
    _send("account_suspended", user.email, {"user": user})


def account_banned(user):
    _send("account_banned", user.email, {"user": user})


def account_reinstated(user):
    _send("account_reinstated", user.email, {"user": user, "login_url": _absolute(reverse("account_login"))})


def profile_review_requested(user):
    _send("profile_review", user.email, {"user": user, "profile_url": _absolute(reverse("accounts:profile"))})


def enterprise_received(application):
    _send("enterprise_received", application.user.email, {"application": application})


def enterprise_decided(application):
    _send(
        "enterprise_decided",
        application.user.email,
        {"application": application, "enterprise_url": _absolute(reverse("accounts:enterprise"))},
    )


def cancellation_received(cancellation):
    _send("cancellation_received", cancellation.user.email, {"cancellation": cancellation})


def cancellation_rejected(cancellation):
    _send("cancellation_rejected", cancellation.user.email, {"cancellation": cancellation})


def cancellation_completed(email):
    _send("cancellation_completed", email, {"former_email": email})


def compromise_recovery(user, link):
    _send(
        "compromise_recovery",
        user.email,
        {"user": user, "link": link, "max_hours": settings.ACCOUNTS_RECOVERY_LINK_MAX_AGE // 3600},
    )


def account_recovered(user):
    _send("account_recovered", user.email, {"user": user})
