import io

import pytest
from pypdf import PdfReader

from licensing import services, tasks
from licensing.models import Letter
from licensing.services import LicensingError
from tests.licensing.conftest import grant


def pdf_text(letter):
    letter.refresh_from_db()
    with letter.file.open("rb") as fh:
        reader = PdfReader(io.BytesIO(fh.read()))
    assert len(reader.pages) == 1
    return " ".join(reader.pages[0].extract_text().split())


@pytest.fixture
def issued(member, track):
    lic = grant(member, track, name="Olivia Owner", title="Summer vlog", platform="youtube", url="").license
    lic.project.url = "https://youtube.com/@olivia"
    lic.project.save(update_fields=["url"])
    return lic


def request(user, licenses, capture):
    with capture(execute=True):
        return services.request_letter(user=user, licenses=licenses)


def test_letter_pdf_states_every_field(
    issued, member, settings, django_capture_on_commit_callbacks, agreements
):
    letter = request(member, [issued], django_capture_on_commit_callbacks)
    letter.refresh_from_db()
    assert letter.status == "ready" and letter.file.name.endswith(".pdf")
    text = pdf_text(letter)
    op = settings.OPERATOR
    for expected in [
        op["name"],
        op["address"],
        "Olivia Owner",  # licensee and end user
        "owner@example.com",  # the licensee's account ID, in their own letter
        "Summer vlog (YouTube)",
        "https://youtube.com/@olivia",
        "Golden Hour",
        "Mira Vale",
        "Full track",
        issued.code,
        f"{issued.issued_at:%d %B %Y}",
        f"Music Licence Agreement, version {agreements['music-licence'].number}",
        "One end user",
        "One project",
        "No sublicensing",
        "No standalone resale",
        f"{settings.SITE_URL}/licenses/verify/{issued.code}/",
    ]:
        assert expected in text, expected


def test_letter_has_a_qr_code_of_the_verification_url(issued):
    from licensing.pdf import qr_runs

    runs, size = qr_runs(issued.absolute_verify_url)
    assert size >= 21 and runs
    import qrcode

    qr = qrcode.QRCode(border=0, error_correction=qrcode.constants.ERROR_CORRECT_M)
    qr.add_data(issued.absolute_verify_url)
    qr.make(fit=True)
    matrix = qr.get_matrix()
    rebuilt = [[False] * size for _ in range(size)]
    for row, start, length in runs:
        for x in range(start, start + length):
            rebuilt[row][x] = True
    assert rebuilt == matrix


def test_letter_is_emailed_as_a_pdf_attachment(
    issued, member, mailoutbox, django_capture_on_commit_callbacks
):
    letter = request(member, [issued], django_capture_on_commit_callbacks)
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == ["owner@example.com"]
    assert issued.code in mail.subject
    (name, content, mimetype) = mail.attachments[0]
    assert mimetype == "application/pdf" and content.startswith(b"%PDF")
    letter.refresh_from_db()
    assert letter.emailed_at is not None
    # a second run of the email task does not send it again
    assert tasks.send_letter(letter.pk) is False
    assert len(mailoutbox) == 1


def test_requesting_twice_returns_the_same_letter(issued, member, django_capture_on_commit_callbacks):
    first = request(member, [issued], django_capture_on_commit_callbacks)
    first.refresh_from_db()
    second = request(member, [issued], django_capture_on_commit_callbacks)
    second.refresh_from_db()
    assert first.pk == second.pk and second.file.name == first.file.name and second.revision == 1
    assert Letter.objects.count() == 1


def test_rendering_twice_does_nothing_the_second_time(issued, member):
    letter = services.request_letter(user=member, licenses=[issued])  # on-commit not run: still pending
    assert services.render_letter(letter.pk) is True
    assert services.render_letter(letter.pk) is False


def test_staff_regenerate_makes_a_new_revision(issued, member, staff, django_capture_on_commit_callbacks):
    letter = request(member, [issued], django_capture_on_commit_callbacks)
    letter.refresh_from_db()
    old_name = letter.file.name
    with django_capture_on_commit_callbacks(execute=True):
        services.regenerate_letter(letter=letter, actor=staff)
    letter.refresh_from_db()
    assert letter.revision == 2 and letter.status == "ready" and letter.file.name != old_name
    assert not letter.file.storage.exists(old_name)
    assert "revision 2" in pdf_text(letter)


def test_letter_for_a_revoked_licence_is_refused(issued, member, staff):
    services.revoke_license(license=issued, actor=staff, reason="Breach")
    issued.refresh_from_db()
    with pytest.raises(LicensingError, match="revoked"):
        services.request_letter(user=member, licenses=[issued])
    assert not Letter.objects.exists()


def test_letter_for_someone_elses_licence_is_refused(issued, other_member):
    with pytest.raises(LicensingError):
        services.request_letter(user=other_member, licenses=[issued])


def test_enterprise_gets_one_letter_for_several_licences_of_a_client_project(
    enterprise, track, second_track, django_capture_on_commit_callbacks
):
    first = grant(enterprise, track, name="Client Co", title="Spring campaign", platform="advert").license
    second = grant(enterprise, second_track, end_user=first.end_user, project=first.project).license
    letter = request(enterprise, [first, second], django_capture_on_commit_callbacks)
    text = pdf_text(letter)
    for expected in (
        first.code,
        second.code,
        "Golden Hour",
        "Night Drive",
        "Spring campaign",
        "Northwind Studio",
    ):
        assert expected in text
    again = request(enterprise, [second, first], django_capture_on_commit_callbacks)
    assert again.pk == letter.pk


def test_several_licences_in_one_letter_must_share_a_project(enterprise, track, second_track):
    first = grant(enterprise, track, name="Client Co", title="Campaign A").license
    second = grant(enterprise, second_track, end_user=first.end_user, title="Campaign B").license
    with pytest.raises(LicensingError, match="one client project"):
        services.request_letter(user=enterprise, licenses=[first, second])


def test_individual_cannot_combine_licences_in_one_letter(member, track, second_track):
    first = grant(member, track).license
    second = grant(member, second_track, project=first.project).license
    with pytest.raises(LicensingError, match="enterprise"):
        services.request_letter(user=member, licenses=[first, second])


def test_an_enterprise_asks_for_a_projects_letter_from_its_projects_page(
    enterprise, other_member, track, second_track, staff, django_capture_on_commit_callbacks, client
):
    import re

    from django.urls import reverse

    first = grant(enterprise, track, name="Client Co", title="Spring campaign", platform="advert").license
    second = grant(enterprise, second_track, end_user=first.end_user, project=first.project).license
    from tests.factories import TrackFactory, TrackVersionFactory

    third_track = TrackVersionFactory(track=TrackFactory(title="Third"), kind="full").track
    revoked = grant(enterprise, third_track, end_user=first.end_user, project=first.project).license
    services.revoke_license(license=revoked, actor=staff, reason="Duplicate")  # not in the letter
    theirs = grant(other_member, track, title="Their film").license
    client.force_login(enterprise)
    page = client.get(reverse("licensing:projects")).content.decode()
    form = re.search(r'<form method="post" action="(/licenses/[^"]+)">(.*?)</form>', page, re.S)
    assert form.group(1) == reverse("licensing:letter-request", args=[second.code])  # the newest licence
    also = re.findall(r'name="also" value="([^"]+)"', form.group(2))
    assert also == [first.code]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(form.group(1), {"also": also})
    assert response.status_code == 302
    letter = Letter.objects.get()
    assert set(letter.licenses.all()) == {first, second} and letter.status == "ready"
    # Another account's licence named in the request: refused, no letter made.
    forged = client.post(form.group(1), {"also": [first.code, theirs.code]})
    assert forged.status_code == 404 and Letter.objects.count() == 1


def test_a_member_without_an_enterprise_account_is_not_offered_project_letters(member, track, client):
    from django.urls import reverse

    grant(member, track, name="Olivia Owner", title="Launch video")
    client.force_login(member)
    page = client.get(reverse("licensing:projects")).content.decode()
    assert "Launch video" in page and "Letter for this project" not in page
