import csv

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Max
from django.http import Http404, HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST, require_safe

from allmytracks.numbers import whole_number
from allmytracks.ratelimit import check_all as check_rates
from allmytracks.ratelimit import ratelimit, ratelimits
from allmytracks.views import too_many_requests
from catalog.templatetags.catalog_tags import seconds

from . import services
from .forms import DownloadForm, EndUserForm, LicenseFilterForm, PlaylistDownloadForm
from .models import EndUser, Letter, License, Project, normalise_code
from .services import LicensingError

PAGE_SIZE = 25
DOWNLOAD_RATE = getattr(settings, "LICENSING_DOWNLOAD_RATE", "20/m")
DOWNLOAD_RATE_DAILY = getattr(settings, "LICENSING_DOWNLOAD_RATE_DAILY", "300/d")
VERIFY_RATE = getattr(settings, "LICENSING_VERIFY_RATE", "30/m")


def _owned_license(request, code):
    """The signed-in account's licence with this code; 404 for anyone else's (or none)."""
    return get_object_or_404(
        License.objects.for_account(request.user).select_related(
            "track__artist", "end_user", "project", "version"
        ),
        code=normalise_code(code) or code,
    )


def _refuse(request, error, fallback):
    messages.error(request, str(error))
    return redirect(error.url or fallback)


def _published_track(slug):
    from catalog.models import Track

    return get_object_or_404(Track.objects.published().select_related("artist"), slug=slug)


# --- download = licence ---------------------------------------------------------------------


def _licence_gate(request):
    """What every download form checks first: the account may take licences (or LicensingError),
    the Music Licence Agreement in force, and whether the member has still to accept it."""
    services.check_account(request.user, request)
    agreement = services.music_licence_version()
    return agreement, not services.has_accepted(request.user, agreement)


# Session: {"code", "version", "new"} of the file the licence page starts. The page signs the file's
# address when it renders, so a page opened late still starts a fresh link, and no signed address
# is kept in the session store.
PENDING_DOWNLOAD = "licensing_download"


@login_required
@require_http_methods(["GET", "POST"])
@ratelimits(
    ("licensing-download", DOWNLOAD_RATE),
    ("licensing-download-daily", DOWNLOAD_RATE_DAILY),
    methods=("POST",),
)
def download(request, slug):
    track = _published_track(slug)
    try:
        agreement, needs_acceptance = _licence_gate(request)
    except LicensingError as exc:
        return _refuse(request, exc, track.get_absolute_url())
    form = DownloadForm(
        request.POST or None,
        user=request.user,
        track=track,
        agreement=agreement,
        needs_acceptance=needs_acceptance,
    )
    error = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            if needs_acceptance:
                services.accept_music_licence(request.user, agreement, request)
            grant = services.grant_license(
                user=request.user,
                track=track,
                version=data["version"],
                submission=data["submission"],
                end_user=data["end_user_obj"],
                new_end_user=data["new_end_user"],
                project=data["project_obj"],
                new_project=data["new_project"],
                request=request,
            )
        except LicensingError as exc:
            if exc.url:
                return _refuse(request, exc, track.get_absolute_url())
            error = str(exc)
        else:
            lic = grant.license
            if grant.reason == "same-project":
                messages.info(
                    request,
                    f"You already hold licence {lic.code} for this track in this project: "
                    "this download is free and uses no licence.",
                )
            # The licence's page starts the file (one time: see license_detail), so the customer
            # lands on their licence code, not on the filled-in form the file left them on.
            # A form sent twice (a double click) answers with the licence its first sending issued.
            issued = grant.created or grant.reason == "already-issued"
            version = data["version"] if data["version"].track_id == lic.track_id else lic.version
            request.session[PENDING_DOWNLOAD] = {"code": lic.code, "version": version.pk, "new": issued}
            return redirect(lic)
    from billing import entitlements

    decision = entitlements.check(request.user, track=track)
    existing = list(
        License.objects.for_account(request.user)
        .filter(track=track)
        .select_related("project")
        .order_by("-issued_at")[:5]
    )
    return render(
        request,
        "licensing/download.html",
        {
            "track": track,
            "form": form,
            "agreement": agreement,
            "needs_acceptance": needs_acceptance,
            "decision": decision,
            "existing": existing,
            # Nothing to take a licence from and no project to download again for free: say so
            # before the customer fills in a form that could only send them to the pricing page.
            "blocked": not decision.allowed and not existing,
            "error": error,
        },
        status=400 if error else 200,
    )


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def playlist_download(request, pk):
    """Licence several tracks of one of the member's playlists for the same end user and project."""
    from billing import entitlements
    from catalog.models import Playlist, Track

    playlist = get_object_or_404(Playlist, pk=pk, user=request.user)
    tracks = (
        Track.objects.published()
        .filter(playlist_items__playlist=playlist)
        .select_related("artist")
        .prefetch_related("versions")
        .order_by("playlist_items__position", "-playlist_items__id")
    )
    try:
        agreement, needs_acceptance = _licence_gate(request)
    except LicensingError as exc:
        return _refuse(request, exc, playlist.get_absolute_url())
    form = PlaylistDownloadForm(
        request.POST or None,
        user=request.user,
        tracks=tracks,
        max_tracks=services.BULK_MAX_TRACKS,
        agreement=agreement,
        needs_acceptance=needs_acceptance,
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        # The form is one request against the minute's limit, as a single download is (that limit
        # is about how fast requests come; a playlist may hold more tracks than it allows); each
        # licence counts against the day's. A refused form uses up neither.
        wait = check_rates(
            request,
            [
                ("licensing-download", DOWNLOAD_RATE, 1),
                ("licensing-download-daily", DOWNLOAD_RATE_DAILY, len(data["tracks"])),
            ],
        )
        if wait:
            return too_many_requests(request, retry_after=wait)
        if needs_acceptance:
            services.accept_music_licence(request.user, agreement, request)
        grants, refusal = services.grant_licenses(
            user=request.user,
            tracks=list(data["tracks"]),
            submission=data["submission"],
            end_user=data["end_user_obj"],
            new_end_user=data["new_end_user"],
            project=data["project_obj"],
            new_project=data["new_project"],
            request=request,
        )
        return render(
            request,
            "licensing/playlist_licensed.html",
            {"playlist": playlist, "grants": grants, "refusal": refusal},
        )
    first = tracks.first()
    decision = entitlements.check(request.user, track=first) if first is not None else None
    # Nothing to licence these tracks with (no membership, none of them bought): say so up front
    # rather than after the member has filled in the form.
    blocked = (
        decision is not None
        and not decision.allowed
        and not entitlements.can_license_any(request.user, tracks)
    )
    return render(
        request,
        "licensing/playlist_download.html",
        {
            "playlist": playlist,
            "form": form,
            "blocked": blocked,
            "decision": decision,
            "agreement": agreement,
            "needs_acceptance": needs_acceptance,
            "bulk": True,
        },
    )


@login_required
@require_POST
@ratelimits(("licensing-download", DOWNLOAD_RATE), ("licensing-download-daily", DOWNLOAD_RATE_DAILY))
def redownload(request, code):
    from catalog.models import TrackVersion

    lic = _owned_license(request, code)
    pk = whole_number(request.POST.get("version"))
    version = TrackVersion.objects.filter(pk=pk, track_id=lic.track_id).first() if pk is not None else None
    try:
        url = services.redownload(user=request.user, license=lic, version=version, request=request)
    except LicensingError as exc:
        return _refuse(request, exc, lic.get_absolute_url())
    return redirect(url)


# --- my licences ----------------------------------------------------------------------------


def _filtered(request):
    form = LicenseFilterForm(request.GET or None, user=request.user)
    qs = form.apply(License.objects.for_account(request.user).for_list())
    return form, qs


@login_required
@require_safe
def license_list(request):
    form, qs = _filtered(request)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    licenses = list(page.object_list)
    # An individual account licenses for its one end user: named once above the table, not per row.
    end_users = {lic.end_user for lic in licenses}
    return render(
        request,
        "licensing/license_list.html",
        {
            "form": form,
            "page": page,
            "licenses": licenses,
            "sole_end_user": end_users.pop()
            if len(end_users) == 1 and not request.user.is_enterprise
            else None,
            "querystring": query.urlencode(),
            "filtered": any(request.GET.get(k) for k in ("q", "status", "platform", "end_user", "project")),
        },
    )


class _Echo:
    def write(self, value):
        return value


# What a spreadsheet may take for the start of a formula, full-width forms included (some
# spreadsheets read "＝" as "="); spaces and line breaks before it do not stop them.
_FORMULA_START = ("=", "+", "-", "@", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def _csv_cell(value):
    """A cell a spreadsheet shows as text: titles and names come from members and from audio tags,
    and one starting like a formula (``=HYPERLINK(…)``) would run when the file is opened."""
    value = "" if value is None else str(value)
    risky = value.startswith(("\t", "\r")) or value.lstrip(" \t\r\n").startswith(_FORMULA_START)
    return "'" + value if risky else value


@login_required
@require_GET
@ratelimit("licensing-export", "10/m")
def export_csv(request):
    form, qs = _filtered(request)
    if form.is_bound and not form.is_valid():  # a file of no rows would not say why
        problems = "; ".join(f"{name}: {' '.join(errors)}" for name, errors in form.errors.items())
        return HttpResponseBadRequest(f"These filters are not valid: {problems}", content_type="text/plain")
    writer = csv.writer(_Echo())
    header = [
        "code", "status", "issued_at", "track", "artist", "version", "end_user", "end_user_role",
        "project", "platform", "project_url", "client", "agreement_version", "source", "revoked_at",
        "revoked_reason", "verify_url", "isrc", "duration",
    ]  # fmt: skip

    def rows():
        yield writer.writerow(header)
        for lic in qs.select_related("version").iterator(chunk_size=500):
            yield writer.writerow(
                _csv_cell(cell)
                for cell in [
                    lic.code,
                    lic.get_status_display(),
                    timezone.localtime(lic.issued_at).isoformat(timespec="seconds"),
                    lic.track.title,
                    lic.track.artist.name,
                    lic.version.label if lic.version else "",
                    lic.end_user.name,
                    lic.end_user.role,
                    lic.project.title,
                    lic.project.get_platform_display(),
                    lic.project.url,
                    lic.project.client_name,
                    lic.agreement_version,
                    lic.get_source_type_display(),
                    timezone.localtime(lic.revoked_at).isoformat(timespec="seconds")
                    if lic.revoked_at
                    else "",
                    lic.revoked_reason,
                    lic.absolute_verify_url,
                    lic.track.isrc,  # with the duration, what a broadcaster's cue sheet asks for
                    seconds(lic.version.duration_seconds if lic.version else lic.track.duration_seconds),
                ]
            )

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="allmytracks-licences-{timezone.localdate():%Y-%m-%d}.csv"'
    )
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_safe
def license_detail(request, code):
    normal = normalise_code(code)
    if normal and normal != code:  # typed in lower case, without dashes…: the licence's own address
        return redirect("licensing:license-detail", code=normal)
    lic = _owned_license(request, code)
    # A licence just issued or downloaded again from the form: its page starts the signed file once
    # (a reload or a later visit shows the page alone; the files list offers every download).
    pending = request.session.get(PENDING_DOWNLOAD) or {}
    start_download, just_issued = "", False
    if pending.get("code") == lic.code:
        del request.session[PENDING_DOWNLOAD]
        version = lic.track.versions.ready().filter(pk=whole_number(pending.get("version"))).first()
        if lic.is_active and version is not None:
            start_download = services.signed_download_url(lic, version)
        just_issued = bool(pending.get("new"))
    letters = list(lic.letters.order_by("-requested_at"))
    single = next((letter for letter in letters if letter.key == services.letter_key([lic])), None)
    siblings = []
    if request.user.is_enterprise:
        siblings = list(
            License.objects.for_account(request.user)
            .active()
            .filter(project_id=lic.project_id)
            .exclude(pk=lic.pk)
            .select_related("track__artist")
        )
    return render(
        request,
        "licensing/license_detail.html",
        {
            "license": lic,
            "versions": lic.track.versions.ready().order_by("position", "id"),
            "letter": single,
            "other_letters": [letter for letter in letters if letter is not single],
            "siblings": siblings,
            "start_download": start_download,
            "just_issued": just_issued,
        },
    )


# --- letters --------------------------------------------------------------------------------


@login_required
@require_POST
@ratelimit("licensing-letter", "20/h")
def letter_request(request, code):
    lic = _owned_license(request, code)
    licenses = [lic]
    # Codes as a person may write them (any case, spaces): each one once, the page's own left out.
    also = request.POST.getlist("also")[: services.LETTER_MAX_LICENCES - 1]
    extra = {normalise_code(c) or c for c in also if c} - {lic.code}
    if extra:
        found = list(License.objects.for_account(request.user).filter(code__in=extra))
        if len(found) != len(extra):
            raise Http404
        licenses += found
    try:
        letter = services.request_letter(user=request.user, licenses=licenses, request=request)
    except LicensingError as exc:
        if request.htmx:
            return render(
                request, "licensing/_letter_status.html", {"license": lic, "error": str(exc)}, status=400
            )
        return _refuse(request, exc, lic.get_absolute_url())
    letter.refresh_from_db()
    if request.htmx:
        return render(request, "licensing/_letter_status.html", {"license": lic, "letter": letter})
    messages.success(request, "We are preparing your licence letter. It will also arrive by email.")
    return redirect(lic.get_absolute_url())


def _owned_letter(request, code, pk):
    lic = _owned_license(request, code)
    letter = get_object_or_404(Letter.objects.filter(account=request.user, licenses=lic), pk=pk)
    return lic, letter


@login_required
@require_safe
def letter_status(request, code, pk):
    lic, letter = _owned_letter(request, code, pk)
    return render(request, "licensing/_letter_status.html", {"license": lic, "letter": letter})


@login_required
@require_GET
def letter_download(request, code, pk):
    lic, letter = _owned_letter(request, code, pk)
    if letter.licenses.filter(status=License.Status.REVOKED).exists():
        messages.error(request, "This letter lists a revoked licence, so it can no longer be downloaded.")
        return redirect(lic.get_absolute_url())
    if not letter.is_ready:
        messages.info(request, "The letter is not ready yet. This page updates by itself when it is.")
        return redirect(lic.get_absolute_url())
    return redirect(services.letter_download_url(letter))


# --- public verification --------------------------------------------------------------------


@require_safe
@ratelimit("licensing-verify", VERIFY_RATE, by=("ip",))
def verify(request):
    raw = request.GET.get("code", "")
    error = ""
    if raw:
        code = normalise_code(raw)
        if code:
            return redirect("licensing:verify-code", code=code)
        error = "A licence code looks like AMT-7QK4-M2XD: AMT, then two groups of four letters and digits."
    return render(
        request, "licensing/verify.html", {"raw": raw, "error": error}, status=400 if error else 200
    )


@require_safe
@ratelimit("licensing-verify", VERIFY_RATE, by=("ip",))
def verify_code(request, code):
    normal = normalise_code(code)
    if normal and normal != code:
        return redirect("licensing:verify-code", code=normal)
    lic = (
        License.objects.filter(code=normal)
        .select_related("track__artist", "project", "end_user")
        .only(
            "code",
            "status",
            "issued_at",
            "revoked_at",
            "agreement_version",
            "track__title",
            "track__slug",
            "track__kind",
            "track__artist__name",
            "project__title",
            "project__platform",
            "end_user__name",
        )  # fmt: skip
        .first()
        if normal
        else None
    )
    response = render(
        request,
        "licensing/verify_result.html",
        {"license": lic, "code": normal or code},
        status=200 if lic else 404,
    )
    response["X-Robots-Tag"] = "noindex"
    return response


# --- end users and projects -----------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def end_users(request):
    user = request.user
    rows = list(EndUser.objects.for_account(user).annotate(n=Count("licenses")))
    form = EndUserForm(request.POST or None) if user.is_enterprise else None
    if request.method == "POST":
        if not user.is_enterprise:
            messages.error(
                request, "Your account's end user is fixed by your first download and cannot be changed."
            )
            return redirect("licensing:end-users")
        if form.is_valid():
            try:
                end_user = services.designate_end_user(
                    user=user,
                    name=form.cleaned_data["name"],
                    role=form.cleaned_data["role"],
                    email=form.cleaned_data["email"],
                    request=request,
                )
            except LicensingError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, f"{end_user.name} is now a designated end user of this account.")
                return redirect("licensing:end-users")
    seats = user.designated_seats if user.is_enterprise else 1
    return render(
        request,
        "licensing/end_users.html",
        {
            "end_users": rows,
            "form": form,
            "seats": seats,
            "seats_left": max(seats - len(rows), 0),
        },
        status=400 if form is not None and form.errors else 200,
    )


@login_required
@require_safe
def projects(request):
    rows = (
        Project.objects.for_account(request.user)
        .annotate(n=Count("licenses"), last=Max("licenses__issued_at"))
        .order_by("-created_at")
    )
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    codes = services.project_letter_codes(request.user, page.object_list)
    for project in page.object_list:
        project.letter_codes = codes.get(project.pk, [])
    return render(request, "licensing/projects.html", {"page": page, "projects": page.object_list})
