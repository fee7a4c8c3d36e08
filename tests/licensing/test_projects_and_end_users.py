"""One end user and one project for every download: a project keeps the end user it was first
licensed for; any of the member's projects can be chosen, however many they have."""

import uuid

import pytest
from django.urls import reverse

from catalog.models import TrackVersion
from licensing import services
from licensing.forms import FILTER_PROJECTS, MENU_PROJECTS
from licensing.models import License, Project
from tests.licensing.conftest import grant
from tests.licensing.test_views import download_url, form_data


@pytest.fixture
def designated(enterprise):
    ana = services.designate_end_user(user=enterprise, name="Ana Díaz")
    ben = services.designate_end_user(user=enterprise, name="Ben Ito")
    return ana, ben


def test_a_project_licensed_for_one_end_user_refuses_another(enterprise, designated, track, second_track):
    ana, ben = designated
    project = grant(enterprise, track, end_user=ana).license.project
    with pytest.raises(services.LicensingError, match="licensed for Ana Díaz, and a project has one end"):
        grant(enterprise, second_track, end_user=ben, project=project)
    assert License.objects.count() == 1
    assert grant(enterprise, second_track, end_user=ana, project=project).created


def test_another_end_user_on_a_licensed_track_of_the_project_is_refused_not_a_free_redownload(
    enterprise, designated, track
):
    ana, ben = designated
    project = grant(enterprise, track, end_user=ana).license.project
    with pytest.raises(services.LicensingError, match="Choose Ana Díaz, or start a new project"):
        grant(enterprise, track, end_user=ben, project=project)


def test_designating_a_new_end_user_on_a_licensed_project_is_refused_and_designates_nobody(
    enterprise, track, second_track, client
):
    ana = services.designate_end_user(user=enterprise, name="Ana Díaz")
    project = grant(enterprise, track, end_user=ana).license.project
    client.force_login(enterprise)
    data = form_data(
        client, second_track, project=str(project.pk), end_user="new", end_user_name="Client Two Inc"
    )
    page = client.post(download_url(second_track), data).content.decode()
    assert "licensed for Ana Díaz, and a project has one end user" in page
    assert License.objects.count() == 1
    assert list(enterprise.end_users.values_list("name", flat=True)) == ["Ana Díaz"]


def test_an_individuals_projects_take_their_one_end_user(member, track, second_track):
    project = grant(member, track, name="Olivia Owner").license.project
    assert grant(member, second_track, project=project).created


def test_an_address_made_longer_than_the_column_by_https_is_refused_with_the_input_kept(
    member, owner_client, track
):
    address = "youtube.com/" + "a" * 288  # 300 characters typed, 308 with https://
    data = form_data(owner_client, track, project_url=address, project_title="Keep me")
    html = owner_client.post(download_url(track), data).content.decode()
    assert "Keep the address to 300 characters, https:// included." in html
    assert 'value="Keep me"' in html
    assert not License.objects.exists()
    fits = "youtube.com/" + "a" * 280
    owner_client.post(download_url(track), form_data(owner_client, track, project_url=fits))
    assert License.objects.get().project.url == f"https://{fits}"


def _old_projects(user, count):
    Project.objects.bulk_create(
        Project(account=user, title=f"Bulk project {n}", platform="youtube") for n in range(count)
    )


def test_a_project_older_than_the_menu_still_takes_downloads(member, owner_client, track, second_track):
    first = grant(member, track, title="Oldest client film", name="Olivia Owner").license.project
    _old_projects(member, MENU_PROJECTS + 5)
    page = owner_client.get(download_url(second_track)).content.decode()
    assert "Oldest client film" not in page  # the menu lists the most recent

    data = form_data(owner_client, second_track, project=str(first.pk), project_title="", platform="")
    response = owner_client.post(download_url(second_track), data)
    assert response.status_code == 302
    assert License.objects.get(track=second_track).project == first


def test_another_members_project_id_is_refused_on_the_download_form(
    member, other_member, owner_client, track, second_track
):
    theirs = grant(other_member, track, name="Other Person").license.project
    data = form_data(owner_client, second_track, project=str(theirs.pk), project_title="", platform="")
    html = owner_client.post(download_url(second_track), data).content.decode()
    assert "That project is not one of yours. Start a new project for this download." in html
    # Only that: not also the new project's empty title and platform, which were never asked for.
    assert "Give the project a title" not in html and "Choose where the project" not in html
    assert not License.objects.filter(account=member).exists()
    grant(member, track, title="My own film", name="Olivia Owner")  # with a menu: the field says it
    data = form_data(owner_client, second_track, project=str(theirs.pk), project_title="", platform="")
    html = owner_client.post(download_url(second_track), data).content.decode()
    assert "That project is not one of yours: choose one of the list or a new project." in html
    assert "Give the project a title" not in html and "Choose where the project" not in html
    assert not License.objects.filter(account=member, track=second_track).exists()


def test_a_form_sent_without_its_pages_token_says_to_reload(member, owner_client, track):
    data = form_data(owner_client, track, submission="not-a-token", project_title="Keep me")
    html = owner_client.post(download_url(track), data).content.decode()
    assert "This form did not come from its page. Reload the page and try again." in html
    assert 'value="Keep me"' in html and not License.objects.exists()


def test_the_licences_filter_finds_a_project_older_than_its_menu(member, owner_client, track, second_track):
    old = grant(member, track, title="Oldest client film", name="Olivia Owner").license
    _old_projects(member, FILTER_PROJECTS + 5)
    recent = grant(member, second_track, title="Recent film").license
    url = reverse("licensing:license-list")

    listed = owner_client.get(url, {"project": str(old.project_id)}).context["licenses"]
    assert [lic.code for lic in listed] == [old.code]
    csv = b"".join(owner_client.get(reverse("licensing:export-csv"), {"project": old.project_id}))
    assert old.code.encode() in csv and recent.code.encode() not in csv


def test_a_filter_that_is_not_valid_matches_nothing_and_says_why(
    member, other_member, owner_client, track, second_track
):
    grant(member, track, name="Olivia Owner")
    theirs = grant(other_member, second_track, name="Other Person").license.project
    response = owner_client.get(reverse("licensing:license-list"), {"project": str(theirs.pk)})
    assert list(response.context["licenses"]) == []
    html = response.content.decode()
    assert "Project: not one of your projects." in html and "No licences match" in html
    too_long = owner_client.get(reverse("licensing:license-list"), {"q": "x" * 101}).content.decode()
    assert "Ensure this value has at most 100 characters" in too_long
    export = owner_client.get(reverse("licensing:export-csv"), {"project": str(theirs.pk)})
    assert export.status_code == 400 and "project: not one of your projects." in export.content.decode()


def test_a_licence_address_typed_in_lower_case_or_without_dashes_leads_to_the_licence(
    member, owner_client, track
):
    lic = grant(member, track, name="Olivia Owner").license
    for typed in (lic.code.lower(), lic.code.replace("-", "").lower()):
        response = owner_client.get(reverse("licensing:license-detail", args=[typed]))
        assert response.status_code == 302 and response["Location"] == lic.get_absolute_url()
    redownload = owner_client.post(
        reverse("licensing:redownload", args=[lic.code.lower()]), {"version": lic.version_id}
    )
    assert redownload.status_code == 302
    lic.refresh_from_db()
    assert lic.download_count == 2


def test_the_end_users_page_of_a_one_seat_enterprise_says_its_seat_is_taken(agreements, client):
    from tests.factories import UserFactory
    from tests.licensing.conftest import give_membership, make_ready

    studio = make_ready(UserFactory(email="solo@example.com"), enterprise=True, seats=1)
    give_membership(studio)
    services.designate_end_user(user=studio, name="Ana Díaz")
    client.force_login(studio)
    page = client.get(reverse("licensing:end-users")).content.decode()
    assert "Your one seat is taken." in page and "All 1 seat" not in page


def test_an_individuals_end_user_named_again_is_their_own_on_an_existing_project(member, track, second_track):
    project = grant(member, track, name="Olivia Owner").license.project
    again = services.grant_license(
        user=member,
        track=second_track,
        version=second_track.versions.get(kind="full"),
        submission=uuid.uuid4(),
        new_end_user={"name": "olivia owner", "role": ""},
        project=project,
    )
    assert again.created and again.license.end_user.name == "Olivia Owner"


@pytest.mark.django_db(transaction=True)
def test_a_file_deleted_by_staff_while_a_grant_was_under_way_is_refused_in_words(member, track):
    stale = track.versions.get(kind="instrumental")  # the form was built with it
    TrackVersion.objects.filter(pk=stale.pk).delete()
    with pytest.raises(services.LicensingError, match="That file is no longer available"):
        grant(member, track, version=stale, name="Olivia Owner")
    assert not License.objects.exists()
