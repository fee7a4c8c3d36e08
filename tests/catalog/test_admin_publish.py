"""The tracks list's Publish action with tracks whose audio is not ready among those selected."""

import pytest
from django.urls import reverse

from allmytracks.models import AuditLog
from catalog.models import Track
from catalog.search import forget_search_results
from tests.catalog.admin_pages import messages_of
from tests.factories import TrackFactory

pytestmark = pytest.mark.django_db


def publish(client, tracks):
    return client.post(
        reverse("admin:catalog_track_changelist"),
        {"action": "publish", "_selected_action": [t.pk for t in tracks]},
        follow=True,
    )


def test_publishing_publishes_the_ready_tracks_and_names_those_left_out_and_why(
    admin_client, django_capture_on_commit_callbacks
):
    busy = [
        TrackFactory(title=title, is_published=False, ingest_status="processing")
        for title in ("Quiet Dreams", "Busy Roads")
    ]
    ready = TrackFactory(title="Harbour Lights", is_published=False)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = publish(admin_client, [*busy, ready])

    [message] = messages_of(response)
    assert message.startswith("1 track published. 2 left unpublished, as their audio is not ready: ")
    for track in busy:
        link = f'<a href="{reverse("admin:catalog_track_change", args=[track.pk])}">{track.title}</a>'
        assert f"{link} (still being processed)" in message
    ready.refresh_from_db()
    assert ready.is_published and ready.published_at is not None
    assert not Track.objects.filter(pk__in=[t.pk for t in busy], is_published=True).exists()
    assert AuditLog.objects.get(action="catalog.publish").data == {"track_ids": [ready.pk]}
    assert forget_search_results in callbacks  # remembered results go once it is committed


def test_publishing_only_unready_tracks_says_nothing_was_published_and_audits_nothing(admin_client):
    waiting = TrackFactory(title="Quiet Dreams", is_published=False, ingest_status="pending")
    failed = TrackFactory(title="Busy Roads", is_published=False, ingest_status="failed")

    [message] = messages_of(publish(admin_client, [waiting, failed]))

    assert message.startswith("Nothing was published, as the audio is not ready: ")
    assert "Busy Roads</a> (processing failed), " in message  # by title
    assert message.endswith("Quiet Dreams</a> (waiting to be processed).")
    assert not Track.objects.filter(is_published=True).exists()
    assert not AuditLog.objects.filter(action="catalog.publish").exists()


def test_publishing_again_keeps_the_first_publication_s_date(admin_client):
    track = TrackFactory(is_published=True)
    first = track.published_at
    response = admin_client.post(
        reverse("admin:catalog_track_changelist"),
        {"action": "unpublish", "_selected_action": [track.pk]},
        follow=True,
    )
    assert messages_of(response) == ["1 track unpublished."]
    [message] = messages_of(publish(admin_client, [track]))
    assert message == "1 track published."
    track.refresh_from_db()
    assert track.is_published and track.published_at == first
