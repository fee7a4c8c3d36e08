"""The sitemap search engines read (robots.txt names it): the public pages, then each app's own part.

Addresses are written with ``SITE_URL`` (as every email and the robots file are), not the sites
framework's domain. The tracks' part is split into pages of ``Sitemap.limit`` addresses, listed by
the sitemap index at ``/sitemap.xml``; each page is cached for six hours.
"""

from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import sitemaps
from django.urls import NoReverseMatch, reverse


class SiteSitemap(sitemaps.Sitemap):
    """A sitemap whose addresses start with ``SITE_URL``."""

    def get_domain(self, site=None):
        return urlsplit(settings.SITE_URL).netloc

    def get_protocol(self, protocol=None):
        return urlsplit(settings.SITE_URL).scheme or "https"


class PagesSitemap(SiteSitemap):
    """The public pages that are not one record's page."""

    changefreq = "daily"
    NAMES = [
        "home",
        "catalog:track-list",
        "catalog:sound-list",
        "catalog:collection-list",
        "billing:pricing",
        "legal:index",
        "licensing:verify",
    ]

    def items(self):
        found = []
        for name in self.NAMES:
            try:
                found.append(reverse(name))
            except NoReverseMatch:  # an app left out of this site
                continue
        return found

    def location(self, item):
        return item


def site_sitemaps():
    """{section: Sitemap} for the sitemap views: the pages, then each app's records."""
    from catalog.sitemaps import ArtistSitemap, BrowseSitemap, CollectionSitemap, TrackSitemap
    from legal.sitemaps import AgreementSitemap

    return {
        "pages": PagesSitemap,
        "browse": BrowseSitemap,
        "collections": CollectionSitemap,
        "artists": ArtistSitemap,
        "tracks": TrackSitemap,
        "agreements": AgreementSitemap,
    }
