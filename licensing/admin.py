from django import forms
from django.contrib import admin, messages

from allmytracks.admin import account_filter, audit_table, confirm_action

from . import services
from .models import Download, EndUser, Letter, License, Project
from .services import LicensingError


class ReasonForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}), help_text="Recorded and emailed to the account holder."
    )


@admin.register(License)
class LicenseAdmin(admin.ModelAdmin):
    list_display = ("code", "status", "issued_at", "account", "track", "end_user", "project", "source_type")
    list_filter = ("status", "source_type", "project__platform", account_filter("account"))
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
        return audit_table(obj)

    @admin.action(description="Revoke selected licences (with a reason)")
    def revoke(self, request, queryset):
        return confirm_action(
            self,
            request,
            queryset.select_related("account", "track"),
            title="Revoke licences",
            submit="Revoke",
            done="Revoked (the account holders are emailed)",
            form_class=ReasonForm,
            consequences=[
                "Revoking is permanent. Verification will show these licences as revoked.",
                "Each account holder is emailed the reason.",
            ],
            describe=lambda lic: f"{lic.get_status_display()}: {lic.track} for {lic.account}",
            skip=lambda lic, data: "already revoked" if lic.is_revoked else "",
            apply=lambda lic, data: services.revoke_license(
                license=lic, actor=request.user, reason=data["reason"], request=request
            ),
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
    list_filter = ("status", account_filter("account"))
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
        started = 0
        for letter in queryset:
            try:
                services.regenerate_letter(letter=letter, actor=request.user, request=request)
            except LicensingError as exc:
                self.message_user(request, f"Letter {letter.pk}: {exc}", messages.ERROR)
            else:
                started += 1
        if started:
            self.message_user(
                request,
                f"{started} letter{'s are' if started != 1 else ' is'} being made again.",
                messages.SUCCESS,
            )


@admin.register(EndUser)
class EndUserAdmin(admin.ModelAdmin):
    list_display = ("name", "role", "kind", "account", "created_at", "agreement_version")
    list_filter = ("kind", account_filter("account"))
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
