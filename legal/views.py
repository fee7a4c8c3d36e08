"""Public agreement pages, the acceptance page, the inbox and the user's own records."""

import json

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST, require_safe

from allmytracks.links import safe_next
from allmytracks.ratelimit import ratelimit

from . import services
from .emails import read_unsubscribe_token
from .forms import AcceptForm, MarketingConsentForm
from .markup import diff_rows, diff_stats, render_markdown
from .middleware import DECLINED_SESSION_KEY
from .models import Acceptance, Announcement, AnnouncementDismissal, Document, DocumentKind, Message, Version

INBOX_PAGE_SIZE = 20


def _document_or_404(slug):
    if slug not in DocumentKind.values:
        raise Http404("No such agreement.")
    return get_object_or_404(Document, kind=slug)


def _previous(version):
    return (
        Version.objects.published()
        .filter(document_id=version.document_id, number__lt=version.number)
        .order_by("-number")
        .first()
    )


@require_safe
def index(request):
    documents = list(Document.objects.all())
    in_force = services.current_versions()
    rows = [{"document": d, "version": in_force.get(d.kind)} for d in documents]
    return render(request, "legal/index.html", {"rows": rows})


@require_safe
def document(request, slug):
    doc = _document_or_404(slug)
    version = services.current_version(slug)
    upcoming = services.upcoming_version(slug)
    history = list(doc.versions.published().order_by("-number"))
    return render(
        request,
        "legal/document.html",
        {
            "document": doc,
            "version": version,
            "body_html": render_markdown(version.body) if version else "",
            "upcoming": upcoming,
            "history": history,
            "in_force": version,
        },
    )


@require_safe
def version_detail(request, slug, number):
    doc = _document_or_404(slug)
    version = get_object_or_404(doc.versions.published(), number=number)
    in_force = services.current_version(slug)
    return render(
        request,
        "legal/version.html",
        {
            "document": doc,
            "version": version,
            "body_html": render_markdown(version.body),
            "in_force": in_force,
            "previous": _previous(version),
        },
    )


@require_safe
def changes(request, slug, number):
    doc = _document_or_404(slug)
    version = get_object_or_404(doc.versions.published(), number=number)
    previous = _previous(version)
    rows = diff_rows(previous.body, version.body) if previous else []
    return render(
        request,
        "legal/changes.html",
        {"document": doc, "version": version, "previous": previous, "rows": rows, "stats": diff_stats(rows)},
    )


def _safe_next(request, fallback="home"):
    return safe_next(request, reverse(fallback))


def _cancellation_url():
    for name in ("accounts:cancel", "accounts:cancellation", "accounts:cancel-account"):
        try:
            return reverse(name)
        except NoReverseMatch:
            continue
    return ""


def _acceptance_context(user, outstanding):
    items = []
    last_accepted = dict(
        Acceptance.objects.filter(user=user, version__document__in=[v.document_id for v in outstanding])
        .order_by("version__number")
        .values_list("version__document_id", "version_id")
    )
    accepted_versions = Version.objects.in_bulk(last_accepted.values())
    for version in outstanding:
        base = accepted_versions.get(last_accepted.get(version.document_id))
        rows = diff_rows(base.body, version.body) if base else []
        items.append({"version": version, "base": base, "rows": rows, "stats": diff_stats(rows)})
    return items


@login_required
@require_http_methods(["GET", "POST"])
def accept(request):
    outstanding = services.outstanding_versions(request.user, request)
    next_url = _safe_next(request)
    if not outstanding:
        if request.method == "POST":
            messages.info(request, "You have already accepted the agreements in force.")
        return HttpResponseRedirect(next_url)
    # Nothing of these agreements accepted before (an account made by staff, or before they were
    # published): the pages ask for a first acceptance, not about changes.
    first_time = not Acceptance.objects.filter(
        user=request.user, version__document__in=[v.document_id for v in outstanding]
    ).exists()
    form = AcceptForm(initial={"versions": ",".join(str(v.pk) for v in outstanding)})
    if request.method == "POST":
        if request.POST.get("action") == "decline":
            services.record_decline(user=request.user, versions=outstanding, request=request)
            request.session[DECLINED_SESSION_KEY] = [v.pk for v in outstanding]
            return render(
                request,
                "legal/declined.html",
                {
                    "outstanding": outstanding,
                    "first_time": first_time,
                    "cancellation_url": _cancellation_url(),
                },
            )
        form = AcceptForm(request.POST)
        if form.is_valid():
            try:
                services.accept_versions(
                    user=request.user, version_ids=form.cleaned_data["versions"], request=request
                )
            except services.LegalError as exc:
                messages.error(request, str(exc))
                return redirect(f"{reverse('legal:accept')}?{urlencode({'next': next_url})}")
            request.session.pop(DECLINED_SESSION_KEY, None)
            messages.success(request, "Thank you. Your acceptance is recorded; you can carry on.")
            return HttpResponseRedirect(next_url)
    return render(
        request,
        "legal/accept.html",
        {
            "items": _acceptance_context(request.user, outstanding),
            "first_time": first_time,
            "form": form,
            "next": next_url,
            "unsent": request.GET.get("unsent") == "1",
        },
    )


@login_required
@require_safe
def agreements(request):
    rows = list(
        Acceptance.objects.filter(user=request.user)
        .select_related("version__document")
        .order_by("-accepted_at")
    )
    if request.GET.get("format") == "json":
        data = {
            "account": request.user.email,
            "exported_at": timezone.now().isoformat(),
            "acceptances": [
                {
                    "document": a.version.document.kind,
                    "title": a.version.document.title,
                    "version": a.version.number,
                    "accepted_at": a.accepted_at.isoformat(),
                    "method": a.method,
                    "ip": a.ip,
                    "user_agent": a.user_agent,
                    "text_sha256": a.text_sha256,
                    "url": request.build_absolute_uri(a.version.get_absolute_url()),
                }
                for a in rows
            ],
        }
        response = HttpResponse(json.dumps(data, indent=2), content_type="application/json")
        response["Content-Disposition"] = 'attachment; filename="allmytracks-agreements.json"'
        return response
    in_force = services.current_versions()
    status = services.agreement_status(request.user, request=request)
    return render(
        request,
        "legal/agreements.html",
        {
            "rows": rows,
            "in_force_ids": {v.pk for v in in_force.values()},
            "outstanding": status.outstanding,
        },
    )


@login_required
@require_safe
def inbox(request):
    qs = Message.objects.for_user(request.user).select_related("sender").order_by("-sent_at", "-id")
    page = Paginator(qs, INBOX_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "legal/inbox.html", {"page": page})


@login_required
@require_GET
def message_detail(request, pk):
    message = get_object_or_404(Message, pk=pk, recipient=request.user)
    if message.read_at is None:
        Message.objects.filter(pk=message.pk, read_at__isnull=True).update(read_at=timezone.now())
    return render(request, "legal/message.html", {"message": message})


@login_required
@require_POST
def mark_all_read(request):
    Message.objects.for_user(request.user).unread().update(read_at=timezone.now())
    messages.success(request, "All messages are marked as read.")
    return redirect("legal:inbox")


@require_POST
def dismiss_announcement(request, pk):
    announcement = get_object_or_404(Announcement.objects.active(), pk=pk, dismissible=True)
    if request.user.is_authenticated:
        AnnouncementDismissal.objects.get_or_create(announcement=announcement, user=request.user)
    if request.htmx:
        return HttpResponse("")
    return HttpResponseRedirect(_safe_next(request))


@login_required
@require_http_methods(["GET", "POST"])
def email_preferences(request):
    opted_in = services.marketing_opted_in(request.user)
    form = MarketingConsentForm(
        request.POST if request.method == "POST" else None, initial={"opted_in": opted_in}
    )
    if request.method == "POST" and form.is_valid():
        services.set_marketing_consent(
            user=request.user, opted_in=form.cleaned_data["opted_in"], source="preferences", request=request
        )
        messages.success(request, "Your email preferences are saved.")
        return redirect("legal:email-preferences")
    return render(request, "legal/email_preferences.html", {"form": form, "opted_in": opted_in})


@csrf_exempt  # RFC 8058: mail clients POST here without a session or a CSRF token.
@ratelimit("legal-unsubscribe", "30/m", by=("ip",))
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token):
    user_id = read_unsubscribe_token(token)
    user = get_user_model().objects.filter(pk=user_id).first() if user_id else None
    if user is None:
        return render(request, "legal/unsubscribe.html", {"invalid": True}, status=404)
    if request.method == "POST":
        services.set_marketing_consent(user=user, opted_in=False, source="unsubscribe-link", request=request)
        if request.POST.get("List-Unsubscribe") == "One-Click":
            return HttpResponse("Unsubscribed.\n", content_type="text/plain")
        return render(request, "legal/unsubscribe.html", {"done": True})
    return render(
        request, "legal/unsubscribe.html", {"token": token, "opted_in": services.marketing_opted_in(user)}
    )
