from django import template

register = template.Library()


@register.inclusion_tag("billing/_past_due_banner_inner.html", takes_context=True)
def past_due_banner(context):
    """The failed-payment banner for the signed-in account (one small query per page)."""
    request = context.get("request")
    user = getattr(request, "user", None)
    membership = None
    if user is not None and user.is_authenticated:
        from billing.models import PAYMENT_PROBLEM, Subscription

        membership = (
            Subscription.objects.for_account(user)
            .filter(status__in=PAYMENT_PROBLEM)
            .select_related("plan")
            .first()
        )
        if (
            membership is not None
            and Subscription.objects.for_account(user).filter(status__in=("active", "trialing")).exists()
        ):
            membership = None
    return {"membership": membership, "csrf_token": context.get("csrf_token"), "request": request}


@register.simple_tag
def single_licence_price(kind):
    """What one licence of a track of ``kind`` ("music" or "sfx") costs bought on its own, as
    shown ("$19.00"); no query."""
    from billing.money import format_money
    from billing.services import single_track_price

    return format_money(*single_track_price(kind))
