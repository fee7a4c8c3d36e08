import hashlib
import re
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils.text import slugify

from allmytracks.models import AuditLog
from catalog import ingest
from catalog.models import CollectionItem, IngestJob, SoundCategory, Track
from tests.factories import CollectionFactory, GenreFactory, MoodFactory, TrackFactory, TrackVersionFactory

pytestmark = pytest.mark.django_db


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
    assert "Nothing was published, as the audio is not ready" in response.content.decode()
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
    assert "upload.flac" in html and "Imported" in html
    assert reverse("admin:catalog_track_change", args=[job.track_id]) in html


def test_failed_ingests_are_listed_with_reasons_and_can_be_retried(
    admin_client, django_capture_on_commit_callbacks
):
    from django.core.files.base import ContentFile

    job = ingest.create_job(ContentFile(b"not audio at all"), filename="notes.wav")
    ingest.run_job(job.pk)
    html = admin_client.get(reverse("admin:catalog_failedingestjob_changelist")).content.decode()
    assert "notes.wav" in html and "This file is not a WAV audio file" in html

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


# --- uploads: what became of each file ------------------------------------------------------


def failed_job(name="notes.wav", content=b"not audio at all", **kwargs):
    job = ingest.create_job(ContentFile(content), filename=name, **kwargs)
    ingest.run_job(job.pk)
    job.refresh_from_db()
    assert job.status == "failed"
    return job


def duplicate_job(name="same-again.wav"):
    """An upload of a file the catalogue already holds (as a ready version of another track)."""
    content = f"the very same master bytes as {name}".encode()
    existing = TrackVersionFactory(
        track__title="Distant Harbour", content_hash=hashlib.sha256(content).hexdigest()
    )
    job = ingest.create_job(ContentFile(content), filename=name)
    ingest.run_job(job.pk)
    job.refresh_from_db()
    return job, existing


def messages_of(response):
    return [str(m) for m in response.context["messages"]]


def test_a_failed_upload_offers_its_file_through_a_signed_private_link(admin_client):
    job = failed_job()
    html = admin_client.get(reverse("admin:catalog_failedingestjob_change", args=[job.pk])).content.decode()
    assert "/media/" not in html  # the upload is in the private storage, never under MEDIA_URL
    href = re.search(r'<a href="(/files/[^"]+)">notes\.wav</a>', html).group(1)
    response = admin_client.get(href)
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="notes.wav"'
    assert b"".join(response.streaming_content) == b"not audio at all"

    html = admin_client.get(reverse("admin:catalog_ingestjob_change", args=[job.pk])).content.decode()
    assert re.search(r'<a href="/files/[^"]+">notes\.wav</a>', html)


def test_an_upload_whose_file_is_gone_shows_its_name_without_a_link(admin_client):
    job, _ = duplicate_job()
    assert not job.upload.storage.exists(job.upload.name)  # the catalogue already had it: not kept
    html = admin_client.get(reverse("admin:catalog_ingestjob_change", args=[job.pk])).content.decode()
    assert "same-again.wav <span" in html and "not kept: the catalogue already holds this file" in html
    assert "/files/" not in html and "/media/uploads/" not in html


def test_a_duplicate_upload_says_so_and_links_the_track_that_already_has_the_file(admin_client):
    job, existing = duplicate_job()
    imported = ingest.create_job(ContentFile(b"x"), filename="new.wav")
    IngestJob.objects.filter(pk=imported.pk).update(status="done", track=TrackFactory(), version=None)
    track_url = reverse("admin:catalog_track_change", args=[existing.track_id])

    page = admin_client.get(reverse("admin:catalog_ingestjob_change", args=[job.pk])).content.decode()
    assert "Duplicate</span> already in the catalogue as" in page and f'href="{track_url}"' in page
    assert "Done" not in page and "Imported" not in page
    assert "same-again.wav — Duplicate" in page  # the page's heading

    changelist = reverse("admin:catalog_ingestjob_changelist")
    listed = admin_client.get(changelist).content.decode()
    assert "Duplicate</span> already in the catalogue as" in listed and "Imported</span>" in listed
    duplicates = admin_client.get(changelist, {"outcome": "duplicate"}).context["cl"].result_list
    assert [j.pk for j in duplicates] == [job.pk]
    assert [
        j.pk for j in admin_client.get(changelist, {"outcome": "imported"}).context["cl"].result_list
    ] == [imported.pk]


def test_an_upload_s_record_cannot_be_edited_by_hand(admin_client):
    job = failed_job()
    url = reverse("admin:catalog_ingestjob_change", args=[job.pk])
    html = admin_client.get(url).content.decode()
    assert 'name="status"' not in html and 'name="track"' not in html and 'name="upload"' not in html
    assert admin_client.post(url, {"status": "done"}).status_code == 403
    job.refresh_from_db()
    assert job.status == "failed"


def test_an_upload_s_page_shows_each_fact_once_in_words(admin_client):
    track = TrackFactory(title="Harbour Lights")
    job = failed_job(
        source=IngestJob.Source.IMPORT,
        options={"track_id": track.pk, "version_kind": "stem", "version_name": "Drums", "publish": True},
    )
    html = admin_client.get(reverse("admin:catalog_failedingestjob_change", args=[job.pk])).content.decode()
    assert html.count("This file is not a WAV audio file") == 1
    assert html.count("<label>Outcome:</label>") == 1 and "Status:" not in html and "Error:" not in html
    assert "Command-line import" in html and "import_tracks" not in html
    assert "{&quot;" not in html and '{"' not in html  # no raw JSON
    assert "<dt>Added to track</dt><dd><a href=" in html and "Harbour Lights" in html
    assert "<dt>Version</dt><dd>Stem</dd>" in html and "<dt>Publish when processed</dt><dd>Yes</dd>" in html


def test_a_file_added_to_a_track_is_reported_as_that_track_s_new_file(db):
    from catalog.admin import outcome_message

    track = TrackFactory(title="Harbour Lights")
    job = IngestJob.objects.create(
        original_filename="drums.wav",
        status=IngestJob.Status.DONE,
        track=track,
        options={"track_id": track.pk, "version_kind": "stem", "version_name": "Drums"},
    )
    _, message = outcome_message([job])
    assert message.startswith("“drums.wav” is imported as a new file (Stem) of <a href=")
    assert "Harbour Lights</a>." in message


def test_the_uploads_list_names_the_source_in_words(admin_client):
    failed_job(source=IngestJob.Source.IMPORT)
    html = admin_client.get(reverse("admin:catalog_ingestjob_changelist")).content.decode()
    assert "Command-line import" in html and "import_tracks" not in html
    assert ">Upload audio</a>" in html


# Staff read what became of a file in a message after the request has committed (without a
# worker the job runs in that commit): these tests commit for real.
committing = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@committing
def test_after_an_upload_the_message_tells_the_outcome_not_the_state_before_it_ran(admin_client, make_audio):
    path = make_audio("flac", name="upload.flac", title="Uploaded Song")
    with open(path, "rb") as fh:
        response = admin_client.post(
            reverse("admin:catalog_ingestjob_add"),
            {"audio_file": fh, "version_kind": "full", "kind": "music"},
            follow=True,
        )
    job = IngestJob.objects.get()
    assert response.redirect_chain[-1][0] == reverse("admin:catalog_ingestjob_change", args=[job.pk])
    [message] = messages_of(response)
    assert message.startswith("“upload.flac” is imported as <a href=") and "Uploaded Song" in message
    assert "Waiting" not in response.content.decode()

    with open(path, "rb") as fh:
        response = admin_client.post(
            reverse("admin:catalog_ingestjob_add"),
            {"audio_file": fh, "version_kind": "full", "kind": "music"},
            follow=True,
        )
    [message] = messages_of(response)
    assert message.startswith("“upload.flac” added nothing: it is already in the catalogue as <a href=")


@committing
def test_a_failed_upload_is_reported_as_failed_at_once(admin_client):
    response = admin_client.post(
        reverse("admin:catalog_ingestjob_add"),
        {
            "audio_file": SimpleUploadedFile("notes.wav", b"not audio"),
            "version_kind": "full",
            "kind": "music",
        },
        follow=True,
    )
    [message] = messages_of(response)
    assert message.startswith("“notes.wav” could not be imported: This file is not a WAV audio file")


@committing
def test_retrying_reports_what_became_of_each_file(admin_client, make_audio):
    fixed, broken = failed_job("fixed.flac"), failed_job("notes.wav")
    Path(fixed.upload.path).write_bytes(
        make_audio("flac", name="fixed.flac", title="Fixed Song").read_bytes()
    )

    response = admin_client.post(
        reverse("admin:catalog_failedingestjob_changelist"),
        {"action": "retry", "_selected_action": [fixed.pk, broken.pk]},
        follow=True,
    )
    [message] = messages_of(response)
    assert message.startswith("1 file imported, 1 failed again: “notes.wav”: This file is not a WAV audio")
    assert "queued" not in message
    assert IngestJob.objects.get(pk=fixed.pk).track.title == "Fixed Song"
    assert AuditLog.objects.filter(action="catalog.ingest_retry").count() == 2


@committing
def test_retrying_says_queued_only_when_a_worker_will_run_the_job(admin_client, monkeypatch):
    from catalog.tasks import ingest_job

    sent = []
    monkeypatch.setattr(ingest_job, "apply_async", lambda args, kwargs: sent.append(args))
    job = failed_job()
    response = admin_client.post(
        reverse("admin:catalog_failedingestjob_changelist"),
        {"action": "retry", "_selected_action": [job.pk]},
        follow=True,
    )
    assert sent == [(job.pk,)]
    assert messages_of(response) == [
        "“notes.wav” is queued for processing; its outcome will show in Uploads."
    ]


@committing
def test_a_failed_upload_has_a_retry_button_on_its_page(admin_client):
    job = failed_job()
    page_url = reverse("admin:catalog_failedingestjob_change", args=[job.pk])
    retry_url = reverse("admin:catalog_failedingestjob_retry", args=[job.pk])
    html = admin_client.get(page_url).content.decode()
    form = re.search(r'<form method="post" action="([^"]+)" class="catalog-retry">(.*?)</form>', html, re.S)
    assert form.group(1) == retry_url and 'name="csrfmiddlewaretoken"' in form.group(2)

    assert admin_client.get(retry_url).status_code == 405
    response = admin_client.post(retry_url, follow=True)
    assert response.redirect_chain[-1][0] == page_url  # still failed: back on its page
    [message] = messages_of(response)
    assert message.startswith("“notes.wav” failed again: This file is not a WAV audio file")
    job.refresh_from_db()
    assert job.attempts == 2


def test_the_retry_button_needs_the_permission_to_change_uploads(db, django_user_model):
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
    from django.contrib.auth.models import Permission
    from django.test import Client

    viewer = django_user_model.objects.create_user("viewer@allmytracks.test", "pw-12345678", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_failedingestjob"))
    TOTP.activate(viewer, generate_totp_secret())
    client = Client()
    client.force_login(viewer)
    job = failed_job()
    html = client.get(reverse("admin:catalog_failedingestjob_change", args=[job.pk])).content.decode()
    assert "notes.wav" in html and "Retry this upload" not in html
    assert client.post(reverse("admin:catalog_failedingestjob_retry", args=[job.pk])).status_code == 403
    job.refresh_from_db()
    assert job.attempts == 1


# --- tracks -----------------------------------------------------------------------------------


def test_the_tracks_list_keeps_to_the_columns_staff_scan(admin_client):
    TrackFactory(title="Quiet Dreams", is_published=False)
    TrackFactory(title="Busy Roads", ingest_status="failed", is_published=False)
    html = admin_client.get(reverse("admin:catalog_track_changelist")).content.decode()
    headers = re.findall(r'<th scope="col" class="[^"]*column-(\w+)', html)
    assert headers == ["title", "artist", "kind", "status", "added"]
    assert "Draft</span>" in html and "Failed</span>" in html


def test_the_tracks_list_offers_an_upload_instead_of_adding_a_track_by_hand(admin_client):
    html = admin_client.get(reverse("admin:catalog_track_changelist")).content.decode()
    assert f'<a href="{reverse("admin:catalog_ingestjob_add")}" class="addlink">Upload audio</a>' in html
    assert admin_client.get(reverse("admin:catalog_track_add")).status_code == 403


def test_genre_and_mood_filters_have_no_empty_entry(admin_client):
    TrackFactory(genres=[GenreFactory(name="Ambient")], moods=[MoodFactory(name="Calm")])
    TrackFactory(genres=[GenreFactory(name="Pop")], moods=[MoodFactory(name="Happy")])
    html = admin_client.get(reverse("admin:catalog_track_changelist")).content.decode()
    assert "genres__id__exact" in html and "moods__id__exact" in html
    assert "genres__isnull" not in html and "moods__isnull" not in html


def test_a_track_s_audio_status_is_not_editable_and_its_files_download_privately(admin_client):
    version = TrackVersionFactory(original_filename="harbour.wav")
    html = admin_client.get(reverse("admin:catalog_track_change", args=[version.track_id])).content.decode()
    assert 'name="ingest_status"' not in html
    assert re.search(r'<a href="/files/[^"]+" title="Download the master">harbour\.wav</a>', html)
    add_version = reverse("admin:catalog_ingestjob_add") + f"?attach_to={version.track_id}"
    assert f'href="{add_version}"' in html


def _track_form_data(track, **changes):
    data = {
        "kind": track.kind,
        "title": track.title,
        "slug": track.slug,
        "artist": track.artist_id,
        "vocals": track.vocals,
        "energy": track.energy,
        "popularity_boost": 0,
        "versions-TOTAL_FORMS": 0,
        "versions-INITIAL_FORMS": 0,
        "versions-MIN_NUM_FORMS": 0,
        "versions-MAX_NUM_FORMS": 1000,
        "loaded": track.updated_at.isoformat(),  # the page was opened with the track as it is
    }
    return {**data, **changes}


def test_a_track_whose_audio_is_not_ready_cannot_be_published_from_its_page(admin_client):
    pending = TrackFactory(is_published=False, ingest_status="pending")
    url = reverse("admin:catalog_track_change", args=[pending.pk])
    response = admin_client.post(url, _track_form_data(pending, is_published="on"))
    assert response.status_code == 200
    assert "has not finished processing" in response.content.decode()
    pending.refresh_from_db()
    assert not pending.is_published

    ready = TrackFactory(is_published=False)
    url = reverse("admin:catalog_track_change", args=[ready.pk])
    assert admin_client.post(url, _track_form_data(ready, is_published="on")).status_code == 302
    ready.refresh_from_db()
    assert ready.is_published
    assert AuditLog.objects.get(action="catalog.publish").data == {"track_ids": [ready.pk]}


def test_artist_and_genre_track_counts_lead_to_their_tracks(admin_client):
    ambient = GenreFactory(name="Ambient")
    track = TrackFactory(genres=[ambient])
    html = admin_client.get(reverse("admin:catalog_artist_changelist")).content.decode()
    assert f'href="{reverse("admin:catalog_track_changelist")}?artist__id__exact={track.artist_id}"' in html
    html = admin_client.get(reverse("admin:catalog_genre_changelist")).content.decode()
    link = f"{reverse('admin:catalog_track_changelist')}?genres__id__exact={ambient.pk}"
    assert f'href="{link}"' in html
    assert [t.pk for t in admin_client.get(link).context["cl"].result_list] == [track.pk]


# --- sound-effect categories ------------------------------------------------------------------


def test_sound_categories_are_listed_as_their_tree_reads(admin_client):
    def add(name, parent=None, position=0):
        return SoundCategory.objects.create(
            name=name, slug=slugify(f"{parent}-{name}"), parent=parent, position=position
        )

    nature, foley, ui = add("Nature"), add("Foley"), add("Interface", position=1)
    add("Wind", nature), add("Rain", nature)
    steps = add("Footsteps", foley)
    add("Gravel", steps), add("Wood", steps, position=0), add("Snow", steps, position=2)
    add("Clicks", ui)

    response = admin_client.get(reverse("admin:catalog_soundcategory_changelist"))
    listed = [c.path_name for c in response.context["cl"].result_list]
    assert listed == [
        "Foley",
        "Foley › Footsteps",
        "Foley › Footsteps › Gravel",
        "Foley › Footsteps › Wood",
        "Foley › Footsteps › Snow",
        "Nature",
        "Nature › Rain",
        "Nature › Wind",
        "Interface",
        "Interface › Clicks",
    ]
    html = response.content.decode()
    assert (
        '<span class="category-depth-2"><span class="quiet">Foley › Footsteps › </span>Gravel</span>' in html
    )
    assert 'name="form-0-position"' in html  # positions are edited in the list


def test_a_sound_category_cannot_go_under_itself_or_its_children_or_four_levels_deep(admin_client):
    top = SoundCategory.objects.create(name="Foley", slug="foley")
    child = SoundCategory.objects.create(name="Footsteps", slug="footsteps", parent=top)
    url = reverse("admin:catalog_soundcategory_change", args=[top.pk])
    for parent in (top, child):
        response = admin_client.post(
            url, {"name": "Foley", "slug": "foley", "position": 0, "parent": parent.pk}
        )
        assert response.status_code == 200
        assert "cannot be placed under itself or under one of its own children" in response.content.decode()
    top.refresh_from_db()
    assert top.parent is None

    gravel = SoundCategory.objects.create(name="Gravel", slug="gravel", parent=child)
    response = admin_client.post(
        reverse("admin:catalog_soundcategory_add"),
        {"name": "Wet", "slug": "wet", "position": 0, "parent": gravel.pk},
    )
    assert "Categories go at most 3 levels deep." in response.content.decode()
    assert not SoundCategory.objects.filter(slug="wet").exists()


def test_a_sound_category_in_use_is_not_deleted_and_its_tracks_are_named(admin_client):
    hits = SoundCategory.objects.create(name="Cinematic Hits", slug="cinematic-hits")
    TrackFactory(kind="sfx", title="Heavy Thud", sound_category=hits)
    url = reverse("admin:catalog_soundcategory_delete", args=[hits.pk])

    page = admin_client.get(url).content.decode()
    assert "Heavy Thud" in page and "would require deleting the following protected" in page
    admin_client.post(url, {"post": "yes"})
    assert SoundCategory.objects.filter(pk=hits.pk).exists()
    assert Track.objects.get(title="Heavy Thud").sound_category == hits

    Track.objects.filter(title="Heavy Thud").update(sound_category=None)  # moved elsewhere first
    assert admin_client.post(url, {"post": "yes"}).status_code == 302
    assert not SoundCategory.objects.filter(pk=hits.pk).exists()


def test_a_track_s_sound_category_is_chosen_from_the_tree(admin_client):
    nature = SoundCategory.objects.create(name="Nature", slug="nature")
    SoundCategory.objects.create(name="Rain", slug="nature-rain", parent=nature)
    track = TrackFactory(kind="sfx")
    html = admin_client.get(reverse("admin:catalog_track_change", args=[track.pk])).content.decode()
    assert re.search(r">Nature</option>\s*<option value=\"\d+\">Nature › Rain</option>", html)


# --- collections ------------------------------------------------------------------------------


def test_a_track_added_to_a_collection_without_a_position_goes_to_the_end(admin_client):
    collection = CollectionFactory()
    first, second, new = TrackFactory(), TrackFactory(), TrackFactory()
    for n, track in enumerate([first, second]):
        CollectionItem.objects.create(collection=collection, track=track, position=n)
    items = list(collection.items.all())
    data = {
        "title": collection.title,
        "slug": collection.slug,
        "description": "",
        "is_published": "on",
        "position": 0,
        "items-TOTAL_FORMS": 3,
        "items-INITIAL_FORMS": 2,
        "items-MIN_NUM_FORMS": 0,
        "items-MAX_NUM_FORMS": 1000,
        "items-0-id": items[0].pk,
        "items-0-collection": collection.pk,
        "items-0-position": 0,
        "items-0-track": first.pk,
        "items-1-id": items[1].pk,
        "items-1-collection": collection.pk,
        "items-1-position": 1,
        "items-1-track": second.pk,
        "items-2-position": "",
        "items-2-track": new.pk,
    }
    url = reverse("admin:catalog_collection_change", args=[collection.pk])
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert list(collection.items.values_list("track_id", "position")) == [
        (first.pk, 0),
        (second.pk, 1),
        (new.pk, 2),
    ]


# --- list pages cost the same whatever their length -----------------------------------------


def _queries(client, url):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_the_uploads_and_sound_categories_lists_run_the_same_queries_for_more_rows(admin_client):
    failed_job("first.wav")
    duplicate_job("first-copy.wav")
    top = SoundCategory.objects.create(name="Foley", slug="foley")
    SoundCategory.objects.create(
        name="Steps",
        slug="foley-steps",
        parent=SoundCategory.objects.create(name="Feet", slug="foley-feet", parent=top),
    )
    urls = [reverse("admin:catalog_ingestjob_changelist"), reverse("admin:catalog_soundcategory_changelist")]
    before = [_queries(admin_client, url) for url in urls]

    for n in range(3):
        failed_job(f"more-{n}.wav")
        duplicate_job(f"copy-{n}.wav")
        nature = SoundCategory.objects.create(name=f"Nature {n}", slug=f"nature-{n}")
        rain = SoundCategory.objects.create(name="Rain", slug=f"nature-{n}-rain", parent=nature)
        SoundCategory.objects.create(name="Heavy", slug=f"nature-{n}-rain-heavy", parent=rain)
    assert [_queries(admin_client, url) for url in urls] == before


@pytest.mark.parametrize("object_id", ["abc", "999999", "1%20OR%201=1"])
def test_a_forged_retry_address_is_not_found(admin_client, object_id):
    failed_job()
    response = admin_client.post(f"/admin/catalog/failedingestjob/{object_id}/retry/")
    assert response.status_code == 404


# --- merging duplicate artists ----------------------------------------------------------------


def test_staff_merge_duplicate_artists_into_the_one_they_keep(
    admin_client, django_capture_on_commit_callbacks
):
    from catalog.models import Artist
    from tests.factories import ArtistFactory

    keep, typo = ArtistFactory(name="Mara Voss"), ArtistFactory(name="Mara Vos")
    other = ArtistFactory(name="Else")
    mine = [TrackFactory(artist=keep), TrackFactory(artist=typo), TrackFactory(artist=typo)]
    untouched = TrackFactory(artist=other)
    url = reverse("admin:catalog_artist_changelist")
    selected = {"action": "merge", "_selected_action": [keep.pk, typo.pk]}

    question = admin_client.post(url, selected).content.decode()
    assert "Merge artists" in question and "Mara Vos (2 tracks)" in question
    forged = admin_client.post(url, {**selected, "apply": "1", "keep": str(other.pk)})
    assert forged.status_code == 200 and Artist.objects.filter(pk=typo.pk).exists()  # not one of the selected

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(url, {**selected, "apply": "1", "keep": str(keep.pk)}, follow=True)
    assert "Merged: Mara Vos." in response.content.decode()
    assert not Artist.objects.filter(pk=typo.pk).exists()
    assert set(Track.objects.filter(artist=keep)) == set(mine)
    assert Track.objects.get(pk=untouched.pk).artist == other
    entry = AuditLog.objects.for_object(keep).get(action="catalog.artist_merged")
    assert entry.data == {"merged": "Mara Vos", "tracks": 2} and entry.actor.is_staff
    old_page = admin_client.get(typo.get_absolute_url())  # links to the merged artist still work
    assert old_page.status_code == 301 and old_page["Location"] == keep.get_absolute_url()


def test_merging_needs_two_artists(admin_client):
    from tests.factories import ArtistFactory

    alone = ArtistFactory()
    url = reverse("admin:catalog_artist_changelist")
    response = admin_client.post(url, {"action": "merge", "_selected_action": [alone.pk]}, follow=True)
    assert "Select two or more artists to merge." in response.content.decode()


def test_a_changed_slug_keeps_the_old_address_working(admin_client):
    from tests.factories import ArtistFactory

    artist = ArtistFactory(name="Mara Voss", slug="mara-vos")
    old_url = artist.get_absolute_url()
    url = reverse("admin:catalog_artist_change", args=[artist.pk])
    response = admin_client.post(url, {"name": "Mara Voss", "slug": "mara-voss", "bio": ""})
    assert response.status_code == 302, response.content.decode()[:2000]
    artist.refresh_from_db()
    moved = admin_client.get(old_url)
    assert moved.status_code == 301 and moved["Location"] == artist.get_absolute_url()
    assert admin_client.get(artist.get_absolute_url()).status_code == 200
    # Back to the first slug: that page is live again, and the other address leads to it.
    admin_client.post(url, {"name": "Mara Voss", "slug": "mara-vos", "bio": ""})
    assert admin_client.get(old_url).status_code == 200
    assert admin_client.get("/artists/mara-voss/")["Location"] == old_url
