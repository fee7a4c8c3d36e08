"""Enterprise verification: the application, checked uploads, staff decision, and billing's hook."""

import io

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from accounts import services
from accounts.models import AccountType, EnterpriseApplication, User
from allmytracks.models import AuditLog

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def application(letter, **overrides):
    data = {
        "company_name": "Northwind Films Ltd",
        "registration_number": "12345678",
        "address": "1 Film Street, London",
        "contact_name": "Nora North",
        "contact_phone": "+44 20 0000 0000",
        "letter": letter,
    }
    data.update(overrides)
    return data


def apply(client, letter, capture=None, **overrides):
    if capture is None:
        return client.post(reverse("accounts:enterprise"), application(letter, **overrides))
    with capture(execute=True):
        return client.post(reverse("accounts:enterprise"), application(letter, **overrides))


def png(size=(200, 100)):
    out = io.BytesIO()
    Image.new("RGB", size, "white").save(out, "PNG")
    return out.getvalue()


def test_pdf_application_is_stored_privately_and_pending(
    owner_client, members, django_capture_on_commit_callbacks
):
    from allmytracks.storage import private_storage

    response = apply(
        owner_client,
        SimpleUploadedFile("letter.pdf", PDF, "application/pdf"),
        django_capture_on_commit_callbacks,
    )
    assert response.status_code == 302
    app = EnterpriseApplication.objects.get(user=members[0])
    assert app.status == "pending" and app.letter_content_type == "application/pdf"
    assert private_storage().exists(app.letter.name)
    assert "received" in mail.outbox[-1].subject


def test_renamed_executable_is_refused_whatever_its_name(owner_client, members):
    exe = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + b"\x00" * 200
    response = apply(owner_client, SimpleUploadedFile("letter.pdf", exe, "application/pdf"))
    assert response.status_code == 200
    assert "none of those, whatever its name says" in response.text
    assert not EnterpriseApplication.objects.exists()
    assert "Northwind Films Ltd" in response.text  # nothing typed is lost


def test_fifty_megabyte_upload_is_refused(owner_client, members, settings):
    big = SimpleUploadedFile("letter.pdf", PDF + b"0" * (50 * 1024 * 1024), "application/pdf")
    response = apply(owner_client, big)
    assert response.status_code == 200
    assert "the limit is 10.0" in response.text
    assert not EnterpriseApplication.objects.exists()


def test_decompression_bomb_png_is_refused(owner_client, members):
    out = io.BytesIO()
    Image.new("1", (20000, 20000)).save(out, "PNG")  # 400 megapixels, a few kilobytes
    response = apply(owner_client, SimpleUploadedFile("letter.png", out.getvalue(), "image/png"))
    assert response.status_code == 200
    assert "too many pixels" in response.text
    assert not EnterpriseApplication.objects.exists()


def test_png_letter_is_re_encoded(owner_client, members):
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "hidden-payload")
    out = io.BytesIO()
    Image.new("RGB", (300, 200), "white").save(out, "PNG", pnginfo=info)
    apply(owner_client, SimpleUploadedFile("scan.png", out.getvalue(), "image/png"))
    app = EnterpriseApplication.objects.get()
    with app.letter.open("rb") as fh:
        assert b"hidden-payload" not in fh.read()
    assert app.letter_content_type == "image/png"


def test_jpeg_letter_is_accepted(owner_client, members):
    out = io.BytesIO()
    Image.new("RGB", (300, 200), "white").save(out, "JPEG")
    response = apply(owner_client, SimpleUploadedFile("scan.jpeg", out.getvalue(), "image/jpeg"))
    assert response.status_code == 302
    assert EnterpriseApplication.objects.get().letter_content_type == "image/jpeg"


def test_second_application_while_one_is_pending_is_refused(owner_client, members):
    apply(owner_client, SimpleUploadedFile("letter.pdf", PDF, "application/pdf"))
    response = apply(
        owner_client, SimpleUploadedFile("letter.pdf", PDF, "application/pdf"), company_name="Other Co"
    )
    assert response.status_code == 302
    assert EnterpriseApplication.objects.count() == 1


def test_staff_approve_in_admin_makes_the_account_enterprise_and_emails_it(
    mfa_staff_client, owner_client, members, staff, django_capture_on_commit_callbacks
):
    apply(owner_client, SimpleUploadedFile("letter.pdf", PDF, "application/pdf"))
    app = EnterpriseApplication.objects.get()
    page = mfa_staff_client.get(reverse("admin:accounts_enterpriseapplication_change", args=[app.pk]))
    assert "Download letter.pdf" in page.text
    with django_capture_on_commit_callbacks(execute=True):
        mfa_staff_client.post(
            reverse("admin:accounts_enterpriseapplication_changelist"),
            {"action": "approve", ACTION_CHECKBOX_NAME: [app.pk], "apply": "1", "reason": ""},
        )
    owner = User.objects.get(pk=members[0].pk)
    assert owner.is_enterprise and owner.enterprise_source == "verification"
    assert (
        AuditLog.objects.for_object(app).filter(action="accounts.enterprise_approved", actor=staff).exists()
    )
    assert "approved" in mail.outbox[-1].subject


def test_staff_reject_needs_a_reason_that_the_applicant_sees(
    mfa_staff_client, owner_client, members, django_capture_on_commit_callbacks
):
    apply(owner_client, SimpleUploadedFile("letter.pdf", PDF, "application/pdf"))
    app = EnterpriseApplication.objects.get()
    url = reverse("admin:accounts_enterpriseapplication_changelist")
    response = mfa_staff_client.post(url, {"action": "reject", ACTION_CHECKBOX_NAME: [app.pk], "apply": "1"})
    assert response.status_code == 200  # the form asks for the reason
    with django_capture_on_commit_callbacks(execute=True):
        mfa_staff_client.post(
            url,
            {"action": "reject", ACTION_CHECKBOX_NAME: [app.pk], "apply": "1", "reason": "Letter unsigned"},
        )
    app.refresh_from_db()
    assert app.status == "rejected"
    assert "Letter unsigned" in mail.outbox[-1].body
    assert "Letter unsigned" in owner_client.get(reverse("accounts:enterprise")).text
    assert not User.objects.get(pk=members[0].pk).is_enterprise


def test_buying_the_business_plan_marks_enterprise_once_and_is_audited(members):
    owner = members[0]
    assert services.mark_enterprise(user=owner, source="purchase") is True
    assert services.mark_enterprise(user=owner, source="purchase") is False
    owner.refresh_from_db()
    assert owner.account_type == AccountType.ENTERPRISE and owner.enterprise_source == "purchase"
    entry = AuditLog.objects.for_object(owner).get(action="accounts.enterprise_marked")
    # Staff read how, in words (a business plan may be bought or granted by staff).
    from allmytracks.admin import audit_details

    assert "<td>a business plan</td>" in audit_details(entry) and "purchase" not in audit_details(entry)


def test_letter_download_is_for_its_owner_only(owner_client, other_client, anon_client, members):
    apply(owner_client, SimpleUploadedFile("letter.pdf", PDF, "application/pdf"))
    app = EnterpriseApplication.objects.get()
    url = reverse("accounts:enterprise-letter", args=[app.pk])
    assert other_client.get(url).status_code == 404
    assert anon_client.get(url).status_code == 302
    response = owner_client.get(url)
    assert response.status_code == 302
    download = owner_client.get(response.url)
    assert download.status_code == 200 and download["Content-Type"] == "application/pdf"
    assert b"".join(download.streaming_content) == PDF
    download.close()
