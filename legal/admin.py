"""Staff tools for agreements and notices. Publishing and sending go through services.

The first section holds the staff-site pieces the billing and licensing admins share with this
one: a list filter that follows a link from a related record's page, a record's page with action
buttons, and the search of proof records by an email address's fingerprint."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import ActionLocation
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from allmytracks.admin import (
    PageActionsMixin,
    ReadOnlyAdmin,
    account_filter,
    changelist_url,
    confirm_action,
    link_to,
    record_filter,
    related_link,
)
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
    email_hash,
)

# --- shared by the billing, licensing and legal admins ------------------------------------------


class EmailFingerprintSearchMixin:
    """Proof records keep the SHA-256 of the account's email address (``email_hash``), so that they
    still prove something once the account is anonymised: searching for an address also finds the
    rows whose fingerprint is that address's."""

    def get_search_results(self, request, queryset, search_term):
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip()
        if "@" in term and not any(ch.isspace() for ch in term):
            results = results | queryset.filter(email_hash=email_hash(term))
        return results, may_have_duplicates


def without_related_tools(form_class, *names):
    """Drop the add, change and delete buttons beside the named choices: a notice or a message
    picks an account or a version, it does not edit one."""
    for name in names:
        field = form_class.base_fields.get(name)
        if field is not None:
            for tool in ("can_add_related", "can_change_related", "can_delete_related"):
                setattr(field.widget, tool, False)
    return form_class


def account_or_erased(user):
    """The account, linked; or what remains of it once the account was erased."""
    if user is None:
        return "Erased account (its email fingerprint is kept)"
    return link_to(user)


def when(moment):
    return f"{timezone.localtime(moment):%-d %b %Y %H:%M}" if moment else "—"


# --- agreements -----------------------------------------------------------------------------------


@admin.register(Document)
class DocumentAdmin(admin.ModelAdmin):
    list_display = ["title", "in_force", "version_list", "position"]
    readonly_fields = ["kind", "in_force", "version_list"]

    def has_add_permission(self, request):
        return False  # the four kinds exist from the first migration

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Version in force")
    def in_force(self, obj):
        version = services.current_version(obj.kind)
        return link_to(version, f"v{version.number}") if version else "—"

    @admin.display(description="Versions")
    def version_list(self, obj):
        return related_link(Version, "document", obj, "All versions")


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
        if document and not self.instance.is_published:
            # Asked again under the agreement's lock when saving (services.save_draft).
            refusal = services.draft_refusal(document, editing=self.instance)
            if refusal:
                raise ValidationError(refusal)
            refusal = number is not None and services.number_refusal(document, number)
            if refusal:
                raise ValidationError({"number": refusal})
        return cleaned


@admin.register(Version)
class VersionAdmin(admin.ModelAdmin):
    form = VersionForm
    list_display = ["__str__", "status_badge", "effective_at", "material", "published_by", "preview_link"]
    list_filter = ["document", "status", "material"]
    list_select_related = ["document", "published_by"]
    search_fields = ["title", "summary", "body"]
    actions = ["publish_selected", "new_draft_from_selected"]
    readonly_fields = ["status", "published_at", "published_by", "body_sha256", "preview_link", "accepted_by"]

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.is_published:
            return [*VersionForm.Meta.fields, *self.readonly_fields]
        return self.readonly_fields

    def has_change_permission(self, request, obj=None):
        # A published version is frozen: its page shows it, with nothing to save.
        if obj is not None and obj.is_published:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return obj is None or not obj.is_published

    def get_actions(self, request, action_location=ActionLocation.CHANGE_LIST):
        actions = super().get_actions(request, action_location=action_location)
        actions.pop("delete_selected", None)  # published versions are never deleted
        return actions

    def save_model(self, request, obj, form, change):
        services.save_draft(version=obj, actor=request.user)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except services.LegalError as exc:
            # Another draft was saved between the form's check and this save (which rolled back):
            # shown again, the form says why, and keeps what was typed.
            try:
                return super().changeform_view(request, object_id, form_url, extra_context)
            except services.LegalError:
                self.message_user(request, f"Nothing was saved. {exc}", messages.ERROR)
                return HttpResponseRedirect(reverse("admin:legal_version_changelist"))

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

    @admin.display(description="Accepted by")
    def accepted_by(self, obj):
        if not obj.pk:
            return "—"
        return related_link(Acceptance, "version", obj, "Acceptances of this version")

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
        versions = list(queryset.select_related("document").order_by("document_id", "number"))
        drafts = [version for version in versions if not version.is_published]
        refusals = _one_per_agreement(drafts, "publish one version of an agreement at a time")
        refusals += [refusal for refusal in map(services.publish_refusal, drafts) if refusal]
        if refusals:
            self.message_user(request, " ".join(["Nothing was published.", *refusals]), messages.ERROR)
            return None

        def publish(version, data):
            try:
                return services.publish_version(version=version, actor=request.user)
            except services.LegalError as exc:
                raise UserFacingError(str(exc)) from exc

        def report(version, result):
            when = timezone.localtime(result.version.effective_at)
            return " ".join(
                [f"Published {result.version}, in force from {when:%d %b %Y %H:%M}.", *result.notes]
            )

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
            versions,
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
            report=report,
        )

    @admin.action(description="Start a new draft from the selected version")
    def new_draft_from_selected(self, request, queryset):
        versions = list(queryset.select_related("document").order_by("document_id", "number"))
        refusals = _one_per_agreement(versions, "start one draft of an agreement at a time")
        documents = dict.fromkeys(version.document for version in versions)
        refusals += [refusal for refusal in map(services.draft_refusal, documents) if refusal]
        if refusals:
            self.message_user(request, " ".join(["No draft was started.", *refusals]), messages.ERROR)
            return None

        def start(version, data):
            try:
                return services.new_draft_from(version=version, actor=request.user)
            except services.LegalError as exc:
                raise UserFacingError(str(exc)) from exc

        return confirm_action(
            self,
            request,
            versions,
            title="Start new drafts",
            submit="Start a draft from",
            done="Draft started",
            form_class=forms.Form,
            consequences=[
                "A draft numbered after the agreement's latest version is made with this version's text. "
                "Nothing is published and no one is told.",
                "The draft is marked as a material change with an empty summary: write the summary of "
                "changes (or untick material) before publishing it.",
                "An agreement has one draft at a time: edit that draft, or delete it to start again.",
            ],
            describe=lambda version: version.get_status_display(),
            apply=start,
            report=lambda version, draft: f"Started the draft {draft} from {version}.",
        )


def _and(words):
    words = list(words)
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def _one_per_agreement(versions, what):
    """The refusals of a selection holding more than one version of an agreement, one sentence each."""
    by_document = {}
    for version in versions:
        by_document.setdefault(version.document_id, []).append(version)
    return [
        f"{_and(f'v{v.number}' for v in same)} of the {same[0].document} are selected together: {what}."
        for same in by_document.values()
        if len(same) > 1
    ]


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


# --- notices and messages ----------------------------------------------------------------------


def _notice_problem(notice):
    """Why ``notice`` cannot be sent as it stands ("" when it can)."""
    try:
        notice.full_clean()
    except ValidationError as exc:
        return " ".join(exc.messages)
    return ""


def _notice_reach(notice):
    """The notice's state, and whom it reaches now, for the confirmation page."""
    if notice.status != Notice.Status.DRAFT:
        return notice.get_status_display()
    problem = _notice_problem(notice)
    if problem:
        return f"Draft that cannot be sent yet: {problem}"
    count = services.audience(notice).count()
    channels = " and ".join(
        name for name, on in (("private message", notice.send_message), ("email", notice.send_email)) if on
    )
    accounts = f"{count} account{'s' if count != 1 else ''}"
    if notice.kind == Notice.Kind.PROMOTIONAL:
        accounts += " that opted in to promotional email (and are not suspended or locked)"
    return f"Draft: {notice.get_audience_display().lower()}, {accounts} now, by {channels}"


def _not_sendable(notice, data=None):
    if notice.status != Notice.Status.DRAFT:
        return "already sent or being sent"
    return _notice_problem(notice)


def _start(notice, actor):
    try:
        services.start_notice(notice=notice, actor=actor)
    except services.LegalError as exc:
        raise UserFacingError(str(exc)) from exc


def _resume(notice, actor):
    try:
        services.resume_notice(notice=notice, actor=actor)
    except services.LegalError as exc:
        raise UserFacingError(str(exc)) from exc


@admin.register(Notice)
class NoticeAdmin(PageActionsMixin, admin.ModelAdmin):
    list_display = ["subject", "kind", "audience", "status", "progress", "created_at"]
    list_filter = ["kind", "status", "audience"]
    search_fields = ["subject", "recipient__email"]
    autocomplete_fields = ["recipient"]
    actions = ["send_selected", "resume_selected"]
    page_actions = [("send_selected", "Send now", True), ("resume_selected", "Resume sending", False)]
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
        "served",
        "started_at",
        "finished_at",
    ]
    readonly_fields = ["status", "progress", "served", "started_at", "finished_at"]

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.status != Notice.Status.DRAFT:
            return list(self.fields)
        return self.readonly_fields

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        return without_related_tools(form, "recipient", "version")

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "version":
            # Notices are about published versions only (Notice.clean refuses a draft too).
            kwargs["queryset"] = Version.objects.published().select_related("document")
            kwargs["help_text"] = (
                "Published versions only: a draft is not in force and members cannot read it."
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_change_permission(self, request, obj=None):
        # A notice that went out is a record of what was served: its page shows it, nothing to save.
        if obj is not None and obj.status != Notice.Status.DRAFT:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return obj is not None and obj.status == Notice.Status.DRAFT

    def get_actions(self, request, action_location=ActionLocation.CHANGE_LIST):
        actions = super().get_actions(request, action_location=action_location)
        actions.pop("delete_selected", None)  # a draft is deleted from its own page, after a look
        return actions

    def page_action_offered(self, obj, name):
        if name == "send_selected":
            return obj.status == Notice.Status.DRAFT
        return obj.status == Notice.Status.SENDING

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

    @admin.display(description="Served to")
    def served(self, obj):
        if obj.pk is None or obj.status == Notice.Status.DRAFT:
            return "—"
        return format_html(
            "{}<br>{}",
            related_link(NoticeDelivery, "notice", obj, "Notice log entries"),
            related_link(Message, "notice", obj, "Private messages"),
        )

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    @admin.action(description="Send the selected notices now")
    def send_selected(self, request, queryset):
        return confirm_action(
            self,
            request,
            queryset.select_related("recipient", "version__document"),
            title="Send notices",
            submit="Send",
            done="Sending in batches",
            form_class=forms.Form,
            consequences=[
                "Every account in the audience gets the notice by the channels ticked: a private message "
                "in their inbox and/or an email, sent in batches in the background.",
                "Sending cannot be stopped or taken back once it starts. Each delivery is kept in the "
                "notice log as proof that the notice was served.",
                "Promotional notices reach only the accounts that opted in to promotional email and "
                "are not suspended or locked.",
            ],
            describe=_notice_reach,
            skip=lambda notice, data: (
                "already sent or being sent"
                if notice.status != Notice.Status.DRAFT
                else _notice_problem(notice)
            ),
            apply=lambda notice, data: _start(notice, request.user),
        )

    @admin.action(description="Resume sending (after a worker stopped)")
    def resume_selected(self, request, queryset):
        return confirm_action(
            self,
            request,
            queryset,
            title="Resume sending notices",
            submit="Resume",
            done="Resumed",
            form_class=forms.Form,
            consequences=[
                "The next batch is queued. Accounts already served are not served again.",
                "Emails that were being sent when the worker stopped are not sent again (no one gets two "
                "copies): the progress counts them as uncertain.",
            ],
            describe=lambda notice: notice.get_status_display(),
            skip=lambda notice, data: "" if notice.status == Notice.Status.SENDING else "not being sent",
            apply=lambda notice, data: _resume(notice, request.user),
        )


class MessageForm(forms.ModelForm):
    class Meta:
        model = Message
        fields = ["recipient", "subject", "body"]


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    """One private message to one account. For a group, write a Notice."""

    form = MessageForm
    list_display = ["subject", "account", "sender_name", "sent_at", "read"]
    list_filter = [account_filter("recipient"), record_filter("notice", "notice")]
    search_fields = ["subject", "recipient__email"]
    autocomplete_fields = ["recipient"]
    list_select_related = ["recipient", "sender"]
    date_hierarchy = "sent_at"
    view_fields = ["account", "sender_name", "notice", "subject", "body", "sent_at", "read_at"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        return without_related_tools(super().get_form(request, obj, change, **kwargs), "recipient")

    def get_fields(self, request, obj=None):
        return MessageForm.Meta.fields if obj is None else self.view_fields

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.view_fields

    def has_change_permission(self, request, obj=None):
        return obj is None

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Account", ordering="recipient__email")
    def account(self, obj):
        return link_to(obj.recipient)

    @admin.display(description="From")
    def sender_name(self, obj):
        if obj.sender_id:
            return link_to(obj.sender)
        return "A notice" if obj.notice_id else "AllMyTracks"

    @admin.display(description="Read", ordering="read_at")
    def read(self, obj):
        return when(obj.read_at) if obj.read_at else "Unread"

    def save_model(self, request, obj, form, change):
        message = services.send_private_message(
            user=obj.recipient, subject=obj.subject, body=obj.body, sender=request.user
        )
        obj.pk = message.pk
        obj.sent_at = message.sent_at


# --- proof records --------------------------------------------------------------------------


# What was served, by the notice kinds and the private messages staff write.
SERVED_KINDS = {
    **dict(Notice.Kind.choices),
    "private_message": "Private message from staff",
    "follow_digest": "Weekly email of new tracks from followed artists (promotional)",
}
DELIVERY_STATUS = {
    **dict(NoticeDelivery.Status.choices),
    # A row a worker claimed and never finished is not sent again: it may or may not have arrived.
    NoticeDelivery.Status.SENDING: "In flight or uncertain",
}


class ServedKindFilter(admin.SimpleListFilter):
    title = "what was served"
    parameter_name = "kind"

    def lookups(self, request, model_admin):
        kinds = model_admin.get_queryset(request).order_by().values_list("kind", flat=True).distinct()
        return sorted(((kind, SERVED_KINDS.get(kind, kind)) for kind in kinds), key=lambda pair: pair[1])

    def queryset(self, request, queryset):
        return queryset.filter(kind=self.value()) if self.value() else queryset


@admin.register(NoticeDelivery)
class NoticeDeliveryAdmin(EmailFingerprintSearchMixin, ReadOnlyAdmin):
    list_display = ["logged", "account", "channel", "served", "delivery_status"]
    list_filter = [
        "channel",
        ServedKindFilter,
        "status",
        account_filter("user"),
        record_filter("notice", "notice"),
    ]
    search_fields = ["user__email", "email_hash", "subject"]
    list_select_related = ["user"]
    date_hierarchy = "created_at"
    extra_readonly = ["account", "served_kind", "delivery_status"]
    fields = [
        "account",
        "email_hash",
        "notice",
        "channel",
        "served_kind",
        "subject",
        "delivery_status",
        "created_at",
        "claimed_at",
        "sent_at",
        "error",
    ]

    @admin.display(description="Account", ordering="user__email")
    def account(self, obj):
        return account_or_erased(obj.user)

    @admin.display(description="What was served", ordering="kind")
    def served_kind(self, obj):
        return SERVED_KINDS.get(obj.kind, obj.kind)

    @admin.display(description="Logged", ordering="created_at")
    def logged(self, obj):
        return when(obj.created_at)

    @admin.display(description="What was served", ordering="subject")
    def served(self, obj):
        return format_html('{}<br><span class="staff-note">{}</span>', obj.subject, self.served_kind(obj))

    @admin.display(description="Status", ordering="status")
    def delivery_status(self, obj):
        return DELIVERY_STATUS.get(obj.status, obj.status)


@admin.register(Acceptance)
class AcceptanceAdmin(EmailFingerprintSearchMixin, ReadOnlyAdmin):
    list_display = ["accepted_at", "account", "version", "method", "ip"]
    list_filter = ["method", "version__document", account_filter("user"), record_filter("version", "version")]
    search_fields = ["user__email", "email_hash", "ip"]
    list_select_related = ["user", "version__document"]
    date_hierarchy = "accepted_at"
    extra_readonly = ["account", "text_matches"]
    fields = [
        "account",
        "email_hash",
        "version",
        "accepted_at",
        "method",
        "ip",
        "user_agent",
        "text_sha256",
        "text_matches",
    ]

    @admin.display(description="Account", ordering="user__email")
    def account(self, obj):
        return account_or_erased(obj.user)

    @admin.display(description="Text accepted")
    def text_matches(self, obj):
        if obj.text_sha256 == obj.version.body_sha256:
            return "The published text of this version (the fingerprints match)."
        return "Not the published text of this version: the fingerprints differ."


# Where a change of marketing consent was made.
CONSENT_SOURCES = {
    "signup": "Sign-up form",
    "profile": "Profile page",
    "preferences": "Email preferences page",
    "unsubscribe-link": "Unsubscribe link in an email",
    "cancellation": "Account cancelled",
}


@admin.register(ConsentChange)
class ConsentChangeAdmin(EmailFingerprintSearchMixin, ReadOnlyAdmin):
    list_display = ["changed_at", "account", "opted_in", "where", "ip"]
    list_filter = ["opted_in", "source", account_filter("user")]
    search_fields = ["user__email", "email_hash"]
    list_select_related = ["user"]
    extra_readonly = ["account", "where"]
    fields = ["account", "email_hash", "opted_in", "where", "changed_at", "ip", "user_agent"]

    @admin.display(description="Account", ordering="user__email")
    def account(self, obj):
        return account_or_erased(obj.user)

    @admin.display(description="Where", ordering="source")
    def where(self, obj):
        return CONSENT_SOURCES.get(obj.source, obj.source)


@admin.register(MarketingConsent)
class MarketingConsentAdmin(ReadOnlyAdmin):
    list_display = ["account", "opted_in", "where", "updated_at"]
    list_filter = ["opted_in"]
    search_fields = ["user__email"]
    list_select_related = ["user"]
    extra_readonly = ["account", "where", "history"]
    fields = ["account", "opted_in", "where", "updated_at", "history"]

    @admin.display(description="Account", ordering="user__email")
    def account(self, obj):
        return link_to(obj.user)

    @admin.display(description="Last changed on", ordering="source")
    def where(self, obj):
        return CONSENT_SOURCES.get(obj.source, obj.source) or "—"

    @admin.display(description="Every change")
    def history(self, obj):
        url = changelist_url(ConsentChange, user__id__exact=obj.user_id)
        return format_html('<a href="{}">Consent changes of this account</a>', url)
