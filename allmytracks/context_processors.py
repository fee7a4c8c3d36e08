from django.conf import settings


def site(request):
    """What every page needs to know about the operator and the deployment."""
    return {
        "OPERATOR": settings.OPERATOR,
        "SITE_URL": settings.SITE_URL,
        "PAYMENTS_CONFIGURED": bool(settings.STRIPE_SECRET_KEY),
    }
