"""Staff moderation in Django admin. Every action goes through a service and is audited."""

from allauth.account.decorators import secure_admin_login
from allauth.account.models import EmailAddress
from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from allmytracks.audit import record
from allmytracks.models import AuditLog
from allmytracks.storage import private_download_url

from . import services
from .models import (
    CancellationRequest,
    CompromiseReport,
    EnterpriseApplication,
    GuardianConsent,
    NameBlocklistEntry,
    ProfileReview,
    User,
)

# Staff sign in through allauth (rate limits, two-factor) rather than the bare admin form.
admin.site.login = secure_admin_login(admin.site.login)


class ReasonForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3, "cols": 60}), required=True)


class SuspendForm(ReasonForm):
    until = forms.DateTimeField(
        required=False,
        help_text="Optional end (YYYY-MM-DD HH:MM, UTC). Empty: until reinstated.",
    )


def _ask(modeladmin, request, queryset, *, title, form_class, action, intro, apply):
    """An admin action with an intermediate page asking for a reason."""
    form = form_class(request.POST if "apply" in request.POST else None)
    if "apply" in request.POST and form.is_valid():
        done = 0
        for obj in queryset:
            try:
                apply(obj, form.cleaned_data)
                done += 1
            except services.AccountRestricted as exc:
                modeladmin.message_user(request, f"{obj}: {exc}", messages.ERROR)
        if done:
            modeladmin.message_user(request, f"{title}: done for {done}.", messages.SUCCESS)
        return None
    return TemplateResponse(
        request,
        "accounts/admin_action.html",
        {
            **modeladmin.admin_site.each_context(request),
            "title": title,
            "intro": intro,
            "objects": queryset,
            "form": form,
            "action": action,
            "opts": modeladmin.model._meta,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        },
    )


def _audit_rows(obj):
    rows = AuditLog.objects.for_object(obj).select_related("actor")[:20]
    if not rows:
        return "No audited actions yet."
    return format_html(
        "<table><tr><th>When</th><th>Who</th><th>What</th><th>Why</th></tr>{}</table>",
        format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    f"{timezone.localtime(r.created_at):%Y-%m-%d %H:%M}",
                    r.actor or "system",
                    r.action,
                    r.reason,
                )
                for r in rows
            ),
        ),
    )


class StatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [
            ("active", "Active"),
            ("suspended", "Suspended"),
            ("banned", "Banned"),
            ("locked", "Locked (compromise)"),
            ("cancelled", "Cancelled"),
            ("review", "Profile review"),
            ("held-minor", "Minor awaiting guardian"),
        ]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "active":
            return queryset.filter(moderation="active", locked_at__isnull=True, cancelled_at__isnull=True)
        if value in ("suspended", "banned"):
            return queryset.filter(moderation=value)
        if value == "locked":
            return queryset.filter(locked_at__isnull=False)
        if value == "cancelled":
            return queryset.filter(cancelled_at__isnull=False)
        if value == "review":
            return queryset.exclude(profile_review="")
        if value == "held-minor":
            from .models import today_minus_years

            return queryset.filter(
                date_of_birth__gt=today_minus_years(18), guardian_confirmed_at__isnull=True
            )
        return queryset


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["-date_joined"]
    list_display = ["email", "display_name", "account_type", "status_label", "is_staff", "date_joined"]
    list_filter = [StatusFilter, "account_type", "moderation", "is_staff", "is_superuser", "date_joined"]
    search_fields = ["email", "display_name", "company"]
    date_hierarchy = "date_joined"
    list_per_page = 50
    actions = ["suspend", "ban", "reinstate", "force_rename", "refuse_registration_data"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
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
        (
            "Account",
            {"fields": ["account_type", "enterprise_source", "enterprise_since", "designated_seats"]},
        ),
        (
            "Moderation (change with the actions on the list)",
            {
                "fields": [
                    "moderation",
                    "moderation_reason",
                    "suspended_until",
                    "profile_review",
                    "profile_review_message",
                    "locked_at",
                    "cancelled_at",
                ]
            },
        ),
        ("Permissions", {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
        ("Audit log", {"fields": ["audit_log"]}),
    ]
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

    def get_readonly_fields(self, request, obj=None):
        # The email is the account ID: set once at creation, never edited.
        if obj:
            return ["email", "last_login", "date_joined", "audit_log", *self.MODERATION_FIELDS]
        return []

    @admin.display(description="Status")
    def status_label(self, obj):
        if obj.is_cancelled:
            return "cancelled"
        if obj.is_banned:
            return "banned"
        if obj.is_suspended:
            return "suspended"
        if obj.is_locked:
            return "locked"
        if obj.profile_review:
            return "profile review"
        return "active"

    @admin.display(description="Recent staff and system actions")
    def audit_log(self, obj):
        return _audit_rows(obj)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and form.changed_data:
            record(
                "accounts.admin_edited",
                actor=request.user,
                target=obj,
                request=request,
                fields=sorted(form.changed_data),
            )
        elif not change:
            record("accounts.admin_created", actor=request.user, target=obj, request=request)

    @admin.action(description="Suspend selected accounts")
    def suspend(self, request, queryset):
        return _ask(
            self,
            request,
            queryset,
            title="Suspend accounts",
            form_class=SuspendForm,
            action="suspend",
            intro="The member is signed out at once and shown the reason when they try to sign in.",
            apply=lambda user, data: services.suspend_user(
                user=user, actor=request.user, reason=data["reason"], until=data["until"], request=request
            ),
        )

    @admin.action(description="Ban selected accounts")
    def ban(self, request, queryset):
        return _ask(
            self,
            request,
            queryset,
            title="Ban accounts",
            form_class=ReasonForm,
            action="ban",
            intro="A ban lasts until staff reinstate the account. The member is told the reason.",
            apply=lambda user, data: services.ban_user(
                user=user, actor=request.user, reason=data["reason"], request=request
            ),
        )

    @admin.action(description="Reinstate selected accounts")
    def reinstate(self, request, queryset):
        return _ask(
            self,
            request,
            queryset,
            title="Reinstate accounts",
            form_class=ReasonForm,
            action="reinstate",
            intro="Lifts a suspension or ban. The member gets an email.",
            apply=lambda user, data: services.reinstate_user(
                user=user, actor=request.user, reason=data["reason"], request=request
            ),
        )

    @admin.action(description="Force a new display name")
    def force_rename(self, request, queryset):
        return _ask(
            self,
            request,
            queryset,
            title="Force rename",
            form_class=ReasonForm,
            action="force_rename",
            intro="The member must choose a new name before doing anything else. Write what is wrong.",
            apply=lambda user, data: services.request_profile_review(
                user=user,
                actor=request.user,
                kind=ProfileReview.RENAME,
                message=data["reason"],
                request=request,
            ),
        )

    @admin.action(description="Refuse registration data (ask to resubmit)")
    def refuse_registration_data(self, request, queryset):
        return _ask(
            self,
            request,
            queryset,
            title="Refuse registration data",
            form_class=ReasonForm,
            action="refuse_registration_data",
            intro="The member is asked to correct their profile details. Write what must change.",
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


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields] + list(getattr(self, "extra_readonly", []))


@admin.register(EnterpriseApplication)
class EnterpriseApplicationAdmin(ReadOnlyAdmin):
    list_display = ["company_name", "user", "status", "submitted_at", "decided_at"]
    list_filter = ["status", "submitted_at"]
    search_fields = ["company_name", "registration_number", "user__email"]
    list_select_related = ["user"]
    actions = ["approve", "reject"]
    extra_readonly = ["letter_link", "audit_log"]
    exclude = ["letter"]

    @admin.display(description="Authorisation letter")
    def letter_link(self, obj):
        url = private_download_url(
            obj.letter.name, filename=obj.letter_filename, content_type=obj.letter_content_type
        )
        return format_html(
            '<a href="{}">Download {} ({})</a>', url, obj.letter_filename, obj.letter_content_type
        )

    @admin.display(description="Audit log")
    def audit_log(self, obj):
        return _audit_rows(obj)

    @admin.action(description="Approve (account becomes enterprise)")
    def approve(self, request, queryset):
        return _ask(
            self,
            request,
            queryset,
            title="Approve enterprise applications",
            form_class=OptionalReasonForm,
            action="approve",
            intro="The account becomes an enterprise account and the applicant is emailed.",
            apply=lambda app, data: services.decide_enterprise_application(
                application=app, approve=True, actor=request.user, reason=data["reason"], request=request
            ),
        )

    @admin.action(description="Reject (with a reason)")
    def reject(self, request, queryset):
        return _ask(
            self,
            request,
            queryset,
            title="Reject enterprise applications",
            form_class=ReasonForm,
            action="reject",
            intro="The applicant is emailed the reason and may apply again.",
            apply=lambda app, data: services.decide_enterprise_application(
                application=app, approve=False, actor=request.user, reason=data["reason"], request=request
            ),
        )


class OptionalReasonForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3, "cols": 60}), required=False)


@admin.register(CancellationRequest)
class CancellationRequestAdmin(ReadOnlyAdmin):
    list_display = ["user", "status", "requested_at", "decided_by", "completed_at"]
    list_filter = ["status", "requested_at"]
    search_fields = ["user__email"]
    list_select_related = ["user", "decided_by"]
    actions = ["approve", "reject"]
    extra_readonly = ["audit_log"]

    @admin.display(description="Audit log")
    def audit_log(self, obj):
        return _audit_rows(obj)

    @admin.action(description="Approve: cancel the account (irreversible)")
    def approve(self, request, queryset):
        return _ask(
            self,
            request,
            queryset,
            title="Approve cancellations",
            form_class=OptionalReasonForm,
            action="approve",
            intro="Irreversible. Sessions end, subscriptions are cancelled, personal data is anonymised; "
            "licences, invoices and acceptances are kept.",
            apply=lambda c, data: services.decide_cancellation(
                cancellation=c, approve=True, actor=request.user, reason=data["reason"], request=request
            ),
        )

    @admin.action(description="Reject (with a reason)")
    def reject(self, request, queryset):
        return _ask(
            self,
            request,
            queryset,
            title="Reject cancellations",
            form_class=ReasonForm,
            action="reject",
            intro="The account stays open and the member is emailed the reason.",
            apply=lambda c, data: services.decide_cancellation(
                cancellation=c, approve=False, actor=request.user, reason=data["reason"], request=request
            ),
        )


class OpenFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("open", "Open (staff task)"), ("resolved", "Resolved")]

    def queryset(self, request, queryset):
        if self.value() == "open":
            return queryset.filter(resolved_at__isnull=True)
        if self.value() == "resolved":
            return queryset.filter(resolved_at__isnull=False)
        return queryset


@admin.register(CompromiseReport)
class CompromiseReportAdmin(ReadOnlyAdmin):
    list_display = ["reported_email", "user", "created_at", "recovered_at", "resolved_at"]
    list_filter = [OpenFilter, "created_at"]
    search_fields = ["reported_email", "user__email"]
    list_select_related = ["user"]
    actions = ["resolve"]

    @admin.action(description="Mark resolved (with notes)")
    def resolve(self, request, queryset):
        return _ask(
            self,
            request,
            queryset,
            title="Resolve compromise reports",
            form_class=ReasonForm,
            action="resolve",
            intro="Write what was checked and done.",
            apply=lambda r, data: services.resolve_compromise_report(
                report=r, actor=request.user, notes=data["reason"], request=request
            ),
        )


@admin.register(GuardianConsent)
class GuardianConsentAdmin(ReadOnlyAdmin):
    list_display = ["user", "guardian_name", "guardian_email", "requested_at", "confirmed_at", "confirmed_ip"]
    list_filter = ["confirmed_at"]
    search_fields = ["user__email", "guardian_email", "guardian_name"]
    list_select_related = ["user"]


def user_admin_url(user):
    return reverse("admin:accounts_user_change", args=[user.pk])


# allauth's email addresses: the email is the account ID, so staff see them but cannot add,
# edit or delete one here either.
if admin.site.is_registered(EmailAddress):
    admin.site.unregister(EmailAddress)


@admin.register(EmailAddress)
class EmailAddressAdmin(ReadOnlyAdmin):
    list_display = ["email", "user", "verified", "primary"]
    list_filter = ["verified"]
    search_fields = ["email", "user__email"]
    list_select_related = ["user"]

    def has_change_permission(self, request, obj=None):
        return False
