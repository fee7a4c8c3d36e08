"""The AllMyTracks account. The email address is the account ID and never changes."""

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone


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


class User(AbstractBaseUser, PermissionsMixin):
    email = models.EmailField(
        "email address (account ID)",
        max_length=254,
        unique=True,
        help_text="The account ID. It cannot be changed once registered.",
    )
    display_name = models.CharField(max_length=80, blank=True)
    is_staff = models.BooleanField(default=False, help_text="Can sign in to the staff site (Django admin).")
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        verbose_name = "account"
        constraints = [
            models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique"),
        ]

    def __str__(self):
        return self.email

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
