from django.conf import settings
from django.contrib import admin
from django.contrib.sitemaps import views as sitemap_views
from django.urls import include, path
from django.views.decorators.cache import cache_page

from . import views
from .converters import IdConverter  # noqa: F401 — registers <id:…> before the apps' URLconfs load
from .sitemaps import site_sitemaps

SITEMAP_CACHE_SECONDS = 6 * 3600

admin.site.site_header = "AllMyTracks staff"
admin.site.site_title = "AllMyTracks staff"
admin.site.index_title = "Run the catalogue, the accounts and the licences"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("robots.txt", views.robots_txt, name="robots-txt"),
    path("favicon.ico", views.favicon, name="favicon"),
    path(
        "sitemap.xml",
        cache_page(SITEMAP_CACHE_SECONDS)(sitemap_views.index),
        {"sitemaps": site_sitemaps(), "sitemap_url_name": "sitemap-section"},
        name="sitemap",
    ),
    path(
        "sitemap-<section>.xml",
        cache_page(SITEMAP_CACHE_SECONDS)(sitemap_views.sitemap),
        {"sitemaps": site_sitemaps()},
        name="sitemap-section",
    ),
    path("files/<str:token>/", views.private_file, name="private-file"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    # Each app's urls.py spells out its own full paths (/legal/…, /account/inbox/, …).
    path("", include("accounts.urls")),
    path("", include("legal.urls")),
    path("", include("catalog.urls")),
    path("", include("billing.urls")),
    path("", include("licensing.urls")),
]

if settings.DEBUG and not settings.USE_S3:
    from django.conf.urls.static import static as media_static

    urlpatterns += media_static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

handler400 = "allmytracks.views.bad_request"
handler403 = "allmytracks.views.permission_denied"
handler404 = "allmytracks.views.page_not_found"
handler500 = "allmytracks.views.server_error"
# allauth looks this up for its own rate limits.
handler429 = "allmytracks.views.too_many_requests"
