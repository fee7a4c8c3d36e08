"""Legal's part of an account's data export (``accounts.data_export``): agreements accepted,
promotional email choices, private messages."""

from accounts.data_export import when

from .models import Acceptance, ConsentChange, MarketingConsent, Message


def account_data(user):
    consent = MarketingConsent.objects.filter(user=user).first()
    accepted = Acceptance.objects.filter(user=user).select_related("version__document")
    return {
        "acceptances": [
            {
                "agreement": a.version.document.title,
                "version": a.version.number,
                "accepted": when(a.accepted_at),
                "how": a.get_method_display(),
                "ip": a.ip,
                "text_sha256": a.text_sha256,
            }
            for a in accepted.order_by("accepted_at")
        ],
        "promotional_email": {
            "opted_in": bool(consent and consent.opted_in),
            "changes": [
                {"opted_in": c.opted_in, "when": when(c.changed_at), "where": c.source}
                for c in ConsentChange.objects.filter(user=user).order_by("changed_at")
            ],
        },
        "messages": [
            {"subject": m.subject, "body": m.body, "sent": when(m.sent_at), "read": when(m.read_at)}
            for m in Message.objects.for_user(user).order_by("sent_at")
        ],
    }
