from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.template.response import TemplateResponse

from allmytracks.models import AuditLog

from . import services
from .models import Download, EndUser, Letter, License, Project
from .services import LicensingError


class ReasonForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}), help_text="Recorded and emailed to the user."
    )


def _history(obj):
    rows = AuditLog.objects.for_object(obj)[:50]
    return "\n".join(f"{r.created_at:%Y-%m-%d %H:%M} {r.action} {r.reason}".strip() for r in rows) or "—"


@admin.register(License)
class LicenseAdmin(admin.ModelAdmin):
    list_display = ("code", "status", "issued_at", "account", "track", "end_user", "project", "source_type")
    list_filter = ("status", "source_type", "project__platform")
    search_fields = (
        "=code",
        "account__email",
        "track__title",
        "track__artist__name",
        "end_user__name",
        "project__title",
    )
    list_select_related = ("account", "track", "end_user", "project")
    date_hierarchy = "issued_at"
    actions = ["revoke"]
    readonly_fields = [f.name for f in License._meta.fields] + ["history"]
    fields = readonly_fields

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Audit log")
    def history(self, obj):
        return _history(obj)

    @admin.action(description="Revoke selected licences (with a reason)")
    def revoke(self, request, queryset):
        form = ReasonForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            done = 0
            for lic in queryset:
                try:
                    services.revoke_license(
                        license=lic, actor=request.user, reason=form.cleaned_data["reason"], request=request
                    )
                    done += 1
                except LicensingError as exc:
                    self.message_user(request, f"{lic.code}: {exc}", messages.ERROR)
            self.message_user(
                request, f"Revoked {done} licence(s). The account holders are emailed.", messages.SUCCESS
            )
            return None
        return TemplateResponse(
            request,
            "accounts/admin_action.html",
            {
                **self.admin_site.each_context(request),
                "title": "Revoke licences",
                "intro": "Revoking is permanent. Verification will show these licences as revoked.",
                "objects": queryset,
                "form": form,
                "action": "revoke",
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                "opts": self.model._meta,
            },
        )


@admin.register(Letter)
class LetterAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "account",
        "project",
        "status",
        "revision",
        "requested_at",
        "rendered_at",
        "emailed_at",
    )
    list_filter = ("status",)
    search_fields = ("licenses__code", "account__email", "project__title")
    readonly_fields = (
        "account",
        "key",
        "project",
        "status",
        "revision",
        "file",
        "error",
        "requested_at",
        "rendered_at",
        "emailed_at",
    )
    exclude = ("licenses",)
    actions = ["regenerate"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Regenerate selected letters")
    def regenerate(self, request, queryset):
        for letter in queryset:
            try:
                services.regenerate_letter(letter=letter, actor=request.user, request=request)
            except LicensingError as exc:
                self.message_user(request, f"Letter {letter.pk}: {exc}", messages.ERROR)
        self.message_user(request, "Letters are being made again.", messages.SUCCESS)


@admin.register(EndUser)
class EndUserAdmin(admin.ModelAdmin):
    list_display = ("name", "role", "kind", "account", "created_at", "agreement_version")
    list_filter = ("kind",)
    search_fields = ("name", "role", "account__email")
    readonly_fields = ("account", "kind", "name", "created_at", "agreement_version")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ("title", "platform", "client_name", "account", "created_at")
    list_filter = ("platform",)
    search_fields = ("title", "url", "client_name", "account__email")
    readonly_fields = ("account", "created_at")

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Download)
class DownloadAdmin(admin.ModelAdmin):
    list_display = ("license", "version", "created_at", "ip", "first")
    search_fields = ("=license__code",)
    list_select_related = ("license", "version")
    readonly_fields = ("license", "version", "created_at", "ip", "first")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
