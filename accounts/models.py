"""The AllMyTracks account. The email address is the account ID and never changes."""

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

ADULT_AGE = 18


class UserManager(BaseUserManager):
    use_in_migrations = True

    def get_by_natural_key(self, email):
        return self.get(email__iexact=email)

    def _create_user(self, email, password, **extra):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email, password=None, **extra):
        extra["is_staff"] = True
        extra["is_superuser"] = True
        return self._create_user(email, password, **extra)


class AccountType(models.TextChoices):
    INDIVIDUAL = "individual", "Individual"
    ENTERPRISE = "enterprise", "Enterprise"


class Moderation(models.TextChoices):
    ACTIVE = "active", "Active"
    SUSPENDED = "suspended", "Suspended"
    BANNED = "banned", "Banned"


class ProfileReview(models.TextChoices):
    NONE = "", "No action needed"
    RENAME = "rename", "Must choose a new name"
    RESUBMIT = "resubmit", "Must resubmit registration data"


def age_on(date_of_birth, today):
    years = today.year - date_of_birth.year
    if (today.month, today.day) < (date_of_birth.month, date_of_birth.day):
        years -= 1
    return years


class User(AbstractBaseUser, PermissionsMixin):
    email = models.EmailField(
        "email address (account ID)",
        max_length=254,
        unique=True,
        help_text="The account ID. It cannot be changed once registered.",
    )
    display_name = models.CharField(max_length=80, blank=True)
    is_staff = models.BooleanField(
        "staff", default=False, help_text="Can sign in to the staff site (Django admin)."
    )
    is_active = models.BooleanField(
        "active",
        default=True,
        help_text="Untick to stop all sign-ins without a word to the member; "
        "to stop a member, suspend or ban the account instead: they are told why.",
    )
    date_joined = models.DateTimeField("joined", default=timezone.now)

    # Profile
    date_of_birth = models.DateField(null=True, blank=True)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166 country code.")
    company = models.CharField(max_length=120, blank=True)
    bio = models.TextField("profile text", max_length=500, blank=True)
    avatar = models.ImageField(upload_to="avatars/%Y/%m/", blank=True)

    # Enterprise: by verification or by buying the business plan
    account_type = models.CharField(
        max_length=12, choices=AccountType.choices, default=AccountType.INDIVIDUAL
    )
    enterprise_source = models.CharField(max_length=20, blank=True, help_text="purchase or verification")
    enterprise_since = models.DateTimeField(null=True, blank=True)
    designated_seats = models.PositiveSmallIntegerField(
        default=1, help_text="How many designated end users this enterprise may name."
    )

    # Minors: held until a guardian confirms
    guardian_confirmed_at = models.DateTimeField(null=True, blank=True)

    # Moderation by staff
    moderation = models.CharField(max_length=12, choices=Moderation.choices, default=Moderation.ACTIVE)
    moderation_reason = models.TextField(blank=True, help_text="Shown to the user on the sign-in page.")
    suspended_until = models.DateTimeField(null=True, blank=True, help_text="Empty: until reinstated.")
    profile_review = models.CharField(max_length=10, choices=ProfileReview.choices, default="", blank=True)
    profile_review_message = models.TextField(blank=True)

    # Compromise lock and cancellation
    locked_at = models.DateTimeField(null=True, blank=True, help_text="Locked after a compromise report.")
    cancelled_at = models.DateTimeField(null=True, blank=True)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        verbose_name = "account"
        constraints = [
            models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique"),
        ]
        indexes = [models.Index(fields=["moderation", "account_type"])]

    def __str__(self):
        return self.email

    @property
    def is_enterprise(self):
        return self.account_type == AccountType.ENTERPRISE

    @property
    def age(self):
        if self.date_of_birth is None:
            return None
        return age_on(self.date_of_birth, timezone.localdate())

    @property
    def is_minor(self):
        age = self.age
        return age is not None and age < ADULT_AGE

    @property
    def is_held_minor(self):
        """Under 18 and no guardian has confirmed yet: browse and preview only."""
        return self.is_minor and self.guardian_confirmed_at is None

    @property
    def is_suspended(self):
        if self.moderation != Moderation.SUSPENDED:
            return False
        return self.suspended_until is None or self.suspended_until > timezone.now()

    @property
    def is_banned(self):
        return self.moderation == Moderation.BANNED

    @property
    def is_locked(self):
        return self.locked_at is not None

    @property
    def is_cancelled(self):
        return self.cancelled_at is not None

    def sign_in_refusal(self):
        """Why this account may not be signed in now, in words for its owner; "" if it may."""
        support = settings.OPERATOR["support_email"]
        if self.is_cancelled:
            return "This account has been cancelled and can no longer be used."
        if self.is_banned:
            why = f" Reason: {self.moderation_reason}" if self.moderation_reason else ""
            return f"This account has been banned by AllMyTracks staff.{why} Questions: {support}."
        if self.is_suspended:
            why = f" Reason: {self.moderation_reason}" if self.moderation_reason else ""
            until = (
                f" until {timezone.localtime(self.suspended_until):%d %B %Y, %H:%M} UTC"
                if self.suspended_until
                else " until staff reinstate it"
            )
            return f"This account is suspended{until}.{why} Questions: {support}."
        if self.is_locked:
            return (
                "This account is locked because someone reported that it was compromised. "
                "We emailed its owner a recovery link; follow it to set a new password."
            )
        return ""

    def get_full_name(self):
        return self.display_name or self.email

    def get_short_name(self):
        return self.display_name or self.email.split("@")[0]

    def save(self, *args, **kwargs):
        if self.pk is not None and "email" not in (kwargs.get("update_fields") or ["email"]):
            return super().save(*args, **kwargs)
        if self.pk is not None:
            stored = type(self).objects.filter(pk=self.pk).values_list("email", flat=True).first()
            if stored is not None and stored != self.email:
                raise ValueError("The email address is the account ID and cannot be changed.")
        super().save(*args, **kwargs)


def today_minus_years(years):
    today = timezone.localdate()
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February
        return today.replace(year=today.year - years, day=28)


class NameBlocklistEntry(models.Model):
    """A word that names and profile text may not contain (after normalisation)."""

    term = models.CharField(max_length=80, unique=True)
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["term"]
        verbose_name = "blocked name word"
        verbose_name_plural = "blocked name words"

    def __str__(self):
        return self.term


class GuardianConsent(models.Model):
    """A guardian's confirmation that a member under 18 may buy and download."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="guardian_consents"
    )
    guardian_name = models.CharField(max_length=120)
    guardian_email = models.EmailField()
    requested_at = models.DateTimeField(default=timezone.now)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    confirmed_ip = models.GenericIPAddressField(null=True, blank=True)
    confirmed_user_agent = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-requested_at"]

    def __str__(self):
        return f"{self.guardian_name} for {self.user}"


class RequestStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


def enterprise_letter_path(instance, filename):
    return f"enterprise-letters/{instance.user_id}/{timezone.now():%Y%m%d%H%M%S}-{filename}"


def _private_storage():
    from .storage import letters_storage

    return letters_storage()


class EnterpriseApplication(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="enterprise_applications"
    )
    company_name = models.CharField(max_length=160)
    registration_number = models.CharField(max_length=60)
    address = models.TextField(max_length=500)
    contact_name = models.CharField(max_length=120)
    contact_phone = models.CharField(max_length=40, blank=True)
    letter = models.FileField(upload_to=enterprise_letter_path, storage=_private_storage, max_length=300)
    letter_content_type = models.CharField(max_length=40)
    letter_filename = models.CharField(max_length=200)
    status = models.CharField(max_length=10, choices=RequestStatus.choices, default=RequestStatus.PENDING)
    decision_reason = models.TextField(blank=True)
    submitted_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-submitted_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user"],
                condition=Q(status="pending"),
                name="accounts_one_pending_enterprise_application",
            )
        ]

    def __str__(self):
        return f"{self.company_name} ({self.user})"


class CancellationStatus(models.TextChoices):
    PENDING = "pending", "Waiting for staff"
    APPROVED = "approved", "Approved, being carried out"
    COMPLETED = "completed", "Completed"
    REJECTED = "rejected", "Rejected"


class CancellationRequest(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="cancellation_requests"
    )
    reason = models.TextField("why the member is leaving", blank=True, max_length=2000)
    status = models.CharField(
        max_length=10, choices=CancellationStatus.choices, default=CancellationStatus.PENDING
    )
    requested_at = models.DateTimeField(default=timezone.now)
    requested_ip = models.GenericIPAddressField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decision_reason = models.TextField(blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user"],
                condition=Q(status__in=["pending", "approved"]),
                name="accounts_one_open_cancellation_request",
            )
        ]

    def __str__(self):
        return f"Cancellation of {self.user} ({self.get_status_display()})"


class CompromiseReport(models.Model):
    """A staff task: someone said this account is being misused."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="compromise_reports",
    )
    reported_email = models.EmailField()
    details = models.TextField(blank=True, max_length=4000)
    reported_while_signed_in = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    ip = models.GenericIPAddressField(null=True, blank=True)
    recovered_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    staff_notes = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"Compromise report for {self.reported_email}"

    @property
    def is_open(self):
        return self.resolved_at is None
