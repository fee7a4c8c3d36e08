"""One function per billing email. Each renders now and is sent by Celery after commit,
through the account adapter (the path every AllMyTracks email takes). Templates:
``templates/emails/billing_<name>_subject.txt`` and ``_message.txt``; the adapter wraps
the text in the site's HTML layout."""

from django.conf import settings
from django.urls import reverse


def _absolute(path):
    return f"{settings.SITE_URL}{path}"


def _send(name, user, context):
    from allauth.account.adapter import get_adapter

    if not user.email or user.is_cancelled:
        return
    context = {
        "user": user,
        "billing_url": _absolute(reverse("billing:account-billing")),
        "pricing_url": _absolute(reverse("billing:pricing")),
        **context,
    }
    get_adapter().send_mail(f"emails/billing_{name}", user.email, context)


def membership_started(sub):
    _send("membership_started", sub.user, {"subscription": sub, "plan": sub.plan})


def payment_failed(sub, invoice=None):
    _send("payment_failed", sub.user, {"subscription": sub, "plan": sub.plan, "invoice": invoice})


def payment_recovered(sub):
    _send("payment_recovered", sub.user, {"subscription": sub, "plan": sub.plan})


def membership_ending(sub):
    _send("membership_ending", sub.user, {"subscription": sub, "plan": sub.plan})


def membership_ended(sub):
    _send("membership_ended", sub.user, {"subscription": sub, "plan": sub.plan})


def track_purchased(credit):
    _send(
        "track_purchased",
        credit.user,
        {"credit": credit, "track": credit.track, "track_url": _absolute(credit.track.get_absolute_url())},
    )


def credit_revoked(credit):
    _send("credit_revoked", credit.user, {"credit": credit, "track": credit.track})
