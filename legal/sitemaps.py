"""Legal's part of the sitemap (``allmytracks.sitemaps``): each agreement with a version in force."""

from allmytracks.sitemaps import SiteSitemap

from . import services
from .models import Document


class AgreementSitemap(SiteSitemap):
    changefreq = "monthly"

    def items(self):
        in_force = services.current_versions()
        return list(Document.objects.filter(kind__in=list(in_force)).order_by("position", "id"))
