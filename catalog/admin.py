"""Staff tools for the catalogue: tracks with their versions, uploads and what became of them, collections."""

import copy
from functools import partial
from pathlib import Path

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.options import ActionLocation, IncorrectLookupParameters
from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Case, Count, F, IntegerField, Q, Value, When
from django.db.models.functions import Coalesce
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.defaultfilters import filesizeformat
from django.urls import path, reverse
from django.utils.formats import date_format
from django.utils.functional import cached_property
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.utils.safestring import mark_safe
from django.utils.timezone import localtime

from allmytracks import audit
from allmytracks.admin import (
    AuditedDeletesMixin,
    AuditedEditsMixin,
    ChangedMeanwhileFormMixin,
    GoneRowsFormSet,
    confirm_action,
    waiting_for_staff,
)
from allmytracks.errors import UserFacingError
from allmytracks.numbers import whole_number
from allmytracks.storage import private_download_url
from allmytracks.tasks import enqueue_on_commit

from . import ingest, services
from .models import (
    Artist,
    Collection,
    CollectionItem,
    FailedIngestJob,
    Genre,
    IngestJob,
    IngestStatus,
    Instrument,
    Mood,
    SoundCategory,
    Theme,
    Track,
    TrackVersion,
    normalise_isrc,
)
from .tasks import ingest_job

STATUS_CLASS = {
    "ready": "ok",
    "imported": "ok",
    "failed": "danger",
    "duplicate": "info",
    "pending": "muted",
    "waiting": "muted",
    "running": "warn",
    "processing": "warn",
    "noaudio": "warn",
}


def status_badge(value, label):
    return format_html('<span class="status status-{}">{}</span>', STATUS_CLASS.get(value, "muted"), label)


def track_link(track):
    return format_html('<a href="{}">{}</a>', reverse("admin:catalog_track_change", args=[track.pk]), track)


def tracks_list_link(count, text=None, **lookup):
    """``count`` (or ``text``) as a link to the tracks list filtered by ``lookup`` (e.g.
    artist__id__exact=3)."""
    if not count:
        return text or "0"
    return format_html(
        '<a href="{}?{}">{}</a>', reverse("admin:catalog_track_changelist"), urlencode(lookup), text or count
    )


def plural(n, word):
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


class CatalogAdminMedia:
    css = {"all": ["css/catalog-admin.css"]}


class WithoutEmptyChoice(admin.RelatedFieldListFilter):
    """A related-objects filter without the “–” entry for objects that have none."""

    include_empty_choice = False


# --- taxonomies ---------------------------------------------------------------------------


class TaxonomyAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "track_count"]
    search_fields = ["name"]
    prepopulated_fields = {"slug": ["name"]}

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(n=Count("tracks"))

    @admin.display(description="Tracks", ordering="n")
    def track_count(self, obj):
        return tracks_list_link(obj.n, **{f"{self.opts.model_name}s__id__exact": obj.pk})


for model in (Genre, Mood, Instrument, Theme):
    admin.site.register(model, TaxonomyAdmin)


# --- sound-effect categories --------------------------------------------------------------

MAX_CATEGORY_DEPTH = 3  # e.g. Foley › Footsteps › Gravel


def category_tree_order():
    """Order sound categories as their tree reads: each category, then the ones under it, siblings
    by position then name. Works from the row's own columns and its parent's and grandparent's
    (categories go at most three levels deep), so the database sorts it in one query."""
    depth2 = Q(parent__parent__isnull=False)
    depth1 = Q(parent__isnull=False)
    number = IntegerField()

    def middle(field, default, output_field=None):
        return Case(
            When(depth2, then=F(f"parent__{field}")),
            When(depth1, then=F(field)),
            default=Value(default),
            output_field=output_field,
        )

    def leaf(field, default, output_field=None):
        return Case(When(depth2, then=F(field)), default=Value(default), output_field=output_field)

    return [
        Coalesce("parent__parent__position", "parent__position", "position", output_field=number).asc(),
        Coalesce("parent__parent__name", "parent__name", "name").asc(),
        Coalesce("parent__parent", "parent", "id", output_field=number).asc(),
        middle("position", -1, number).asc(),
        middle("name", "").asc(),
        middle("id", 0, number).asc(),
        leaf("position", -1, number).asc(),
        leaf("name", "").asc(),
    ]


def categories_in_tree_order():
    return SoundCategory.objects.select_related("parent__parent").order_by(*category_tree_order())


class CategoryChoiceField(forms.ModelChoiceField):
    """Sound categories as a tree: “Parent › Child”, in the order the tree reads."""

    def label_from_instance(self, obj):
        return obj.path_name


class SoundCategoryForm(forms.ModelForm):
    class Meta:
        model = SoundCategory
        fields = ["parent", "name", "slug", "position"]
        field_classes = {"parent": CategoryChoiceField}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["parent"].queryset = categories_in_tree_order()
        self.fields["parent"].help_text = "Leave empty for a top-level category."

    def clean_parent(self):
        parent = self.cleaned_data["parent"]
        if parent is None:
            return parent
        chain = [*parent.ancestors(), parent]
        if self.instance.pk and any(node.pk == self.instance.pk for node in chain):
            raise ValidationError(
                "A category cannot be placed under itself or under one of its own children."
            )
        below = self._depth_below(self.instance) if self.instance.pk else 0
        if len(chain) + 1 + below > MAX_CATEGORY_DEPTH:
            raise ValidationError(f"Categories go at most {MAX_CATEGORY_DEPTH} levels deep.")
        return parent

    @staticmethod
    def _depth_below(category):
        children = list(category.children.all())
        return 1 + max(SoundCategoryForm._depth_below(c) for c in children) if children else 0


@admin.register(SoundCategory)
class SoundCategoryAdmin(AuditedEditsMixin, AuditedDeletesMixin, admin.ModelAdmin):
    edit_audit_action = "catalog.category_edited"
    add_audit_action = "catalog.category_added"
    delete_audit_action = "catalog.category_deleted"
    Media = CatalogAdminMedia
    form = SoundCategoryForm
    list_display = ["tree_name", "slug", "position", "track_count"]
    list_display_links = ["tree_name"]
    list_select_related = ["parent__parent"]
    list_editable = ["position"]
    search_fields = ["name", "parent__name"]
    prepopulated_fields = {"slug": ["name"]}

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(n=Count("tracks"))

    def get_ordering(self, request):
        return category_tree_order()

    @admin.display(description="Category")
    def tree_name(self, obj):
        ancestors = obj.ancestors()
        path = "".join(f"{a.name} › " for a in ancestors)
        return format_html(
            '<span class="category-depth-{}"><span class="quiet">{}</span>{}</span>',
            min(len(ancestors), MAX_CATEGORY_DEPTH - 1),
            path,
            obj.name,
        )

    @admin.display(description="Tracks", ordering="n")
    def track_count(self, obj):
        return tracks_list_link(obj.n, sound_category__id__exact=obj.pk)


class KeepOldAddressMixin:
    """A page whose slug staff change keeps its old address: it answers 301 to the new one
    (``services.redirect_page``), so links people shared and search engines keep working."""

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        old_slug = form.initial.get("slug")
        if change and "slug" in form.changed_data and old_slug:
            before = copy.copy(obj)
            before.slug = old_slug
            services.redirect_page(before.get_absolute_url(), obj.get_absolute_url())


# --- pictures uploaded on a page -------------------------------------------------------------


class PictureFormMixin:
    """A picture staff upload on the page (``picture_field``) is checked and re-encoded as a file's
    embedded artwork is at ingest (``ingest.process_artwork``): a decompression bomb, an SVG or
    anything else that is no JPEG, PNG, WebP or GIF is refused; the metadata goes, the orientation
    tag is applied and the size capped. ``picture`` is the result, kept by ``PictureAdminMixin``."""

    picture_field = "artwork"
    picture_help = (
        f"JPEG, PNG or WebP. Kept as a JPEG of at most {ingest.ARTWORK_SIZE} px, without its metadata."
    )
    picture = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.picture_field in self.fields:
            self.fields[self.picture_field].help_text = self.picture_help

    def clean(self):
        cleaned = super().clean()
        upload = cleaned.get(self.picture_field)
        if isinstance(upload, UploadedFile):  # a new picture (not the one kept, nor a cleared one)
            if upload.size > settings.MAX_UPLOAD_SIZE:
                self.add_error(
                    self.picture_field,
                    f"This picture is {filesizeformat(upload.size)}; "
                    f"the limit is {filesizeformat(settings.MAX_UPLOAD_SIZE)}.",
                )
                return cleaned
            upload.seek(0)
            try:
                self.picture = ingest.process_artwork(upload.read(), label="This picture")
            except ingest.IngestError as exc:
                self.add_error(self.picture_field, str(exc))
        return cleaned


class PictureAdminMixin:
    """Keeps the picture ``PictureFormMixin`` made of an upload, never the file as sent, with the
    smaller copies made from it (``picture_copies``); the files a new or cleared picture replaces
    are deleted once the change is committed."""

    picture_copies = ()

    def store_picture(self, obj, field, picture):
        """Keep ``picture`` (an ``ingest.Artwork``; None: cleared, and the form emptied the field)."""
        if picture is not None:
            getattr(obj, field).save("a.jpg", ContentFile(picture.jpeg), save=False)

    def save_model(self, request, obj, form, change):
        field = form.picture_field
        if field in form.changed_data:
            files = [form.initial.get(field), *(getattr(obj, name) for name in self.picture_copies)]
            replaced = {f.name for f in files if f}  # (named now: storing a copy renames its file)
            self.store_picture(obj, field, form.picture)
            storage = obj._meta.get_field(field).storage
            for name in replaced:
                transaction.on_commit(partial(storage.delete, name), robust=True)
        super().save_model(request, obj, form, change)


# --- artists ------------------------------------------------------------------------------


class ArtistAdminForm(PictureFormMixin, forms.ModelForm):
    picture_field = "image"


@admin.register(Artist)
class ArtistAdmin(
    AuditedEditsMixin, AuditedDeletesMixin, PictureAdminMixin, KeepOldAddressMixin, admin.ModelAdmin
):
    edit_audit_action = "catalog.artist_edited"
    add_audit_action = "catalog.artist_added"
    delete_audit_action = "catalog.artist_deleted"
    form = ArtistAdminForm
    list_display = ["name", "slug", "track_count", "created_at"]
    actions = ["merge"]
    search_fields = ["name"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["track_list", "created_at"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(n=Count("tracks"))

    @admin.display(description="Tracks", ordering="n")
    def track_count(self, obj):
        return tracks_list_link(obj.n, artist__id__exact=obj.pk)

    @admin.display(description="Tracks")
    def track_list(self, obj):
        if obj.pk is None:
            return "—"
        count = obj.tracks.count()
        return tracks_list_link(
            count, plural(count, "track") if count else "None yet", artist__id__exact=obj.pk
        )

    @admin.action(description="Merge the selected artists into one", permissions=["change", "delete"])
    def merge(self, request, queryset):
        artists = list(queryset.order_by("-n", "name"))
        if len(artists) < 2:
            self.message_user(request, "Select two or more artists to merge.", messages.WARNING)
            return None
        choices = [(str(a.pk), f"{a.name} ({plural(a.n, 'track')})") for a in artists]

        class MergeForm(forms.Form):
            keep = forms.TypedChoiceField(
                label="Keep",
                choices=choices,
                coerce=int,
                initial=choices[0][0],
                widget=forms.RadioSelect,
                help_text="The artist whose name, page and picture stay; the others' tracks move to it.",
            )

        def merge_into_kept(artist, data):
            kept = next(a for a in artists if a.pk == data["keep"])
            try:
                services.merge_artist(artist, into=kept, actor=request.user, request=request)
            except services.CatalogError as exc:
                raise UserFacingError(str(exc)) from exc

        return confirm_action(
            self,
            request,
            queryset,
            title="Merge artists",
            submit="Merge",
            done="Merged",
            after="Kept, or merged into the one kept (chosen below)",
            form_class=MergeForm,
            consequences=[
                "Every track of the other artists moves to the one you keep; the others are deleted, "
                "and their pages answer “not found”.",
                "Search finds the tracks under the kept name at once. The merge is kept in the audit log.",
            ],
            describe=lambda artist: plural(artist.n, "track"),
            skip=lambda artist, data: "the one kept" if data and artist.pk == data["keep"] else "",
            apply=merge_into_kept,
        )


# --- tracks -------------------------------------------------------------------------------


def technical_summary(version):
    """“WAV · 48 kHz · 24-bit · stereo · 3:12 · 33.1 MB”."""
    parts = [version.format.upper()]
    if version.sample_rate:
        parts.append(f"{version.sample_rate / 1000:g} kHz")
    if version.bit_depth:
        parts.append(f"{version.bit_depth}-bit")
    if version.channels:
        parts.append({1: "mono", 2: "stereo"}.get(version.channels, f"{version.channels} channels"))
    if version.bitrate and version.format == "mp3":
        parts.append(f"{version.bitrate // 1000} kbps")
    parts.append(version.duration_label)
    if version.file_size:
        parts.append(filesizeformat(version.file_size))
    return " · ".join(p for p in parts if p)


class TrackVersionForm(forms.ModelForm):
    class Meta:
        model = TrackVersion
        fields = ["kind", "name", "position"]
        widgets = {"name": forms.TextInput(attrs={"size": 16})}


class TrackVersionFormSet(GoneRowsFormSet):
    """A track's files. One that a licence names, or the main or last ready file of a track that
    stays published, is not deleted (``services.undeletable_versions``): the page says why and
    nothing is saved."""

    gone_rows_message = (
        "A file of this track was deleted after you opened this page: reload the page, then make your "
        "change again."
    )

    def clean(self):
        super().clean()
        doomed = [form.instance for form in self.initial_forms if self._should_delete_form(form)]
        if doomed:
            refusals = services.undeletable_versions(
                self.instance, doomed, published=self.instance.is_published
            )
            if refusals:
                raise ValidationError(list(refusals.values()))


class TrackVersionInline(admin.TabularInline):
    model = TrackVersion
    form = TrackVersionForm
    formset = TrackVersionFormSet
    verbose_name = "file"
    verbose_name_plural = "files (full track, edits, loops and stems)"
    extra = 0
    can_delete = True
    show_change_link = False
    fields = ["kind", "name", "position", "file", "status", "preview_player"]
    readonly_fields = ["file", "status", "preview_player"]

    def has_add_permission(self, request, obj=None):
        return False  # a file arrives by uploading it (“Upload another version” on the track)

    @admin.display(description="File")
    def file(self, obj):
        name = obj.original_filename or Path(obj.master.name).name
        if obj.master:
            name = format_html(
                '<a href="{}" title="Download the master">{}</a>',
                private_download_url(obj.master.name, filename=name),
                name,
            )
        return format_html('{}<br><span class="quiet">{}</span>', name, technical_summary(obj))

    @admin.display(description="Status")
    def status(self, obj):
        badge = status_badge(obj.ingest_status, obj.get_ingest_status_display())
        return format_html("{}<br>{}", badge, obj.ingest_error) if obj.ingest_error else badge

    @admin.display(description="Preview")
    def preview_player(self, obj):
        if not obj.preview:
            return "—"
        from .previews import preview_url

        return format_html(
            '<audio controls preload="none" src="{}" class="catalog-preview"></audio>', preview_url(obj.pk)
        )


class TrackAdminForm(PictureFormMixin, ChangedMeanwhileFormMixin, forms.ModelForm):
    """The track page's form (its fields come from ``TrackAdmin.fieldsets``). A page opened before
    another change to the track (an Unpublish from the list, another tab) is not saved over it."""

    changed_meanwhile_noun = "track"

    picture_help = (
        f"JPEG, PNG or WebP. Kept as a JPEG of at most {ingest.ARTWORK_SIZE} px, without its metadata, "
        "with the smaller copies result rows and the track's page show."
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "isrc" in self.fields:
            self.fields["isrc"].help_text = "e.g. GB-AAA-24-00001 (hyphens optional)."

    def clean_isrc(self):
        text = self.cleaned_data.get("isrc", "")
        if self.instance.pk and text == self.instance.isrc:
            return text  # as stored (an older ingest kept any tag text): checked only when edited
        isrc = normalise_isrc(text)
        if text and not isrc:
            raise ValidationError(
                "Enter an ISRC: two letters for the country, three letters or digits for the registrant, "
                "two digits for the year and five for the number, e.g. GB-AAA-24-00001."
            )
        return isrc

    def clean_is_published(self):
        published = self.cleaned_data.get("is_published")
        track = self.instance
        if published and not track.is_published and track.ingest_status == IngestStatus.NO_AUDIO:
            raise ValidationError(
                "This track has no audio file: upload one (“Upload another version”) before publishing it."
            )
        if published and not track.is_published and track.ingest_status != IngestStatus.READY:
            raise ValidationError(
                "This track's audio has not finished processing, so it cannot be published yet."
            )
        return published


@admin.register(Track)
class TrackAdmin(
    AuditedEditsMixin, AuditedDeletesMixin, PictureAdminMixin, KeepOldAddressMixin, admin.ModelAdmin
):
    edit_audit_action = "catalog.track_edited"
    delete_audit_action = "catalog.track_deleted"
    Media = CatalogAdminMedia
    form = TrackAdminForm
    # What staff scan for; BPM, key, duration and the rest are on each track's page and in the filters.
    list_display = ["title", "artist", "kind", "status", "added"]
    list_filter = [
        "kind",
        "is_published",
        "ingest_status",
        ("genres", WithoutEmptyChoice),
        ("moods", WithoutEmptyChoice),
        "vocals",
        "explicit",
    ]
    list_select_related = ["artist"]
    search_fields = ["title", "artist__name", "isrc", "slug"]
    autocomplete_fields = ["artist"]
    filter_horizontal = ["genres", "moods", "instruments", "themes"]
    prepopulated_fields = {"slug": ["title"]}
    readonly_fields = [
        "popularity",  # worked out nightly from use (catalog.services.refresh_popularity)
        "trending",
        "play_count",
        "favourite_count",
        "ingest_status",
        "ingest_error",
        "duration",
        "content_hash",
        "files_links",
        "created_at",
        "published_at",
        "updated_at",
        "artwork_preview",
    ]
    inlines = [TrackVersionInline]
    picture_copies = ("artwork_medium", "artwork_small")
    actions = ["publish", "unpublish"]
    date_hierarchy = "created_at"
    fieldsets = [
        (
            None,
            {"fields": ["kind", "title", "slug", "artist", "album", "description", "is_published", "loaded"]},
        ),
        ("Tags", {"fields": ["genres", "moods", "instruments", "themes", "sound_category"]}),
        ("Music", {"fields": ["bpm", "key", "mode", "energy", "vocals", "explicit", "release_date", "isrc"]}),
        ("Artwork", {"fields": ["artwork", "artwork_preview"]}),
        (
            "Ranking",
            {"fields": ["popularity_boost", "popularity", "trending", "play_count", "favourite_count"]},
        ),
        (
            "Audio",
            {"fields": ["ingest_status", "ingest_error", "duration", "content_hash", "files_links"]},
        ),
        ("Dates", {"fields": ["created_at", "published_at", "updated_at"]}),
    ]

    def has_add_permission(self, request):
        # A track is made by uploading its audio (Uploads › Upload audio); a track typed in by
        # hand would have no file and could never be published.
        return False

    def changelist_view(self, request, extra_context=None):
        context = {"can_upload": self._can_upload(request), **(extra_context or {})}
        return super().changelist_view(request, extra_context=context)

    def _can_upload(self, request):
        return self.admin_site.get_model_admin(IngestJob).has_add_permission(request)

    def store_picture(self, obj, field, picture):
        ingest.store_artwork(obj, picture)  # with its WebP copies and colour, as ingest stores one

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and "is_published" in form.changed_data:  # audited as the list's publish actions are
            action = "catalog.publish" if obj.is_published else "catalog.unpublish"
            audit.record(action, actor=request.user, request=request, track_ids=[obj.pk])

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        if any(getattr(formset, "deleted_objects", None) for formset in formsets):
            services.describe_by_files(form.instance)  # in the transaction that locked its files

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is not None and self.has_change_permission(request, obj):
            return fieldsets
        # ``loaded`` guards a save (``ChangedMeanwhileFormMixin``): a page that saves nothing has none.
        return [
            (name, {**opts, "fields": [f for f in opts["fields"] if f != "loaded"]})
            for name, opts in fieldsets
        ]

    def get_deleted_objects(self, objs, request):
        """A track that records hang on (licences and their downloads, which no one deletes) is
        kept, and the page says so as it says for any protected record — not that staff lack the
        permission to delete licences."""
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        if perms_needed:
            kept = " and ".join(sorted(perms_needed))
            protected = [
                *protected,
                f"{kept.capitalize()} records, kept as customers' proof: unpublish the track instead.",
            ]
            perms_needed = set()
        return deleted, counts, perms_needed, protected

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "sound_category":
            kwargs["queryset"] = categories_in_tree_order()
            kwargs["form_class"] = CategoryChoiceField
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(description="Status", ordering="is_published")
    def status(self, obj):
        """Published or draft once its audio is ready; until then, where its audio stands."""
        if obj.ingest_status != IngestStatus.READY:
            return status_badge(obj.ingest_status, obj.get_ingest_status_display())
        return status_badge("ready", "Published") if obj.is_published else status_badge("draft", "Draft")

    @admin.display(description="Duration")
    def duration(self, obj):
        return obj.duration_label or "—"

    @admin.display(description="Added", ordering="created_at")
    def added(self, obj):
        return date_format(localtime(obj.created_at), "j M Y")

    @admin.display(description="Favourites")
    def favourite_count(self, obj):
        return obj.favourites.count() if obj.pk else 0

    @admin.display(description="Files")
    def files_links(self, obj):
        if obj.pk is None:
            return "—"
        upload = reverse("admin:catalog_ingestjob_add") + "?" + urlencode({"attach_to": obj.pk})
        uploads = reverse("admin:catalog_ingestjob_changelist") + "?" + urlencode({"track": obj.pk})
        return format_html(
            '<a href="{}">Upload another version or stem</a> · <a href="{}">Uploads of this track</a>',
            upload,
            uploads,
        )

    @admin.display(description="Current artwork")
    def artwork_preview(self, obj):
        if not obj.artwork_small:
            return "—"
        return format_html('<img src="{}" width="120" height="120" alt="">', obj.artwork_small.url)

    @admin.action(description="Publish selected tracks")
    def publish(self, request, queryset):
        self._set_published(request, queryset, True)

    @admin.action(description="Unpublish selected tracks")
    def unpublish(self, request, queryset):
        self._set_published(request, queryset, False)

    def _set_published(self, request, queryset, published):
        done = services.set_published(queryset, published, actor=request.user, request=request)
        if done.not_ready:
            self.message_user(request, not_published_message(done), messages.WARNING)
        else:
            word = "published" if published else "unpublished"
            self.message_user(request, f"{plural(done.count, 'track')} {word}.", messages.SUCCESS)


# Why a track's audio is not ready, by its ``ingest_status``.
NOT_READY = {
    IngestStatus.PENDING: "waiting to be processed",
    IngestStatus.PROCESSING: "still being processed",
    IngestStatus.FAILED: "processing failed",
    IngestStatus.NO_AUDIO: "no audio file",
}
NAMED_AT_MOST = 10


def not_published_message(done):
    """What a publish that left tracks out (``services.Published``) did, naming them and why."""
    left_out = done.not_ready
    if done.count:
        lead = f"{plural(done.count, 'track')} published. {len(left_out)} left unpublished, as their"
    else:
        lead = "Nothing was published, as the"
    names = format_html_join(
        ", ",
        "{} ({})",
        ((track_link(t), NOT_READY.get(t.ingest_status, t.ingest_status)) for t in left_out[:NAMED_AT_MOST]),
    )
    more = f", and {len(left_out) - NAMED_AT_MOST} more" if len(left_out) > NAMED_AT_MOST else ""
    return format_html("{} audio is not ready: {}{}.", lead, names, more)


# --- uploads and what became of them -------------------------------------------------------

# A finished job that made no track because the catalogue already held the same file. (The
# duplicate's version may have been deleted since; the reason stays in ``error``.)
DUPLICATE = Q(status=IngestJob.Status.DONE) & (
    Q(duplicate_of__isnull=False) | (Q(track__isnull=True) & ~Q(error=""))
)


def job_outcome(job):
    """What became of an upload, as (key, label): waiting, running, imported, duplicate or failed."""
    Status = IngestJob.Status
    if job.status == Status.DONE:
        if job.duplicate_of_id or (not job.track_id and job.error):
            return "duplicate", "Duplicate"
        return "imported", "Imported"
    if job.status == Status.FAILED:
        return "failed", "Failed"
    if job.status == Status.RUNNING:
        return "running", "Processing"
    return "waiting", "Waiting"


def outcome_detail(job):
    """The rest of the outcome's sentence: which track, or why not."""
    key, _ = job_outcome(job)
    if key == "imported":
        if job.track_id and (job.options or {}).get("track_id"):  # a file added to a track staff chose
            kind = job.options.get("version_kind") or TrackVersion.Kind.FULL
            label = TrackVersion.Kind(kind).label if kind in TrackVersion.Kind.values else kind
            return format_html("as a new file ({}) of {}", label, track_link(job.track))
        if job.track_id:
            return format_html("as {}", track_link(job.track))
        return "its track has since been deleted"
    if key == "duplicate":
        existing = job.duplicate_of
        if existing is not None:
            return format_html(
                "already in the catalogue as {} ({})", track_link(existing.track), existing.label
            )
        return format_html("already in the catalogue — {}", job.error)
    if key == "failed":
        return job.error
    if key == "running":
        return "being processed now"
    return "queued for processing"


class OutcomeFilter(admin.SimpleListFilter):
    title = "outcome"
    parameter_name = "outcome"

    def lookups(self, request, model_admin):
        return [
            ("waiting", "Waiting"),
            ("running", "Processing"),
            ("imported", "Imported"),
            ("duplicate", "Duplicate"),
            ("failed", "Failed"),
        ]

    def queryset(self, request, queryset):
        Status = IngestJob.Status
        match self.value():
            case "waiting":
                return queryset.filter(status=Status.PENDING)
            case "running":
                return queryset.filter(status=Status.RUNNING)
            case "imported":
                return queryset.filter(status=Status.DONE).exclude(DUPLICATE)
            case "duplicate":
                return queryset.filter(DUPLICATE)
            case "failed":
                return queryset.filter(status=Status.FAILED)
        return queryset


class UploadTrackFilter(admin.SimpleListFilter):
    """The uploads meant for one track (a track's “Uploads of this track”): those that made it or
    added a version to it, and those given for it that failed or turned out to be duplicates."""

    title = "track"
    parameter_name = "track"

    def lookups(self, request, model_admin):
        value = self.value()
        if not value:
            return []  # shown only when a track's link leads here
        pk = whole_number(value)
        track = Track.objects.filter(pk=pk).first() if pk is not None else None
        return [(value, str(track) if track else f"Track #{value} (since deleted)")]

    def queryset(self, request, queryset):
        value = self.value()
        if value is None:
            return queryset
        pk = whole_number(value)
        if pk is None:
            raise IncorrectLookupParameters(f"No track {value!r}.")
        return queryset.filter(Q(track_id=pk) | Q(options__track_id=pk))


def outcome_message(jobs, *, again=False):
    """(level, message) telling staff what became of ``jobs`` once they have run (or not yet)."""
    groups = {"imported": [], "duplicate": [], "failed": [], "waiting": [], "running": []}
    for job in jobs:
        groups[job_outcome(job)[0]].append(job)
    if groups["failed"]:
        level = messages.ERROR
    elif groups["duplicate"]:
        level = messages.WARNING
    elif groups["imported"]:
        level = messages.SUCCESS
    else:
        level = messages.INFO
    if len(jobs) == 1:
        job = jobs[0]
        key = job_outcome(job)[0]
        text = {
            "imported": "“{}” is imported {}.",
            "duplicate": "“{}” added nothing: it is {}.",
            "failed": "“{}” failed again: {}" if again else "“{}” could not be imported: {}",
            "waiting": "“{}” is queued for processing; its outcome will show in Uploads.",
            "running": "“{}” is being processed; its outcome will show in Uploads.",
        }[key]
        return level, format_html(text, job.original_filename, outcome_detail(job))
    parts = []
    if groups["imported"]:
        parts.append(plural(len(groups["imported"]), "file") + " imported")
    if groups["duplicate"]:
        parts.append(f"{len(groups['duplicate'])} already in the catalogue")
    queued = len(groups["waiting"]) + len(groups["running"])
    if queued:
        parts.append(f"{queued} queued for processing")
    if not groups["failed"]:
        return level, ", ".join(parts) + "."
    parts.append(f"{len(groups['failed'])} {'failed again' if again else 'failed'}")
    # One reason follows the colon; several go one to a line.
    reasons = format_html_join(
        mark_safe("<br>"), "“{}”: {}", ((j.original_filename, j.error) for j in groups["failed"])
    )
    lead = mark_safe("<br>") if len(groups["failed"]) > 1 else " "
    return level, format_html("{}:{}{}", ", ".join(parts), lead, reasons)


class IngestUploadForm(forms.ModelForm):
    """Upload one master; staff may say what it is. Tags in the file fill whatever is left blank."""

    audio_file = forms.FileField(
        label="Audio file",
        help_text="WAV, FLAC, AIFF or MP3. Tags and embedded artwork are read from the file.",
    )
    attach_to = forms.ModelChoiceField(
        Track.objects.all(),
        required=False,
        label="Add as a version of",
        help_text="The id of an existing track (use the magnifier); leave empty to create a new track.",
        widget=admin.widgets.ForeignKeyRawIdWidget(
            IngestJob._meta.get_field("track").remote_field, admin.site
        ),
    )
    version_kind = forms.ChoiceField(choices=TrackVersion.Kind.choices, initial="full", label="Version")
    version_name = forms.CharField(required=False, label="Version name", help_text="e.g. “Drums stem”.")
    kind = forms.ChoiceField(choices=Track.Kind.choices, initial="music")
    title = forms.CharField(required=False, help_text="Blank: the file's title tag, else its name.")
    artist = forms.CharField(required=False, help_text="Blank: the file's artist tag.")
    genres = forms.CharField(required=False, help_text="Comma-separated; blank: the file's genre tag.")
    moods = forms.CharField(required=False, help_text="Comma-separated.")
    instruments = forms.CharField(required=False, help_text="Comma-separated.")
    themes = forms.CharField(required=False, help_text="Comma-separated.")
    sound_category = CategoryChoiceField(
        SoundCategory.objects.none(), required=False, help_text="For a sound effect."
    )
    publish = forms.BooleanField(required=False, help_text="Publish as soon as the file is processed.")

    class Meta:
        model = IngestJob
        fields = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["sound_category"].queryset = categories_in_tree_order()

    def clean(self):
        cleaned = super().clean()
        track = cleaned.get("attach_to")
        if track is not None and cleaned.get("version_kind") == TrackVersion.Kind.FULL:
            refusal = ingest.second_full_version(track)  # checked again when the file is processed
            if refusal:
                self.add_error("version_kind", refusal)
        return cleaned

    def clean_audio_file(self):
        upload = self.cleaned_data["audio_file"]
        if upload.size > settings.CATALOG_MAX_MASTER_SIZE:
            raise forms.ValidationError("This file is too large.")
        if upload.size == 0:
            raise forms.ValidationError("This file is empty.")
        return upload

    def options(self):
        data = self.cleaned_data
        options = {
            key: data[key]
            for key in (
                "version_kind",
                "version_name",
                "kind",
                "title",
                "artist",
                "genres",
                "moods",
                "instruments",
                "themes",
            )
            if data.get(key)
        }
        if data.get("attach_to"):
            options["track_id"] = data["attach_to"].pk
        if data.get("sound_category"):
            options["sound_category"] = data["sound_category"].slug
        options["publish"] = bool(data.get("publish"))
        return options


# How the options an upload or import came with read on its page (anything else is humanised).
OPTION_LABELS = {
    "track_id": "Added to track",
    "version_kind": "Version",
    "version_name": "Version name",
    "kind": "Kind",
    "title": "Title",
    "artist": "Artist",
    "album": "Album",
    "genres": "Genres",
    "moods": "Moods",
    "instruments": "Instruments",
    "themes": "Themes",
    "sound_category": "Sound category",
    "isrc": "ISRC",
    "bpm": "BPM",
    "popularity_boost": "Editorial boost",
    "publish": "Publish when processed",
}


def option_value(key, value):
    if key == "track_id":
        track = Track.objects.filter(pk=value).first()
        return track_link(track) if track else f"track #{value} (since deleted)"
    if key == "version_kind":
        return TrackVersion.Kind(value).label if value in TrackVersion.Kind.values else value
    if key == "kind":
        return Track.Kind(value).label if value in Track.Kind.values else value
    if key == "sound_category":
        category = SoundCategory.objects.select_related("parent__parent").filter(slug=value).first()
        return category.path_name if category else value
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


class IngestJobAdminBase(admin.ModelAdmin):
    """What staff see of an upload: a read-only record of one file and what became of it. Only a
    failed upload's record may be deleted, once dealt with (its file goes with it); the others are
    the history of the catalogue's files."""

    Media = CatalogAdminMedia
    change_form_template = "admin/catalog/upload_change_form.html"
    list_display = ["original_filename", "outcome", "source", "created_at"]
    list_filter = [OutcomeFilter, "source", UploadTrackFilter]
    search_fields = ["original_filename", "error"]
    list_select_related = ["track", "duplicate_of__track"]
    actions = ["retry"]
    fieldsets = [
        (None, {"fields": ["file_link", "source", "outcome", "given_options"]}),
        ("History", {"fields": ["created_by", "created_at", "started_at", "finished_at", "attempts"]}),
    ]
    readonly_fields = [
        "file_link",
        "source",
        "outcome",
        "given_options",
        "created_by",
        "created_at",
        "started_at",
        "finished_at",
        "attempts",
    ]

    def get_urls(self):
        return [
            path(
                "<path:object_id>/retry/",
                self.admin_site.admin_view(self.retry_view),
                name=f"{self.opts.app_label}_{self.opts.model_name}_retry",
            ),
            *super().get_urls(),
        ]

    def has_change_permission(self, request, obj=None):
        # An upload's record is never edited by hand (its status least of all); a failed one is
        # retried instead, which needs the change permission for the list as a whole.
        return False if obj is not None else super().has_change_permission(request)

    def has_retry_permission(self, request):
        return self.has_change_permission(request)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.status != IngestJob.Status.FAILED:
            return False
        return super().has_delete_permission(request, obj)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        job = self.get_object(request, object_id)
        context = dict(extra_context or {})
        if job is not None:
            _, label = job_outcome(job)
            context["subtitle"] = f"{job.original_filename} — {label}"
            if job.status == IngestJob.Status.FAILED and self.has_retry_permission(request):
                context["retry_url"] = reverse(
                    f"admin:{self.opts.app_label}_{self.opts.model_name}_retry", args=[job.pk]
                )
        return super().change_view(request, object_id, form_url, extra_context=context)

    @admin.display(description="File", ordering="original_filename")
    def file_link(self, obj):
        """The uploaded file itself, through a short-lived signed link (it is in the private storage)."""
        name = obj.original_filename
        if obj.upload and obj.upload.storage.exists(obj.upload.name):
            return format_html(
                '<a href="{}">{}</a> <span class="quiet">(download; {})</span>',
                private_download_url(obj.upload.name, filename=name),
                name,
                filesizeformat(obj.upload.size),
            )
        if job_outcome(obj)[0] == "duplicate":
            why = "not kept: the catalogue already holds this file"
        else:
            why = "no longer stored"
        return format_html('{} <span class="quiet">({})</span>', name, why)

    @admin.display(description="Outcome", ordering="status")
    def outcome(self, obj):
        key, label = job_outcome(obj)
        return format_html("{} {}", status_badge(key, label), outcome_detail(obj))

    @admin.display(description="Given with the file")
    def given_options(self, obj):
        options = {
            k: v for k, v in (obj.options or {}).items() if k != "original_filename" and v not in ("", None)
        }
        if not options:
            return "Nothing: everything was read from the file's tags."
        keys = [k for k in OPTION_LABELS if k in options] + sorted(
            k for k in options if k not in OPTION_LABELS
        )
        rows = (
            (OPTION_LABELS.get(k, k.replace("_", " ").capitalize()), option_value(k, options[k]))
            for k in keys
        )
        return format_html(
            '<dl class="catalog-options">{}</dl>', format_html_join("", "<dt>{}</dt><dd>{}</dd>", rows)
        )

    @admin.action(description="Retry the selected failed uploads", permissions=["retry"])
    def retry(self, request, queryset):
        retried = self._retry(request, queryset.filter(status=IngestJob.Status.FAILED))
        if not retried:
            self.message_user(request, "Only failed uploads can be retried.", messages.WARNING)

    def retry_view(self, request, object_id):
        """The retry button of a failed upload's page (POST only)."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_retry_permission(request):
            raise PermissionDenied
        job = self.get_object(request, object_id)  # None for an unknown or malformed id
        if job is None:
            raise Http404("No such upload.")
        if job.status != IngestJob.Status.FAILED or not self._retry(request, [job]):
            self.message_user(
                request, f"“{job.original_filename}” has not failed: there is nothing to retry."
            )
        job.refresh_from_db()
        if job.status == IngestJob.Status.FAILED:
            return HttpResponseRedirect(
                reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_change", args=[job.pk])
            )
        return HttpResponseRedirect(reverse("admin:catalog_ingestjob_change", args=[job.pk]))

    def _retry(self, request, jobs):
        """Queue ``jobs`` again and, once that is committed (and, without a worker, the jobs have
        run), tell staff what became of them. Returns the ids queued."""
        retried = []
        with transaction.atomic():
            for job in jobs:
                if ingest.retry_job(job):
                    audit.record("catalog.ingest_retry", actor=request.user, target=job, request=request)
                    retried.append(job.pk)
            if retried:
                transaction.on_commit(partial(self._report_outcome, request, retried, again=True))
        return retried

    def _report_outcome(self, request, job_ids, *, again=False):
        jobs = list(
            IngestJob.objects.filter(pk__in=job_ids)
            .select_related("track", "duplicate_of__track")
            .order_by("created_at", "pk")
        )
        if jobs:
            level, message = outcome_message(jobs, again=again)
            self.message_user(request, message, level)


@admin.register(IngestJob)
class IngestJobAdmin(IngestJobAdminBase):
    """Every file uploaded by staff or imported, with what became of it; “Upload audio” adds one."""

    add_form = IngestUploadForm

    def changelist_view(self, request, extra_context=None):
        return super().changelist_view(request, extra_context={"title": "Uploads", **(extra_context or {})})

    def get_actions(self, request, action_location=ActionLocation.CHANGE_LIST):
        actions = super().get_actions(request, action_location=action_location)
        actions.pop("delete_selected", None)  # failed uploads are deleted from their own list
        return actions

    def add_view(self, request, form_url="", extra_context=None):
        context = {"title": "Upload audio", "show_save_and_continue": False, **(extra_context or {})}
        return super().add_view(request, form_url, extra_context=context)

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = IngestUploadForm
            kwargs["fields"] = None
        return super().get_form(request, obj, **kwargs)

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return [
                ("File", {"fields": ["audio_file", "attach_to", "version_kind", "version_name"]}),
                (
                    "About a new track",
                    {
                        "fields": [
                            "kind",
                            "title",
                            "artist",
                            "genres",
                            "moods",
                            "instruments",
                            "themes",
                            "sound_category",
                            "publish",
                        ]
                    },
                ),
            ]
        return super().get_fieldsets(request, obj)

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.readonly_fields

    def save_model(self, request, obj, form, change):
        if change:
            return
        upload = form.cleaned_data["audio_file"]
        obj.original_filename = upload.name[:255]
        obj.source = IngestJob.Source.ADMIN
        obj.options = {**form.options(), "original_filename": upload.name}
        obj.created_by = request.user
        obj.upload.save(upload.name, upload, save=False)
        obj.save()
        audit.record("catalog.upload", actor=request.user, target=obj, request=request, filename=upload.name)
        enqueue_on_commit(ingest_job, obj.pk)
        # After the commit: by then a worker has the job, or (without one) it has already run.
        transaction.on_commit(partial(self._report_outcome, request, [obj.pk]))

    def save_related(self, request, form, formsets, change):
        pass

    def response_add(self, request, obj, post_url_continue=None):
        # The outcome was reported after the commit; Django's “was added successfully” would
        # only repeat it with the status the job had before it ran.
        if "_addanother" in request.POST:
            return HttpResponseRedirect(request.path)
        return HttpResponseRedirect(reverse("admin:catalog_ingestjob_change", args=[obj.pk]))


@admin.register(FailedIngestJob)
class FailedIngestJobAdmin(IngestJobAdminBase):
    """Every upload or import that failed, with the reason, and a retry action."""

    list_display = ["original_filename", "reason", "source", "attempts", "failed_at"]
    list_filter = ["source", UploadTrackFilter]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(status=IngestJob.Status.FAILED)

    def changelist_view(self, request, extra_context=None):
        context = {"title": "Failed uploads", **(extra_context or {})}
        return super().changelist_view(request, extra_context=context)

    def has_add_permission(self, request):
        return False

    @admin.display(description="Reason")
    def reason(self, obj):
        return obj.error or "—"

    @admin.display(description="Failed at", ordering="finished_at")
    def failed_at(self, obj):
        return obj.finished_at


# --- collections --------------------------------------------------------------------------


class CollectionItemForm(forms.ModelForm):
    position = forms.IntegerField(required=False, min_value=0, widget=admin.widgets.AdminIntegerFieldWidget)

    class Meta:
        model = CollectionItem
        fields = ["position", "track"]

    def clean_position(self):
        position = self.cleaned_data["position"]
        return 1_000_000 if position is None else position  # blank: after every numbered track


class SelectedTrackAutocomplete(AutocompleteSelect):
    """The track autocomplete of a collection's rows. The stock widget looks up each row's track
    with a query of its own; this one takes it from ``selected`` ({id as text: track}, which
    ``CollectionItemFormSet`` loads once for every row) when it is there."""

    selected = None

    def optgroups(self, name, value, attr=None):
        # A sent value that is not an id (a form shown again with its error) selects nothing: the
        # stock widget would look it up and fail.
        wanted = [str(v) for v in value if whole_number(v) is not None]
        if self.selected is None or any(v not in self.selected for v in wanted):
            return super().optgroups(name, wanted, attr)
        options = [] if self.is_required else [self.create_option(name, "", "", False, 0)]
        for v in wanted[:1]:  # one track per row
            label = self.choices.field.label_from_instance(self.selected[v])
            options.append(self.create_option(name, self.selected[v].pk, label, set(wanted), len(options)))
        return [(None, options, 0)]


class CollectionItemFormSet(GoneRowsFormSet):
    """A collection's rows, whose tracks are loaded together (the queryset's, or those sent)."""

    gone_rows_message = (
        "A track was taken out of this collection after you opened this page: reload the page, then make "
        "your change again."
    )

    def clean(self):
        super().clean()
        kept = [
            form
            for form in self.forms
            if not self._should_delete_form(form) and (form.cleaned_data or {}).get("track") is not None
        ]
        if self.instance.is_published and not kept:
            raise ValidationError(
                "A published collection needs at least one track: add tracks, or untick Published.",
                code="empty_collection",
            )

    def _construct_form(self, i, **kwargs):
        form = super()._construct_form(i, **kwargs)
        widget = form.fields["track"].widget
        getattr(widget, "widget", widget).selected = self._shown_tracks  # inside the admin's wrapper
        return form

    @cached_property
    def _shown_tracks(self):
        if not self.is_bound:
            return {str(item.track_id): item.track for item in self.get_queryset()}
        sent = {self.data.get(f"{self.add_prefix(i)}-track") for i in range(self.total_form_count())}
        ids = [pk for pk in map(whole_number, sent) if pk is not None]
        return {str(t.pk): t for t in self.form.base_fields["track"].queryset.filter(pk__in=ids)}


class CollectionItemInline(admin.TabularInline):
    model = CollectionItem
    form = CollectionItemForm
    formset = CollectionItemFormSet
    verbose_name = "track"
    verbose_name_plural = "tracks (lower position first; a blank position puts a track at the end)"
    extra = 3
    fields = ["position", "track"]
    autocomplete_fields = ["track"]
    ordering = ["position", "id"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("collection", "track")  # each row names both

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "track":
            kwargs["widget"] = SelectedTrackAutocomplete(db_field, self.admin_site, using=kwargs.get("using"))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class CollectionAdminForm(PictureFormMixin, forms.ModelForm):
    picture_field = "cover"


class CollectionRowForm(CollectionAdminForm):
    """A row of the collections list (Published and position edited in place): a collection with no
    tracks is not published from there either (its page says the same, ``CollectionItemFormSet``)."""

    def clean_is_published(self):
        published = self.cleaned_data.get("is_published")
        if published and not self.instance.is_published and not self.instance.items.exists():
            raise ValidationError("Add tracks first: a published collection needs at least one.")
        return published


@admin.register(Collection)
class CollectionAdmin(
    AuditedEditsMixin, AuditedDeletesMixin, PictureAdminMixin, KeepOldAddressMixin, admin.ModelAdmin
):
    edit_audit_action = "catalog.collection_edited"
    add_audit_action = "catalog.collection_added"
    delete_audit_action = "catalog.collection_deleted"
    Media = CatalogAdminMedia
    form = CollectionAdminForm
    list_display = ["title", "is_published", "position", "item_count", "created_at"]
    list_editable = ["is_published", "position"]
    search_fields = ["title"]
    prepopulated_fields = {"slug": ["title"]}
    inlines = [CollectionItemInline]

    def get_changelist_form(self, request, **kwargs):
        return super().get_changelist_form(request, form=CollectionRowForm, **kwargs)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(n=Count("items"))

    @admin.display(description="Tracks", ordering="n")
    def item_count(self, obj):
        return obj.n

    def save_formset(self, request, form, formset, change):
        """Keep item positions a clean 0, 1, 2… in the order staff gave them."""
        super().save_formset(request, form, formset, change)
        if formset.model is CollectionItem:
            items = list(CollectionItem.objects.filter(collection=form.instance).order_by("position", "id"))
            for n, item in enumerate(items):
                if item.position != n:
                    CollectionItem.objects.filter(pk=item.pk).update(position=n)


# --- on the staff site's front page -----------------------------------------------------------

waiting_for_staff("Failed uploads", FailedIngestJob, params={}, status=IngestJob.Status.FAILED)
