"""Licensing state: end users, projects, licences, downloads and licence letters.

A licence is one account × one end user × one project × one track, with a code anyone can
verify. Licences, end users and projects are never deleted by a user action (PROTECT
everywhere): they are the proof of what was licensed, and they outlive the account's
cancellation (the account row is anonymised, never deleted).
"""

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

# No 0/O, 1/I/L, U/V look-alikes: a code read aloud or copied from paper still works.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTWXYZ"
CODE_PREFIX = "AMT"


def new_code():
    def block():
        return "".join(secrets.choice(CODE_ALPHABET) for _ in range(4))

    return f"{CODE_PREFIX}-{block()}-{block()}"


def normalise_code(raw):
    """What a person typed → the stored form (upper case, dashes in place); "" if it cannot be one."""
    text = "".join(ch for ch in (raw or "").upper() if ch.isalnum())
    if text.startswith(CODE_PREFIX):
        text = text[len(CODE_PREFIX) :]
    if len(text) != 8:
        return ""
    return f"{CODE_PREFIX}-{text[:4]}-{text[4:]}"


def _private_storage():
    """The private storage, resolved when used (tests and deployments swap STORAGES)."""
    from catalog.storage import private_storage

    return private_storage()


class Platform(models.TextChoices):
    YOUTUBE = "youtube", "YouTube"
    TIKTOK = "tiktok", "TikTok"
    INSTAGRAM = "instagram", "Instagram"
    FACEBOOK = "facebook", "Facebook"
    PODCAST = "podcast", "Podcast"
    FILM = "film", "Film / TV"
    ADVERT = "advert", "Advert"
    WEBSITE = "website", "Website"
    GAME = "game", "Game / app"
    OTHER = "other", "Other"


class EndUserQuerySet(models.QuerySet):
    def for_account(self, user):
        return self.filter(account=user)


class EndUser(models.Model):
    """The person or company that will use the works.

    Individual accounts have exactly one (``sole``), fixed by the first download; the
    database refuses a second. Enterprise accounts name ``designated`` end users in writing,
    up to their seat count.
    """

    class Kind(models.TextChoices):
        SOLE = "sole", "Sole end user"
        DESIGNATED = "designated", "Designated end user"

    account = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="end_users")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    name = models.CharField(max_length=160)
    role = models.CharField("role or company", max_length=160, blank=True)
    email = models.EmailField(blank=True, help_text="Receives a notice of the licence scope. Optional.")
    agreement_version = models.PositiveIntegerField(
        "Music Licence Agreement version",
        null=True,
        blank=True,
        help_text="Music Licence Agreement version in force when named.",
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = EndUserQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["account"], condition=Q(kind="sole"), name="licensing_one_sole_end_user_per_account"
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.role})" if self.role else self.name


class ProjectQuerySet(models.QuerySet):
    def for_account(self, user):
        return self.filter(account=user)


class Project(models.Model):
    """One single use of works (the agreement's "item"): a video, an episode, an advert…"""

    account = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="projects")
    title = models.CharField(max_length=200)
    platform = models.CharField(max_length=12, choices=Platform.choices)
    url = models.CharField("URL or channel", max_length=300, blank=True)
    client_name = models.CharField(
        max_length=160, blank=True, help_text="For enterprise work done for a client."
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = ProjectQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["account", "-created_at"])]

    def __str__(self):
        return f"{self.title} ({self.get_platform_display()})"


class LicenseQuerySet(models.QuerySet):
    def for_account(self, user):
        if not getattr(user, "is_authenticated", False):
            return self.none()
        return self.filter(account=user)

    def active(self):
        return self.filter(status=License.Status.ACTIVE)

    def for_list(self):
        return self.select_related("track__artist", "end_user", "project").prefetch_related("letters")


class License(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Valid"
        REVOKED = "revoked", "Revoked"

    class SourceType(models.TextChoices):
        MEMBERSHIP = "membership", "Membership"
        CREDIT = "credit", "Single-track purchase"

    code = models.CharField(max_length=13, unique=True, editable=False)
    account = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="licenses")
    end_user = models.ForeignKey(EndUser, on_delete=models.PROTECT, related_name="licenses")
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="licenses")
    track = models.ForeignKey("catalog.Track", on_delete=models.PROTECT, related_name="licenses")
    version = models.ForeignKey(
        "catalog.TrackVersion",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="file first downloaded",
        help_text="Every version of the track is covered.",
    )
    agreement_version = models.PositiveIntegerField(
        "Music Licence Agreement version", help_text="Music Licence Agreement version in force."
    )
    source_type = models.CharField("payment", max_length=12, choices=SourceType.choices)
    source_id = models.PositiveIntegerField(help_text="Subscription id or TrackCredit id in billing.")
    submission = models.UUIDField(help_text="The download form's token: one licence per form submission.")
    issued_at = models.DateTimeField(default=timezone.now, db_index=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.ACTIVE)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.TextField(blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    download_count = models.PositiveIntegerField(default=0)
    last_downloaded_at = models.DateTimeField(null=True, blank=True)

    objects = LicenseQuerySet.as_manager()

    class Meta:
        ordering = ["-issued_at", "-id"]
        verbose_name = "licence"
        constraints = [
            models.UniqueConstraint(
                fields=["account", "submission"], name="licensing_one_license_per_submission"
            ),
            models.UniqueConstraint(
                fields=["track", "project"],
                condition=Q(status="active"),
                name="licensing_one_active_license_per_track_project",
            ),
        ]
        indexes = [models.Index(fields=["account", "-issued_at"])]

    def __str__(self):
        return self.code

    def get_absolute_url(self):
        return reverse("licensing:license-detail", args=[self.code])

    def get_verify_url(self):
        return reverse("licensing:verify-code", args=[self.code])

    @property
    def absolute_verify_url(self):
        return f"{settings.SITE_URL}{self.get_verify_url()}"

    @property
    def is_active(self):
        return self.status == self.Status.ACTIVE

    @property
    def is_revoked(self):
        return self.status == self.Status.REVOKED


class Download(models.Model):
    """One file handed out for a licence (first download or re-download)."""

    license = models.ForeignKey(
        License, on_delete=models.PROTECT, related_name="downloads", verbose_name="licence"
    )
    version = models.ForeignKey(
        "catalog.TrackVersion", null=True, on_delete=models.SET_NULL, related_name="+", verbose_name="file"
    )
    created_at = models.DateTimeField("downloaded at", default=timezone.now)
    ip = models.GenericIPAddressField("IP address", null=True, blank=True)
    first = models.BooleanField(
        "issued the licence", default=False, help_text="The download that issued the licence."
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"Download of {self.license.code} at {timezone.localtime(self.created_at):%Y-%m-%d %H:%M}"


def letter_upload_to(instance, filename):
    return f"licence-letters/{instance.account_id}/{filename}"


class Letter(models.Model):
    """A PDF licence letter for one licence, or (enterprise) several licences of one project.

    ``key`` names the set of licences, so asking twice finds the same letter; staff can
    regenerate it (``revision`` goes up, the file is replaced).
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to be made"
        RENDERING = "rendering", "Being made"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    account = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="license_letters"
    )
    # "L:" and the sorted licence ids: up to LETTER_MAX_LICENCES (51) ids of up to 18 digits each.
    key = models.CharField(max_length=1000, unique=True, editable=False)
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="letters")
    licenses = models.ManyToManyField(License, related_name="letters", verbose_name="licences")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    revision = models.PositiveSmallIntegerField(default=1)
    file = models.FileField(
        "PDF", upload_to=letter_upload_to, storage=_private_storage, max_length=300, blank=True
    )
    error = models.TextField(blank=True)
    requested_at = models.DateTimeField(default=timezone.now)
    rendered_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        verbose_name = "licence letter"

    def __str__(self):
        return f"Licence letter {self.pk} (revision {self.revision})"

    @property
    def is_ready(self):
        return self.status == self.Status.READY

    @property
    def is_working(self):
        return self.status in (self.Status.PENDING, self.Status.RENDERING)

    def filename(self):
        first = self.licenses.order_by("issued_at", "id").first()
        return f"AllMyTracks licence letter {first.code if first else self.pk}.pdf"
