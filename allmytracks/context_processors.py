from django.conf import settings

# The header menu's section of each page that has one, by its URL name (a view may name its own:
# a track's page is music or a sound effect).
NAV_SECTIONS = {
    "catalog:track-list": "music",
    "catalog:sound-list": "sfx",
    "catalog:collection-list": "collections",
    "catalog:collection-detail": "collections",
    "billing:pricing": "pricing",
}


def site(request):
    """What every page needs to know about the operator and the deployment."""
    match = getattr(request, "resolver_match", None)
    return {
        "OPERATOR": settings.OPERATOR,
        "SITE_URL": settings.SITE_URL,
        "PAYMENTS_CONFIGURED": bool(settings.STRIPE_SECRET_KEY),
        "nav_section": NAV_SECTIONS.get(match.view_name, "") if match else "",
    }
