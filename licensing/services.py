"""Every change to licensing state: end users, licences, downloads, letters, revocation.

Each service runs in a transaction, writes an audit row and schedules side effects after
commit. Refusals are ``LicensingError`` with a message for the user and, when something
can be fixed elsewhere, a ``url``.
"""

import logging
import re
import uuid
from collections import defaultdict
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from accounts.names import same_name
from allmytracks import audit
from allmytracks.errors import UserFacingError
from allmytracks.storage import private_download_url
from allmytracks.tasks import enqueue_on_commit

from .models import Download, EndUser, Letter, License, Project, new_code

log = logging.getLogger(__name__)

MUSIC_LICENCE = "music-licence"
CODE_ATTEMPTS = 8


class LicensingError(UserFacingError):
    """A refusal a person can read. ``url`` is where to fix it, when there is such a place."""


# --- gates shared with other apps -------------------------------------------------------------


def check_account(user, request=None):
    """May this account download now? Raises LicensingError pointing at the page that fixes it."""
    from accounts.services import AccountRestricted, check_can_transact
    from legal.services import AcceptanceRequired, agreement_status, ensure_current_agreements

    try:
        check_can_transact(user)
    except AccountRestricted as exc:
        raise LicensingError(str(exc), getattr(exc, "url", None)) from exc
    try:
        # One look at the acceptances when there is nothing to record; otherwise legal's own gate
        # records the versions accepted by continued use and decides (the same answer, slower).
        status = agreement_status(user, request=request)
        if status.continued_use:
            ensure_current_agreements(user, request)
        elif status.outstanding:
            raise AcceptanceRequired(status.outstanding)
    except AcceptanceRequired as exc:
        raise LicensingError(str(exc), exc.url) from exc


def music_licence_version():
    """The Music Licence Agreement version in force, or LicensingError when none is published."""
    from legal.services import current_version

    version = current_version(MUSIC_LICENCE)
    if version is None:
        raise LicensingError(
            "Downloads open as soon as the Music Licence Agreement is published. Please try again shortly."
        )
    return version


def has_accepted(user, version):
    from legal.models import Acceptance

    return Acceptance.objects.filter(user=user, version=version).exists()


def accept_music_licence(user, version, request=None):
    """Record the tick on the download form, unless this version was accepted already."""
    from legal.services import LegalError, record_acceptance

    if has_accepted(user, version):
        return None
    try:
        return record_acceptance(user=user, version=version, method="checkout", request=request)
    except LegalError as exc:
        raise LicensingError(str(exc), version.get_absolute_url()) from exc


def _lock_account(user):
    """Serialise end-user and licence changes of one account (seat counting, the sole end user)."""
    return (
        get_user_model()
        .objects.select_for_update()
        .only("id", "account_type", "designated_seats")
        .get(pk=user.pk)
    )


# --- end users --------------------------------------------------------------------------------


def sole_end_user(user):
    return EndUser.objects.filter(account=user, kind=EndUser.Kind.SOLE).first()


def seats_used(user):
    return EndUser.objects.filter(account=user).count()


def _designate(account, *, name, role="", email="", version_number=None, actor=None, request=None):
    used = EndUser.objects.filter(account=account).count()
    if used >= account.designated_seats:
        raise LicensingError(
            f"Your account may name {account.designated_seats} designated end "
            f"user{'s' if account.designated_seats != 1 else ''}, and all seats are taken. "
            "Ask AllMyTracks staff for more seats.",
            reverse("licensing:end-users"),
        )
    end_user = EndUser.objects.create(
        account=account,
        kind=EndUser.Kind.DESIGNATED,
        name=name.strip(),
        role=role.strip(),
        email=email.strip(),
        agreement_version=version_number,
    )
    audit.record(
        "licensing.end_user_designated",
        actor=actor,
        target=end_user,
        request=request,
        account_id=account.pk,
        name=end_user.name,
        agreement_version=version_number,
    )
    if end_user.email:
        from . import tasks

        enqueue_on_commit(tasks.send_end_user_notice, end_user.pk)
    return end_user


def designate_end_user(*, user, name, role="", email="", request=None):
    """An enterprise names a designated end user in writing, within its seats."""
    if not user.is_enterprise:
        raise LicensingError(
            "Only enterprise accounts designate end users. "
            "Your account's end user is fixed by your first download."
        )
    if not name.strip():
        raise LicensingError("Give the end user's name.")
    version = music_licence_version()
    with transaction.atomic():
        account = _lock_account(user)
        return _designate(
            account,
            name=name,
            role=role,
            email=email,
            version_number=version.number,
            actor=user,
            request=request,
        )


def _resolve_end_user(account, user, *, end_user, new_end_user, version_number, request):
    """The end user of a new licence: an existing one of this account, or a new one."""
    if end_user is not None:
        if end_user.account_id != account.pk:
            raise LicensingError("Choose one of your own end users.")
        return end_user
    name = (new_end_user or {}).get("name", "").strip()
    if not name:
        raise LicensingError("Tell us who will use this work.")
    if account.is_enterprise:
        return _designate(
            account,
            name=name,
            role=new_end_user.get("role", ""),
            email=new_end_user.get("email", ""),
            version_number=version_number,
            actor=user,
            request=request,
        )
    existing = sole_end_user(account)
    if existing is not None:
        if same_name(existing.name, name):
            return existing
        raise LicensingError(
            f"Your account's end user is {existing.name}, fixed by your first download. "
            "An individual account has one end user for good; it cannot change."
        )
    try:
        with transaction.atomic():
            created = EndUser.objects.create(
                account=account,
                kind=EndUser.Kind.SOLE,
                name=name,
                role=new_end_user.get("role", "").strip(),
                agreement_version=version_number,
            )
    except IntegrityError as exc:  # the partial unique constraint: one sole end user per account
        raise LicensingError("Your account already has its end user; it cannot change.") from exc
    audit.record(
        "licensing.sole_end_user_fixed", actor=user, target=created, request=request, name=created.name
    )
    return created


# --- projects ---------------------------------------------------------------------------------


def _resolve_project(account, *, project, new_project):
    if project is not None:
        if project.account_id != account.pk:
            raise LicensingError("Choose one of your own projects.")
        return project, False
    data = new_project or {}
    title = data.get("title", "").strip()
    if not title or not data.get("platform"):
        raise LicensingError("Give the project a title and a platform.")
    return (
        Project.objects.create(
            account=account,
            title=title,
            platform=data["platform"],
            url=data.get("url", "").strip(),
            client_name=data.get("client_name", "").strip(),
        ),
        True,
    )


def _check_project_end_user(project, end_user):
    """One end user and one project for every download: a project already licensed for an end user
    takes licences for that end user only (another end user starts a project of their own)."""
    holder_id = (
        License.objects.filter(project=project).order_by("issued_at", "pk").values_list("end_user_id").first()
    )
    if holder_id is not None and holder_id[0] != end_user.pk:
        name = EndUser.objects.filter(pk=holder_id[0]).values_list("name", flat=True).get()
        raise LicensingError(
            f"“{project.title}” is licensed for {name}, and a project has one end user. "
            f"Choose {name}, or start a new project for this end user."
        )


# --- licences and downloads -------------------------------------------------------------------


@dataclass
class Grant:
    license: License
    created: bool  # False: an existing licence (same submission, or same track and project)
    url: str
    reason: str = ""  # why no new licence was issued, for the page


_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f]+')


def download_filename(license, version):
    """``Artist - Title (AMT-XXXX-XXXX).wav``; other versions add their label."""
    track = license.track
    ext = (version.format or version.master.name.rsplit(".", 1)[-1] or "wav").lower()
    label = "" if version.kind == "full" else f" - {version.label}"
    name = f"{track.artist.name} - {track.title}{label} ({license.code}).{ext}"
    return _UNSAFE.sub(" ", name).strip()


CONTENT_TYPES = {
    "wav": "audio/wav",
    "flac": "audio/flac",
    "aiff": "audio/aiff",
    "aif": "audio/aiff",
    "mp3": "audio/mpeg",
}


def signed_download_url(license, version):
    filename = download_filename(license, version)
    ext = filename.rsplit(".", 1)[-1]
    return private_download_url(
        version.master.name,
        filename=filename,
        content_type=CONTENT_TYPES.get(ext, "application/octet-stream"),
    )


def _check_version(track, version):
    if (
        version is None
        or version.track_id != track.pk
        or version.ingest_status != "ready"
        or not version.master
    ):
        raise LicensingError("That file of this track is not available. Choose another version.")


def _record_download(license, version, request, *, counted=False):
    """One download of ``license``'s ``version``; the licence's first is marked so (for a playlist's
    licences, issued without a download, it comes later). ``counted``: a new licence, created with
    this download counted."""
    first = counted or license.download_count == 0
    Download.objects.create(license=license, version=version, ip=audit.client_ip(request), first=first)
    if not counted:
        License.objects.filter(pk=license.pk).update(
            download_count=F("download_count") + 1, last_downloaded_at=timezone.now()
        )


def grant_license(
    *,
    user,
    track,
    version,
    submission,
    end_user=None,
    new_end_user=None,
    project=None,
    new_project=None,
    request=None,
    download=True,
):
    """Download = licence. Returns a ``Grant`` with the signed URL of the file.

    ``download=False``: the licence only (licensing a playlist's tracks); no download is recorded
    until the member downloads a file from the licence's page.

    - The same form submitted twice returns the first licence (``submission`` is unique).
    - The same track for the same project is a free re-download of the existing licence.
    - Otherwise one unit is consumed from billing inside this transaction, and the new
      licence carries the Music Licence Agreement version in force.
    """
    check_account(user, request)
    if not track.is_published:
        raise LicensingError("This track is not available.")
    _check_version(track, version)
    agreement = music_licence_version()
    if not isinstance(submission, uuid.UUID):
        submission = uuid.UUID(str(submission))

    # A new licence code is drawn for each attempt. A collision with an existing code (about one in
    # 10^11 per grant) fails the licence INSERT; the whole transaction is then rolled back and run
    # again with another code, which keeps a savepoint out of every grant.
    for _attempt in range(CODE_ATTEMPTS):
        code = new_code()
        try:
            with transaction.atomic():
                grant = _grant(
                    user, track, version, submission, agreement, code, end_user=end_user,
                    new_end_user=new_end_user, project=project, new_project=new_project, request=request,
                    download=download,
                )  # fmt: skip
        except IntegrityError:
            if License.objects.filter(code=code).exists():
                continue  # a code collision: draw another
            if not type(version).objects.filter(pk=version.pk).exists():  # staff deleted it meanwhile
                raise LicensingError("That file is no longer available. Choose another one.") from None
            raise
        if grant.created:
            grant.license.track = track
            grant.url = signed_download_url(grant.license, version) if download else ""
        return grant
    raise LicensingError("We could not issue a licence code just now. Please try again.")  # pragma: no cover


def _grant(user, track, version, submission, agreement, code, *, end_user, new_end_user, project, new_project,
           request, download):  # fmt: skip
    """The transaction of ``grant_license``. A new licence's Grant comes back without its URL."""
    from billing import entitlements

    account = _lock_account(user)
    # The same form sent again: almost never, so ask for the id only and load the rest on a hit.
    ids = list(License.objects.filter(account=account, submission=submission).values_list("pk")[:1])
    existing = License.objects.select_related("track__artist").get(pk=ids[0][0]) if ids else None
    if existing is not None:
        if not download:
            return Grant(existing, False, "", "already-issued")
        _record_download(
            existing, version if version.track_id == existing.track_id else existing.version, request
        )
        return Grant(existing, False, signed_download_url(existing, version), "already-issued")
    the_project, project_is_new = _resolve_project(account, project=project, new_project=new_project)
    # Named (or designated) first: a refusal below rolls a new designation back with the rest.
    the_end_user = _resolve_end_user(
        account,
        user,
        end_user=end_user,
        new_end_user=new_end_user,
        version_number=agreement.number,
        request=request,
    )
    if not project_is_new:
        _check_project_end_user(the_project, the_end_user)
        same = (
            License.objects.filter(project=the_project, track=track)
            .order_by("status", "-issued_at")
            .select_related("track__artist")
            .first()
        )
        if same is not None and same.is_active:
            if not download:
                return Grant(same, False, "", "same-project")
            _record_download(same, version, request)
            return Grant(same, False, signed_download_url(same, version), "same-project")
        if same is not None:
            raise LicensingError(
                f"Your licence {same.code} for this track in this project was revoked, so it cannot be "
                f"downloaded again for it. Questions: write to support."
            )
    try:
        consumption = entitlements.consume(user, track=track)
    except entitlements.EntitlementError as exc:
        raise LicensingError(str(exc), getattr(exc, "url", None)) from exc
    license = License.objects.create(
        code=code,
        account=account,
        end_user=the_end_user,
        project=the_project,
        track=track,
        version=version,
        agreement_version=agreement.number,
        source_type=consumption.source_type,
        source_id=consumption.source_id,
        submission=submission,
        download_count=1 if download else 0,
        last_downloaded_at=timezone.now() if download else None,
    )
    if download:
        _record_download(license, version, request, counted=True)
    audit.record(
        "licensing.license_granted",
        actor=user,
        target=license,
        request=request,
        track_id=track.pk,
        project_id=the_project.pk,
        end_user_id=the_end_user.pk,
        source=f"{consumption.source_type}:{consumption.source_id}",
        agreement_version=agreement.number,
    )
    return Grant(license, True, "")


# Tracks one form may license together (a playlist's tracks for one project).
BULK_MAX_TRACKS = 25


def grant_licenses(
    *,
    user,
    tracks,
    submission,
    end_user=None,
    new_end_user=None,
    project=None,
    new_project=None,
    request=None,
):
    """A licence for each of ``tracks`` (their main file), all for the same end user and project —
    a playlist licensed for one video. Each is granted as the download form grants one, in its own
    transaction: a track already licensed for that project is a free re-download, and the form sent
    again (the same ``submission``) answers with the licences it issued the first time. The first
    grant names (or creates) the end user and project; the others name the same. Stops at the first
    track that cannot be licensed (no licence left, say), keeping those already issued.

    Returns ``(grants, refusal)``: the ``Grant`` of each track licensed, in order, and ``None`` or
    ``(track, LicensingError)`` for the track it stopped at."""
    if not isinstance(submission, uuid.UUID):
        submission = uuid.UUID(str(submission))
    grants = []
    for track in tracks:
        version = track.main_version()
        if version is None:
            return grants, (track, LicensingError(f"“{track.title}” has no file to download yet."))
        try:
            grant = grant_license(
                user=user,
                track=track,
                version=version,
                submission=uuid.uuid5(submission, str(track.pk)),  # one per track, the same when sent again
                end_user=end_user,
                new_end_user=new_end_user,
                project=project,
                new_project=new_project,
                request=request,
                download=False,  # each file is downloaded from its licence's page
            )
        except LicensingError as exc:
            return grants, (track, exc)
        grants.append(grant)
        end_user, new_end_user = grant.license.end_user, None
        project, new_project = grant.license.project, None
    return grants, None


def redownload(*, user, license, version, request=None):
    """Another file (any version or stem) of a licensed track: free, never consumes."""
    if license.account_id != user.pk:
        raise LicensingError("This licence belongs to another account.")
    if license.is_revoked:
        raise LicensingError(f"Licence {license.code} was revoked, so its files cannot be downloaded.")
    check_account(user, request)
    _check_version(license.track, version)
    with transaction.atomic():
        _record_download(license, version, request)
    return signed_download_url(license, version)


# --- revocation --------------------------------------------------------------------------------


def revoke_license(*, license, actor, reason, request=None):
    """Staff revoke a licence for a breach. The verification page says revoked from now on."""
    reason = (reason or "").strip()
    if not reason:
        raise LicensingError("Give the reason for revoking this licence.")
    with transaction.atomic():
        locked = License.objects.select_for_update().get(pk=license.pk)
        if locked.is_revoked:
            return locked
        locked.status = License.Status.REVOKED
        locked.revoked_at = timezone.now()
        locked.revoked_reason = reason
        locked.revoked_by = actor
        locked.save(update_fields=["status", "revoked_at", "revoked_reason", "revoked_by"])
        audit.record("licensing.license_revoked", actor=actor, target=locked, reason=reason, request=request)
        from . import tasks

        enqueue_on_commit(tasks.send_revocation_notice, locked.pk)
    return locked


# --- letters ----------------------------------------------------------------------------------


def letter_key(licenses):
    return "L:" + ",".join(str(pk) for pk in sorted({lic.pk for lic in licenses}))


LETTER_MAX_LICENCES = 51  # licences one letter request may name (its own and 50 others)


def project_letter_codes(user, projects):
    """{project id: codes of its active licences, newest first} for an enterprise's ``projects``:
    what one letter for each project names (the letter request of the first, with the others).
    One query; a project with more licences than a request may name is left out (its letters are
    asked for from a licence's page), as is every project of an account that is not an enterprise."""
    if not user.is_enterprise:
        return {}
    codes = defaultdict(list)
    active = License.objects.for_account(user).active().filter(project__in=list(projects))
    for project_id, code in active.order_by("-issued_at").values_list("project_id", "code"):
        codes[project_id].append(code)
    return {pk: found for pk, found in codes.items() if len(found) <= LETTER_MAX_LICENCES}


NAME_FIRST = (
    "A licence letter names you as the licensee: add your name (or your company's) to your profile first."
)


def names_licensee(account):
    """Whether ``account`` has the name a letter gives as the licensee (its company's or its own)."""
    return bool((account.company or "").strip() or (account.display_name or "").strip())


def request_letter(*, user, licenses, request=None):
    """The letter for one licence (or, for an enterprise, several licences of one project).

    Asking again returns the same letter; a failed one is tried again."""
    licenses = list(licenses)
    if not licenses:
        raise LicensingError("Choose at least one licence.")
    if any(lic.account_id != user.pk for lic in licenses):
        raise LicensingError("These licences are not all yours.")
    revoked = [lic.code for lic in licenses if lic.is_revoked]
    if revoked:
        raise LicensingError(f"Licence {', '.join(revoked)} was revoked; no letter can be issued for it.")
    if not names_licensee(user):
        raise LicensingError(NAME_FIRST)
    if len(licenses) > 1:
        if not user.is_enterprise:
            raise LicensingError("A letter listing several licences is for enterprise accounts.")
        if len({lic.project_id for lic in licenses}) != 1:
            raise LicensingError(
                "A letter lists licences of one client project. Choose licences of one project."
            )
    key = letter_key(licenses)
    with transaction.atomic():
        letter, created = Letter.objects.get_or_create(
            key=key, defaults={"account_id": user.pk, "project_id": licenses[0].project_id}
        )
        if created:
            letter.licenses.set(licenses)
            audit.record(
                "licensing.letter_requested",
                actor=user,
                target=letter,
                request=request,
                licenses=[lic.code for lic in licenses],
            )
        elif letter.status == Letter.Status.FAILED:
            Letter.objects.filter(pk=letter.pk, status=Letter.Status.FAILED).update(
                status=Letter.Status.PENDING, error=""
            )
            letter.status = Letter.Status.PENDING
            created = True
        if created:
            from . import tasks

            enqueue_on_commit(tasks.render_letter, letter.pk)
    return letter


def regenerate_letter(*, letter, actor, request=None):
    """Staff make the letter again (after a correction); the new PDF replaces the old one."""
    with transaction.atomic():
        locked = Letter.objects.select_for_update().get(pk=letter.pk)
        if locked.licenses.filter(status=License.Status.REVOKED).exists():
            raise LicensingError("This letter lists a revoked licence; it cannot be made again.")
        locked.status = Letter.Status.PENDING
        locked.revision = F("revision") + 1
        locked.error = ""
        locked.save(update_fields=["status", "revision", "error"])
        audit.record("licensing.letter_regenerated", actor=actor, target=locked, request=request)
        from . import tasks

        enqueue_on_commit(tasks.render_letter, locked.pk)
    locked.refresh_from_db()
    return locked


def render_letter(letter_id):
    """Make the PDF of a pending letter. Safe to run twice: only a pending letter moves on."""
    from django.core.files.base import ContentFile

    from . import pdf

    moved = Letter.objects.filter(pk=letter_id, status=Letter.Status.PENDING).update(
        status=Letter.Status.RENDERING
    )
    if not moved:
        return False
    letter = Letter.objects.select_related("account", "project").get(pk=letter_id)
    licenses = list(
        letter.licenses.select_related("track__artist", "end_user", "project", "version").order_by(
            "issued_at", "id"
        )
    )
    try:
        content = pdf.render_letter(letter, licenses)
    except Exception as exc:  # a broken letter must not stay "being made" for ever
        log.exception("licence letter %s failed", letter_id)
        Letter.objects.filter(pk=letter_id).update(status=Letter.Status.FAILED, error=str(exc)[:500])
        raise
    old_name = letter.file.name if letter.file else ""
    with transaction.atomic():
        letter.file.save(
            f"{letter.pk}-r{letter.revision}-{uuid.uuid4().hex[:8]}.pdf", ContentFile(content), save=False
        )
        Letter.objects.filter(pk=letter_id).update(
            file=letter.file.name, status=Letter.Status.READY, rendered_at=timezone.now()
        )
        audit.record("licensing.letter_rendered", target=letter, revision=letter.revision, size=len(content))
        from . import tasks

        enqueue_on_commit(tasks.send_letter, letter.pk)
    if old_name and old_name != letter.file.name:
        letter.file.storage.delete(old_name)
    return True


def letter_download_url(letter):
    return private_download_url(letter.file.name, filename=letter.filename(), content_type="application/pdf")


# --- account cancellation ---------------------------------------------------------------------


def forget_end_user_emails(user):
    """On cancellation: end users' email addresses go; names stay, because verification needs them."""
    changed = EndUser.objects.filter(account=user).exclude(email="").update(email="")
    if changed:
        audit.record("licensing.end_user_emails_erased", target=user, count=changed)
