"""Following artists: a member follows from an artist's page, sees what followed artists added lately
(their following page and the home page); another member's follows are their own; a stranger is
sent to sign in."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from catalog.models import ArtistFollow, Track
from tests.factories import ArtistFactory, TrackFactory, TrackVersionFactory

pytestmark = pytest.mark.django_db
FOLLOWING = "/account/following/"


def playable(**kwargs):
    return TrackVersionFactory(track=TrackFactory(**kwargs)).track


def follow_url(artist):
    return reverse("catalog:artist-follow", args=[artist.slug])


def test_a_member_follows_an_artist_from_their_page_and_can_stop(owner_client, owner):
    artist = ArtistFactory(name="Mira Vale")
    TrackFactory(artist=artist)  # music out: the artist has a public page
    page = owner_client.get(artist.get_absolute_url()).content.decode()
    assert f'action="{follow_url(artist)}"' in page and 'aria-pressed="false"' in page

    response = owner_client.post(follow_url(artist))
    assert response.status_code == 302 and response["Location"] == artist.get_absolute_url()
    assert ArtistFollow.objects.filter(user=owner, artist=artist).exists()
    assert 'aria-pressed="true"' in owner_client.get(artist.get_absolute_url()).content.decode()

    swapped = owner_client.post(follow_url(artist), headers={"HX-Request": "true"})
    assert 'aria-pressed="false"' in swapped.content.decode() and "<html" not in swapped.content.decode()
    assert not ArtistFollow.objects.exists()


def test_a_double_clicked_follow_button_follows_once_and_stays_following(owner_client, owner):
    artist = ArtistFactory(name="Mira Vale")
    TrackFactory(artist=artist)
    page = owner_client.get(artist.get_absolute_url()).content.decode()
    assert '<input type="hidden" name="on" value="1">' in page
    for _ in range(2):
        owner_client.post(follow_url(artist), {"on": "1"})
    assert ArtistFollow.objects.filter(user=owner, artist=artist).count() == 1
    page = owner_client.get(artist.get_absolute_url()).content.decode()
    assert '<input type="hidden" name="on" value="0">' in page
    for _ in range(2):
        owner_client.post(follow_url(artist), {"on": "0"}, headers={"HX-Request": "true"})
    assert not ArtistFollow.objects.exists()


def test_the_following_page_and_home_show_what_followed_artists_added_lately(owner_client, owner):
    followed, other_artist = ArtistFactory(name="Mira Vale"), ArtistFactory(name="Kai Rowan")
    ArtistFollow.objects.create(user=owner, artist=followed)
    playable(title="Fresh Cut", artist=followed)
    old = playable(title="Old Gold", artist=followed)
    long_ago = timezone.now() - datetime.timedelta(days=45)
    Track.objects.filter(pk=old.pk).update(created_at=long_ago, published_at=long_ago)
    playable(title="Draft Idea", artist=followed, is_published=False)
    playable(title="Not Followed", artist=other_artist)

    page = owner_client.get(FOLLOWING).content.decode()
    assert "Mira Vale" in page and "2 tracks" in page  # published ones
    new = page[page.index("New in the last 30 days") :]
    assert (
        "Fresh Cut" in new and "Old Gold" not in new and "Draft Idea" not in new and "Not Followed" not in new
    )

    home = owner_client.get("/").content.decode()
    shelf = home[home.index("New from artists you follow") : home.index("New this week")]
    assert "Fresh Cut" in shelf and "Not Followed" not in shelf


def test_another_members_follows_are_their_own(owner, other_client, other):
    artist = ArtistFactory(name="Mira Vale")
    ArtistFollow.objects.create(user=owner, artist=artist)
    playable(title="Fresh Cut", artist=artist)
    assert "You follow no artists yet" in other_client.get(FOLLOWING).content.decode()
    assert "New from artists you follow" not in other_client.get("/").content.decode()
    other_client.post(follow_url(artist))  # their own follow; the owner's stays
    assert set(ArtistFollow.objects.values_list("user_id", flat=True)) == {owner.pk, other.pk}


def test_a_stranger_is_sent_to_sign_in(anon_client):
    artist = ArtistFactory(name="Mira Vale")
    TrackFactory(artist=artist)
    page = anon_client.get(artist.get_absolute_url()).content.decode()
    assert "/accounts/login/?next=" in page and "Follow" in page
    for response in (anon_client.get(FOLLOWING), anon_client.post(follow_url(artist))):
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert not ArtistFollow.objects.exists()
    assert "New from artists you follow" not in anon_client.get("/").content.decode()
