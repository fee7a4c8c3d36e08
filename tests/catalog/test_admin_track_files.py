"""Deleting a track's files on its staff page: never a file a licence names, nor the file a published
track plays from."""

import uuid

import pytest
from django.urls import reverse

from catalog.models import Track, TrackVersion
from tests.catalog.admin_pages import sent_as_shown
from tests.factories import TrackFactory, TrackVersionFactory, UserFactory

pytestmark = pytest.mark.django_db


def licence_of(version, *, also_downloaded=None):
    """A licence of ``version``'s track naming it as the file first downloaded (and a download of
    ``also_downloaded`` under it)."""
    from licensing.models import Download, EndUser, License, Project, new_code

    account = UserFactory()
    licence = License.objects.create(
        code=new_code(),
        account=account,
        end_user=EndUser.objects.create(account=account, kind="sole", name="Client Co"),
        project=Project.objects.create(account=account, title="Spring campaign", platform="youtube"),
        track=version.track,
        version=version,
        agreement_version=1,
        source_type="membership",
        source_id=1,
        submission=uuid.uuid4(),
    )
    Download.objects.create(license=licence, version=version, first=True)
    if also_downloaded is not None:
        Download.objects.create(license=licence, version=also_downloaded)
    return licence


def delete_files(client, track, *versions, **changes):
    """Tick Delete on ``versions`` in the track's page and save it."""
    url = reverse("admin:catalog_track_change", args=[track.pk])
    page = client.get(url)
    rows = {form.instance.pk: form.prefix for form in page.context["inline_admin_formsets"][0].formset.forms}
    ticked = {f"{rows[v.pk]}-DELETE": "on" for v in versions}
    return client.post(url, sent_as_shown(page, **ticked, **changes))


def test_the_only_file_of_a_published_licensed_track_cannot_be_deleted(admin_client):
    full = TrackVersionFactory(kind="full", original_filename="golden-hour.wav")
    licence = licence_of(full)

    response = delete_files(admin_client, full.track, full)

    assert response.status_code == 200
    html = response.content.decode()
    assert "“Full track” (golden-hour.wav) cannot be deleted: 1 licence names this file" in html
    assert "was changed successfully" not in html
    assert TrackVersion.objects.filter(pk=full.pk).exists()
    licence.refresh_from_db()
    assert licence.version_id == full.pk and Track.objects.get(pk=full.track_id).is_published


def test_a_file_downloaded_under_a_licence_cannot_be_deleted_even_from_a_draft(admin_client):
    track = TrackFactory(is_published=False)
    full = TrackVersionFactory(track=track, kind="full")
    stem = TrackVersionFactory(track=track, kind="stem", name="Drums stem")
    licence_of(full, also_downloaded=stem)

    response = delete_files(admin_client, track, stem)

    assert response.status_code == 200
    assert "“Drums stem” cannot be deleted: 1 licence names this file" in response.content.decode()
    assert TrackVersion.objects.filter(pk=stem.pk).exists()


def test_a_published_track_keeps_its_full_file_and_its_last_file_until_it_is_unpublished(admin_client):
    track = TrackFactory(title="Harbour Lights")
    full = TrackVersionFactory(track=track, kind="full")
    response = delete_files(admin_client, track, full)
    assert response.status_code == 200
    assert "“Full track” is the main file of this published track. Unpublish the track first" in (
        response.content.decode()
    )

    edit = TrackFactory(title="Short Edit Only")
    only = TrackVersionFactory(track=edit, kind="30s")
    response = delete_files(admin_client, edit, only)
    assert response.status_code == 200
    assert "Deleting “30 seconds” would leave this published track no file." in response.content.decode()
    assert TrackVersion.objects.filter(pk__in=[full.pk, only.pk]).count() == 2

    # Unpublished in the same save: the file may go.
    response = delete_files(admin_client, edit, only, is_published=None)
    assert response.status_code == 302, response.content.decode()[:3000]
    edit.refresh_from_db()
    assert not edit.is_published and not edit.versions.exists()


def test_an_unlicensed_extra_version_of_a_licensed_track_can_still_be_deleted(admin_client):
    track = TrackFactory()
    full = TrackVersionFactory(track=track, kind="full")
    stem = TrackVersionFactory(track=track, kind="stem", name="Drums stem")
    licence_of(full)

    response = delete_files(admin_client, track, stem)

    assert response.status_code == 302, response.content.decode()[:3000]
    assert list(track.versions.all()) == [full]
    track.refresh_from_db()
    assert track.is_published


def test_a_draft_whose_files_all_go_has_no_audio_and_cannot_be_published_until_a_file_comes(admin_client):
    track = TrackFactory(title="Paper Boats", is_published=False, content_hash="a" * 64)
    full = TrackVersionFactory(track=track, kind="full", content_hash="a" * 64)
    loop = TrackVersionFactory(track=track, kind="loop")

    response = delete_files(admin_client, track, full, loop)
    assert response.status_code == 302, response.content.decode()[:3000]
    track.refresh_from_db()
    assert track.ingest_status == "noaudio" and track.content_hash is None and track.waveform == []
    assert track.duration_seconds == 0  # the next file uploaded gives it its length

    response = admin_client.post(
        reverse("admin:catalog_track_change", args=[track.pk]),
        sent_as_shown(
            admin_client.get(reverse("admin:catalog_track_change", args=[track.pk])), is_published="on"
        ),
    )
    assert response.status_code == 200
    assert "This track has no audio file: upload one" in response.content.decode()
    track.refresh_from_db()
    assert not track.is_published
    assert not Track.objects.published().filter(pk=track.pk).exists()

    # The list's publish action leaves it out too, and says why.
    response = admin_client.post(
        reverse("admin:catalog_track_changelist"),
        {"action": "publish", "_selected_action": [track.pk]},
        follow=True,
    )
    assert "no audio file" in response.content.decode()
    track.refresh_from_db()
    assert not track.is_published


def test_deleting_the_main_file_frees_its_fingerprint_and_the_track_follows_the_files_left(admin_client):
    track = TrackFactory(is_published=False, content_hash="b" * 64, duration_seconds=180.0)
    full = TrackVersionFactory(track=track, kind="full", content_hash="b" * 64, duration_seconds=180.0)
    TrackVersionFactory(
        track=track, kind="30s", duration_seconds=30.0, peaks=[[-0.5, 0.5]] * 500 + [[-1.0, 1.0]] * 500
    )

    response = delete_files(admin_client, track, full)
    assert response.status_code == 302, response.content.decode()[:3000]
    track.refresh_from_db()
    assert track.content_hash is None  # the same file may become this or another track's main file
    assert track.ingest_status == "ready" and track.duration_seconds == 30.0
    assert track.waveform[0] == 50 and track.waveform[-1] == 100
    TrackFactory(content_hash="b" * 64)  # the fingerprint is free (unique) again


def test_a_track_page_opened_before_an_unpublish_cannot_publish_it_again(admin_client, admin_user):
    """Tab B has the track's page open; tab A unpublishes it from the list (a takedown). Saving tab B
    — any change — would have published it again: it is refused and says to reload."""
    from catalog import services

    track = TrackFactory(title="Harbour Lights")
    TrackVersionFactory(track=track, kind="full")
    url = reverse("admin:catalog_track_change", args=[track.pk])
    tab_b = sent_as_shown(admin_client.get(url), description="A new description")

    services.set_published(Track.objects.filter(pk=track.pk), False, actor=admin_user)
    response = admin_client.post(url, tab_b)

    html = response.content.decode()
    assert response.status_code == 200 and "after you opened this page" in html and "reload the page" in html
    track.refresh_from_db()
    assert not track.is_published and track.description != "A new description"

    # Reloaded, the page saves.
    response = admin_client.post(url, sent_as_shown(admin_client.get(url), description="A new description"))
    assert response.status_code == 302
    track.refresh_from_db()
    assert not track.is_published and track.description == "A new description"


def test_two_tabs_editing_one_track_the_second_save_is_refused_not_silently_applied(admin_client):
    track = TrackFactory(title="Harbour Lights", bpm=90)
    TrackVersionFactory(track=track, kind="full")
    url = reverse("admin:catalog_track_change", args=[track.pk])
    tab_a, tab_b = admin_client.get(url), admin_client.get(url)
    assert (
        admin_client.post(url, sent_as_shown(tab_a, title="Harbour Lights (Remastered)")).status_code == 302
    )
    response = admin_client.post(url, sent_as_shown(tab_b, bpm=120))
    assert response.status_code == 200 and "after you opened this page" in response.content.decode()
    track.refresh_from_db()
    assert track.title == "Harbour Lights (Remastered)" and track.bpm == 90


def test_a_track_page_whose_file_was_deleted_meanwhile_says_so(admin_client):
    track = TrackFactory(is_published=False)
    TrackVersionFactory(track=track, kind="full")
    stem = TrackVersionFactory(track=track, kind="stem", name="Drums stem")
    url = reverse("admin:catalog_track_change", args=[track.pk])
    stale = sent_as_shown(admin_client.get(url))
    assert delete_files(admin_client, track, stem).status_code == 302  # another tab

    response = admin_client.post(url, stale)

    assert response.status_code == 200
    assert "A file of this track was deleted after you opened this page: reload the page" in (
        response.content.decode()
    )


def test_a_licensed_track_cannot_be_deleted_and_the_page_says_why_in_plain_words(admin_client):
    full = TrackVersionFactory(kind="full")
    licence_of(full)
    url = reverse("admin:catalog_track_delete", args=[full.track_id])

    page = admin_client.get(url).content.decode()
    assert "protected related objects" in page and "records, kept as customers" in page
    assert "have permission" not in page
    admin_client.post(url, {"post": "yes"})
    assert Track.objects.filter(pk=full.track_id).exists()


def test_staff_edits_and_deletions_in_the_catalogue_are_in_the_audit_log(admin_client):
    from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME

    from allmytracks.models import AuditLog
    from tests.factories import CollectionFactory

    track = TrackFactory(title="Lucky Orbit", bpm=90, is_published=False)
    TrackVersionFactory(track=track, kind="full")
    url = reverse("admin:catalog_track_change", args=[track.pk])
    assert admin_client.post(url, sent_as_shown(admin_client.get(url), bpm=120)).status_code == 302
    edit = AuditLog.objects.get(action="catalog.track_edited")
    assert edit.actor.is_staff and edit.data["old"]["bpm"] == 90 and edit.data["new"]["bpm"] == 120

    admin_client.post(reverse("admin:catalog_track_delete", args=[track.pk]), {"post": "yes"})
    assert not Track.objects.filter(pk=track.pk).exists()
    deleted = AuditLog.objects.get(action="catalog.track_deleted")
    assert deleted.target_repr == "Lucky Orbit" and deleted.target_id == str(track.pk)

    collections = [CollectionFactory(title="Spring picks"), CollectionFactory(title="Autumn picks")]
    admin_client.post(
        reverse("admin:catalog_collection_changelist"),
        {"action": "delete_selected", ACTION_CHECKBOX_NAME: [c.pk for c in collections], "post": "yes"},
    )
    assert set(
        AuditLog.objects.filter(action="catalog.collection_deleted").values_list("target_repr", flat=True)
    ) == {
        "Spring picks",
        "Autumn picks",
    }


def test_a_double_clicked_save_or_file_delete_is_saved_not_refused_as_stale(admin_client):
    """The second of two identical posts finds the track changed — by the first. It would undo
    nothing, so it saves; and a file already deleted by the first is no loss."""
    track = TrackFactory(is_published=False, bpm=90)
    TrackVersionFactory(track=track, kind="full")
    stem = TrackVersionFactory(track=track, kind="stem", name="Drums stem")
    url = reverse("admin:catalog_track_change", args=[track.pk])
    page = admin_client.get(url)
    rows = {form.instance.pk: form.prefix for form in page.context["inline_admin_formsets"][0].formset.forms}
    twice = sent_as_shown(page, bpm=120, **{f"{rows[stem.pk]}-DELETE": "on"})

    assert admin_client.post(url, twice).status_code == 302
    again = admin_client.post(url, twice)

    assert again.status_code == 302, again.content.decode()[:2000]
    track.refresh_from_db()
    assert track.bpm == 120 and list(track.versions.values_list("kind", flat=True)) == ["full"]


def test_staff_who_may_only_view_tracks_see_no_stray_field_of_the_edit_guard(client, settings):
    from django.contrib.auth.models import Permission

    from tests.factories import StaffFactory

    settings.ACCOUNTS_STAFF_REQUIRE_MFA = False
    viewer = StaffFactory(is_superuser=False)
    viewer.user_permissions.set(Permission.objects.filter(codename="view_track"))
    client.force_login(viewer)
    track = TrackFactory(title="Harbour Lights")
    TrackVersionFactory(track=track)

    page = client.get(reverse("admin:catalog_track_change", args=[track.pk]))

    assert page.status_code == 200 and "Harbour Lights" in page.content.decode()
    assert "Loaded" not in page.content.decode() and 'name="loaded"' not in page.content.decode()
