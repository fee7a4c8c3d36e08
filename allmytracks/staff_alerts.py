"""An email to the staff inbox when something starts waiting for a person (an application, a
cancellation request, a compromise report, a billing task): what it is and a link to it in the staff
site, where the work is done. Addresses in ``STAFF_ALERT_EMAILS``; none set, none sent. Sent by
Celery after commit through the account adapter, as every AllMyTracks email is."""

from django.conf import settings

from .admin import admin_change_url


def alert_staff(what, obj, *, details=""):
    """``what`` ("New enterprise application from Acme Films") names ``obj``, linked on the staff site."""
    recipients = list(settings.STAFF_ALERT_EMAILS)
    if not recipients:
        return
    from allauth.account.adapter import get_adapter

    path = admin_change_url(obj) or "/admin/"
    context = {
        "what": what,
        "details": details,
        "url": settings.SITE_URL + path,
        "index_url": settings.SITE_URL + "/admin/",
    }
    get_adapter().send_mail("emails/staff_alert", recipients, context)
