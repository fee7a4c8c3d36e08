"""The re-acceptance gate.

When a material version of an agreement the user must accept is in force and they have not
accepted it, every request except the exempt ones goes to /legal/accept/. Non-material
versions are recorded as accepted by continued use on the way through.

A user who declined on the acceptance page may keep browsing for the rest of that session,
but purchases and downloads stay refused: billing and licensing call
``ensure_current_agreements`` before either.
"""

from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode

from . import services

DECLINED_SESSION_KEY = "legal_declined"
EXEMPT_PREFIXES = (
    "/legal/",
    "/account/agreements/",
    "/account/inbox/",
    # Safety valves that must never wait for an acceptance: reporting a compromised
    # account, recovering it, and asking to close it.
    "/account/report-compromise/",
    "/account/recover/",
    "/account/cancel/",
    "/healthz",
    "/robots.txt",
    "/favicon.ico",
)


class AgreementGateMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.exempt = EXEMPT_PREFIXES + tuple(
            p for p in (settings.STATIC_URL, settings.MEDIA_URL) if p and p.startswith("/")
        )

    def __call__(self, request):
        response = self.gate(request)
        return response or self.get_response(request)

    def is_exempt(self, request):
        path = request.path_info
        if path.startswith(self.exempt):
            return True
        if path == reverse("account_logout"):
            return True
        return bool(path.startswith("/admin/") and request.user.is_staff)

    def gate(self, request):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or self.is_exempt(request):
            return None
        status = services.agreement_status(user, request=request)
        if status.continued_use:
            services.record_continued_use(user, request)
        if not status.outstanding:
            request.session.pop(DECLINED_SESSION_KEY, None)
            return None
        declined = request.session.get(DECLINED_SESSION_KEY) or []
        if declined and set(declined) >= {v.pk for v in status.outstanding}:
            return None  # browsing only; purchases and downloads refuse through the services
        url = reverse("legal:accept")
        if request.method == "GET":
            url += "?" + urlencode({"next": request.get_full_path()})
        else:
            # A form sent while the new version waited is not acted on: the page says so, and
            # accepting leads back to the form's page to send it again.
            back = _form_page(request)
            url += "?" + urlencode({"unsent": "1", "next": back} if back else {"unsent": "1"})
        if getattr(request, "htmx", False):
            response = HttpResponse(status=204)
            response["HX-Redirect"] = url
            return response
        return HttpResponseRedirect(url, status=303) if request.method != "GET" else HttpResponseRedirect(url)


def _form_page(request):
    """The page a form was sent from (its Referer, when it is on this site): a path, or ""."""
    referer = request.META.get("HTTP_REFERER", "")
    if not referer or not url_has_allowed_host_and_scheme(referer, {request.get_host()}, request.is_secure()):
        return ""
    parts = urlsplit(referer)
    return parts.path + (f"?{parts.query}" if parts.query else "")
