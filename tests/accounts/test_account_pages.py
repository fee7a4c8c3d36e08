"""The account pages for the three personas: the owner, another member, a stranger."""

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import CancellationRequest

pytestmark = pytest.mark.django_db

PAGES = [
    "accounts:account",
    "accounts:profile",
    "accounts:security",
    "accounts:enterprise",
    "accounts:cancel",
]


@pytest.mark.parametrize("name", PAGES)
def test_stranger_is_sent_to_sign_in(anon_client, name):
    response = anon_client.get(reverse(name))
    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


@pytest.mark.parametrize("name", PAGES)
def test_owner_sees_their_own_account_and_never_anothers(owner_client, members, name):
    response = owner_client.get(reverse(name))
    assert response.status_code == 200
    assert "owner@example.com" in response.text
    assert "other@example.com" not in response.text


@pytest.mark.parametrize("name", PAGES)
def test_other_member_sees_only_their_own_account(other_client, members, name):
    response = other_client.get(reverse(name))
    assert response.status_code == 200
    assert "other@example.com" in response.text
    assert "owner@example.com" not in response.text


def test_account_page_shows_id_type_mfa_state_and_links(owner_client, members):
    page = owner_client.get(reverse("accounts:account")).text
    assert "Email (your account ID)" in page
    assert "Individual" in page
    assert "Two-factor authentication" in page
    assert reverse("accounts:cancel") in page and reverse("accounts:report-compromise") in page


def test_account_page_says_why_buying_is_paused(owner_client, members):
    owner = members[0]
    owner.profile_review = ""
    owner.date_of_birth = None
    owner.save(update_fields=["date_of_birth"])
    page = owner_client.get(reverse("accounts:account")).text
    assert "Buying and downloading are paused" in page


def test_header_menu_links_the_account_page(owner_client, members):
    page = owner_client.get(reverse("accounts:account")).text
    assert f'href="{reverse("accounts:account")}"' in page


def test_account_page_query_count_is_bounded(owner_client, members, django_assert_max_num_queries):
    with django_assert_max_num_queries(25):
        owner_client.get(reverse("accounts:account"))


def test_another_members_cancellation_cannot_be_withdrawn(other_client, members):
    owner = members[0]
    cancellation = CancellationRequest.objects.create(user=owner)
    response = other_client.post(reverse("accounts:cancel-withdraw", args=[cancellation.pk]))
    assert response.status_code == 404
    cancellation.refresh_from_db()
    assert cancellation.status == "pending"


def test_posts_without_csrf_token_are_refused(members):
    owner = members[0]
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    for name in ("accounts:cancel", "accounts:profile", "accounts:enterprise", "accounts:report-compromise"):
        assert client.post(reverse(name), {"confirm_email": owner.email}).status_code == 403
    assert not CancellationRequest.objects.exists()


def test_forged_next_redirect_after_sign_in_stays_on_site(client, members, password):
    owner = members[0]
    response = client.post(
        reverse("account_login") + "?next=https://evil.example/steal",
        {"login": owner.email, "password": password, "next": "https://evil.example/steal"},
    )
    assert response.status_code == 302
    assert "evil.example" not in response.url


def test_same_site_next_redirect_after_sign_in_is_followed(client, members, password):
    owner = members[0]
    response = client.post(
        reverse("account_login"), {"login": owner.email, "password": password, "next": "/account/security/"}
    )
    assert response.url == "/account/security/"


def test_signed_in_as_strip_names_the_account(owner_client, members):
    from django.template.loader import render_to_string
    from django.test import RequestFactory

    request = RequestFactory().get("/")
    request.user = members[0]
    html = render_to_string("accounts/_signed_in_as.html", {"user": members[0]}, request=request)
    assert "account-strip" in html and "owner@example.com" in html


def test_security_page_lists_sessions_and_offers_signing_out_others(client, members, password):
    owner = members[0]
    client.post(reverse("account_login"), {"login": owner.email, "password": password})
    second = Client(HTTP_USER_AGENT="Other browser")
    second.post(reverse("account_login"), {"login": owner.email, "password": password})
    page = client.get(reverse("accounts:security"))
    assert "Other browser" in page.text
    assert "Sign out all other sessions" in page.text
    client.post(reverse("usersessions_list"))
    assert second.get(reverse("accounts:account")).status_code == 302
    assert client.get(reverse("accounts:account")).status_code == 200


def test_sessions_are_named_by_browser_and_system(client, members, password):
    firefox = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
    iphone = (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko)"
        " Version/17.0 Mobile/15E148 Safari/604.1"
    )
    owner = members[0]
    for agent in (firefox, iphone):
        browser = Client(HTTP_USER_AGENT=agent)
        browser.post(reverse("account_login"), {"login": owner.email, "password": password})
    client.force_login(owner)
    page = client.get(reverse("accounts:security")).text
    assert "Firefox on Windows" in page and "Mobile Safari on iOS · iPhone" in page
    assert f'title="{firefox}"' in page  # the full string stays at hand


@pytest.mark.parametrize("name", ["accounts:account", "accounts:security"])
@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_pages_that_only_show_refuse_other_methods(owner_client, members, name, method):
    assert getattr(owner_client, method)(reverse(name)).status_code == 405
