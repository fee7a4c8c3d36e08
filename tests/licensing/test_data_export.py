"""A copy of the account's data (accounts.data_export, with every app's part): the owner's own
records only, as a JSON file; audited and limited. Here for the licensing personas and fixtures."""

import json

import pytest
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from allmytracks.models import AuditLog
from catalog.models import ArtistFollow, Favourite
from catalog.services import create_playlist, set_track_playlists
from tests.licensing.conftest import grant

pytestmark = pytest.mark.django_db
URL = "/account/data/"


def download(client):
    response = client.post(URL)
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Disposition"].startswith('attachment; filename="allmytracks-account-data-')
    assert response["Cache-Control"] == "no-store"
    return json.loads(response.content)


def test_the_url_is_the_one_the_account_menu_links(owner_client, member):
    assert reverse("accounts:data") == URL
    page = owner_client.get(URL).content.decode()
    assert 'href="/account/data/"' in page and "Download my data (JSON)" in page


def test_a_stranger_is_sent_to_sign_in(anon_client):
    for response in (anon_client.get(URL), anon_client.post(URL)):
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_owner_gets_their_own_records_and_nobody_elses(
    owner_client, member, other_member, track, second_track
):
    mine = grant(member, track, name="Olivia Owner", title="Launch video").license
    theirs = grant(other_member, second_track, title="Their film").license
    Favourite.objects.create(user=member, track=second_track)
    Favourite.objects.create(user=other_member, track=track)
    create_playlist(user=member, title="Launch cut")
    set_track_playlists(user=member, track=track, playlists=[], new_title="Launch cut")
    set_track_playlists(user=other_member, track=second_track, playlists=[], new_title="Their mood board")
    ArtistFollow.objects.create(user=member, artist=track.artist)
    ArtistFollow.objects.create(user=other_member, artist=second_track.artist)

    data = download(owner_client)

    assert data["format"] == "AllMyTracks account data" and data["account"]["email"] == member.email
    assert [lic["code"] for lic in data["licensing"]["licences"]] == [mine.code]
    assert data["licensing"]["licences"][0]["project"] == "Launch video"
    assert [p["title"] for p in data["licensing"]["projects"]] == ["Launch video"]
    assert [e["name"] for e in data["licensing"]["end_users"]] == ["Olivia Owner"]
    assert [f["track"] for f in data["catalogue"]["favourites"]] == [second_track.title]
    (playlist,) = data["catalogue"]["playlists"]
    assert playlist["title"] == "Launch cut" and [t["track"] for t in playlist["tracks"]] == [track.title]
    assert [f["artist"] for f in data["catalogue"]["artists_followed"]] == [track.artist.name]
    assert {a["agreement"] for a in data["agreements_and_messages"]["acceptances"]} >= {"User Agreement"}
    assert [m["plan"] for m in data["billing"]["memberships"]] == [member.subscriptions.get().plan.name]
    text = json.dumps(data)
    assert theirs.code not in text and other_member.email not in text and "Their film" not in text
    assert "Their mood board" not in text


def test_each_copy_is_audited_and_the_copies_are_limited(owner_client, member):
    for _ in range(5):
        download(owner_client)
    assert AuditLog.objects.filter(action="accounts.data_exported", actor=member).count() == 5
    assert owner_client.post(URL).status_code == 429


def test_the_copy_runs_the_same_queries_for_one_licence_or_many(owner_client, member, track, second_track):
    from django.db import connection

    grant(member, track, name="Olivia Owner", title="Film 1")
    download(owner_client)  # the session's first request records the session itself
    with CaptureQueriesContext(connection) as one:
        download(owner_client)
    for n in range(2, 5):
        grant(member, second_track if n % 2 else track, title=f"Film {n}")
    with CaptureQueriesContext(connection) as many:
        data = download(owner_client)
    assert len(data["licensing"]["licences"]) == 4
    assert len(many.captured_queries) == len(one.captured_queries)
