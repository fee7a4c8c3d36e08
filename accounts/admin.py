"""Staff moderation in Django admin. Every action goes through a service and is audited."""

from urllib.parse import urlencode

from allauth.account.decorators import secure_admin_login
from allauth.account.models import EmailAddress
from allauth.mfa.admin import AuthenticatorAdmin as AllauthAuthenticatorAdmin
from allauth.mfa.models import Authenticator
from allauth.socialaccount.admin import SocialAccountAdmin as AllauthSocialAccountAdmin
from allauth.socialaccount.admin import SocialTokenAdmin as AllauthSocialTokenAdmin
from allauth.socialaccount.models import SocialAccount, SocialToken
from allauth.usersessions.admin import UserSessionAdmin as AllauthUserSessionAdmin
from allauth.usersessions.models import UserSession
from django import forms
from django.apps import apps
from django.contrib import admin
from django.contrib.admin.widgets import AdminSplitDateTime
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from allmytracks.admin import (
    AuditedEditsMixin,
    AuditLogMixin,
    PageActionsMixin,
    ReadOnlyAdmin,
    ResolvedFilter,
    account_filter,
    admin_change_url,
    audit_log_url,
    changelist_url,
    confirm_action,
    link_to,
    note_form,
    waiting_for_staff,
)
from allmytracks.audit import record
from allmytracks.models import AuditLog
from allmytracks.storage import private_download_url

from . import services
from .models import (
    CancellationRequest,
    CancellationStatus,
    CompromiseReport,
    EnterpriseApplication,
    GuardianConsent,
    Moderation,
    NameBlocklistEntry,
    ProfileReview,
    RequestStatus,
    User,
    today_minus_years,
)

# Staff sign in through allauth (rate limits, two-factor) rather than the bare admin form.
admin.site.login = secure_admin_login(admin.site.login)


# --- the details a staff action asks for ------------------------------------------------------


ReasonForm = note_form("Reason", "Shown to the member and kept in the audit log.")


NoteForm = note_form("Note", "Kept in the audit log.")


MessageForm = note_form(
    "Message to the member", "Say what is wrong. The member sees it on their profile page and by email."
)


OptionalReasonForm = note_form("Note", "Optional. Kept in the audit log.", required=False)


class SuspendForm(ReasonForm):
    until = forms.SplitDateTimeField(
        label="Suspended until",
        required=False,
        widget=AdminSplitDateTime,
        help_text="Optional; times are UTC. Leave empty to suspend until staff reinstate the account.",
    )

    def clean_until(self):
        until = self.cleaned_data["until"]
        if until is not None and until <= timezone.now():
            raise forms.ValidationError("The end of the suspension must be in the future.")
        return until


class AccountCreationForm(AdminUserCreationForm):
    """An account added by staff. Its email is the account ID: stored in lower case as sign-up
    stores it (``UserManager``), and refused, as a field error, when an account has the address
    in any capitals (the database's constraint would refuse it with a message no one can act on).
    On an account's page the email is read-only."""

    def clean_email(self):
        email = User.objects.normalize_email(self.cleaned_data["email"]).lower()
        if User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError("An account with this email already exists.")
        return email


# --- an account's state, in words -------------------------------------------------------------


def account_status(user, *, short=False):
    """What state an account is in, as staff say it. The first that applies wins. ``short``: the
    end of a suspension without its time of day, for lists."""
    if user.is_cancelled:
        return "Cancelled"
    if user.is_banned:
        return "Banned"
    if user.is_suspended:
        if user.suspended_until:
            until = timezone.localtime(user.suspended_until)
            return f"Suspended until {until:{'%-d %b %Y' if short else '%-d %b %Y %H:%M'}}"
        return "Suspended until reinstated"
    if user.is_locked:
        return "Locked (reported compromised)"
    if user.profile_review:
        return ProfileReview(user.profile_review).label
    if user.is_held_minor:
        return "Under 18, waiting for a guardian"
    return "Active"


def _moderation_skip(check):
    """A skip rule for a moderation action: cancelled accounts are never moderated."""

    def skip(user, data):
        if user.is_cancelled:
            return "the account is cancelled"
        return check(user, data)

    return skip


def _skip_suspend(user, data):
    # An account already suspended is changed by a different end date; before the date is asked
    # for (``data`` is None) it is not skipped yet, and the page says so in its "Now" column.
    if user.is_suspended and data is not None and data["until"] == user.suspended_until:
        return f"already {account_status(user).lower()}"
    return ""


def _suspend_state(user):
    """On the confirmation page: an account already suspended is changed only by a new end date."""
    status = account_status(user)
    if user.is_suspended:
        return f"{status} (only a different end date changes it)"
    return status


# --- accounts ----------------------------------------------------------------------------------


class StatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [
            ("active", "Active"),
            ("suspended", "Suspended"),
            ("banned", "Banned"),
            ("locked", "Locked (reported compromised)"),
            ("cancelled", "Cancelled"),
            ("review", "Asked to update their profile"),
            ("held-minor", "Under 18, waiting for a guardian"),
        ]

    def queryset(self, request, queryset):
        suspended = Q(moderation=Moderation.SUSPENDED) & (
            Q(suspended_until__isnull=True) | Q(suspended_until__gt=timezone.now())
        )
        value = self.value()
        if value == "active":
            return queryset.filter(
                (Q(moderation=Moderation.ACTIVE) | Q(moderation=Moderation.SUSPENDED)) & ~suspended,
                locked_at__isnull=True,
                cancelled_at__isnull=True,
            )
        if value == "suspended":
            return queryset.filter(suspended)
        if value == "banned":
            return queryset.filter(moderation=Moderation.BANNED)
        if value == "locked":
            return queryset.filter(locked_at__isnull=False)
        if value == "cancelled":
            return queryset.filter(cancelled_at__isnull=False)
        if value == "review":
            return queryset.exclude(profile_review="")
        if value == "held-minor":
            return queryset.filter(
                date_of_birth__gt=today_minus_years(18), guardian_confirmed_at__isnull=True
            )
        return queryset


class RoleFilter(admin.SimpleListFilter):
    title = "role"
    parameter_name = "role"

    def lookups(self, request, model_admin):
        return [("member", "Members"), ("staff", "Staff"), ("superuser", "Staff with every permission")]

    def queryset(self, request, queryset):
        if self.value() == "member":
            return queryset.filter(is_staff=False)
        if self.value() == "staff":
            return queryset.filter(is_staff=True)
        if self.value() == "superuser":
            return queryset.filter(is_superuser=True)
        return queryset


# The account's records elsewhere, each linked to its list filtered to this account.
RELATED_RECORDS = [
    ("billing.subscription", "user", "Memberships"),
    ("billing.trackcredit", "user", "Single-track purchases"),
    ("billing.invoice", "user", "Invoices"),
    ("licensing.license", "account", "Licences"),
    ("licensing.enduser", "account", "End users"),
    ("licensing.letter", "account", "Licence letters"),
    ("legal.acceptance", "user", "Agreement acceptances"),
    ("accounts.enterpriseapplication", "user", "Enterprise applications"),
    ("accounts.cancellationrequest", "user", "Cancellation requests"),
]

# The moderation buttons of an account's page: (action, button text, serious), in this order.
MODERATION_TOOLS = [
    ("suspend", "Suspend", True),
    ("ban", "Ban", True),
    ("reinstate", "Reinstate", False),
    ("force_rename", "Force a new name", False),
    ("refuse_registration_data", "Refuse registration data", False),
]


@admin.register(User)
class UserAdmin(AuditLogMixin, AuditedEditsMixin, PageActionsMixin, BaseUserAdmin):
    ordering = ["-date_joined"]
    list_display = ["account", "account_type", "status_label", "is_staff", "joined"]
    list_filter = [StatusFilter, "account_type", RoleFilter]  # dates: the date bar above the list
    search_fields = ["email", "display_name", "company"]
    date_hierarchy = "date_joined"
    list_per_page = 50
    edit_audit_action = "accounts.admin_edited"
    add_audit_action = "accounts.admin_created"
    actions = ["suspend", "ban", "reinstate", "force_rename", "refuse_registration_data"]
    add_form = AccountCreationForm
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "password1", "password2"]})]
    MODERATION_FIELDS = [
        "moderation",
        "moderation_reason",
        "suspended_until",
        "profile_review",
        "profile_review_message",
        "locked_at",
        "cancelled_at",
        "enterprise_source",
        "enterprise_since",
        "guardian_confirmed_at",
        "account_type",
    ]

    def has_delete_permission(self, request, obj=None):
        # Accounts are never deleted: a member's cancellation (approved under Cancellation requests)
        # erases the personal data and keeps what the law and licences need; staff suspend or ban.
        # Deleting was offered and could only fail on the records every account has.
        return False

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return super().get_fieldsets(request, obj)
        if obj.is_enterprise:
            account = ["account_type", "enterprise_source", "enterprise_since", "seats"]
        else:
            # Designated seats mean something for enterprise accounts only.
            account = ["account_type", "end_user_rule"]
        return [
            (None, {"fields": ["email", "password", "status"]}),
            (
                "Profile",
                {
                    "fields": [
                        "display_name",
                        "country",
                        "company",
                        "bio",
                        "avatar",
                        "date_of_birth",
                        "guardian_confirmed_at",
                    ]
                },
            ),
            ("Account", {"fields": account}),
            ("Related records", {"fields": ["related_records"]}),
            (
                "Moderation",
                {
                    "description": "Changed with the buttons at the top of this page (or the actions "
                    "on the list of accounts): each asks for a reason and is audited.",
                    "fields": [
                        "moderation",
                        "moderation_reason",
                        "suspended_until",
                        "profile_review",
                        "profile_review_message",
                        "locked_at",
                        "cancelled_at",
                    ],
                },
            ),
            (
                "Permissions",
                {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]},
            ),
            ("Dates", {"fields": ["last_login", "date_joined"]}),
            ("Audit log", {"fields": ["history"]}),
        ]

    def get_readonly_fields(self, request, obj=None):
        # The email is the account ID: set once at creation, never edited.
        if obj:
            return [
                "email",
                "status",
                "last_login",
                "date_joined",
                "history",
                "related_records",
                "end_user_rule",
                "seats",
                *self.MODERATION_FIELDS,
            ]
        return []

    page_actions = MODERATION_TOOLS

    def page_action_offered(self, user, name):
        """The moderation buttons that apply to this account as it is now."""
        if user.is_cancelled:
            return False
        restricted = user.is_suspended or user.is_banned
        return {
            "suspend": not user.is_banned,
            "ban": not user.is_banned,
            "reinstate": restricted,
            "force_rename": user.profile_review != ProfileReview.RENAME,
            "refuse_registration_data": user.profile_review != ProfileReview.RESUBMIT,
        }[name]

    @admin.display(description="Account (email and name)", ordering="email")
    def account(self, obj):
        if not obj.display_name:
            return obj.email
        return format_html('{}<br><span class="staff-note">{}</span>', obj.email, obj.display_name)

    @admin.display(description="Status")
    def status_label(self, obj):
        return account_status(obj, short=True)

    @admin.display(description="Joined", ordering="date_joined")
    def joined(self, obj):
        return f"{timezone.localtime(obj.date_joined):%-d %b %Y}"

    @admin.display(description="Status")
    def status(self, obj):
        return account_status(obj)

    @admin.display(description="End user")
    def end_user_rule(self, obj):
        end_user = apps.get_model("licensing.EndUser").objects.filter(account=obj).first()
        fixed = f"Fixed at the first download: {end_user.name}." if end_user else "Not fixed yet."
        return format_html(
            '{}<div class="staff-note">An individual account has exactly one end user, fixed by its '
            "first download; designated seats apply to enterprise accounts only.</div>",
            fixed,
        )

    @admin.display(description="Designated seats")
    def seats(self, obj):
        # One source of truth: the seats follow from the business membership and the extra seats
        # staff grant on the account's billing details (audited), never from an edit here.
        billing = apps.get_model("billing.BillingAccount")
        account = billing.objects.filter(user=obj).first()
        if account is not None:
            url, where = admin_change_url(account), f"its billing details ({account.extra_seats} extra now)"
        else:
            add = reverse("admin:billing_billingaccount_add")
            url, where = f"{add}?{urlencode({'account_email': obj.email})}", "new billing details"
        return format_html(
            '{}<div class="staff-note">The seats a business membership includes (the quantity bought, at '
            "least the plan's seats) plus the extra seats staff grant. To change them, grant extra seats "
            'in <a href="{}">{}</a>: the change is audited and kept when the membership changes.</div>',
            obj.designated_seats,
            url,
            where,
        )

    @admin.display(description="This account's records")
    def related_records(self, obj):
        items = []
        for label, field, text in RELATED_RECORDS:
            model = apps.get_model(label)
            if not admin.site.is_registered(model):
                continue
            count = model._default_manager.filter(**{field: obj}).count()
            items.append((changelist_url(model, **{f"{field}__id__exact": obj.pk}), text, count))
        about = AuditLog.objects.for_object(obj).count()
        items.append((audit_log_url(obj), "Audit log entries about this account", about))
        by = AuditLog.objects.filter(actor=obj).count()
        url = changelist_url(AuditLog, actor__id__exact=obj.pk)
        items.append((url, "Audit log entries by this account", by))
        return format_html(
            '<ul class="staff-related">{}</ul>',
            format_html_join("", '<li><a href="{}">{}</a> ({})</li>', items),
        )

    @admin.action(description="Suspend selected accounts", permissions=["change"])
    def suspend(self, request, queryset):
        return confirm_action(
            self,
            request,
            queryset,
            title="Suspend accounts",
            submit="Suspend",
            done="Suspended",
            form_class=SuspendForm,
            consequences=[
                "The member is signed out at their next request and cannot sign in, buy or download "
                "until the end date, or until staff reinstate the account.",
                "They are emailed the reason and see it when they try to sign in.",
                "Licences they already hold stay valid.",
                "An account already suspended changes only with a different end date (its reason is "
                "then replaced too); otherwise it is left as it is.",
            ],
            describe=_suspend_state,
            skip=_moderation_skip(_skip_suspend),
            apply=lambda user, data: services.suspend_user(
                user=user, actor=request.user, reason=data["reason"], until=data["until"], request=request
            ),
        )

    @admin.action(description="Ban selected accounts", permissions=["change"])
    def ban(self, request, queryset):
        return confirm_action(
            self,
            request,
            queryset,
            title="Ban accounts",
            submit="Ban",
            done="Banned",
            form_class=ReasonForm,
            consequences=[
                "The member is signed out at their next request and cannot sign in, buy or download "
                "until staff reinstate the account.",
                "They are emailed the reason and see it when they try to sign in.",
                "Licences they already hold stay valid.",
            ],
            describe=account_status,
            skip=_moderation_skip(lambda user, data: "already banned" if user.is_banned else ""),
            apply=lambda user, data: services.ban_user(
                user=user, actor=request.user, reason=data["reason"], request=request
            ),
        )

    @admin.action(description="Reinstate selected accounts", permissions=["change"])
    def reinstate(self, request, queryset):
        return confirm_action(
            self,
            request,
            queryset,
            title="Reinstate accounts",
            submit="Reinstate",
            done="Reinstated",
            form_class=NoteForm,
            consequences=[
                "Lifts the suspension or ban: the member can sign in, buy and download again.",
                "They are emailed that the account is active again (the note is not sent).",
            ],
            describe=account_status,
            skip=_moderation_skip(
                lambda user, data: "" if user.is_suspended or user.is_banned else "not suspended or banned"
            ),
            apply=lambda user, data: services.reinstate_user(
                user=user, actor=request.user, reason=data["reason"], request=request
            ),
        )

    @admin.action(description="Force a new display name", permissions=["change"])
    def force_rename(self, request, queryset):
        return confirm_action(
            self,
            request,
            queryset,
            title="Force a new display name",
            submit="Ask for a new name:",
            done="Asked for a new name",
            form_class=MessageForm,
            consequences=[
                "Each page the member opens sends them to their profile until they choose a new "
                "display name; until then they cannot buy or download.",
                "They are emailed your message.",
            ],
            describe=account_status,
            skip=_moderation_skip(
                lambda user, data: (
                    "already asked for a new name" if user.profile_review == ProfileReview.RENAME else ""
                )
            ),
            apply=lambda user, data: services.request_profile_review(
                user=user,
                actor=request.user,
                kind=ProfileReview.RENAME,
                message=data["reason"],
                request=request,
            ),
        )

    @admin.action(description="Refuse registration data (ask to resubmit)", permissions=["change"])
    def refuse_registration_data(self, request, queryset):
        return confirm_action(
            self,
            request,
            queryset,
            title="Refuse registration data",
            submit="Ask to resubmit:",
            done="Asked to resubmit their registration data",
            form_class=MessageForm,
            consequences=[
                "Each page the member opens sends them to their profile until they correct their "
                "details; until then they cannot buy or download.",
                "They are emailed your message.",
            ],
            describe=account_status,
            skip=_moderation_skip(
                lambda user, data: (
                    "already asked to resubmit" if user.profile_review == ProfileReview.RESUBMIT else ""
                )
            ),
            apply=lambda user, data: services.request_profile_review(
                user=user,
                actor=request.user,
                kind=ProfileReview.RESUBMIT,
                message=data["reason"],
                request=request,
            ),
        )


@admin.register(NameBlocklistEntry)
class NameBlocklistEntryAdmin(admin.ModelAdmin):
    list_display = ["term", "note", "created_at"]
    search_fields = ["term", "note"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        record("accounts.blocklist_saved", actor=request.user, target=obj, request=request, term=obj.term)

    def delete_model(self, request, obj):
        record("accounts.blocklist_deleted", actor=request.user, target=obj, request=request, term=obj.term)
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            record(
                "accounts.blocklist_deleted", actor=request.user, target=obj, request=request, term=obj.term
            )
        super().delete_queryset(request, queryset)


def _already_decided(request_obj, data=None):
    if request_obj.status == RequestStatus.PENDING:
        return ""
    return f"already {request_obj.get_status_display().lower()}"


@admin.register(EnterpriseApplication)
class EnterpriseApplicationAdmin(AuditLogMixin, PageActionsMixin, ReadOnlyAdmin):
    list_display = ["company_name", "applicant", "status", "submitted_at", "decided_at"]
    # Decided where staff read the application and its letter.
    page_actions = [("approve", "Approve", False), ("reject", "Reject", True)]
    list_filter = ["status", "submitted_at", account_filter("user")]
    search_fields = ["company_name", "registration_number", "user__email"]
    list_select_related = ["user"]
    actions = ["approve", "reject"]
    extra_readonly = ["letter_link", "history"]
    exclude = ["letter"]

    def page_action_offered(self, obj, name):
        return obj.status == RequestStatus.PENDING

    @admin.display(description="Applicant", ordering="user__email")
    def applicant(self, obj):
        return link_to(obj.user)

    @admin.display(description="Authorisation letter")
    def letter_link(self, obj):
        url = private_download_url(
            obj.letter.name, filename=obj.letter_filename, content_type=obj.letter_content_type
        )
        return format_html(
            '<a href="{}">Download {} ({})</a>', url, obj.letter_filename, obj.letter_content_type
        )

    @admin.action(description="Approve (account becomes enterprise)", permissions=["act"])
    def approve(self, request, queryset):
        return confirm_action(
            self,
            request,
            queryset,
            title="Approve enterprise applications",
            submit="Approve",
            done="Approved",
            form_class=OptionalReasonForm,
            consequences=[
                "The account becomes an enterprise account: it can name designated end users up to "
                "its seats.",
                "The applicant is emailed the decision.",
            ],
            describe=lambda app: app.get_status_display(),
            skip=_already_decided,
            apply=lambda app, data: services.decide_enterprise_application(
                application=app, approve=True, actor=request.user, reason=data["reason"], request=request
            ),
        )

    @admin.action(description="Reject (with a reason)", permissions=["act"])
    def reject(self, request, queryset):
        return confirm_action(
            self,
            request,
            queryset,
            title="Reject enterprise applications",
            submit="Reject",
            done="Rejected",
            form_class=ReasonForm,
            consequences=["The applicant is emailed the reason and may apply again."],
            describe=lambda app: app.get_status_display(),
            skip=_already_decided,
            apply=lambda app, data: services.decide_enterprise_application(
                application=app, approve=False, actor=request.user, reason=data["reason"], request=request
            ),
        )


def _cancellation_decided(cancellation, data=None):
    if cancellation.status == CancellationStatus.PENDING:
        return ""
    return f"already decided ({cancellation.get_status_display().lower()})"


@admin.register(CancellationRequest)
class CancellationRequestAdmin(AuditLogMixin, PageActionsMixin, ReadOnlyAdmin):
    list_display = ["member", "status", "requested_at", "decided_by", "completed_at"]
    page_actions = [("approve", "Approve: cancel the account", True), ("reject", "Reject", False)]
    list_filter = ["status", "requested_at", account_filter("user")]
    search_fields = ["user__email"]
    list_select_related = ["user", "decided_by"]
    actions = ["approve", "reject"]
    extra_readonly = ["history"]

    def page_action_offered(self, obj, name):
        return obj.status == RequestStatus.PENDING

    @admin.display(description="Account", ordering="user__email")
    def member(self, obj):
        return link_to(obj.user)

    @admin.action(description="Approve: cancel the account (irreversible)", permissions=["act"])
    def approve(self, request, queryset):
        return confirm_action(
            self,
            request,
            queryset,
            title="Approve cancellations",
            submit="Cancel the accounts of",
            done="Approved",
            form_class=OptionalReasonForm,
            consequences=[
                "Irreversible: the account can never be restored. Its email address may later sign up "
                "as a new, empty account.",
                "Sessions end, memberships are cancelled at Stripe and personal data is anonymised.",
                "Licences, invoices and agreement acceptances are kept.",
            ],
            describe=lambda c: c.get_status_display(),
            skip=_cancellation_decided,
            apply=lambda c, data: services.decide_cancellation(
                cancellation=c, approve=True, actor=request.user, reason=data["reason"], request=request
            ),
        )

    @admin.action(description="Reject (with a reason)", permissions=["act"])
    def reject(self, request, queryset):
        return confirm_action(
            self,
            request,
            queryset,
            title="Reject cancellations",
            submit="Reject",
            done="Rejected",
            form_class=ReasonForm,
            consequences=["The account stays open and the member is emailed the reason."],
            describe=lambda c: c.get_status_display(),
            skip=_cancellation_decided,
            apply=lambda c, data: services.decide_cancellation(
                cancellation=c, approve=False, actor=request.user, reason=data["reason"], request=request
            ),
        )


NotesForm = note_form("Notes", "What was checked and done. Kept in the audit log.")


@admin.register(CompromiseReport)
class CompromiseReportAdmin(PageActionsMixin, ReadOnlyAdmin):
    list_display = ["reported_email", "account", "created_at", "recovered_at", "resolved_at"]
    page_actions = [("resolve", "Mark resolved", False)]
    list_filter = [ResolvedFilter, "created_at"]
    search_fields = ["reported_email", "user__email"]
    list_select_related = ["user"]
    actions = ["resolve"]

    def page_action_offered(self, obj, name):
        return obj.resolved_at is None

    @admin.display(description="Account", ordering="user__email")
    def account(self, obj):
        return link_to(obj.user)

    @admin.action(description="Mark resolved (with notes)", permissions=["act"])
    def resolve(self, request, queryset):
        return confirm_action(
            self,
            request,
            queryset,
            title="Resolve compromise reports",
            submit="Resolve",
            done="Resolved",
            form_class=NotesForm,
            consequences=[
                "The report leaves the list of open staff tasks. The account's lock is not changed: "
                "its owner lifts it by recovering the account by email."
            ],
            describe=lambda r: "Resolved" if r.resolved_at else "Open",
            skip=lambda r, data: "already resolved" if r.resolved_at else "",
            apply=lambda r, data: services.resolve_compromise_report(
                report=r, actor=request.user, notes=data["reason"], request=request
            ),
        )


@admin.register(GuardianConsent)
class GuardianConsentAdmin(ReadOnlyAdmin):
    list_display = ["account", "guardian_name", "guardian_email", "requested_at", "confirmed_at"]
    list_filter = ["confirmed_at"]
    search_fields = ["user__email", "guardian_email", "guardian_name"]
    list_select_related = ["user"]

    @admin.display(description="Account", ordering="user__email")
    def account(self, obj):
        return link_to(obj.user)


# --- allauth's sign-in records ------------------------------------------------------------------
# Registered again where allauth's own admin does not fit this account model (no username) or
# what staff may do: they are shown under "Sign-in and security" in the staff menu.


# The email is the account ID, so staff see the addresses but cannot add, edit or delete one here.
if admin.site.is_registered(EmailAddress):
    admin.site.unregister(EmailAddress)


@admin.register(EmailAddress)
class EmailAddressAdmin(ReadOnlyAdmin):
    list_display = ["email", "account", "verified", "primary"]
    list_filter = ["verified"]
    search_fields = ["email", "user__email"]
    list_select_related = ["user"]

    @admin.display(description="Account", ordering="user__email")
    def account(self, obj):
        return link_to(obj.user)


# allauth searches sessions by ``user__username``, which this account model does not have.
if admin.site.is_registered(UserSession):
    admin.site.unregister(UserSession)


class SignInRecordAdmin:
    """Sessions, authenticators and social sign-in records come from signing in: staff look them
    up and may delete one (sign a device out, reset a lost authenticator), never add or edit one —
    an authenticator made by staff would be a second factor the member never held."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(UserSession)
class UserSessionAdmin(SignInRecordAdmin, AllauthUserSessionAdmin):
    search_fields = ["user__email", "user__display_name", "ip"]
    list_select_related = ["user"]


if admin.site.is_registered(Authenticator):
    admin.site.unregister(Authenticator)


@admin.register(Authenticator)
class AuthenticatorAdmin(SignInRecordAdmin, AllauthAuthenticatorAdmin):
    search_fields = ["user__email"]
    list_select_related = ["user"]


for _model, _allauth_admin in (
    (SocialAccount, AllauthSocialAccountAdmin),
    (SocialToken, AllauthSocialTokenAdmin),
):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)
    admin.site.register(_model, type(_allauth_admin.__name__, (SignInRecordAdmin, _allauth_admin), {}))


# --- on the staff site's front page -----------------------------------------------------------

waiting_for_staff(
    "Enterprise applications to decide",
    EnterpriseApplication,
    params={"status__exact": RequestStatus.PENDING},
    status=RequestStatus.PENDING,
)
waiting_for_staff(
    "Cancellation requests to decide",
    CancellationRequest,
    params={"status__exact": CancellationStatus.PENDING},
    status=CancellationStatus.PENDING,
)
waiting_for_staff(
    "Compromise reports open", CompromiseReport, params={"state": "open"}, resolved_at__isnull=True
)
