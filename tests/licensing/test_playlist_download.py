"""Licensing a playlist's tracks for one project at once: one licence per track, the same end user
and project for all; the form sent twice issues nothing more; running out part way keeps what was
issued and says where it stopped; only the owner's playlist and its own tracks."""

import pytest
from django.urls import reverse

from billing.models import Subscription
from catalog import services as catalog
from licensing.models import License, Project
from tests.licensing.conftest import give_membership, grant

pytestmark = pytest.mark.django_db


@pytest.fixture
def playlist(member, track, second_track):
    made = catalog.create_playlist(user=member, title="Launch video")
    for t in (track, second_track):
        catalog.set_track_playlists(user=member, track=t, playlists=[made])
    return made


def url(playlist):
    return reverse("licensing:playlist-download", args=[playlist.pk])


def form_data(client, playlist, **extra):
    page = client.get(url(playlist))
    form = page.context["form"]
    data = {
        "agreement_shown": str(page.context["agreement"].pk),
        "submission": str(form["submission"].initial),
        "tracks": [t.pk for t in form.fields["tracks"].queryset],
        "end_user_name": "Olivia Owner",
        "project": "new",
        "project_title": "Spring launch",
        "platform": "youtube",
        "accept_terms": "on",
    }
    data.update(extra)
    return data


def test_the_ticked_tracks_are_licensed_for_one_project_and_end_user(
    owner_client, member, playlist, track, second_track
):
    page = owner_client.get(playlist.get_absolute_url()).content.decode()
    assert f'href="{url(playlist)}"' in page

    response = owner_client.post(url(playlist), form_data(owner_client, playlist))
    html = response.content.decode()
    licences = License.objects.filter(account=member)
    assert response.status_code == 200 and licences.count() == 2
    assert {lic.track_id for lic in licences} == {track.pk, second_track.pk}
    assert len({lic.project_id for lic in licences}) == 1 and len({lic.end_user_id for lic in licences}) == 1
    assert Project.objects.get(account=member).title == "Spring launch"
    assert "2 tracks licensed" in html and all(lic.code in html for lic in licences)


def test_licensing_a_playlist_records_no_download_until_a_file_is_downloaded(
    owner_client, member, playlist, track
):
    from licensing.models import Download

    data = form_data(owner_client, playlist)
    owner_client.post(url(playlist), data)
    owner_client.post(url(playlist), data)  # sent again: the same licences, still nothing downloaded
    licences = License.objects.filter(account=member)
    assert [(lic.download_count, lic.last_downloaded_at) for lic in licences] == [(0, None)] * 2
    assert not Download.objects.exists()
    page = owner_client.get(licences.get(track=track).get_absolute_url()).content.decode()
    assert "Downloads" in page

    lic = licences.get(track=track)
    redownload = reverse("licensing:redownload", args=[lic.code])
    response = owner_client.post(redownload, {"version": lic.version_id})
    assert response.status_code == 302
    lic.refresh_from_db()
    assert lic.download_count == 1 and lic.last_downloaded_at is not None
    assert list(Download.objects.filter(license=lic).values_list("first", flat=True)) == [True]
    owner_client.post(redownload, {"version": lic.version_id})
    assert list(Download.objects.filter(license=lic).order_by("pk").values_list("first", flat=True)) == [
        True,
        False,
    ]


def test_the_form_lists_the_tracks_in_the_playlists_order(owner_client, playlist, track, second_track):
    def listed():
        return [t.pk for t in owner_client.get(url(playlist)).context["form"].fields["tracks"].queryset]

    assert listed() == [second_track.pk, track.pk]  # the newest addition on top
    at = playlist.items.get(track=track).position
    move = reverse("catalog:playlist-move", args=[playlist.pk, track.pk])
    owner_client.post(move, {"move": "up", "at": at})
    assert listed() == [track.pk, second_track.pk]


def test_the_form_sent_twice_issues_nothing_more(owner_client, member, playlist):
    data = form_data(owner_client, playlist)
    owner_client.post(url(playlist), data)
    again = owner_client.post(url(playlist), data).content.decode()
    assert License.objects.filter(account=member).count() == 2
    assert Project.objects.filter(account=member).count() == 1
    assert "Issued when this form was first sent" in again


def test_running_out_part_way_keeps_what_was_issued_and_says_where_it_stopped(
    owner_client, member, playlist, track, second_track
):
    Subscription.objects.filter(user=member).delete()
    give_membership(member, quota=1)
    html = owner_client.post(url(playlist), form_data(owner_client, playlist)).content.decode()
    (issued,) = License.objects.filter(account=member)
    stopped_at = track if issued.track_id == second_track.pk else second_track
    assert "1 track licensed" in html and f"Stopped at “{stopped_at.title}”" in html


def test_a_track_already_licensed_for_the_project_downloads_free(owner_client, member, playlist, track):
    first = grant(member, track, title="Spring launch").license
    data = form_data(owner_client, playlist, project=str(first.project_id))
    html = owner_client.post(url(playlist), data).content.decode()
    assert License.objects.filter(account=member).count() == 2  # one new, for the other track
    assert "Already licensed for this project: no licence used" in html and first.code in html


def test_only_the_playlists_own_tracks_and_at_most_one_pick_of_them(owner_client, member, playlist):
    from tests.factories import TrackFactory, TrackVersionFactory

    outsider = TrackVersionFactory(track=TrackFactory(title="Not In It")).track
    data = form_data(owner_client, playlist, tracks=[outsider.pk])
    response = owner_client.post(url(playlist), data)
    assert "Select a valid choice" in response.content.decode() and not License.objects.exists()
    for forged in ("9" * 23, "-1", "1e3", "٣"):  # not an id a database holds: refused the same way
        response = owner_client.post(url(playlist), form_data(owner_client, playlist, tracks=[forged]))
        assert "Select a valid choice" in response.content.decode() and not License.objects.exists()
    none = owner_client.post(url(playlist), form_data(owner_client, playlist, tracks=[]))
    assert "Tick at least one track." in none.content.decode() and not License.objects.exists()


def test_another_members_playlist_is_not_found_and_a_stranger_signs_in(
    other_client, other_member, anon_client, playlist
):
    assert other_client.get(url(playlist)).status_code == 404
    assert other_client.post(url(playlist), {"tracks": []}).status_code == 404
    response = anon_client.get(url(playlist))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert not License.objects.exists()


def test_the_agreement_must_be_accepted_and_each_licence_counts_against_the_daily_download_limit(
    owner_client, member, playlist, monkeypatch
):
    from licensing import views

    data = form_data(owner_client, playlist)
    del data["accept_terms"]
    html = owner_client.post(url(playlist), data).content.decode()
    assert "Tick to accept the Music Licence Agreement" in html and not License.objects.exists()

    monkeypatch.setattr(views, "DOWNLOAD_RATE_DAILY", "1/d")  # two tracks: over the day's limit
    response = owner_client.post(url(playlist), form_data(owner_client, playlist))
    assert response.status_code == 429 and not License.objects.exists()
    # Refused, the form used none of the limit: the one licence left today can still be had.
    monkeypatch.setattr(views, "DOWNLOAD_RATE_DAILY", "2/d")
    monkeypatch.setattr(views, "DOWNLOAD_RATE", "1/m")  # the form is one request of the minute's
    response = owner_client.post(url(playlist), form_data(owner_client, playlist))
    assert response.status_code == 200 and License.objects.count() == 2


def test_without_a_membership_or_a_bought_track_the_page_says_so_before_any_form(
    owner_client, member, other_member, playlist, second_track
):
    from tests.factories import TrackCreditFactory

    Subscription.objects.filter(user=member).delete()
    TrackCreditFactory(user=other_member, track=second_track)  # another member's purchase counts for nothing
    html = owner_client.get(url(playlist)).content.decode()
    assert "Licensing these tracks needs a membership" in html and "Issue the licences" not in html
    assert 'href="/pricing/"' in html
    TrackCreditFactory(user=member, track=second_track)  # one of them bought: the form, to use it
    html = owner_client.get(url(playlist)).content.decode()
    assert "Issue the licences" in html and "needs a membership" not in html


def test_an_enterprise_names_one_designated_end_user_for_every_track(client, enterprise, track, second_track):
    from licensing.models import EndUser

    client.force_login(enterprise)
    made = catalog.create_playlist(user=enterprise, title="Client reel")
    for t in (track, second_track):
        catalog.set_track_playlists(user=enterprise, track=t, playlists=[made])
    data = form_data(client, made, end_user="new", end_user_name="Contoso Films", client_name="Contoso")
    client.post(url(made), data)
    licences = License.objects.filter(account=enterprise)
    (designated,) = EndUser.objects.filter(account=enterprise)
    assert licences.count() == 2 and {lic.end_user_id for lic in licences} == {designated.pk}
    assert (
        designated.name == "Contoso Films"
        and Project.objects.get(account=enterprise).client_name == "Contoso"
    )


def test_the_playlist_page_marks_the_tracks_the_member_holds_a_licence_for(
    owner_client, member, other_member, playlist, track, second_track
):
    grant(member, track, title="Spring launch")
    grant(member, track, title="Autumn teaser")
    grant(other_member, second_track, title="Their film")  # another account's licence: not the member's
    html = owner_client.get(playlist.get_absolute_url()).content.decode()
    assert html.count('class="small playlist-licences"') == 1 and "2 licences" in html
    assert html.count("is-licensed") == 1  # the row's own mark, for that track only
    assert f"?q={track.title.replace(' ', '%20')}" in html


def test_result_rows_say_which_tracks_the_member_already_holds_a_licence_for(
    owner_client, other_client, member, other_member, track, second_track
):
    grant(member, track, title="Spring launch")
    for page in ("/tracks/", track.artist.get_absolute_url(), "/"):
        html = owner_client.get(page).content.decode()
        marked = f'Licensed<span class="visually-hidden">: {track.title}</span>'
        assert html.count("is-licensed") == 1 and marked in html, page
    assert "is-licensed" not in other_client.get("/tracks/").content.decode()  # not theirs
