import json

import pytest
from django.urls import reverse

from legal import services
from legal.models import Acceptance, Announcement, Message
from tests.factories import AgreementVersionFactory, publish_agreement

pytestmark = pytest.mark.django_db


# --- public agreement pages ------------------------------------------------------------------------


def test_the_legal_index_lists_every_agreement_with_its_version_in_force(anon_client, agreements):
    response = anon_client.get(reverse("legal:index"))
    assert response.status_code == 200
    html = response.content.decode()
    for title in (
        "User Agreement",
        "Privacy Policy",
        "Premium Membership Service Agreement",
        "Music Licence",
    ):
        assert title in html
    assert "Version 1 in force" in html and "Not yet published" in html
    assert "support@allmytracks.example" in html  # the support contact from settings


def test_a_document_page_shows_the_version_in_force_its_history_and_an_upcoming_version(
    anon_client, agreements
):
    import datetime

    from django.utils import timezone

    v2 = AgreementVersionFactory(
        document=agreements["user-agreement"].document,
        number=2,
        body="## Terms\n\nNew.\n",
        effective_at=timezone.now() + datetime.timedelta(days=30),
    )
    services.publish_version(version=v2, actor=None, notify=False)
    response = anon_client.get(reverse("legal:document", args=["user-agreement"]))
    html = response.content.decode()
    assert "First line." in html and "Version 1 · in force" in html
    assert "Version 2 takes effect on" in html
    assert reverse("legal:version", args=["user-agreement", 2]) in html


def test_markdown_is_rendered_with_underlined_clauses_and_no_script(anon_client):
    publish_agreement(
        body='<u>**No liability for lost profits.**</u>\n\n<script>alert("x")</script>\n\n'
        '<a href="javascript:alert(1)" onclick="steal()">link</a> <img src=x onerror=alert(1)>'
    )
    html = anon_client.get(reverse("legal:document", args=["user-agreement"])).content.decode()
    assert "<u><strong>No liability for lost profits.</strong></u>" in html
    assert (
        "alert" not in html and "onclick" not in html and "onerror" not in html and "javascript:" not in html
    )


def test_a_past_version_is_shown_marked_as_no_longer_in_force(anon_client, agreements):
    publish_agreement("user-agreement", body="## Terms\n\nChanged line.\n")
    response = anon_client.get(reverse("legal:version", args=["user-agreement", 1]))
    assert response.status_code == 200
    assert "no longer in force" in response.content.decode()


def test_drafts_and_unknown_documents_are_not_public(anon_client, agreements):
    AgreementVersionFactory(document=agreements["user-agreement"].document, number=2)
    assert anon_client.get(reverse("legal:version", args=["user-agreement", 2])).status_code == 404
    assert anon_client.get(reverse("legal:changes", args=["user-agreement", 2])).status_code == 404
    assert anon_client.get("/legal/cookie-policy/").status_code == 404


def test_the_changes_page_marks_added_and_removed_text(anon_client, agreements):
    publish_agreement(
        "user-agreement", body="## Terms\n\nFirst line.\n\nSecond line, <b>bold</b>.\n", summary="Clarified."
    )
    html = anon_client.get(reverse("legal:changes", args=["user-agreement", 2])).content.decode()
    assert "Clarified." in html
    assert "<ins>line, &lt;b&gt;bold&lt;/b&gt;.</ins>" in html  # escaped, never rendered as HTML
    assert "<del>line.</del>" in html
    assert "1 line added · 1 removed" in html


def test_the_first_version_says_there_is_nothing_to_compare(anon_client, agreements):
    html = anon_client.get(reverse("legal:changes", args=["user-agreement", 1])).content.decode()
    assert "first version" in html


def test_legal_pages_have_a_print_stylesheet(anon_client, agreements):
    from django.contrib.staticfiles import finders

    html = anon_client.get(reverse("legal:document", args=["user-agreement"])).content.decode()
    assert "css/legal.css" in html
    with open(finders.find("css/legal.css")) as css:
        assert "@media print" in css.read()


# --- the re-acceptance gate -------------------------------------------------------------------------


def test_a_signed_in_user_with_an_unaccepted_material_change_is_sent_to_the_acceptance_page(
    owner_client, accepted
):
    publish_agreement(
        "user-agreement", body="## Terms\n\nFirst line.\n\nA new duty.\n", summary="A new duty."
    )
    response = owner_client.get("/?from=test")
    assert response.status_code == 302
    assert response["Location"] == reverse("legal:accept") + "?next=%2F%3Ffrom%3Dtest"
    page = owner_client.get(response["Location"])
    html = page.content.decode()
    assert "A new duty." in html and "<ins>" in html
    assert "Please review and accept the changes" in html
    assert "I have read and agree to the updated User Agreement (version 2)" in html


def test_a_form_sent_while_a_new_version_waits_is_not_acted_on_and_says_so_then_leads_back(
    owner_client, owner, accepted
):
    new = publish_agreement("user-agreement", body="## Terms\n\nA new duty.\n", summary="A new duty.")
    profile = reverse("accounts:profile")
    sent = owner_client.post(
        profile,
        {"display_name": "Olivia", "bio": "Typed before the change"},
        HTTP_REFERER=f"http://testserver{profile}?tab=about",
    )
    assert sent.status_code == 303
    back = "%2Faccount%2Fprofile%2F%3Ftab%3Dabout"
    assert sent["Location"] == reverse("legal:accept") + f"?unsent=1&next={back}"
    owner.refresh_from_db()
    assert owner.bio != "Typed before the change"
    page = owner_client.get(sent["Location"])
    assert "What you just sent was not saved" in page.content.decode()
    accepted_now = owner_client.post(
        reverse("legal:accept"),
        {"agree": "on", "versions": str(new.pk), "next": page.context["next"], "action": "accept"},
    )
    assert accepted_now["Location"] == f"{profile}?tab=about"

    elsewhere = publish_agreement("user-agreement", body="## Terms\n\nAnother.\n", summary="Another.")
    assert elsewhere
    foreign = owner_client.post(profile, {"display_name": "Olivia"}, HTTP_REFERER="https://evil.example/x")
    assert foreign["Location"] == reverse("legal:accept") + "?unsent=1"


def test_an_account_that_never_accepted_is_asked_to_accept_not_told_of_changes(owner_client, agreements):
    html = owner_client.get(reverse("legal:accept")).content.decode()
    assert "Please accept our agreements" in html and "accept them" in html
    assert "changes" not in html.split("<main", 1)[1].split("</header>", 1)[0]
    assert "I have read and agree to the User Agreement (version 1) and Privacy Policy (version 1)." in html

    declined = owner_client.post(reverse("legal:accept"), {"action": "decline"}).content.decode()
    assert "You did not accept the agreements" in declined and "Review the agreements again" in declined
    assert "changes" not in declined.split("<main", 1)[1]


def test_accepting_records_a_reacceptance_and_returns_to_where_the_user_was(owner_client, owner, accepted):
    new = publish_agreement("user-agreement")
    page = owner_client.get(reverse("legal:accept") + "?next=/legal/")
    versions = page.context["form"].initial["versions"]
    response = owner_client.post(
        reverse("legal:accept"), {"agree": "on", "versions": versions, "next": "/legal/", "action": "accept"}
    )
    assert response.status_code == 302 and response["Location"] == "/legal/"
    assert Acceptance.objects.get(user=owner, version=new).method == "reaccept"
    assert owner_client.get("/").status_code == 200


def test_accepting_without_the_tick_is_refused(owner_client, owner, accepted):
    new = publish_agreement("user-agreement")
    response = owner_client.post(reverse("legal:accept"), {"versions": str(new.pk), "action": "accept"})
    assert response.status_code == 200
    assert "Tick the box" in response.content.decode()
    assert not Acceptance.objects.filter(user=owner, version=new).exists()


def test_accepting_a_version_that_was_replaced_meanwhile_is_refused(owner_client, owner, accepted):
    shown = publish_agreement("user-agreement")
    newer = publish_agreement("user-agreement")
    response = owner_client.post(
        reverse("legal:accept"), {"agree": "on", "versions": str(shown.pk), "action": "accept"}, follow=True
    )
    assert "changed while you were reading" in response.content.decode()
    assert not Acceptance.objects.filter(user=owner, version__in=[shown, newer]).exists()


def test_declining_explains_the_consequence_lets_the_user_browse_but_not_buy(owner_client, owner, accepted):
    publish_agreement("user-agreement")
    response = owner_client.post(reverse("legal:accept"), {"action": "decline"})
    html = response.content.decode()
    assert "No new downloads or purchases" in html and reverse("accounts:cancel") in html
    assert "You did not accept the changes" in html and "Review the changes again" in html
    home = owner_client.get("/")
    assert home.status_code == 200
    assert "Downloads and purchases are paused" in home.content.decode()
    with pytest.raises(services.AcceptanceRequired):
        services.ensure_current_agreements(owner)


def test_legal_pages_logout_and_static_files_are_not_gated(owner_client, accepted):
    publish_agreement("user-agreement")
    for path in (
        "/legal/",
        "/legal/user-agreement/",
        reverse("legal:inbox"),
        reverse("legal:agreements"),
        "/healthz",
    ):
        assert owner_client.get(path).status_code in (200, 503), path
    response = owner_client.post(reverse("account_logout"))
    assert response.status_code == 302 and "legal/accept" not in response["Location"]


def test_staff_reach_the_staff_site_but_not_the_shop_without_accepting(staff_client, settings, accepted):
    settings.ACCOUNTS_STAFF_REQUIRE_MFA = False
    publish_agreement("user-agreement")
    assert staff_client.get("/admin/").status_code == 200
    assert staff_client.get("/").status_code == 302


def test_an_htmx_request_is_redirected_with_hx_redirect(owner_client, accepted):
    publish_agreement("user-agreement")
    response = owner_client.get("/", headers={"HX-Request": "true"})
    assert response.status_code == 204
    assert response["HX-Redirect"].startswith(reverse("legal:accept"))


def test_visitors_who_are_not_signed_in_are_not_gated(anon_client, agreements):
    assert anon_client.get("/").status_code == 200


def test_the_accept_page_sends_an_up_to_date_user_on_and_refuses_foreign_next_urls(owner_client, accepted):
    response = owner_client.get(reverse("legal:accept") + "?next=https://evil.example/")
    assert response.status_code == 302 and response["Location"] == "/"


def test_the_gate_costs_a_constant_number_of_queries(owner_client, accepted, django_assert_max_num_queries):
    for _ in range(3):
        publish_agreement("privacy-policy", material=False)
    owner_client.get("/")  # records continued use once
    with django_assert_max_num_queries(12):
        owner_client.get("/legal/")


def test_the_gate_and_header_cost_at_most_three_legal_queries_per_page(owner_client, accepted):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    Announcement.objects.create(title="Maintenance tonight")
    owner_client.get("/")  # warms the shared cache of versions in force and announcements
    with CaptureQueriesContext(connection) as ctx:
        response = owner_client.get("/")
    assert "Maintenance tonight" in response.content.decode()
    legal_queries = [q["sql"] for q in ctx.captured_queries if '"legal_' in q["sql"]]
    # The user's acceptances, their dismissed banners, their unread count.
    assert len(legal_queries) <= 3, legal_queries


# --- the user's agreements --------------------------------------------------------------------------


def test_a_user_sees_only_their_own_agreement_history(owner_client, other_client, owner, accepted):
    html = owner_client.get(reverse("legal:agreements")).content.decode()
    assert "owner@example.com" in html and html.count("Sign-up tick") == 2
    other_html = other_client.get(reverse("legal:agreements")).content.decode()
    assert "owner@example.com" not in other_html


def test_the_agreement_history_downloads_as_json(owner_client, accepted):
    response = owner_client.get(reverse("legal:agreements") + "?format=json")
    assert response["Content-Disposition"].startswith("attachment")
    data = json.loads(response.content)
    assert data["account"] == "owner@example.com"
    assert {a["document"] for a in data["acceptances"]} == {"user-agreement", "privacy-policy"}
    assert all(len(a["text_sha256"]) == 64 for a in data["acceptances"])


def test_account_pages_ask_a_visitor_to_sign_in(anon_client):
    for name in ("legal:agreements", "legal:inbox", "legal:email-preferences", "legal:accept"):
        response = anon_client.get(reverse(name))
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


# --- inbox -----------------------------------------------------------------------------------------------


def test_the_inbox_lists_only_the_users_own_messages_and_marks_them_read(
    owner_client, other_client, owner, other
):
    mine = services.send_private_message(user=owner, subject="Your letter is ready", body="See it")
    services.send_private_message(user=other, subject="Someone else's", body="Private")
    html = owner_client.get(reverse("legal:inbox")).content.decode()
    assert "Your letter is ready" in html and "Someone else" not in html
    assert 'class="badge-count">1' in html
    assert other_client.get(reverse("legal:message", args=[mine.pk])).status_code == 404
    assert owner_client.get(reverse("legal:message", args=[mine.pk])).status_code == 200
    mine.refresh_from_db()
    assert mine.read_at is not None
    assert 'class="badge-count"' not in owner_client.get(reverse("legal:inbox")).content.decode()


def test_mark_all_read(owner_client, owner):
    services.send_private_message(user=owner, subject="A", body="a")
    services.send_private_message(user=owner, subject="B", body="b")
    owner_client.post(reverse("legal:mark-all-read"))
    assert not Message.objects.filter(recipient=owner, read_at__isnull=True).exists()


def test_the_inbox_runs_a_constant_number_of_queries(owner_client, owner, django_assert_max_num_queries):
    for i in range(30):
        services.send_private_message(user=owner, subject=f"Message {i}", body="Body")
    owner_client.get(reverse("legal:inbox"))  # a session's first request also records its activity
    # Session, user and other apps' banners included.
    with django_assert_max_num_queries(10):
        response = owner_client.get(reverse("legal:inbox"))
    assert response.content.decode().count('class="inbox-row') == 20


# --- announcements and preferences ---------------------------------------------------------------------


def test_an_announcement_shows_as_a_banner_until_dismissed(owner_client, anon_client):
    announcement = Announcement.objects.create(title="Maintenance on Sunday 02:00 UTC", kind="maintenance")
    assert "Maintenance on Sunday" in anon_client.get("/").content.decode()
    assert "Maintenance on Sunday" in owner_client.get("/").content.decode()
    response = owner_client.post(
        reverse("legal:dismiss-announcement", args=[announcement.pk]), headers={"HX-Request": "true"}
    )
    assert response.status_code == 200 and response.content == b""
    assert "Maintenance on Sunday" not in owner_client.get("/").content.decode()
    assert "Maintenance on Sunday" in anon_client.get("/").content.decode()


def test_an_ended_announcement_is_not_shown(anon_client):
    import datetime

    from django.utils import timezone

    Announcement.objects.create(
        title="Old news",
        starts_at=timezone.now() - datetime.timedelta(days=2),
        ends_at=timezone.now() - datetime.timedelta(days=1),
    )
    assert "Old news" not in anon_client.get("/").content.decode()


def test_announcements_are_kept_a_moment_per_process_a_change_here_seen_at_once(anon_client, monkeypatch):
    """Every page asks for the running announcements: a process keeps the list for a couple of
    seconds instead of reading the shared cache (a Redis round trip) on every page."""
    from django.core.cache import cache, caches

    from allmytracks import memo
    from legal import context_processors

    clock = [1000.0]
    monkeypatch.setattr(memo, "_now", lambda: clock[0])

    assert "Maintenance" not in anon_client.get("/").content.decode()
    reads = []
    shared = caches["default"]
    real_get = shared.get
    monkeypatch.setattr(shared, "get", lambda key, *a, **kw: reads.append(key) or real_get(key, *a, **kw))
    anon_client.get("/")
    assert context_processors.ANNOUNCEMENTS_CACHE_KEY not in reads  # this process's copy

    Announcement.objects.create(title="Maintenance on Sunday 02:00 UTC", kind="maintenance")
    assert "Maintenance on Sunday" in anon_client.get("/").content.decode()  # saved here: at once

    other = Announcement(title="Planned downtime", kind="maintenance")  # as another process saved it:
    cache.set(context_processors.ANNOUNCEMENTS_CACHE_KEY, [other], 60)  # only the shared cache knows
    assert "Planned downtime" not in anon_client.get("/").content.decode()  # within the moment
    clock[0] += 2.5  # the moment is over
    assert "Planned downtime" in anon_client.get("/").content.decode()


def test_email_preferences_change_marketing_consent(owner_client, owner):
    assert 'name="opted_in"' in owner_client.get(reverse("legal:email-preferences")).content.decode()
    owner_client.post(reverse("legal:email-preferences"), {"opted_in": "on"})
    assert services.marketing_opted_in(owner)
    owner_client.post(reverse("legal:email-preferences"), {})
    assert not services.marketing_opted_in(owner)
