"""What a staff reviewer found on the members' pages of the staff site: seats edited where they are
not kept, staff asking themselves or other staff to update their profile, approvals that forgot the
company, emails added in capitals, and the history page that knew nothing of the audit log."""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts import services
from accounts.models import AccountType, EnterpriseApplication, ProfileReview, User
from allmytracks.models import AuditLog
from billing.models import BillingAccount
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db
CHANGELIST = reverse("admin:accounts_user_changelist")


@pytest.fixture(autouse=True)
def _staff_without_second_factor(settings):
    settings.ACCOUNTS_STAFF_REQUIRE_MFA = False


def change_url(user):
    return reverse("admin:accounts_user_change", args=[user.pk])


def notes(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


def enterprise_application(user, company_name="Northwind Films Ltd"):
    return EnterpriseApplication.objects.create(
        user=user,
        company_name=company_name,
        registration_number="12345678",
        address="1 Film Street, London",
        contact_name="Nora North",
        letter=SimpleUploadedFile("letter.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf"),
        letter_content_type="application/pdf",
        letter_filename="letter.pdf",
    )


def approve(client, application):
    return client.post(
        reverse("admin:accounts_enterpriseapplication_changelist"),
        {"action": "approve", ACTION_CHECKBOX_NAME: [application.pk], "apply": "1", "reason": ""},
    )


# --- designated seats: one source of truth --------------------------------------------------------


def test_designated_seats_are_shown_not_edited_on_an_account_page(staff_client, owner):
    User.objects.filter(pk=owner.pk).update(account_type=AccountType.ENTERPRISE, designated_seats=3)
    page = staff_client.get(change_url(owner)).text
    assert "Designated seats" in page and 'name="designated_seats"' not in page
    assert "extra seats staff grant" in page
    add = reverse("admin:billing_billingaccount_add")
    assert f'href="{add}?account_email=owner%40example.com"' in page


def test_an_account_with_billing_details_links_to_them_for_its_seats(staff_client, owner):
    User.objects.filter(pk=owner.pk).update(account_type=AccountType.ENTERPRISE)
    account = BillingAccount.objects.create(user=owner, extra_seats=2)
    page = staff_client.get(change_url(owner)).text
    link = reverse("admin:billing_billingaccount_change", args=[account.pk])
    assert f'<a href="{link}">its billing details (2 extra now)</a>' in page


def test_seats_posted_on_an_account_page_are_not_saved(staff_client, owner):
    User.objects.filter(pk=owner.pk).update(account_type=AccountType.ENTERPRISE)
    data = {
        "display_name": owner.display_name,
        "country": "",
        "company": "",
        "bio": "",
        "designated_seats": 5,
        "is_active": "on",
        "date_joined_0": "2026-01-01",
        "date_joined_1": "00:00:00",
    }
    response = staff_client.post(change_url(owner), data)
    assert response.status_code == 302
    owner.refresh_from_db()
    assert owner.designated_seats == 1
    edits = AuditLog.objects.filter(action="accounts.admin_edited").values_list("data", flat=True)
    assert not any("designated_seats" in data.get("fields", []) for data in edits)


# --- staff do not ask themselves, or other staff, to update their profile ---------------------


@pytest.mark.parametrize(
    "action, words",
    [
        ("force_rename", "You cannot force a new name on your own account"),
        ("refuse_registration_data", "You cannot refuse the registration data of your own account"),
    ],
)
def test_staff_cannot_ask_themselves_to_update_their_profile(staff_client, staff, action, words):
    response = staff_client.post(
        CHANGELIST, {"action": action, ACTION_CHECKBOX_NAME: [staff.pk], "apply": "1", "reason": "Test"}
    )
    assert any(words in note for note in notes(response))
    staff.refresh_from_db()
    assert staff.profile_review == ""
    assert not AuditLog.objects.filter(target_id=str(staff.pk), actor=staff).exists()
    assert staff_client.get(reverse("admin:index")).status_code == 200  # still in the staff site


def test_a_bulk_rename_leaves_staff_accounts_alone_and_says_why(staff_client, owner):
    colleague = StaffFactory(email="colleague@allmytracks.test", is_superuser=False)
    response = staff_client.post(
        CHANGELIST,
        {
            "action": "force_rename",
            ACTION_CHECKBOX_NAME: [owner.pk, colleague.pk],
            "apply": "1",
            "reason": "Offensive name",
        },
    )
    said = notes(response)
    assert any(
        note.startswith("colleague@allmytracks.test: You cannot force a new name on a staff account")
        for note in said
    )
    assert any(note.startswith("Asked for a new name: owner@example.com") for note in said)
    colleague.refresh_from_db()
    owner.refresh_from_db()
    assert colleague.profile_review == "" and owner.profile_review == ProfileReview.RENAME


def test_the_service_refuses_a_profile_review_of_oneself(staff):
    with pytest.raises(services.AccountRestricted, match="your own account"):
        services.request_profile_review(user=staff, actor=staff, kind=ProfileReview.RESUBMIT, message="x")


# --- an approved enterprise takes its company name ------------------------------------------------


def test_approving_an_enterprise_application_names_the_company_on_the_account(
    staff_client, staff, owner, django_capture_on_commit_callbacks
):
    application = enterprise_application(owner)
    with django_capture_on_commit_callbacks(execute=True):
        approve(staff_client, application)
    owner.refresh_from_db()
    assert owner.is_enterprise and owner.company == "Northwind Films Ltd"
    entry = AuditLog.objects.for_object(application).get(action="accounts.enterprise_approved")
    assert entry.actor == staff and entry.data["company"] == "Northwind Films Ltd"


def test_approval_keeps_a_company_the_account_already_names(staff, owner):
    User.objects.filter(pk=owner.pk).update(company="Northwind Group")
    application = enterprise_application(owner)
    services.decide_enterprise_application(application=application, approve=True, actor=staff)
    owner.refresh_from_db()
    assert owner.company == "Northwind Group"
    entry = AuditLog.objects.for_object(application).get(action="accounts.enterprise_approved")
    assert "company" not in entry.data


def test_a_rejection_leaves_the_company_alone(staff, owner):
    application = enterprise_application(owner)
    services.decide_enterprise_application(application=application, approve=False, actor=staff, reason="No")
    owner.refresh_from_db()
    assert owner.company == ""


# --- accounts added by staff --------------------------------------------------------------------


def add_account(client, email):
    password = "Correct-Horse-Battery-9"
    return client.post(
        reverse("admin:accounts_user_add"),
        {"email": email, "password1": password, "password2": password, "usable_password": "true"},
    )


def test_an_account_added_by_staff_has_its_email_in_lower_case(staff_client):
    response = add_account(staff_client, "Fresh.Person@Example.com")
    assert response.status_code == 302, response.text[:2000]
    assert User.objects.filter(email="fresh.person@example.com").exists()


def test_adding_an_account_that_exists_in_other_capitals_is_a_field_error(staff_client, owner):
    response = add_account(staff_client, "OWNER@Example.com")
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors == {"email": ["An account with this email already exists."]}
    assert "accounts_user_email_ci_unique" not in response.text
    assert User.objects.filter(email__iexact="owner@example.com").count() == 1


# --- the history page and the audit log ------------------------------------------------------------


def test_an_account_history_page_links_to_its_audit_entries(staff_client, staff, owner):
    services.suspend_user(user=owner, actor=staff, reason="Spam")
    page = staff_client.get(reverse("admin:accounts_user_history", args=[owner.pk])).text
    url = reverse("admin:allmytracks_auditlog_changelist") + f"?about=accounts.user:{owner.pk}"
    assert f'<a href="{url}">audit log entries about this account</a>' in page
    listed = staff_client.get(url)
    assert [entry.action for entry in listed.context["cl"].result_list] == ["accounts.suspended"]


def test_requests_are_decided_on_the_page_where_staff_read_them(staff_client, owner):
    """An enterprise application, a cancellation request and a compromise report offer their
    decisions as buttons on their own page while undecided (staff read the letter there), and
    none once decided."""
    from accounts.models import CancellationRequest, CompromiseReport

    application = enterprise_application(owner)
    cancellation = CancellationRequest.objects.create(user=owner)
    report = CompromiseReport.objects.create(user=owner, reported_email=owner.email)
    pages = [
        ("enterpriseapplication", application, ["approve", "reject"]),
        ("cancellationrequest", cancellation, ["approve", "reject"]),
        ("compromisereport", report, ["resolve"]),
    ]
    for model, obj, actions in pages:
        page = staff_client.get(reverse(f"admin:accounts_{model}_change", args=[obj.pk])).content.decode()
        for action in actions:
            assert f'name="action" value="{action}"' in page, (model, action)

    approve(staff_client, application)
    page = staff_client.get(reverse("admin:accounts_enterpriseapplication_change", args=[application.pk]))
    assert 'name="action" value="approve"' not in page.content.decode()


def test_accounts_are_never_deleted_from_the_staff_site(staff_client, owner):
    listing = staff_client.get(CHANGELIST).content.decode()
    assert 'value="delete_selected"' not in listing
    assert staff_client.get(reverse("admin:accounts_user_delete", args=[owner.pk])).status_code == 403
    assert User.objects.filter(pk=owner.pk).exists()
