"""A collection's staff page costs the same queries however many tracks it holds."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from catalog.models import CollectionItem
from tests.catalog.admin_pages import sent_as_shown
from tests.factories import CollectionFactory, TrackFactory

pytestmark = pytest.mark.django_db


def add_tracks(collection, count):
    start = collection.items.count()
    for n in range(count):
        CollectionItem.objects.create(collection=collection, track=TrackFactory(), position=start + n)


def queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries), response


def test_a_collection_s_page_runs_the_same_queries_for_5_or_40_tracks(admin_client):
    collection = CollectionFactory()
    add_tracks(collection, 5)
    url = reverse("admin:catalog_collection_change", args=[collection.pk])
    admin_client.get(url)  # the first page of a session looks up what later ones remember
    five, _ = queries(admin_client, url)

    add_tracks(collection, 35)
    forty, response = queries(admin_client, url)

    assert forty == five
    html = response.content.decode()
    for item in collection.items.select_related("track"):  # each row shows its track, selected
        assert f'<option value="{item.track_id}" selected>{item.track.title}</option>' in html


def test_a_collection_s_page_sent_back_with_an_error_still_shows_each_row_s_track(admin_client):
    collection = CollectionFactory()
    add_tracks(collection, 3)
    new = TrackFactory(title="Night Drive")
    url = reverse("admin:catalog_collection_change", args=[collection.pk])
    data = sent_as_shown(admin_client.get(url), title="", **{"items-3-track": new.pk, "items-3-position": ""})

    response = admin_client.post(url, data)

    assert response.status_code == 200 and "This field is required." in response.content.decode()
    html = response.content.decode()
    for item in collection.items.select_related("track"):
        assert f'<option value="{item.track_id}" selected>{item.track.title}</option>' in html
    assert f'<option value="{new.pk}" selected>Night Drive</option>' in html  # chosen, not yet saved


def test_a_collection_row_sent_with_a_track_that_is_not_an_id_is_refused_on_the_form(admin_client):
    collection = CollectionFactory()
    add_tracks(collection, 1)
    url = reverse("admin:catalog_collection_change", args=[collection.pk])
    for forged in ("²", "9" * 23):
        data = sent_as_shown(admin_client.get(url), **{"items-1-track": forged, "items-1-position": "2"})
        response = admin_client.post(url, data)
        assert response.status_code == 200
        assert "Select a valid choice" in response.content.decode()
    assert collection.items.count() == 1


def test_a_collection_cannot_be_published_with_no_tracks(admin_client):
    collection = CollectionFactory(title="Empty for now", is_published=False)
    url = reverse("admin:catalog_collection_change", args=[collection.pk])
    response = admin_client.post(url, sent_as_shown(admin_client.get(url), is_published="on"))
    assert response.status_code == 200
    assert "A published collection needs at least one track" in response.content.decode()
    collection.refresh_from_db()
    assert not collection.is_published

    add_tracks(collection, 1)
    assert admin_client.post(url, sent_as_shown(admin_client.get(url), is_published="on")).status_code == 302
    collection.refresh_from_db()
    assert collection.is_published


def test_an_empty_collection_is_not_published_from_the_list_either(admin_client):
    empty = CollectionFactory(title="Empty for now", is_published=False)
    url = reverse("admin:catalog_collection_changelist")
    data = {
        "form-TOTAL_FORMS": "1",
        "form-INITIAL_FORMS": "1",
        "form-0-id": str(empty.pk),
        "form-0-is_published": "on",
        "form-0-position": "0",
        "_save": "Save",
    }
    response = admin_client.post(url, data)
    assert response.status_code == 200 and "Add tracks first" in response.content.decode()
    empty.refresh_from_db()
    assert not empty.is_published

    add_tracks(empty, 1)
    assert admin_client.post(url, data).status_code == 302
    empty.refresh_from_db()
    assert empty.is_published
