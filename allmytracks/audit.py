"""Writing to the audit log: one call per staff action or service change."""

from .models import AuditLog


def client_ip(request):
    """The client's address as seen by Django (the proxy sets REMOTE_ADDR via gunicorn)."""
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def record(action, *, actor=None, target=None, reason="", request=None, **data):
    """Append one audit row. ``actor`` is a user or None for the system."""
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    return AuditLog.objects.create(
        actor=actor,
        action=action,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        target_repr=str(target)[:200] if target is not None else "",
        reason=reason,
        data=data,
        ip=client_ip(request),
    )
