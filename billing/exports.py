"""Billing's part of an account's data export (``accounts.data_export``): memberships, single-track
purchases and invoices (amounts in the smallest currency unit, as charged)."""

from accounts.data_export import when

from .models import Invoice, Subscription, TrackCredit


def account_data(user):
    return {
        "memberships": [
            {
                "plan": s.plan.name,
                "billing": s.plan.get_interval_display(),
                "seats": s.quantity,
                "status": s.get_status_display(),
                "how": s.get_source_display(),
                "started": when(s.started_at or s.created_at),
                "current_period_end": when(s.current_period_end),
                "ends_at_period_end": s.cancel_at_period_end,
                "ended": when(s.ended_at),
            }
            for s in Subscription.objects.for_account(user).select_related("plan").order_by("created_at")
        ],
        "single_track_purchases": [
            {
                "track": c.track.title if c.track_id else None,
                "reference": c.purchase_ref,
                "amount": c.amount_cents,
                "currency": c.currency.upper(),
                "status": c.get_status_display(),
                "bought": when(c.created_at),
                "used": when(c.used_at),
            }
            for c in TrackCredit.objects.for_account(user).select_related("track").order_by("created_at")
        ],
        "invoices": [
            {
                "number": i.number,
                "status": i.status,
                "amount_due": i.amount_due,
                "amount_paid": i.amount_paid,
                "currency": i.currency.upper(),
                "issued": when(i.issued_at),
                "invoice_page": i.hosted_invoice_url or None,
            }
            for i in Invoice.objects.for_account(user).order_by("issued_at", "created_at")
        ],
    }
