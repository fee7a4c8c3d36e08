"""Licensing's part of an account's data export (``accounts.data_export``): licences with their end
user and project, the end users and projects named, and licence letters."""

from accounts.data_export import when

from .models import EndUser, Letter, License, Project


def account_data(user):
    licences = (
        License.objects.for_account(user)
        .select_related("track__artist", "version", "end_user", "project")
        .order_by("issued_at")
    )
    letters = Letter.objects.filter(account=user).prefetch_related("licenses")
    return {
        "licences": [
            {
                "code": lic.code,
                "track": lic.track.title,
                "artist": lic.track.artist.name,
                "file": lic.version.label if lic.version_id else None,
                "end_user": lic.end_user.name,
                "project": lic.project.title,
                "platform": lic.project.get_platform_display(),
                "music_licence_agreement_version": lic.agreement_version,
                "paid_from": lic.get_source_type_display(),
                "issued": when(lic.issued_at),
                "status": lic.get_status_display(),
                "revoked": when(lic.revoked_at),
                "revoked_reason": lic.revoked_reason or None,
                "downloads": lic.download_count,
            }
            for lic in licences
        ],
        "end_users": [
            {
                "name": e.name,
                "role_or_company": e.role,
                "email": e.email,
                "kind": e.get_kind_display(),
                "named": when(e.created_at),
                "music_licence_agreement_version": e.agreement_version,
            }
            for e in EndUser.objects.for_account(user).order_by("created_at")
        ],
        "projects": [
            {
                "title": p.title,
                "platform": p.get_platform_display(),
                "url": p.url,
                "client": p.client_name,
                "named": when(p.created_at),
            }
            for p in Project.objects.for_account(user).order_by("created_at")
        ],
        "letters": [
            {
                "status": letter.get_status_display(),
                "revision": letter.revision,
                "requested": when(letter.requested_at),
                "made": when(letter.rendered_at),
                "licences": sorted(lic.code for lic in letter.licenses.all()),
            }
            for letter in letters.order_by("requested_at")
        ],
    }
