"""Agreements, their versions, who accepted what, and the notices served to users.

Records that prove something (acceptances, the notice log, consent changes) are
append-only: their querysets and instances refuse ``delete()``, and admin never offers it.
They point at the user with ``on_delete=SET_NULL`` and keep a SHA-256 of the user's email
address (``email_hash``) taken when the row was written. When an account is cancelled and
anonymised the personal data goes, but the row still proves that "the holder of the address
with this hash accepted version N at this time from this IP": the operator can show it by
hashing the address a claimant gives. That is why we chose SET_NULL + hash over PROTECT,
which would block the anonymisation the agreement requires.
"""

import hashlib

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from .querysets import (
    AnnouncementQuerySet,
    AppendOnlyQuerySet,
    MessageQuerySet,
    VersionQuerySet,
)


def email_hash(email):
    return hashlib.sha256((email or "").strip().lower().encode()).hexdigest()


def text_hash(text):
    return hashlib.sha256((text or "").encode()).hexdigest()


class AppendOnly(models.Model):
    """A row that is written once and never deleted (see the module docstring)."""

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def delete(self, *args, **kwargs):
        raise ValidationError(f"{self._meta.verbose_name} records are kept for good and cannot be deleted.")


class DocumentKind(models.TextChoices):
    USER_AGREEMENT = "user-agreement", "User Agreement"
    PRIVACY_POLICY = "privacy-policy", "Privacy Policy"
    PREMIUM_MEMBERSHIP = "premium-membership", "Premium Membership Service Agreement"
    MUSIC_LICENCE = "music-licence", "Music Licence Agreement"


# Everyone must accept these; the others only bind users who accepted a version before
# (members at checkout, licensees when a licence is granted).
REQUIRED_FOR_EVERYONE = frozenset({DocumentKind.USER_AGREEMENT, DocumentKind.PRIVACY_POLICY})


class Document(models.Model):
    kind = models.SlugField(max_length=40, unique=True, choices=DocumentKind.choices)
    title = models.CharField(max_length=120)
    description = models.CharField(max_length=300, blank=True, help_text="One line shown on /legal/.")
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = "agreement"

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("legal:document", args=[self.kind])

    @property
    def slug(self):
        return self.kind

    @property
    def required_for_everyone(self):
        return self.kind in REQUIRED_FOR_EVERYONE


class Version(models.Model):
    """One numbered text of a document. Once published nothing about it changes."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"

    # What may never change after publication.
    FROZEN_FIELDS = (
        "document_id",
        "number",
        "title",
        "body",
        "summary",
        "effective_at",
        "material",
        "body_sha256",
    )

    document = models.ForeignKey(
        Document, on_delete=models.PROTECT, related_name="versions", verbose_name="agreement"
    )
    number = models.PositiveIntegerField(help_text="1, 2, 3… unique per document.")
    title = models.CharField(max_length=160)
    body = models.TextField(
        help_text="Markdown. **Bold** and <u>underline</u> mark the clauses that limit liability or rights."
    )
    summary = models.TextField("summary of changes", blank=True)
    effective_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When it takes effect. Empty or in the past: the moment it is published.",
    )
    material = models.BooleanField(
        "material change",
        default=True,
        help_text="Material changes must be accepted again before the next download or purchase. "
        "Other changes are accepted by continued use and only notified.",
    )
    body_sha256 = models.CharField("text fingerprint (SHA-256)", max_length=64, editable=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    published_at = models.DateTimeField(null=True, blank=True, editable=False)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = VersionQuerySet.as_manager()

    class Meta:
        ordering = ["document__position", "-number"]
        verbose_name = "agreement version"
        constraints = [
            models.UniqueConstraint(fields=["document", "number"], name="legal_version_number_unique"),
            models.CheckConstraint(
                condition=Q(status="draft") | Q(effective_at__isnull=False, published_at__isnull=False),
                name="legal_version_published_has_dates",
            ),
        ]
        indexes = [models.Index(fields=["document", "status", "effective_at"])]

    def __str__(self):
        return f"{self.document.title} v{self.number}"

    def save(self, *args, **kwargs):
        if self.pk:
            old = Version.objects.filter(pk=self.pk).values(*self.FROZEN_FIELDS, "status").first()
            if old and old["status"] == self.Status.PUBLISHED:
                changed = [f for f in self.FROZEN_FIELDS if old[f] != getattr(self, f)]
                if changed or self.status != self.Status.PUBLISHED:
                    raise ValidationError(
                        f"{self} is published and cannot be changed ({', '.join(changed) or 'status'}). "
                        "Make a new draft instead."
                    )
        self.body_sha256 = text_hash(self.body)
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return reverse("legal:version", args=[self.document.kind, self.number])

    def delete(self, *args, **kwargs):
        if self.is_published:
            raise ValidationError(f"{self} is published and cannot be deleted.")
        return super().delete(*args, **kwargs)

    @property
    def is_published(self):
        return self.status == self.Status.PUBLISHED

    @property
    def is_in_future(self):
        return self.is_published and self.effective_at > timezone.now()

    @property
    def kind(self):
        return self.document.kind

    def get_changes_url(self):
        return reverse("legal:changes", args=[self.document.kind, self.number])


class AcceptanceMethod(models.TextChoices):
    SIGNUP = "signup", "Sign-up tick"
    REACCEPT = "reaccept", "Re-acceptance"
    GUARDIAN = "guardian", "Guardian confirmation"
    CHECKOUT = "checkout", "At checkout"
    CONTINUED_USE = "continued_use", "Continued use (non-material change)"


class Acceptance(AppendOnly):
    """Proof that one account accepted one version. Never deleted, never edited."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="acceptances"
    )
    email_hash = models.CharField(
        "email fingerprint (SHA-256)", max_length=64, help_text="SHA-256 of the account email when accepted."
    )
    version = models.ForeignKey(Version, on_delete=models.PROTECT, related_name="acceptances")
    accepted_at = models.DateTimeField(default=timezone.now)
    method = models.CharField(max_length=20, choices=AcceptanceMethod.choices)
    ip = models.GenericIPAddressField("IP address", null=True, blank=True)
    user_agent = models.CharField(max_length=400, blank=True)
    text_sha256 = models.CharField(
        "text fingerprint (SHA-256)", max_length=64, help_text="SHA-256 of the text the user accepted."
    )

    class Meta:
        ordering = ["-accepted_at", "-id"]
        indexes = [models.Index(fields=["user", "version"])]

    def __str__(self):
        return f"{self.version} accepted ({self.get_method_display()})"


class MarketingConsent(models.Model):
    """The user's current choice about promotional email. Unticked unless they opt in."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="marketing_consent"
    )
    opted_in = models.BooleanField(default=False)
    source = models.CharField(max_length=40, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"{self.user}: {'opted in' if self.opted_in else 'opted out'}"


class ConsentChange(AppendOnly):
    """Every change of marketing consent, kept as proof."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    email_hash = models.CharField("email fingerprint (SHA-256)", max_length=64)
    opted_in = models.BooleanField()
    source = models.CharField(max_length=40)
    ip = models.GenericIPAddressField("IP address", null=True, blank=True)
    user_agent = models.CharField(max_length=400, blank=True)
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-changed_at", "-id"]

    def __str__(self):
        return f"{'Opted in' if self.opted_in else 'Opted out'} ({self.source})"


class Announcement(models.Model):
    class Level(models.TextChoices):
        INFO = "info", "Information"
        WARNING = "warning", "Warning"
        CRITICAL = "critical", "Critical"

    class Kind(models.TextChoices):
        GENERAL = "general", "General"
        MAINTENANCE = "maintenance", "Scheduled maintenance"
        AGREEMENT = "agreement", "Agreement change"

    title = models.CharField(max_length=160)
    body = models.TextField(blank=True, help_text="Plain text, one or two sentences.")
    level = models.CharField(max_length=10, choices=Level.choices, default=Level.INFO)
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.GENERAL)
    link_url = models.CharField(max_length=300, blank=True, help_text="Optional site path, e.g. /legal/…")
    starts_at = models.DateTimeField(default=timezone.now)
    ends_at = models.DateTimeField(null=True, blank=True)
    dismissible = models.BooleanField(default=True)
    version = models.ForeignKey(Version, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = AnnouncementQuerySet.as_manager()

    class Meta:
        ordering = ["-starts_at", "-id"]

    def __str__(self):
        return self.title

    def clean(self):
        if self.ends_at and self.starts_at and self.ends_at <= self.starts_at:
            raise ValidationError({"ends_at": "The end must come after the start."})
        if self.link_url and not self.link_url.startswith("/"):
            raise ValidationError({"link_url": "Use a path on this site starting with /."})


class AnnouncementDismissal(models.Model):
    announcement = models.ForeignKey(Announcement, on_delete=models.CASCADE, related_name="dismissals")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    dismissed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["announcement", "user"], name="legal_dismissal_unique")
        ]

    def __str__(self):
        return f"{self.announcement} dismissed"


class Notice(models.Model):
    """One notice served to many users: private messages and/or emails, sent in batches.

    The batch sender walks the audience in id order, recording its position (``cursor``) so a
    crashed worker's successor continues where it stopped; each recipient gets at most one
    delivery row per notice (a unique constraint), claimed before it is sent.
    """

    class Kind(models.TextChoices):
        AGREEMENT = "agreement", "Agreement change"
        SERVICE = "service", "Service notice"
        MAINTENANCE = "maintenance", "Scheduled maintenance"
        PROMOTIONAL = "promotional", "Promotional (opted-in users only)"

    class Audience(models.TextChoices):
        ALL = "all", "Every active account"
        INDIVIDUAL = "individual", "Individual accounts"
        ENTERPRISE = "enterprise", "Enterprise accounts"
        ACCEPTED = "accepted", "Accounts that accepted a version of the document"
        ONE = "one", "One account"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SENDING = "sending", "Sending"
        DONE = "done", "Sent"

    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.SERVICE)
    subject = models.CharField(max_length=160)
    body = models.TextField(help_text="Plain text. Shown in the inbox and sent as the email body.")
    audience = models.CharField(max_length=12, choices=Audience.choices, default=Audience.ALL)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="For “One account”.",
    )
    version = models.ForeignKey(
        Version, on_delete=models.PROTECT, null=True, blank=True, related_name="notices"
    )
    send_message = models.BooleanField("private message", default=True)
    send_email = models.BooleanField("email", default=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    cursor = models.BigIntegerField(default=0, help_text="Last user id handed to a batch.")
    batches = models.PositiveIntegerField(default=0)
    sent_count = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return self.subject

    def clean(self):
        if self.audience == self.Audience.ONE and not self.recipient_id:
            raise ValidationError({"recipient": "Choose the account to write to."})
        if self.audience == self.Audience.ACCEPTED and not self.version_id:
            raise ValidationError({"version": "Choose the version whose document defines the audience."})
        if self.version_id and not self.version.is_published:
            # A draft is not in force and has no public page: a notice about it tells members nothing
            # they can read (and names a text that may still change or never be published).
            refusal = f"Choose a published version: {self.version} is a draft, which members cannot read."
            raise ValidationError({"version": refusal})
        if not (self.send_message or self.send_email):
            raise ValidationError("Choose at least one channel: private message or email.")
        if self.kind == self.Kind.PROMOTIONAL and self.send_message:
            raise ValidationError(
                {"send_message": "Promotional notices go by email only, to opted-in users."}
            )


class Message(models.Model):
    """A private message in one user's inbox (/account/inbox/)."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="legal_messages"
    )
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    notice = models.ForeignKey(
        Notice, on_delete=models.PROTECT, null=True, blank=True, related_name="messages"
    )
    subject = models.CharField(max_length=160)
    body = models.TextField()
    sent_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    objects = MessageQuerySet.as_manager()

    class Meta:
        ordering = ["-sent_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["notice", "recipient"], condition=Q(notice__isnull=False), name="legal_message_once"
            )
        ]
        indexes = [models.Index(fields=["recipient", "read_at"])]

    def __str__(self):
        return self.subject

    def get_absolute_url(self):
        return reverse("legal:message", args=[self.pk])


class NoticeDelivery(AppendOnly):
    """The notice log: one row per notice served to one user on one channel.

    "Served on the date of sending": ``sent_at`` is the proof. A row is created ``pending``,
    claimed as ``sending`` by a conditional update, then marked ``sent``. A row left in
    ``sending`` by a crashed worker is never sent again (at most once); staff see it as
    ``uncertain`` in the log.
    """

    class Channel(models.TextChoices):
        EMAIL = "email", "Email"
        MESSAGE = "message", "Private message"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped"

    notice = models.ForeignKey(
        Notice, on_delete=models.PROTECT, null=True, blank=True, related_name="deliveries"
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    email_hash = models.CharField("email fingerprint (SHA-256)", max_length=64)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    kind = models.CharField(max_length=40, help_text="What was served: agreement, service, promotional, …")
    subject = models.CharField(max_length=200)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)

    class Meta:
        verbose_name = "notice log entry"
        verbose_name_plural = "notice log"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["notice", "user", "channel"],
                condition=Q(notice__isnull=False),
                name="legal_delivery_once",
            )
        ]
        indexes = [models.Index(fields=["notice", "status"])]

    def __str__(self):
        return f"{self.get_channel_display()}: {self.subject}"
