"""Project-wide records. The audit log is append-only: staff and services write to it,
nothing edits or deletes it."""

from django.conf import settings
from django.db import models


class AuditLogQuerySet(models.QuerySet):
    def for_object(self, obj):
        return self.filter(target_type=obj._meta.label_lower, target_id=str(obj.pk))


class AuditLog(models.Model):
    created_at = models.DateTimeField("when", auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="who",
        help_text="Who acted. Empty for the system (tasks, webhooks).",
    )
    action = models.CharField("action code", max_length=80, db_index=True)
    target_type = models.CharField("record type", max_length=100, blank=True)
    target_id = models.CharField("record ID", max_length=64, blank=True)
    target_repr = models.CharField(
        "about", max_length=200, blank=True, help_text="The record's name when the entry was written."
    )
    reason = models.TextField("reason or notes", blank=True)
    data = models.JSONField("details", default=dict, blank=True)
    ip = models.GenericIPAddressField("IP address", null=True, blank=True)

    objects = AuditLogQuerySet.as_manager()

    class Meta:
        verbose_name = "audit log entry"
        verbose_name_plural = "audit log entries"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["target_type", "target_id"])]

    def __str__(self):
        from .audit import action_label

        return f"{self.created_at:%Y-%m-%d %H:%M} {action_label(self.action)}: {self.target_repr or '—'}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("Audit log entries are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("Audit log entries are append-only.")
