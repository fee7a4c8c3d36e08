"""Staff tools for the catalogue: tracks with their versions, uploads and their ingest, collections."""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.db.models import Count
from django.urls import reverse
from django.utils.html import format_html

from allmytracks import audit
from allmytracks.tasks import enqueue_on_commit

from . import ingest, services
from .models import (
    Artist,
    Collection,
    CollectionItem,
    FailedIngestJob,
    Genre,
    IngestJob,
    Instrument,
    Mood,
    SoundCategory,
    Theme,
    Track,
    TrackVersion,
)
from .tasks import ingest_job

STATUS_CLASS = {
    "ready": "ok",
    "done": "ok",
    "failed": "danger",
    "pending": "muted",
    "running": "warn",
    "processing": "warn",
}


def status_badge(value, label):
    return format_html('<span class="status status-{}">{}</span>', STATUS_CLASS.get(value, "muted"), label)


class CatalogAdminMedia:
    css = {"all": ["css/catalog-admin.css"]}


# --- taxonomies ---------------------------------------------------------------------------


class TaxonomyAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "track_count"]
    search_fields = ["name"]
    prepopulated_fields = {"slug": ["name"]}

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(n=Count("tracks"))

    @admin.display(description="Tracks", ordering="n")
    def track_count(self, obj):
        return obj.n


for model in (Genre, Mood, Instrument, Theme):
    admin.site.register(model, TaxonomyAdmin)


@admin.register(SoundCategory)
class SoundCategoryAdmin(admin.ModelAdmin):
    list_display = ["path_name", "slug", "position"]
    list_select_related = ["parent", "parent__parent"]
    list_editable = ["position"]
    search_fields = ["name"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Artist)
class ArtistAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "track_count", "created_at"]
    search_fields = ["name"]
    prepopulated_fields = {"slug": ["name"]}

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(n=Count("tracks"))

    @admin.display(description="Tracks", ordering="n")
    def track_count(self, obj):
        return obj.n


# --- tracks -------------------------------------------------------------------------------


class TrackVersionInline(admin.TabularInline):
    model = TrackVersion
    extra = 0
    can_delete = True
    show_change_link = False
    fields = ["kind", "name", "position", "original_filename", "technical", "status", "preview_player"]
    readonly_fields = ["original_filename", "technical", "status", "preview_player"]

    def has_add_permission(self, request, obj=None):
        return False  # versions arrive through an upload ("Add ingest job" with this track)

    @admin.display(description="File")
    def technical(self, obj):
        parts = [obj.format.upper()]
        if obj.sample_rate:
            parts.append(f"{obj.sample_rate} Hz")
        if obj.bit_depth:
            parts.append(f"{obj.bit_depth}-bit")
        if obj.channels:
            parts.append(f"{obj.channels} ch")
        if obj.bitrate:
            parts.append(f"{obj.bitrate // 1000} kbps")
        parts.append(obj.duration_label)
        return " · ".join(p for p in parts if p)

    @admin.display(description="Ingest")
    def status(self, obj):
        badge = status_badge(obj.ingest_status, obj.get_ingest_status_display())
        return format_html("{}<br>{}", badge, obj.ingest_error) if obj.ingest_error else badge

    @admin.display(description="Preview")
    def preview_player(self, obj):
        if not obj.preview:
            return "—"
        from .previews import preview_url

        return format_html('<audio controls preload="none" src="{}"></audio>', preview_url(obj.pk))


@admin.register(Track)
class TrackAdmin(admin.ModelAdmin):
    Media = CatalogAdminMedia
    list_display = [
        "title",
        "artist",
        "kind",
        "status",
        "is_published",
        "bpm",
        "key_label",
        "duration_label",
        "created_at",
    ]
    list_filter = ["kind", "is_published", "ingest_status", "genres", "moods", "vocals", "explicit"]
    list_select_related = ["artist"]
    search_fields = ["title", "artist__name", "isrc", "slug"]
    autocomplete_fields = ["artist"]
    filter_horizontal = ["genres", "moods", "instruments", "themes"]
    prepopulated_fields = {"slug": ["title"]}
    readonly_fields = [
        "popularity",  # worked out nightly from use (catalog.services.refresh_popularity)
        "play_count",
        "duration_seconds",
        "content_hash",
        "created_at",
        "updated_at",
        "ingest_error",
        "artwork_preview",
    ]
    inlines = [TrackVersionInline]
    actions = ["publish", "unpublish"]
    date_hierarchy = "created_at"
    fieldsets = [
        (None, {"fields": ["kind", "title", "slug", "artist", "album", "description", "is_published"]}),
        ("Tags", {"fields": ["genres", "moods", "instruments", "themes", "sound_category"]}),
        ("Music", {"fields": ["bpm", "key", "mode", "energy", "vocals", "explicit", "release_date", "isrc"]}),
        ("Artwork", {"fields": ["artwork", "artwork_preview"]}),
        ("Ranking", {"fields": ["popularity_boost", "popularity", "play_count"]}),
        (
            "Ingest",
            {
                "fields": [
                    "ingest_status",
                    "ingest_error",
                    "duration_seconds",
                    "content_hash",
                    "created_at",
                    "updated_at",
                ]
            },
        ),
    ]

    @admin.display(description="Ingest", ordering="ingest_status")
    def status(self, obj):
        return status_badge(obj.ingest_status, obj.get_ingest_status_display())

    @admin.display(description="Key")
    def key_label(self, obj):
        return obj.key_label

    @admin.display(description="Duration", ordering="duration_seconds")
    def duration_label(self, obj):
        return obj.duration_label

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
        try:
            n = services.set_published(queryset, published, actor=request.user, request=request)
        except services.CatalogError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return
        word = "published" if published else "unpublished"
        self.message_user(request, f"{n} track(s) {word}.", messages.SUCCESS)


# --- uploads and their ingest -------------------------------------------------------------


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
    sound_category = forms.ModelChoiceField(SoundCategory.objects.all(), required=False, to_field_name="slug")
    publish = forms.BooleanField(required=False, help_text="Publish as soon as ingest succeeds.")

    class Meta:
        model = IngestJob
        fields = []

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


class IngestJobAdminBase(admin.ModelAdmin):
    Media = CatalogAdminMedia
    list_display = [
        "original_filename",
        "job_status",
        "reason",
        "track_link",
        "source",
        "attempts",
        "created_at",
    ]
    list_filter = ["status", "source"]
    search_fields = ["original_filename", "error"]
    list_select_related = ["track"]
    actions = ["retry"]
    readonly_fields = [
        "original_filename",
        "source",
        "job_status",
        "error",
        "track_link",
        "duplicate_of",
        "options",
        "attempts",
        "created_by",
        "created_at",
        "started_at",
        "finished_at",
    ]

    @admin.display(description="Status", ordering="status")
    def job_status(self, obj):
        return status_badge(obj.status, obj.get_status_display())

    @admin.display(description="Reason / note")
    def reason(self, obj):
        return obj.error or "—"

    @admin.display(description="Track")
    def track_link(self, obj):
        if not obj.track_id:
            return "—"
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:catalog_track_change", args=[obj.track_id]), obj.track
        )

    @admin.action(description="Retry the selected failed jobs")
    def retry(self, request, queryset):
        n = 0
        for job in queryset.filter(status=IngestJob.Status.FAILED):
            if ingest.retry_job(job):
                audit.record("catalog.ingest_retry", actor=request.user, target=job, request=request)
                n += 1
        self.message_user(request, f"{n} job(s) queued again." if n else "Only failed jobs can be retried.")


@admin.register(IngestJob)
class IngestJobAdmin(IngestJobAdminBase):
    add_form = IngestUploadForm

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

    def has_change_permission(self, request, obj=None):
        return (
            False
            if obj is not None and request.method == "POST"
            else super().has_change_permission(request, obj)
        )

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
        self.message_user(request, f"“{upload.name}” is queued for ingest. Its status shows in this list.")

    def save_related(self, request, form, formsets, change):
        pass


@admin.register(FailedIngestJob)
class FailedIngestJobAdmin(IngestJobAdminBase):
    """Every upload or import that failed, with the reason, and a retry action."""

    list_display = ["original_filename", "reason", "source", "attempts", "finished_at"]
    list_filter = ["source"]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(status=IngestJob.Status.FAILED)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


# --- collections --------------------------------------------------------------------------


class CollectionItemInline(admin.TabularInline):
    model = CollectionItem
    extra = 3
    fields = ["position", "track"]
    autocomplete_fields = ["track"]
    ordering = ["position", "id"]


@admin.register(Collection)
class CollectionAdmin(admin.ModelAdmin):
    list_display = ["title", "is_published", "position", "item_count", "created_at"]
    list_editable = ["is_published", "position"]
    search_fields = ["title"]
    prepopulated_fields = {"slug": ["title"]}
    inlines = [CollectionItemInline]

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
