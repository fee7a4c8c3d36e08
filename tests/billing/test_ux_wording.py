"""Wording a UX review found wrong: each page says what is true for what the person is doing."""

import io
import re
import uuid

import pytest
from django.core.management import call_command
from django.urls import reverse

from billing.models import Checkout, Plan
from catalog import services as catalog
from tests.factories import TrackFactory, TrackVersionFactory

pytestmark = pytest.mark.django_db


def text_of(html):
    """The page's words, without tags and with runs of white space as one space."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def free_card(html):
    start = html.index('aria-labelledby="plan-free"')
    return html[start : html.index("</article>", start)]


# --- pricing ------------------------------------------------------------------------------------


def test_the_free_card_says_previews_once_and_offers_favourites_and_playlists(anon_client, plans):
    card = text_of(free_card(anon_client.get(reverse("billing:pricing")).content.decode()))
    assert "Previews only" in card
    assert "Previews of everything" not in card
    assert "Save favourites and playlists" in card
    assert "collections" not in card


def test_the_business_price_keeps_per_seat_together(anon_client, plans):
    html = anon_client.get(reverse("billing:pricing")).content.decode()
    assert '<span class="per">/ month</span> <span class="per">per seat</span>' in html


def test_seeding_again_rewords_the_old_free_feature_but_keeps_staff_edits(plans):
    free = Plan.objects.get(slug="free")
    free.features = ["Save favourites and collections", "Our own line"]
    free.save()
    Plan.objects.filter(slug="personal-monthly").update(features=["Save favourites and collections!"])

    out = io.StringIO()
    call_command("seed_plans", stdout=out)

    assert Plan.objects.get(slug="free").features == ["Save favourites and playlists", "Our own line"]
    assert Plan.objects.get(slug="personal-monthly").features == ["Save favourites and collections!"]
    assert "1 with features reworded" in out.getvalue()
    call_command("seed_plans", stdout=(again := io.StringIO()))
    assert "reworded" not in again.getvalue()


# --- buying one track without card payments -------------------------------------------------------


def test_a_track_without_card_payments_says_to_write_to_support_not_about_a_membership(
    client, buyer, settings
):
    settings.STRIPE_SECRET_KEY = ""
    support = settings.OPERATOR["support_email"]
    track = TrackFactory(title="Golden Hour")
    client.force_login(buyer)
    url = reverse("billing:buy-track", args=[track.slug])

    html = client.get(url).content.decode()
    assert "Card payments are not available on this site yet" in html
    assert f'write to <a href="mailto:{support}">{support}</a>.' in html
    assert "set up your membership" not in html
    assert "Confirm and pay" not in html
    assert ">Payment</h2>" in html
    assert "Continue to secure payment" not in html

    response = client.post(url, {"attempt": str(uuid.uuid4()), "no_refund": "on"})
    assert response.status_code == 200
    assert "To buy it, write to" in response.content.decode()
    assert "set up your membership" not in response.content.decode()
    assert not Checkout.objects.exists()


def test_a_track_with_card_payments_keeps_the_payment_form_under_the_same_heading(client, buyer):
    client.force_login(buyer)
    html = client.get(reverse("billing:buy-track", args=[TrackFactory().slug])).content.decode()
    assert ">Payment</h2>" in html and "Continue to secure payment" in html
    assert "Card payments are not available" not in html


def test_a_membership_without_card_payments_still_offers_staff_set_up(
    client, buyer, plans, membership_terms, settings
):
    settings.STRIPE_SECRET_KEY = ""
    client.force_login(buyer)
    html = client.get(reverse("billing:checkout", args=["pro-monthly"])).content.decode()
    assert "staff can set up your membership" in html
    support = settings.OPERATOR["support_email"]
    assert f'Write to <a href="mailto:{support}">{support}</a> and staff' in html
    assert "this licence cannot be bought" not in html


# --- cancelling the account -----------------------------------------------------------------------


def test_the_cancel_page_names_favourites_playlists_and_followed_artists(owner_client):
    page = text_of(owner_client.get(reverse("accounts:cancel")).content.decode())
    assert "favourites and playlists are erased" in page
    assert "the list of artists you follow" in page
    assert "links to playlists you shared stop working" in page
    assert "collections" not in page.split("What you lose", 1)[1].split("What we keep")[0]


# --- a shared playlist ---------------------------------------------------------------------------


def shared_page(client, owner, count):
    playlist = catalog.create_playlist(user=owner, title="For the client")
    for n in range(count):
        track = TrackVersionFactory(track=TrackFactory(title=f"Track {n}")).track
        catalog.set_track_playlists(user=owner, track=track, playlists=[playlist])
    playlist = catalog.share_playlist(playlist=playlist, shared=True)
    return text_of(client.get(playlist.get_shared_url()).content.decode())


def test_a_shared_playlist_of_one_track_speaks_of_it_in_the_singular(anon_client, owner):
    page = shared_page(anon_client, owner, 1)
    assert "1 track shared from AllMyTracks. Play it; it is licensed per project." in page
    assert "any of them" not in page and "1 tracks" not in page


def test_a_shared_playlist_of_two_tracks_speaks_of_them_in_the_plural(anon_client, owner):
    page = shared_page(anon_client, owner, 2)
    assert "2 tracks shared from AllMyTracks. Play any of them; each is licensed per project." in page
