from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone


class AppendOnlyQuerySet(models.QuerySet):
    def delete(self):
        raise ValidationError(
            f"{self.model._meta.verbose_name_plural} are kept for good and cannot be deleted."
        )

    delete.queryset_only = True


class VersionQuerySet(models.QuerySet):
    def published(self):
        return self.filter(status="published")

    def in_force_or_past(self, now=None):
        return self.published().filter(effective_at__lte=now or timezone.now())

    def upcoming(self, now=None):
        return self.published().filter(effective_at__gt=now or timezone.now())


class AnnouncementQuerySet(models.QuerySet):
    def active(self, now=None):
        now = now or timezone.now()
        return self.filter(Q(ends_at__isnull=True) | Q(ends_at__gt=now), starts_at__lte=now)

    def for_user(self, user, now=None):
        qs = self.active(now)
        if user is not None and user.is_authenticated:
            qs = qs.exclude(dismissals__user=user)
        return qs


class MessageQuerySet(models.QuerySet):
    def for_user(self, user):
        return self.filter(recipient=user)

    def unread(self):
        return self.filter(read_at__isnull=True)
