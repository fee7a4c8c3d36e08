import pytest
from django.urls import reverse

from allmytracks.models import AuditLog
from catalog import ingest
from catalog.models import IngestJob, Track
from tests.factories import CollectionFactory, TrackFactory, TrackVersionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(staff, staff_client):
    """The staff persona with an authenticator app set up (the staff site asks for two factors)."""
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    TOTP.activate(staff, generate_totp_secret())
    assert staff_client.get(reverse("admin:catalog_track_changelist")).status_code == 200
    return staff_client


def test_staff_see_tracks_with_their_versions(admin_client):
    version = TrackVersionFactory(kind="stem", name="Drums stem")
    html = admin_client.get(reverse("admin:catalog_track_change", args=[version.track_id])).content.decode()
    assert "Drums stem" in html and "/previews/" in html


def test_staff_set_the_editorial_boost_and_the_worked_out_popularity_is_read_only(admin_client):
    track = TrackFactory(popularity=7)
    url = reverse("admin:catalog_track_change", args=[track.pk])
    html = admin_client.get(url).content.decode()
    assert 'name="popularity_boost"' in html
    assert 'name="popularity"' not in html and 'name="play_count"' not in html


def test_bulk_publish_and_unpublish_are_audited(admin_client):
    drafts = [TrackFactory(is_published=False) for _ in range(2)]
    url = reverse("admin:catalog_track_changelist")
    admin_client.post(url, {"action": "publish", "_selected_action": [t.pk for t in drafts]})
    assert Track.objects.filter(is_published=True).count() == 2
    admin_client.post(url, {"action": "unpublish", "_selected_action": [drafts[0].pk]})
    assert Track.objects.filter(is_published=True).count() == 1
    assert AuditLog.objects.filter(action="catalog.publish").exists()
    assert AuditLog.objects.filter(action="catalog.unpublish").exists()


def test_a_track_that_has_not_finished_ingest_cannot_be_published(admin_client):
    pending = TrackFactory(is_published=False, ingest_status="pending")
    response = admin_client.post(
        reverse("admin:catalog_track_changelist"),
        {"action": "publish", "_selected_action": [pending.pk]},
        follow=True,
    )
    assert "have not finished ingest" in response.content.decode()
    pending.refresh_from_db()
    assert not pending.is_published


def test_an_upload_is_ingested_and_its_status_listed(
    admin_client, make_audio, django_capture_on_commit_callbacks
):
    path = make_audio("flac", name="upload.flac", title="Uploaded Song", artist="Kite & Keel")
    with open(path, "rb") as fh, django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:catalog_ingestjob_add"),
            {"audio_file": fh, "version_kind": "full", "kind": "music", "genres": "Pop", "publish": "on"},
        )
    assert response.status_code == 302, (
        response.context["adminform"].form.errors if response.context else response
    )
    job = IngestJob.objects.get()
    assert job.status == "done" and job.created_by is not None
    assert job.track.title == "Uploaded Song" and job.track.is_published
    assert [g.name for g in job.track.genres.all()] == ["Pop"]
    html = admin_client.get(reverse("admin:catalog_ingestjob_changelist")).content.decode()
    assert "upload.flac" in html and "Done" in html


def test_failed_ingests_are_listed_with_reasons_and_can_be_retried(
    admin_client, django_capture_on_commit_callbacks
):
    from django.core.files.base import ContentFile

    job = ingest.create_job(ContentFile(b"not audio at all"), filename="notes.wav")
    ingest.run_job(job.pk)
    html = admin_client.get(reverse("admin:catalog_failedingestjob_changelist")).content.decode()
    assert "notes.wav" in html and "not an audio file we can read" in html

    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(
            reverse("admin:catalog_failedingestjob_changelist"),
            {"action": "retry", "_selected_action": [job.pk]},
        )
    job.refresh_from_db()
    assert job.attempts == 2 and job.status == "failed"  # still not audio, tried again
    assert AuditLog.objects.filter(action="catalog.ingest_retry").exists()


def test_collection_items_are_ordered_by_staff(admin_client):
    collection = CollectionFactory()
    a, b = TrackFactory(), TrackFactory()
    url = reverse("admin:catalog_collection_change", args=[collection.pk])
    data = {
        "title": collection.title,
        "slug": collection.slug,
        "description": "",
        "is_published": "on",
        "position": 0,
        "items-TOTAL_FORMS": 2,
        "items-INITIAL_FORMS": 0,
        "items-MIN_NUM_FORMS": 0,
        "items-MAX_NUM_FORMS": 1000,
        "items-0-position": 5,
        "items-0-track": b.pk,
        "items-1-position": 9,
        "items-1-track": a.pk,
    }
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert list(collection.items.values_list("track_id", "position")) == [(b.pk, 0), (a.pk, 1)]
