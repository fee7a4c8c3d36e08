"""The catalogue: artists, tracks and their versions/stems, taxonomies, collections, favourites.

Masters live in the private storage (``storages["private"]``) and are never served by the
catalogue; previews (128 kbps MP3) and artwork live in the public storage under random,
unguessable names and are streamed to listeners only through signed preview URLs
(``catalog.previews``).
"""

import re
import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone

from .querysets import CollectionQuerySet, FavouriteQuerySet, TrackQuerySet, TrackVersionQuerySet
from .storage import private_storage


def _random_name(prefix, ext):
    return f"{prefix}/{uuid.uuid4().hex[:2]}/{uuid.uuid4().hex}.{ext}"


def master_upload_to(instance, filename):
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return _random_name("masters", ext[:5])


def upload_upload_to(instance, filename):
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return _random_name("uploads", ext[:5])


def preview_upload_to(instance, filename):
    return _random_name("previews", "mp3")


def artwork_upload_to(instance, filename):
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else "jpg"
    return _random_name("artwork", ext[:4])


# An ISRC: country (2 letters), registrant (3 letters or digits), year (2 digits), number (5 digits),
# written with hyphens between them or without.
ISRC_PATTERN = re.compile(r"([A-Z]{2})-?([A-Z0-9]{3})-?([0-9]{2})-?([0-9]{5})")


def normalise_isrc(text):
    """An ISRC as kept: upper case without hyphens ('gb-aaa-24-00001' → 'GBAAA2400001'); "" for
    anything that is not one."""
    match = ISRC_PATTERN.fullmatch((text or "").strip().upper())
    return "".join(match.groups()) if match else ""


class IngestStatus(models.TextChoices):
    PENDING = "pending", "Waiting"
    PROCESSING = "processing", "Processing"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"
    NO_AUDIO = "noaudio", "No audio file"  # a track whose files were all deleted


class Taxonomy(models.Model):
    name = models.CharField(max_length=60, unique=True)
    slug = models.SlugField(max_length=60, unique=True)

    class Meta:
        abstract = True
        ordering = ["name"]

    def __str__(self):
        return self.name


class Genre(Taxonomy):
    pass


class Mood(Taxonomy):
    pass


class Instrument(Taxonomy):
    pass


class Theme(Taxonomy):
    pass


class SoundCategory(models.Model):
    """A node of the sound-effect category tree (e.g. Foley › Footsteps)."""

    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    name = models.CharField(max_length=80)
    slug = models.SlugField(max_length=80, unique=True)
    position = models.PositiveSmallIntegerField(
        default=0,
        help_text="Lower comes first among the categories under the same parent; equal ones go by name.",
    )

    class Meta:
        ordering = ["position", "name"]
        verbose_name_plural = "sound categories"
        constraints = [
            models.UniqueConstraint(fields=["parent", "name"], name="sound_category_unique_name_in_parent"),
        ]

    def __str__(self):
        return self.name

    def ancestors(self):
        """From the root down to this node's parent (one query per level; trees are shallow)."""
        chain, node = [], self.parent
        while node is not None:
            chain.append(node)
            node = node.parent
        return list(reversed(chain))

    @property
    def path_name(self):
        return " › ".join([a.name for a in self.ancestors()] + [self.name])


class Artist(models.Model):
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=140, unique=True)
    bio = models.TextField(blank=True)
    image = models.ImageField(upload_to=artwork_upload_to, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("catalog:artist-detail", args=[self.slug])


class TrackLabels:
    """What a track shows about itself, shared by ``Track`` and the result rows' ``TrackCard``
    (``catalog.cards``): needs ``slug``, ``kind``, ``key``, ``mode`` and ``duration_seconds``."""

    __slots__ = ()

    def get_absolute_url(self):
        return reverse("catalog:track-detail", args=[self.slug])

    @property
    def is_sfx(self):
        return self.kind == "sfx"

    @property
    def key_label(self):
        if not self.key:
            return ""
        return f"{self.key.replace('#', '♯')} {self.mode}".strip()

    @property
    def duration_label(self):
        from .templatetags.catalog_tags import seconds

        return seconds(self.duration_seconds)


class Track(TrackLabels, models.Model):
    """One work (a piece of music or a sound effect). Its files are its ``versions``."""

    class Kind(models.TextChoices):
        MUSIC = "music", "Music"
        SFX = "sfx", "Sound effect"

    class Mode(models.TextChoices):
        MAJOR = "major", "major"
        MINOR = "minor", "minor"

    class Vocals(models.TextChoices):
        NONE = "none", "Instrumental"
        FEMALE = "female", "Female vocals"
        MALE = "male", "Male vocals"
        MIXED = "mixed", "Mixed vocals"

    KEYS = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]
    KEY_CHOICES = [(k, k.replace("#", "♯")) for k in KEYS]

    kind = models.CharField(max_length=5, choices=Kind.choices, default=Kind.MUSIC)
    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=220, unique=True)
    artist = models.ForeignKey(Artist, on_delete=models.PROTECT, related_name="tracks")
    album = models.CharField(max_length=200, blank=True)
    description = models.TextField(blank=True)
    genres = models.ManyToManyField(Genre, blank=True, related_name="tracks")
    moods = models.ManyToManyField(Mood, blank=True, related_name="tracks")
    instruments = models.ManyToManyField(Instrument, blank=True, related_name="tracks")
    themes = models.ManyToManyField(Theme, blank=True, related_name="tracks")
    # A category in use cannot be deleted (staff move its tracks first): deleting it would quietly
    # take published sounds out of the category tree.
    sound_category = models.ForeignKey(
        SoundCategory, null=True, blank=True, on_delete=models.PROTECT, related_name="tracks"
    )
    bpm = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(20), MaxValueValidator(300)]
    )
    key = models.CharField(max_length=2, choices=KEY_CHOICES, blank=True)
    mode = models.CharField(max_length=5, choices=Mode.choices, blank=True)
    duration_seconds = models.FloatField(default=0)
    vocals = models.CharField(max_length=6, choices=Vocals.choices, default=Vocals.NONE)
    explicit = models.BooleanField(default=False)
    energy = models.PositiveSmallIntegerField(
        default=3,
        validators=[MinValueValidator(1), MaxValueValidator(5)],
        help_text="1 (calm) to 5 (intense)",
    )
    release_date = models.DateField(null=True, blank=True)
    is_published = models.BooleanField("published", default=False)
    # When customers could first find it (set on the first save or bulk publish that publishes it;
    # unpublishing and publishing again keeps it): the followed-artists email reports by it.
    published_at = models.DateTimeField("first published", null=True, blank=True, editable=False)
    created_at = models.DateTimeField("added", auto_now_add=True)
    updated_at = models.DateTimeField("last changed", auto_now=True)
    play_count = models.PositiveIntegerField(default=0)
    popularity = models.IntegerField(
        default=0,
        help_text="Higher ranks first in “popular” order. Worked out every night from plays, favourites "
        "and licences, plus the editorial boost.",
    )
    popularity_boost = models.IntegerField(
        "editorial boost",
        default=0,
        db_default=0,  # raw-SQL loads (the benchmark's generator) may leave it out
        help_text="Added to the popularity worked out each night from plays, favourites and licences "
        "(from the next refresh on); negative to hold a track back.",
    )
    trending = models.IntegerField(
        "trending this week",
        default=0,
        db_default=0,  # raw-SQL loads (the benchmark's generator) may leave it out
        editable=False,
        help_text="Plays, favourites and licences of the last seven days, weighted as for popularity. "
        "Worked out every night; orders “Trending”.",
    )
    isrc = models.CharField("ISRC", max_length=15, blank=True)
    # SHA-256 of the main (full) version's master; the same file cannot become two tracks.
    content_hash = models.CharField(
        "fingerprint of the main file",
        max_length=64,
        unique=True,
        null=True,
        blank=True,
        editable=False,
        help_text="SHA-256 of the full version's master: the same file cannot become a second track.",
    )

    artwork = models.ImageField(
        upload_to=artwork_upload_to,
        blank=True,
        help_text="Kept as a JPEG of at most 720 px, with WebP copies for pages and result rows.",
    )
    artwork_medium = models.ImageField(upload_to=artwork_upload_to, blank=True, editable=False)  # WebP 480
    artwork_small = models.ImageField(upload_to=artwork_upload_to, blank=True, editable=False)  # WebP 160
    artwork_color = models.CharField(max_length=7, blank=True, editable=False)  # average colour, #rrggbb
    # 100 bar heights (0–100) of the main version, for the mini waveform of a result row.
    waveform = models.JSONField(default=list, blank=True, editable=False)

    ingest_status = models.CharField(
        "audio status",
        max_length=10,
        choices=IngestStatus.choices,
        default=IngestStatus.PENDING,
        db_index=True,
        help_text="Set by processing the uploaded audio; only a ready track can be published.",
    )
    ingest_error = models.TextField("why processing failed", blank=True)

    objects = TrackQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["is_published", "kind", "-published_at"], name="track_pub_kind_new"),
            models.Index(fields=["is_published", "kind", "-popularity"], name="track_pub_kind_popular"),
            # The home page's trending shelf: only tracks in use this week, a small index.
            models.Index(
                fields=["-trending", "-popularity", "-id"],
                condition=models.Q(trending__gt=0),
                name="track_trending",
            ),
            models.Index(fields=["bpm"], name="track_bpm"),
            models.Index(fields=["duration_seconds"], name="track_duration"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(energy__gte=1, energy__lte=5), name="track_energy_1_to_5"
            ),
            # "New" and "Newest" go by first publication: a published track always has its date.
            models.CheckConstraint(
                condition=models.Q(is_published=False) | models.Q(published_at__isnull=False),
                name="track_published_has_date",
            ),
        ]

    def __str__(self):
        return self.title

    def save(self, *args, **kwargs):
        if self.is_published and self.published_at is None:
            self.published_at = timezone.now()
            if kwargs.get("update_fields") is not None:
                kwargs["update_fields"] = {*kwargs["update_fields"], "published_at"}
        super().save(*args, **kwargs)

    def main_version(self):
        """The full version (or the first ready one), using prefetched versions when present."""
        versions = [v for v in self.versions.all() if v.ingest_status == IngestStatus.READY]
        for v in versions:
            if v.kind == TrackVersion.Kind.FULL:
                return v
        return versions[0] if versions else None


class TrackVersion(models.Model):
    """One file of a track: the full mix, an edit, a loop or a stem, with its own preview and peaks."""

    class Kind(models.TextChoices):
        FULL = "full", "Full track"
        INSTRUMENTAL = "instrumental", "Instrumental"
        SIXTY = "60s", "60 seconds"
        THIRTY = "30s", "30 seconds"
        FIFTEEN = "15s", "15 seconds"
        LOOP = "loop", "Loop"
        STEM = "stem", "Stem"

    track = models.ForeignKey(Track, on_delete=models.CASCADE, related_name="versions")
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.FULL)
    name = models.CharField(max_length=120, blank=True, help_text="e.g. “Drums stem”; blank uses the kind.")
    position = models.PositiveSmallIntegerField(default=0, help_text="Lower comes first on the track's page.")

    master = models.FileField(upload_to=master_upload_to, storage=private_storage, max_length=255)
    original_filename = models.CharField(max_length=255, blank=True)
    format = models.CharField(max_length=8, blank=True)  # wav, flac, aiff, mp3
    file_size = models.BigIntegerField(default=0)
    sample_rate = models.PositiveIntegerField(null=True, blank=True)
    bit_depth = models.PositiveSmallIntegerField(null=True, blank=True)
    channels = models.PositiveSmallIntegerField(null=True, blank=True)
    bitrate = models.PositiveIntegerField(null=True, blank=True, help_text="bits per second")
    duration_seconds = models.FloatField(default=0)

    preview = models.FileField(upload_to=preview_upload_to, blank=True, max_length=255)
    # ~1000 [min, max] pairs in -127..127 from the decoded audio.
    peaks = models.JSONField(default=list, blank=True)
    content_hash = models.CharField(max_length=64, unique=True, null=True, blank=True)

    ingest_status = models.CharField(
        "audio status",
        max_length=10,
        choices=IngestStatus.choices,
        default=IngestStatus.PENDING,
        db_index=True,
    )
    ingest_error = models.TextField("why processing failed", blank=True)
    ingested_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TrackVersionQuerySet.as_manager()

    class Meta:
        ordering = ["position", "id"]

    def __str__(self):
        return f"{self.track} — {self.label}"

    @property
    def label(self):
        return self.name or self.get_kind_display()

    @property
    def is_stem(self):
        return self.kind == self.Kind.STEM

    @property
    def duration_label(self):
        from .templatetags.catalog_tags import seconds

        return seconds(self.duration_seconds)


class IngestJob(models.Model):
    """One uploaded or imported file on its way into the catalogue."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    class Source(models.TextChoices):
        ADMIN = "admin", "Staff upload"
        IMPORT = "import", "Command-line import"
        DEMO = "demo", "Demo catalogue"

    upload = models.FileField(upload_to=upload_upload_to, storage=private_storage, max_length=255)
    original_filename = models.CharField("file name", max_length=255)
    source = models.CharField(max_length=6, choices=Source.choices, default=Source.ADMIN)
    # What staff said about the file: kind, version_kind, version_name, track (id to attach to),
    # title, artist, genres, moods, instruments, themes, sound_category, publish, …
    options = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING, db_index=True)
    error = models.TextField("reason", blank=True)  # why it failed, or which track it duplicates
    duplicate_of = models.ForeignKey(
        TrackVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    track = models.ForeignKey(
        Track, null=True, blank=True, on_delete=models.SET_NULL, related_name="ingest_jobs"
    )
    version = models.ForeignKey(
        TrackVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="ingest_jobs"
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="added by",
    )
    created_at = models.DateTimeField("added", auto_now_add=True)
    started_at = models.DateTimeField("processing started", null=True, blank=True)
    finished_at = models.DateTimeField("processing finished", null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "upload"
        verbose_name_plural = "uploads"

    def __str__(self):
        return self.original_filename


class FailedIngestJob(IngestJob):
    """The staff list of failed uploads and imports (admin shows their reasons and a retry action)."""

    class Meta:
        proxy = True
        verbose_name = "failed upload"
        verbose_name_plural = "failed uploads"


class Collection(models.Model):
    """A staff-curated, ordered list of tracks."""

    title = models.CharField(max_length=140)
    slug = models.SlugField(max_length=160, unique=True)
    description = models.TextField(blank=True)
    cover = models.ImageField(upload_to=artwork_upload_to, blank=True)
    is_published = models.BooleanField("published", default=False)
    position = models.PositiveSmallIntegerField(default=0, help_text="Lower comes first on /collections/.")
    created_at = models.DateTimeField("added", auto_now_add=True)
    tracks = models.ManyToManyField(Track, through="CollectionItem", related_name="collections")

    objects = CollectionQuerySet.as_manager()

    class Meta:
        ordering = ["position", "-created_at"]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("catalog:collection-detail", args=[self.slug])


class CollectionItem(models.Model):
    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="items")
    track = models.ForeignKey(Track, on_delete=models.CASCADE, related_name="collection_items")
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["collection", "track"], name="collection_item_unique_track"),
        ]

    def __str__(self):
        return f"{self.collection} #{self.position}: {self.track}"


class Favourite(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="favourites")
    track = models.ForeignKey(Track, on_delete=models.CASCADE, related_name="favourites")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = FavouriteQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["user", "track"], name="favourite_unique_user_track"),
        ]

    def __str__(self):
        return f"{self.user} ♥ {self.track}"


class DailyPlays(models.Model):
    """The preview plays a track had on one day (counted as ``play_count`` is: a visitor's plays of a
    version once a day). Kept for the trending window only (``services.refresh_popularity``)."""

    track = models.ForeignKey(Track, on_delete=models.CASCADE, related_name="daily_plays")
    day = models.DateField()
    plays = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name_plural = "daily plays"
        constraints = [
            models.UniqueConstraint(fields=["track", "day"], name="daily_plays_unique_track_day"),
        ]
        indexes = [models.Index(fields=["day"], name="daily_plays_day")]

    def __str__(self):
        return f"{self.track} on {self.day}: {self.plays}"


class Playlist(models.Model):
    """A member's own list of tracks (for a project, a client, a mood board). Private to the account."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="playlists")
    title = models.CharField(max_length=80)
    # Set while the owner shares the playlist: anyone with its link may listen (read only).
    share_token = models.CharField(max_length=32, unique=True, null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField("last changed", auto_now=True)

    class Meta:
        ordering = ["-updated_at", "-id"]
        constraints = [
            # One playlist of a name per account, whatever its case: a form sent twice makes one.
            models.UniqueConstraint(Lower("title"), "user", name="playlist_unique_title"),
        ]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("catalog:playlist-detail", args=[self.pk])

    def get_shared_url(self):
        return reverse("catalog:shared-playlist", args=[self.share_token]) if self.share_token else ""


class PlaylistItem(models.Model):
    """A track in a playlist, at ``position`` (lowest first). New tracks go on top (one below the
    lowest position, so positions may be negative); the owner moves them up and down from there."""

    playlist = models.ForeignKey(Playlist, on_delete=models.CASCADE, related_name="items")
    track = models.ForeignKey(Track, on_delete=models.CASCADE, related_name="playlist_items")
    position = models.IntegerField(default=0, db_default=0)  # rows written by older code during a deploy
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["position", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["playlist", "track"], name="playlist_item_unique_track"),
        ]
        indexes = [models.Index(fields=["playlist", "position"], name="playlist_item_order")]

    def __str__(self):
        return f"{self.playlist} · {self.track}"


class FollowDigest(models.Model):
    """A member's weekly email of new tracks from the artists they follow: whether they want it (it
    goes only to accounts that allow promotional email) and how far the last one reported, so a
    run repeated or resumed sends nothing twice."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="follow_digest"
    )
    wanted = models.BooleanField(default=True)
    covered_until = models.DateTimeField(
        null=True, blank=True, help_text="Tracks first published up to this time have been reported."
    )
    # The last email's span starts here and its notice-log row: an email claimed but never sent
    # (the worker died between) is sent by the next run, once.
    since = models.DateTimeField(null=True, blank=True)
    delivery = models.ForeignKey(
        "legal.NoticeDelivery", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    sent_at = models.DateTimeField("last sent", null=True, blank=True)

    def __str__(self):
        return f"{self.user}: {'wanted' if self.wanted else 'not wanted'}"


class ArtistFollow(models.Model):
    """A member follows an artist: their new tracks show on the member's home page and following page."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="artist_follows"
    )
    artist = models.ForeignKey(Artist, on_delete=models.CASCADE, related_name="follows")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "artist"], name="artist_follow_unique_user_artist"),
        ]

    def __str__(self):
        return f"{self.user} follows {self.artist}"
