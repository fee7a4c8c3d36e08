"""The staff site as a whole: every list answers a search, the menu puts day-to-day work first,
the audit log speaks plain English and links to what it is about, proof records stay read-only."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone

from allmytracks import audit
from allmytracks.admin import ReadOnlyAdmin
from allmytracks.models import AuditLog
from tests.factories import TrackFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_staff_mfa(settings):
    # The two-factor gate of the staff site has its own tests in tests/accounts.
    settings.ACCOUNTS_STAFF_REQUIRE_MFA = False


def changelist(model):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


# --- every list of the staff site ------------------------------------------------------------


def test_every_list_in_the_staff_site_answers_a_search(staff_client, owner):
    """allauth's own admins search fields such as ``user__username`` that this account model does
    not have: any of them left registered as it is answers a search with a server error."""
    from allauth.usersessions.models import UserSession

    UserSession.objects.create(user=owner, ip="203.0.113.5", session_key="s1", user_agent="Firefox")
    for model in admin.site._registry:
        response = staff_client.get(changelist(model), {"q": "a"})
        assert response.status_code == 200, model._meta.label


def test_signed_in_sessions_are_found_by_the_account_email(staff_client, owner, other):
    from allauth.usersessions.models import UserSession

    UserSession.objects.create(user=owner, ip="203.0.113.5", session_key="s1", user_agent="Firefox")
    UserSession.objects.create(user=other, ip="203.0.113.6", session_key="s2", user_agent="Safari")
    response = staff_client.get(changelist(UserSession), {"q": "owner@example"})
    assert response.status_code == 200
    assert "203.0.113.5" in response.text and "203.0.113.6" not in response.text


def test_sign_in_records_are_looked_up_and_deleted_never_made_or_edited_by_staff(staff_client, owner):
    from allauth.mfa.models import Authenticator
    from allauth.socialaccount.models import SocialAccount, SocialToken
    from allauth.usersessions.models import UserSession

    session = UserSession.objects.create(user=owner, ip="203.0.113.5", session_key="s1", user_agent="Firefox")
    for model in (UserSession, Authenticator, SocialAccount, SocialToken):
        opts = model._meta
        add = staff_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_add"))
        assert add.status_code == 403, opts.label
    page = staff_client.get(reverse("admin:usersessions_usersession_change", args=[session.pk]))
    assert page.status_code == 200 and 'name="_save"' not in page.text
    delete = reverse("admin:usersessions_usersession_delete", args=[session.pk])
    staff_client.post(delete, {"post": "yes"})
    assert not UserSession.objects.filter(pk=session.pk).exists()


def test_staff_pages_load_the_staff_stylesheet_that_lets_wide_tables_scroll(staff_client):
    response = staff_client.get(changelist(AuditLog))
    assert "css/staff-admin.css" in response.text
    css = (Path(settings.BASE_DIR) / "static/css/staff-admin.css").read_text()
    assert re.search(r"#changelist-form \.results,\s*\.staff-scroll \{\s*overflow-x: auto;", css)


# --- the menu ---------------------------------------------------------------------------------


def test_the_menu_lists_day_to_day_sections_first_then_the_technical_ones(staff_client):
    response = staff_client.get(reverse("admin:index"))
    names = [str(app["name"]) for app in response.context["app_list"]]
    assert names == [
        "Members",
        "Catalogue",
        "Billing",
        "Licensing",
        "Legal",
        "Audit log",
        "Sign-in and security",
        "Site set-up",
    ]
    sign_in = response.context["app_list"][6]
    assert [m["name"] for m in sign_in["models"]] == [
        "Email addresses",
        "Two-factor authenticators",
        "Signed-in sessions",
        "Google and Apple sign-ins",
        "Google and Apple sign-in set-up",
        "Google and Apple sign-in tokens",
    ]
    assert response.context["app_list"][0]["models"][0]["name"] == "Accounts"


def test_a_gathered_section_has_no_link_of_its_own_and_is_never_marked_current(staff_client):
    html = staff_client.get(reverse("admin:index")).text
    assert re.search(r"<caption>\s*Sign-in and security\s*</caption>", html)
    assert 'class="app-signin module current-app"' not in html


def test_the_page_of_one_section_still_lists_its_own_models(staff_client):
    response = staff_client.get(reverse("admin:app_list", args=["account"]))
    assert response.status_code == 200
    assert "Email addresses" in response.text


def test_the_menu_beside_each_page_is_ordered_the_same_way(staff_client):
    response = staff_client.get(changelist(AuditLog))
    names = [str(app["name"]) for app in response.context["available_apps"]]
    assert names[0] == "Members" and names[-1] == "Site set-up"


# --- the audit log ----------------------------------------------------------------------------


def test_the_audit_log_shows_what_happened_in_words_and_links_to_the_account(staff_client, staff, owner):
    audit.record("accounts.suspended", actor=staff, target=owner, reason="Spam")
    html = staff_client.get(changelist(AuditLog)).text
    assert "Account suspended" in html and ">accounts.suspended<" not in html  # (the filter's link has it)
    assert f'<a href="{reverse("admin:accounts_user_change", args=[owner.pk])}">owner@example.com</a>' in html


def test_an_entry_about_a_deleted_record_names_it_without_a_dead_link(staff_client, staff):
    from accounts.models import NameBlocklistEntry

    entry = NameBlocklistEntry.objects.create(term="officialstaff")
    audit.record("accounts.blocklist_deleted", actor=staff, target=entry, term=entry.term)
    url = reverse("admin:accounts_nameblocklistentry_change", args=[entry.pk])
    entry.delete()
    html = staff_client.get(changelist(AuditLog)).text
    assert "Blocked name word deleted" in html and "officialstaff" in html
    assert url not in html


def test_a_bulk_publish_entry_says_how_many_tracks_and_links_to_them(staff_client, staff):
    from catalog import services as catalog

    tracks = [TrackFactory(is_published=False, ingest_status="ready") for _ in range(3)]
    catalog.set_published(type(tracks[0]).objects.filter(pk__in=[t.pk for t in tracks]), True, actor=staff)
    html = staff_client.get(changelist(AuditLog)).text
    assert "Tracks published" in html
    link = re.search(r'<a href="([^"?]+)\?id__in=([0-9,]+)">3 tracks</a>', html)
    assert link and link.group(1) == reverse("admin:catalog_track_changelist")
    assert set(link.group(2).split(",")) == {str(t.pk) for t in tracks}
    listed = staff_client.get(link.group(1), {"id__in": link.group(2)})
    assert listed.status_code == 200 and listed.context["cl"].result_count == 3


def test_an_entry_page_shows_its_details_with_plain_labels(staff_client, staff, owner):
    row = audit.record(
        "accounts.admin_edited", actor=staff, target=owner, fields=["designated_seats", "is_staff"]
    )
    response = staff_client.get(reverse("admin:allmytracks_auditlog_change", args=[row.pk]))
    assert response.status_code == 200
    html = response.text
    assert "Account edited by staff" in html
    assert "Fields changed" in html and "Designated seats, Staff" in html
    assert "Target repr" not in html and "Target type" not in html


def test_the_audit_log_filters_name_actions_and_records_in_words(staff_client, staff, owner):
    audit.record("billing.complimentary_granted", actor=staff, target=owner)
    response = staff_client.get(changelist(AuditLog))
    specs = {str(spec.title): dict(spec.lookup_choices) for spec in response.context["cl"].filter_specs}
    assert specs["what happened"] == {"billing.complimentary_granted": "Complimentary membership granted"}
    assert specs["kind of record"] == {"accounts.user": "Accounts"}
    only_system = staff_client.get(changelist(AuditLog), {"who": "system"})
    assert only_system.context["cl"].result_count == 0


def test_every_action_the_project_writes_to_the_audit_log_has_a_label():
    root = Path(settings.BASE_DIR)
    codes = set()
    for app in ("accounts", "allmytracks", "billing", "catalog", "legal", "licensing"):
        for path in (root / app).rglob("*.py"):
            text = path.read_text()
            codes.update(re.findall(r"record\(\s*\"([a-z_]+\.[a-z_.]+)\"", text))
            codes.update(re.findall(r"\"(catalog\.(?:un)?publish)\"", text))
    # Written from f-strings: one code per status the request can be decided with.
    codes |= {
        "accounts.enterprise_approved",
        "accounts.enterprise_rejected",
        "accounts.cancellation_approved",
        "accounts.cancellation_rejected",
    }
    assert len(codes) > 40
    assert sorted(codes - set(audit.ACTION_LABELS)) == []


def test_an_unknown_action_code_is_still_shown_in_words():
    assert audit.action_label("catalog.ingest_stalled") == "Catalog: ingest stalled"


# --- proof records ----------------------------------------------------------------------------


def test_every_proof_record_admin_shares_one_read_only_admin():
    from accounts.admin import EnterpriseApplicationAdmin
    from billing.admin import SubscriptionAdmin
    from legal.admin import AcceptanceAdmin

    for model_admin in (EnterpriseApplicationAdmin, SubscriptionAdmin, AcceptanceAdmin):
        assert issubclass(model_admin, ReadOnlyAdmin)


def test_a_proof_record_page_is_view_only(staff_client, owner):
    from accounts.models import CancellationRequest

    cancellation = CancellationRequest.objects.create(user=owner)
    url = reverse("admin:accounts_cancellationrequest_change", args=[cancellation.pk])
    page = staff_client.get(url)
    assert page.status_code == 200 and 'name="_save"' not in page.text
    assert staff_client.post(url, {"status": "approved"}).status_code == 403


@pytest.mark.parametrize(
    "list_url, action",
    [
        ("/admin/accounts/user/", "suspend"),
        ("/admin/catalog/failedingestjob/", "retry"),
        ("/admin/licensing/license/", "revoke"),
        ("/admin/legal/version/", "publish_selected"),
        ("/admin/catalog/track/", "delete_selected"),
    ],
)
def test_an_action_on_forged_ids_changes_nothing_and_says_so(staff_client, owner, list_url, action):
    response = staff_client.post(
        list_url, {"action": action, "_selected_action": [str(owner.pk), "abc", "1 OR 1=1"]}, follow=True
    )
    assert response.status_code == 200
    assert "The selection was not understood: nothing was changed." in response.text
    owner.refresh_from_db()
    assert owner.moderation == "active"


@pytest.mark.parametrize(
    "list_url, section",
    [
        ("/admin/account/emailaddress/", "Sign-in and security"),
        ("/admin/usersessions/usersession/", "Sign-in and security"),
        ("/admin/mfa/authenticator/", "Sign-in and security"),
        ("/admin/socialaccount/socialapp/", "Sign-in and security"),
        ("/admin/auth/group/", "Site set-up"),
        ("/admin/sites/site/", "Site set-up"),
    ],
)
def test_the_breadcrumbs_of_technical_pages_name_the_section_as_the_menu_does(
    staff_client, list_url, section
):
    html = staff_client.get(list_url).text
    crumbs = html[html.index('class="breadcrumbs"') :]
    crumbs = crumbs[: crumbs.index("</div>")]
    assert f">{section}</a>" in crumbs


def test_the_front_page_lists_what_waits_for_staff_with_links_to_those_records(staff_client, owner, other):
    from accounts.models import CompromiseReport, EnterpriseApplication
    from billing.models import StripeEvent

    EnterpriseApplication.objects.create(user=owner, company_name="Acme Films", status="pending")
    EnterpriseApplication.objects.create(user=other, company_name="Done Ltd", status="approved")
    CompromiseReport.objects.create(user=owner, reported_email=owner.email)
    StripeEvent.objects.create(
        stripe_id="evt_x", type="invoice.paid", payload={}, processed_at=timezone.now(), error="No plan"
    )

    page = staff_client.get("/admin/")
    html = page.content.decode()
    assert "Waiting for staff" in html and "Recent actions" in html
    items = {item["text"]: item for item in page.context["waiting"]}
    assert items["Enterprise applications to decide"]["count"] == 1
    assert items["Compromise reports open"]["count"] == 1
    assert items["Stripe events that could not be placed"]["count"] == 1
    assert items["Cancellation requests to decide"]["count"] == 0
    listed = staff_client.get(items["Enterprise applications to decide"]["url"])
    assert list(listed.context["cl"].result_list) == list(
        EnterpriseApplication.objects.filter(status="pending")
    )
    for item in items.values():  # every link opens its list with its filter understood
        response = staff_client.get(item["url"])
        assert response.status_code == 200 and "e=1" not in response.get("Location", ""), item["text"]


def test_the_front_page_lists_only_what_the_staff_member_may_see(owner, settings):
    from django.contrib.auth.models import Permission
    from django.test import Client

    from tests.factories import UserFactory

    clerk = UserFactory(email="clerk@allmytracks.test", is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="view_enterpriseapplication"))
    client = Client()
    client.force_login(clerk)
    page = client.get("/admin/")
    assert [item["text"] for item in page.context["waiting"]] == ["Enterprise applications to decide"]
    assert "Stripe events" not in page.content.decode()
