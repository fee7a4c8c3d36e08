"""Uploads meant for an existing track: one full version per track, the track's own figures kept,
every upload for it listed; what a failed upload says; which upload records may be deleted."""

import logging

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from catalog import ingest
from catalog.models import IngestJob, TrackVersion
from tests.catalog.admin_pages import messages_of

pytestmark = pytest.mark.django_db


def job_for(path, **options):
    job = ingest.create_job(ContentFile(path.read_bytes()), filename=path.name, options=options)
    return ingest.run_job(job.pk)


def test_the_upload_form_refuses_a_second_full_version_of_a_track(admin_client, golden_hour, make_audio):
    path = make_audio("wav", name="golden-remaster.wav", seconds=3, freq=440)
    with open(path, "rb") as fh:
        response = admin_client.post(
            reverse("admin:catalog_ingestjob_add"),
            {"audio_file": fh, "attach_to": golden_hour.pk, "version_kind": "full", "kind": "music"},
        )
    assert response.status_code == 200
    assert "“Golden Hour” already has its full track (golden.wav)." in response.content.decode()
    assert not IngestJob.objects.exists()


def test_a_second_full_version_that_reaches_processing_fails_and_leaves_the_track_as_it_was(
    admin_client, golden_hour, make_audio
):
    before = (golden_hour.content_hash, golden_hour.duration_seconds, golden_hour.waveform)

    job = job_for(
        make_audio("wav", name="remaster.wav", seconds=3), track_id=golden_hour.pk, version_kind="full"
    )

    assert job.status == IngestJob.Status.FAILED
    assert job.error.startswith("“Golden Hour” already has its full track (golden.wav). Upload this file as")
    golden_hour.refresh_from_db()
    assert (golden_hour.content_hash, golden_hour.duration_seconds, golden_hour.waveform) == before
    assert golden_hour.versions.filter(kind="full").count() == 1
    page = admin_client.get(reverse("admin:catalog_ingestjob_change", args=[job.pk])).content.decode()
    assert "Failed</span> “Golden Hour” already has its full track" in page


def test_a_version_added_to_a_track_leaves_the_track_s_main_file_figures(golden_hour, make_audio):
    before = (golden_hour.content_hash, golden_hour.duration_seconds, golden_hour.waveform)

    job = job_for(
        make_audio("wav", name="drums.wav", seconds=3, freq=880), track_id=golden_hour.pk, version_kind="stem"
    )

    assert job.status == IngestJob.Status.DONE and job.version.kind == "stem"
    golden_hour.refresh_from_db()
    assert (golden_hour.content_hash, golden_hour.duration_seconds, golden_hour.waveform) == before


def test_uploads_of_a_track_list_those_that_failed_or_were_duplicates_too(
    admin_client, golden_hour, make_audio
):
    stem = job_for(
        make_audio("wav", name="drums.wav", seconds=3, freq=880), track_id=golden_hour.pk, version_kind="stem"
    )
    failed = ingest.create_job(
        ContentFile(b"not audio at all"), filename="bass.wav", options={"track_id": golden_hour.pk}
    )
    ingest.run_job(failed.pk)
    duplicate = job_for(
        make_audio("wav", name="drums.wav", seconds=3, freq=880), track_id=golden_hour.pk, version_kind="stem"
    )
    other = job_for(make_audio("wav", name="other.wav", seconds=2, freq=523))
    assert duplicate.duplicate_of_id == stem.version_id and other.track_id != golden_hour.pk

    track_page = admin_client.get(
        reverse("admin:catalog_track_change", args=[golden_hour.pk])
    ).content.decode()
    link = reverse("admin:catalog_ingestjob_changelist") + f"?track={golden_hour.pk}"
    assert f'<a href="{link}">Uploads of this track</a>' in track_page
    response = admin_client.get(link)

    assert {job.pk for job in response.context["cl"].result_list} == {stem.pk, failed.pk, duplicate.pk}
    assert "Golden Hour" in response.content.decode()  # the filter in use is shown, and can be left
    failed_list = admin_client.get(
        reverse("admin:catalog_failedingestjob_changelist"), {"track": golden_hour.pk}
    )
    assert [job.pk for job in failed_list.context["cl"].result_list] == [failed.pk]
    for forged in ("x", "²", "9" * 23):  # not an id: the admin's "invalid filter" page, not an error
        forged_list = admin_client.get(reverse("admin:catalog_ingestjob_changelist"), {"track": forged})
        assert forged_list.url.endswith("?e=1")


def test_a_text_file_named_wav_fails_with_a_reason_in_words_and_the_detail_in_the_log(caplog):
    job = ingest.create_job(ContentFile(b"hello, these are my notes"), filename="notes.wav")

    with caplog.at_level(logging.WARNING, logger="catalog.ingest"):
        job = ingest.run_job(job.pk)

    assert job.error == (
        "This file is not a WAV audio file (its content is not audio). Upload WAV, FLAC, AIFF or MP3."
    )
    assert "Root chunk must be a RIFF chunk" in caplog.text


def test_a_damaged_audio_file_fails_as_damaged(make_audio):
    data = make_audio("wav", name="cut.wav").read_bytes()
    job = ingest.create_job(ContentFile(data[:12] + b"\xff" * 64), filename="cut.wav")
    job = ingest.run_job(job.pk)
    assert (
        job.error == "This audio file is damaged and cannot be read. Export it again and upload the new file."
    )


def test_only_a_failed_upload_s_record_can_be_deleted(admin_client, make_audio):
    imported = job_for(make_audio("wav", name="kept.wav"))
    failed = ingest.create_job(ContentFile(b"not audio at all"), filename="notes.wav")
    ingest.run_job(failed.pk)

    page = admin_client.get(reverse("admin:catalog_ingestjob_change", args=[imported.pk])).content.decode()
    assert "deletelink" not in page
    assert admin_client.post(reverse("admin:catalog_ingestjob_delete", args=[imported.pk])).status_code == 403
    uploads = admin_client.get(reverse("admin:catalog_ingestjob_changelist")).content.decode()
    assert 'value="delete_selected"' not in uploads
    assert IngestJob.objects.filter(pk=imported.pk).exists()
    assert TrackVersion.objects.filter(pk=imported.version_id).exists()

    failed_page = admin_client.get(reverse("admin:catalog_failedingestjob_change", args=[failed.pk]))
    assert "deletelink" in failed_page.content.decode()
    response = admin_client.post(
        reverse("admin:catalog_failedingestjob_delete", args=[failed.pk]), {"post": "yes"}, follow=True
    )
    assert "was deleted successfully" in messages_of(response)[0]
    assert not IngestJob.objects.filter(pk=failed.pk).exists()
