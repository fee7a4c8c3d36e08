from django.conf import settings
from django.urls import NoReverseMatch

from .links import cached_reverse

# The header menu's sections, by the address their pages start with (a view may name its own:
# a sound effect's page lives under /tracks/ too).
NAV_SECTIONS = (
    ("music", "catalog:track-list"),
    ("sfx", "catalog:sound-list"),
    ("collections", "catalog:collection-list"),
    ("pricing", "billing:pricing"),
)


def site(request):
    """What every page needs to know about the operator and the deployment."""
    return {
        "OPERATOR": settings.OPERATOR,
        "SITE_URL": settings.SITE_URL,
        "PAYMENTS_CONFIGURED": bool(settings.STRIPE_SECRET_KEY),
        "nav_section": nav_section(request.path),
    }


def nav_section(path):
    for section, url_name in NAV_SECTIONS:
        try:
            if path.startswith(cached_reverse(url_name)):
                return section
        except NoReverseMatch:  # an app left out of the URLconf
            continue
    return ""
