"""Staff tools for agreements and notices. Publishing and sending go through services."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import ActionLocation
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from allmytracks.admin import ReadOnlyAdmin, account_filter, confirm_action
from allmytracks.errors import UserFacingError

from . import services
from .markup import diff_rows, diff_stats, render_markdown
from .models import (
    Acceptance,
    Announcement,
    ConsentChange,
    Document,
    MarketingConsent,
    Message,
    Notice,
    NoticeDelivery,
    Version,
)


@admin.register(Document)
class DocumentAdmin(admin.ModelAdmin):
    list_display = ["title", "kind", "in_force", "position"]
    readonly_fields = ["kind"]

    def has_add_permission(self, request):
        return False  # the four kinds exist from the first migration

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Version in force")
    def in_force(self, obj):
        version = services.current_version(obj.kind)
        return f"v{version.number}" if version else "—"


class VersionForm(forms.ModelForm):
    class Meta:
        model = Version
        fields = ["document", "number", "title", "effective_at", "material", "summary", "body"]
        widgets = {"body": forms.Textarea(attrs={"rows": 30, "cols": 100})}

    def clean(self):
        cleaned = super().clean()
        document, number = cleaned.get("document"), cleaned.get("number")
        if document and number:
            clash = Version.objects.filter(document=document, number=number).exclude(pk=self.instance.pk)
            if clash.exists():
                raise ValidationError({"number": f"Version {number} of the {document} already exists."})
        return cleaned


@admin.register(Version)
class VersionAdmin(admin.ModelAdmin):
    form = VersionForm
    list_display = ["__str__", "status_badge", "effective_at", "material", "published_by", "preview_link"]
    list_filter = ["document", "status", "material"]
    search_fields = ["title", "summary", "body"]
    actions = ["publish_selected", "new_draft_from_selected"]
    readonly_fields = ["status", "published_at", "published_by", "body_sha256", "preview_link"]

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.is_published:
            return [*VersionForm.Meta.fields, *self.readonly_fields]
        return self.readonly_fields

    def has_delete_permission(self, request, obj=None):
        return obj is None or not obj.is_published

    def get_actions(self, request, action_location=ActionLocation.CHANGE_LIST):
        actions = super().get_actions(request, action_location=action_location)
        actions.pop("delete_selected", None)  # published versions are never deleted
        return actions

    def get_urls(self):
        return [
            path(
                "<int:pk>/preview/",
                self.admin_site.admin_view(self.preview_view),
                name="legal_version_preview",
            ),
            *super().get_urls(),
        ]

    @admin.display(description="Status")
    def status_badge(self, obj):
        if obj.is_published and obj.is_in_future:
            return "Published, upcoming"
        return obj.get_status_display()

    @admin.display(description="Preview")
    def preview_link(self, obj):
        if not obj.pk:
            return "Save the draft to preview it."
        return format_html(
            '<a href="{}">Preview and compare</a>', reverse("admin:legal_version_preview", args=[obj.pk])
        )

    def preview_view(self, request, pk):
        version = get_object_or_404(Version.objects.select_related("document"), pk=pk)
        previous = (
            Version.objects.published()
            .filter(document_id=version.document_id, number__lt=version.number)
            .order_by("-number")
            .first()
        )
        rows = diff_rows(previous.body, version.body) if previous else []
        context = {
            **self.admin_site.each_context(request),
            "title": f"Preview: {version}",
            "opts": self.model._meta,
            "original": version,
            "version": version,
            "body_html": render_markdown(version.body),  # sanitised by nh3; |safe in the template
            "previous": previous,
            "rows": rows,
            "stats": diff_stats(rows),
        }
        return TemplateResponse(request, "admin/legal/version_preview.html", context)

    @admin.action(description="Publish the selected drafts (notifies users)")
    def publish_selected(self, request, queryset):
        """Asks first (the preview's button is that question already: it posts ``apply``)."""

        def publish(version, data):
            try:
                result = services.publish_version(version=version, actor=request.user)
            except services.LegalError as exc:
                raise UserFacingError(str(exc)) from exc
            when = timezone.localtime(result.version.effective_at)
            text = f"Published {result.version}, in force from {when:%d %b %Y %H:%M}. " + " ".join(
                result.notes
            )
            self.message_user(request, text, messages.SUCCESS)

        def describe(version):
            change = (
                "material: accepted again before the next download"
                if version.material
                else ("not material: accepted by continued use")
            )
            return f"{version.get_status_display()}, {change}"

        return confirm_action(
            self,
            request,
            queryset.select_related("document").order_by("document_id", "number"),
            title="Publish agreement versions",
            submit="Publish",
            done="Published",
            form_class=forms.Form,
            consequences=[
                "Publishing freezes the text: it can no longer be edited, only followed by a new version.",
                "Every user concerned is told by banner, private message and email.",
                "A material change must be accepted before the member's next download or purchase; "
                "any other change is accepted by continued use from its effective date.",
            ],
            describe=describe,
            skip=lambda version, data: "already published" if version.is_published else "",
            apply=publish,
        )

    @admin.action(description="Start a new draft from the selected version")
    def new_draft_from_selected(self, request, queryset):
        for version in queryset:
            draft = services.new_draft_from(version=version, actor=request.user)
            self.message_user(request, f"Draft {draft} created from {version}.", messages.SUCCESS)


@admin.register(Announcement)
class AnnouncementAdmin(admin.ModelAdmin):
    list_display = ["title", "kind", "level", "starts_at", "ends_at", "dismissible"]
    list_filter = ["kind", "level"]
    search_fields = ["title", "body"]
    readonly_fields = ["version", "created_by", "created_at"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(Notice)
class NoticeAdmin(admin.ModelAdmin):
    list_display = ["subject", "kind", "audience", "status", "progress", "created_at"]
    list_filter = ["kind", "status", "audience"]
    search_fields = ["subject"]
    raw_id_fields = ["recipient"]
    actions = ["send_selected", "resume_selected"]
    fields = [
        "kind",
        "audience",
        "recipient",
        "version",
        "send_message",
        "send_email",
        "subject",
        "body",
        "status",
        "progress",
        "started_at",
        "finished_at",
    ]
    readonly_fields = ["status", "progress", "started_at", "finished_at"]

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.status != Notice.Status.DRAFT:
            return list(self.fields)
        return self.readonly_fields

    def has_delete_permission(self, request, obj=None):
        return obj is not None and obj.status == Notice.Status.DRAFT

    @admin.display(description="Progress")
    def progress(self, obj):
        if obj.status == Notice.Status.DRAFT:
            return "Not sent yet"
        counts = dict.fromkeys(NoticeDelivery.Status.values, 0)
        for status in obj.deliveries.filter(channel="email").values_list("status", flat=True):
            counts[status] += 1
        # "sending" rows of a finished or stalled notice were claimed by a worker that died
        # mid-send: never retried (no one gets two copies); shown so staff can follow up.
        return (
            f"{obj.batches} batch(es); emails sent {counts['sent']}, pending {counts['pending']}, "
            f"in flight or uncertain {counts['sending']}, failed {counts['failed']}"
        )

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    @admin.action(description="Send the selected notices now")
    def send_selected(self, request, queryset):
        for notice in queryset:
            try:
                services.start_notice(notice=notice, actor=request.user)
            except (services.LegalError, ValidationError) as exc:
                self.message_user(request, f"{notice}: {exc}", messages.ERROR)
            else:
                self.message_user(request, f"Sending “{notice}” in batches.", messages.SUCCESS)

    @admin.action(description="Resume sending (after a worker stopped)")
    def resume_selected(self, request, queryset):
        for notice in queryset:
            try:
                services.resume_notice(notice=notice, actor=request.user)
            except services.LegalError as exc:
                self.message_user(request, str(exc), messages.ERROR)
            else:
                self.message_user(request, f"Resumed “{notice}”.", messages.SUCCESS)


class MessageForm(forms.ModelForm):
    class Meta:
        model = Message
        fields = ["recipient", "subject", "body"]


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    """One private message to one account. For a group, write a Notice."""

    form = MessageForm
    list_display = ["subject", "recipient", "sender", "sent_at", "read_at"]
    search_fields = ["subject", "recipient__email"]
    raw_id_fields = ["recipient"]
    list_select_related = ["recipient", "sender"]

    def has_change_permission(self, request, obj=None):
        return obj is None

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        message = services.send_private_message(
            user=obj.recipient, subject=obj.subject, body=obj.body, sender=request.user
        )
        obj.pk = message.pk
        obj.sent_at = message.sent_at


@admin.register(NoticeDelivery)
class NoticeDeliveryAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "user", "channel", "kind", "subject", "status", "sent_at"]
    list_filter = ["channel", "kind", "status"]
    search_fields = ["user__email", "email_hash", "subject"]
    list_select_related = ["user"]
    date_hierarchy = "created_at"


@admin.register(Acceptance)
class AcceptanceAdmin(ReadOnlyAdmin):
    list_display = ["accepted_at", "user", "version", "method", "ip"]
    list_filter = ["method", "version__document", account_filter("user")]
    search_fields = ["user__email", "email_hash", "ip"]
    list_select_related = ["user", "version__document"]
    date_hierarchy = "accepted_at"


@admin.register(ConsentChange)
class ConsentChangeAdmin(ReadOnlyAdmin):
    list_display = ["changed_at", "user", "opted_in", "source", "ip"]
    list_filter = ["opted_in", "source"]
    search_fields = ["user__email", "email_hash"]


@admin.register(MarketingConsent)
class MarketingConsentAdmin(ReadOnlyAdmin):
    list_display = ["user", "opted_in", "source", "updated_at"]
    list_filter = ["opted_in"]
    search_fields = ["user__email"]
