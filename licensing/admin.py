"""Staff site for licensing: licences (revoked with a reason), licence letters (made again), end
users, projects and downloads, each linked to the account, track and records around it."""

from django import forms
from django.contrib import admin
from django.db.models import Count
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from allmytracks.admin import (
    AuditedEditsMixin,
    AuditLogMixin,
    PageActionsMixin,
    ReadOnlyAdmin,
    account_filter,
    changelist_url,
    confirm_action,
    link_to,
    note_form,
    record_filter,
    related_link,
    waiting_for_staff,
)
from billing.admin import RECORD_LINKS
from billing.models import StaffTask, Subscription, TrackCredit
from legal.models import DocumentKind
from legal.models import Version as AgreementVersion

from . import services
from .forms import clean_url_or_channel
from .models import Download, EndUser, Letter, License, Project, normalise_code

ReasonForm = note_form("Reason", "Recorded and emailed to the account holder.")


class LicenceCodeSearchMixin:
    """A licence code finds its rows however it was typed or read out: "amt 4dre fhpc", "AMT4DREFHPC"."""

    code_lookup = "code"

    def get_search_results(self, request, queryset, search_term):
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        code = normalise_code(search_term)
        if code:
            results = results | queryset.filter(**{self.code_lookup: code})
        return results, may_have_duplicates


def code_text(code):
    """A licence code kept on one line (a narrow column would break it at its dashes)."""
    return format_html('<span class="nowrap">{}</span>', code)


def music_licence_terms(number):
    """ "Music Licence Agreement v<number>", linked to that version's page."""
    if number is None:
        return "—"
    versions = AgreementVersion.objects.filter(document__kind=DocumentKind.MUSIC_LICENCE)
    version = versions.filter(number=number).first()
    return link_to(version) if version else f"Music Licence Agreement v{number}"


class PaidWithFilter(admin.SimpleListFilter):
    """The licences one membership or one single-track purchase paid for (``membership:12``), shown
    only while in use: a membership's or a purchase's page links here through it."""

    title = "membership or purchase"
    parameter_name = "paid_with"

    def _source(self):
        kind, _, pk = (self.value() or "").partition(":")
        return kind, pk

    def lookups(self, request, model_admin):
        if not self.value():
            return []
        kind, pk = self._source()
        model = {"membership": Subscription, "credit": TrackCredit}.get(kind)
        found = model.objects.filter(pk=pk).first() if model and pk.isdigit() else None
        return [(self.value(), str(found) if found else self.value())]

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        kind, pk = self._source()
        if kind not in License.SourceType.values or not pk.isdigit():
            return queryset.none()
        return queryset.filter(source_type=kind, source_id=int(pk))


@admin.register(License)
class LicenseAdmin(AuditLogMixin, LicenceCodeSearchMixin, PageActionsMixin, ReadOnlyAdmin):
    # Four columns, so the list fits beside the menu and the filters at 1280 px: a revoked licence
    # says so under its code (the status filter lists either kind), the account heads "used in".
    list_display = ("licence", "issued", "track_link", "used_in")
    list_filter = (
        "status",
        "source_type",
        "project__platform",
        account_filter("account"),
        record_filter("project", "project"),
        record_filter("end_user", "end user"),
        PaidWithFilter,
    )
    search_fields = (
        "code",  # part of a code too ("282R"); a whole code in any form: ``LicenceCodeSearchMixin``
        "account__email",
        "track__title",
        "track__artist__name",
        "end_user__name",
        "project__title",
        "project__url",
    )
    list_select_related = ("account", "track", "end_user", "project")
    date_hierarchy = "issued_at"
    actions = ["revoke"]
    page_actions = [("revoke", "Revoke", True)]
    extra_readonly = ["terms", "paid_with", "verification", "download_list", "letter_list", "history"]

    def get_fieldsets(self, request, obj=None):
        fieldsets = [
            (
                None,
                {
                    "fields": [
                        "code",
                        "status",
                        "issued_at",
                        "account",
                        "track",
                        "version",
                        "end_user",
                        "project",
                        "terms",
                        "paid_with",
                        "verification",
                    ]
                },
            )
        ]
        if obj is not None and obj.is_revoked:
            fieldsets.append(("Revoked", {"fields": ["revoked_at", "revoked_reason", "revoked_by"]}))
        fieldsets += [
            (
                "Downloads and letters",
                {"fields": ["download_count", "last_downloaded_at", "download_list", "letter_list"]},
            ),
            ("Audit log", {"fields": ["history"]}),
        ]
        return fieldsets

    def page_action_offered(self, obj, name):
        return obj.is_active

    def view_on_site(self, obj):
        # The member's own licence page is theirs alone; staff see what anyone checking the code sees.
        return obj.get_verify_url()

    @admin.display(description="Licence", ordering="code")
    def licence(self, obj):
        if obj.is_revoked:
            return format_html('{}<br><span class="staff-note">Revoked</span>', code_text(obj.code))
        return code_text(obj.code)

    @admin.display(description="Issued", ordering="issued_at")
    def issued(self, obj):
        return f"{timezone.localtime(obj.issued_at):%-d %b %Y}"

    @admin.display(description="Account", ordering="account__email")
    def account_link(self, obj):
        return link_to(obj.account)

    @admin.display(description="Track", ordering="track__title")
    def track_link(self, obj):
        return link_to(obj.track)

    @admin.display(description="Account, project and end user", ordering="account__email")
    def used_in(self, obj):
        return format_html(
            '{}<br><span class="staff-note">{} for {}</span>',
            link_to(obj.account),
            link_to(obj.project),
            link_to(obj.end_user),
        )

    @admin.display(description="Terms")
    def terms(self, obj):
        return music_licence_terms(obj.agreement_version)

    @admin.display(description="Paid with")
    def paid_with(self, obj):
        model = Subscription if obj.source_type == License.SourceType.MEMBERSHIP else TrackCredit
        source = model.objects.filter(pk=obj.source_id).first()
        if source is None:
            return f"{obj.get_source_type_display()} {obj.source_id} (no longer exists)"
        return format_html("{}: {}", obj.get_source_type_display(), link_to(source))

    @admin.display(description="Public verification")
    def verification(self, obj):
        return format_html('<a href="{}">{}</a>', obj.get_verify_url(), obj.absolute_verify_url)

    @admin.display(description="Downloads")
    def download_list(self, obj):
        return related_link(Download, "license", obj, "Every download of this licence")

    @admin.display(description="Licence letters")
    def letter_list(self, obj):
        letters = list(obj.letters.order_by("-requested_at", "-id"))
        if not letters:
            return "None asked for."
        return format_html_join(
            "", "<div>{} ({})</div>", ((link_to(letter), letter.get_status_display()) for letter in letters)
        )

    @admin.action(description="Revoke selected licences (with a reason)", permissions=["act"])
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


def _not_to_make_again(letter, data=None):
    if letter.is_working:
        return "already being made"
    if letter.licenses.filter(status=License.Status.REVOKED).exists():
        return "it lists a revoked licence"
    return ""


@admin.register(Letter)
class LetterAdmin(AuditLogMixin, LicenceCodeSearchMixin, PageActionsMixin, ReadOnlyAdmin):
    list_display = ("letter", "account_link", "project_link", "status", "requested")
    list_filter = ("status", account_filter("account"), record_filter("project", "project"))
    search_fields = ("licenses__code", "account__email", "project__title", "licenses__track__title")
    list_select_related = ("account", "project")
    date_hierarchy = "requested_at"
    code_lookup = "licenses__code"
    actions = ["regenerate"]
    page_actions = [("regenerate", "Make again", False)]
    extra_readonly = ["licence_list", "pdf", "history"]
    fields = [
        "account",
        "project",
        "licence_list",
        "status",
        "revision",
        "pdf",
        "error",
        "requested_at",
        "rendered_at",
        "emailed_at",
        "history",
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("licenses")

    def page_action_offered(self, obj, name):
        return not _not_to_make_again(obj)

    @admin.display(description="Letter", ordering="requested_at")
    def letter(self, obj):
        codes = sorted(lic.code for lic in obj.licenses.all())
        return format_html(
            '{}<br><span class="staff-note">{}</span>',
            f"Letter {obj.pk}",
            format_html_join(", ", "{}", ((code_text(code),) for code in codes)) if codes else "No licences",
        )

    @admin.display(description="Account", ordering="account__email")
    def account_link(self, obj):
        return link_to(obj.account)

    @admin.display(description="Requested", ordering="requested_at")
    def requested(self, obj):
        return f"{timezone.localtime(obj.requested_at):%-d %b %Y}"

    @admin.display(description="Project", ordering="project__title")
    def project_link(self, obj):
        return link_to(obj.project)

    @admin.display(description="Licences")
    def licence_list(self, obj):
        licences = obj.licenses.select_related("track").order_by("issued_at", "id")
        return format_html_join(
            "",
            "<div>{}: {} ({})</div>",
            ((link_to(lic, code_text(lic.code)), lic.track, lic.get_status_display()) for lic in licences),
        )

    @admin.display(description="PDF")
    def pdf(self, obj):
        if obj.is_ready and obj.file:
            return format_html(
                '<a href="{}">Download {}</a>', services.letter_download_url(obj), obj.filename()
            )
        if obj.status == Letter.Status.FAILED:
            return "Not made: see the error below. Make it again once the cause is fixed."
        return "Being made."

    @admin.action(description="Make the selected letters again", permissions=["act"])
    def regenerate(self, request, queryset):
        return confirm_action(
            self,
            request,
            queryset.select_related("account", "project"),
            title="Make licence letters again",
            submit="Make again",
            done="Being made again",
            form_class=forms.Form,
            consequences=[
                "Each letter is made again from its licences, project and end user as they are now; the "
                "new PDF replaces the old one and its revision number goes up.",
                "The account holder is emailed the new letter.",
                "A letter that lists a revoked licence is not made again.",
            ],
            describe=lambda letter: f"{letter.get_status_display()}, revision {letter.revision}",
            skip=_not_to_make_again,
            apply=lambda letter, data: services.regenerate_letter(
                letter=letter, actor=request.user, request=request
            ),
        )


@admin.register(EndUser)
class EndUserAdmin(AuditLogMixin, AuditedEditsMixin, admin.ModelAdmin):
    list_display = ("name", "role", "kind", "account_link", "licence_count", "created_at")
    list_filter = ("kind", account_filter("account"))
    search_fields = ("name", "role", "email", "account__email")
    list_select_related = ("account",)
    fields = ("name", "kind", "account", "role", "email", "terms", "created_at", "licences", "history")
    readonly_fields = ("account", "kind", "name", "created_at", "terms", "licences", "history")
    edit_audit_action = "licensing.end_user_corrected"

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(licence_total=Count("licenses"))

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Account", ordering="account__email")
    def account_link(self, obj):
        return link_to(obj.account)

    @admin.display(description="Licences", ordering="licence_total")
    def licence_count(self, obj):
        return obj.licence_total

    @admin.display(description="Terms when named")
    def terms(self, obj):
        return music_licence_terms(obj.agreement_version)

    @admin.display(description="Licences")
    def licences(self, obj):
        return related_link(License, "end_user", obj, "Licences for this end user")


class ProjectAdminForm(forms.ModelForm):
    """Staff corrections meet the rule members' projects meet: a web address or a channel handle."""

    def clean_url(self):
        return clean_url_or_channel(self.cleaned_data.get("url"))


@admin.register(Project)
class ProjectAdmin(AuditLogMixin, AuditedEditsMixin, admin.ModelAdmin):
    form = ProjectAdminForm
    list_display = ("project", "platform", "account_link", "created_at")
    list_filter = ("platform", account_filter("account"))
    search_fields = ("title", "url", "client_name", "account__email")
    list_select_related = ("account",)
    readonly_fields = ("account", "created_at", "licences", "letter_list", "history")
    edit_audit_action = "licensing.project_corrected"
    fieldsets = [
        (
            None,
            {
                "description": "A correction here changes what the licence letters and the public "
                "verification page say: make the project's letters again afterwards.",
                "fields": ["title", "platform", "url", "client_name"],
            },
        ),
        (None, {"fields": ["account", "created_at", "licences", "letter_list", "history"]}),
    ]

    def has_add_permission(self, request):
        return False  # a project is named in the download step, by the member

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Project", ordering="title")
    def project(self, obj):
        if not obj.client_name:
            return obj.title
        return format_html('{}<br><span class="staff-note">for {}</span>', obj.title, obj.client_name)

    @admin.display(description="Account", ordering="account__email")
    def account_link(self, obj):
        return link_to(obj.account)

    @admin.display(description="Licences")
    def licences(self, obj):
        return related_link(License, "project", obj, "Licences in this project")

    @admin.display(description="Licence letters")
    def letter_list(self, obj):
        return related_link(Letter, "project", obj, "Letters for this project")


@admin.register(Download)
class DownloadAdmin(LicenceCodeSearchMixin, ReadOnlyAdmin):
    list_display = ("created_at", "licence", "account", "file", "ip", "first")
    list_filter = ("first", record_filter("license", "licence"))
    search_fields = ("license__code", "license__account__email", "license__track__title", "ip")
    list_select_related = ("license__account", "version__track")
    date_hierarchy = "created_at"
    code_lookup = "license__code"
    extra_readonly = ["account", "file"]
    fields = ["license", "account", "file", "created_at", "ip", "first"]

    @admin.display(description="Licence", ordering="license__code")
    def licence(self, obj):
        return link_to(obj.license, code_text(obj.license.code))

    @admin.display(description="Account", ordering="license__account__email")
    def account(self, obj):
        return link_to(obj.license.account)

    @admin.display(description="File")
    def file(self, obj):
        return str(obj.version) if obj.version_id else "A file since removed from the catalogue"


# --- what the billing pages show of licences ------------------------------------------------------
# Billing has no path to licences: its pages show these links because licensing adds them.


def licences_paid_with(kind, source):
    count = License.objects.filter(source_type=kind, source_id=source.pk).count()
    url = changelist_url(License, paid_with=f"{kind}:{source.pk}")
    return format_html('<a href="{}">Licences taken with it ({})</a>', url, count)


def licence_of_purchase(credit_id):
    if credit_id is None:
        return ""
    found = License.objects.filter(source_type=License.SourceType.CREDIT, source_id=credit_id).first()
    return link_to(found, code_text(found.code)) if found else "Not used for a licence."


RECORD_LINKS[Subscription].append(lambda sub: licences_paid_with(License.SourceType.MEMBERSHIP, sub))
RECORD_LINKS[TrackCredit].append(lambda credit: licence_of_purchase(credit.pk))
RECORD_LINKS[StaffTask].append(lambda task: licence_of_purchase(task.credit_id))


# --- on the staff site's front page -----------------------------------------------------------

waiting_for_staff(
    "Licence letters that failed",
    Letter,
    params={"status__exact": Letter.Status.FAILED},
    status=Letter.Status.FAILED,
)
