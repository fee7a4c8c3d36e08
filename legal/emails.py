"""Legal emails: one function per message, templates in templates/emails/legal_*.

Every email names the operator and the support address (the footer partials); promotional
email also carries RFC 8058 one-click unsubscribe headers.
"""

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse

from allmytracks.mail import send_on

UNSUBSCRIBE_SALT = "legal.unsubscribe"


def unsubscribe_token(user):
    return signing.dumps({"u": user.pk}, salt=UNSUBSCRIBE_SALT, compress=True)


def read_unsubscribe_token(token):
    """The user id inside a valid unsubscribe token, else None. Links never expire."""
    try:
        data = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return None
    user_id = data.get("u") if isinstance(data, dict) else None
    return user_id if isinstance(user_id, int) else None


def unsubscribe_url(user):
    return settings.SITE_URL + reverse("legal:unsubscribe", args=[unsubscribe_token(user)])


def _send(name, *, to, context, headers=None, mailer=None):
    """Render and send one email; over ``mailer`` (``allmytracks.mail.mail_batch``) when given."""
    context = {"OPERATOR": settings.OPERATOR, "SITE_URL": settings.SITE_URL, **context}
    subject = " ".join(render_to_string(f"emails/{name}_subject.txt", context).split())
    text = render_to_string(f"emails/{name}_message.txt", context)
    html = render_to_string(f"emails/{name}_message.html", context)
    message = EmailMultiAlternatives(subject=subject, body=text, to=[to], headers=headers or {})
    message.attach_alternative(html, "text/html")
    if mailer is None:
        message.send()
    else:
        send_on(mailer, message)
    return message


def send_notice_email(*, notice, user, mailer=None):
    """A notice (agreement change, service notice, maintenance, promotion) to one user."""
    context = {"notice": notice, "user": user, "inbox_url": settings.SITE_URL + reverse("legal:inbox")}
    if notice.version_id:
        context["changes_url"] = settings.SITE_URL + notice.version.get_changes_url()
    if notice.kind == notice.Kind.PROMOTIONAL:
        return send_promotional("legal_promotional", user=user, context=context, mailer=mailer)
    return _send("legal_notice", to=user.email, context=context, mailer=mailer)


def send_promotional(name, *, user, context, mailer=None):
    """A promotional email (templates ``emails/<name>_*``, given ``unsubscribe_url`` for their
    footer) with the one-click unsubscribe headers. Whether ``user`` may get one is the caller's
    question (``services.audience``, ``services.promotional_delivery``)."""
    url = unsubscribe_url(user)
    headers = {"List-Unsubscribe": f"<{url}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    return _send(
        name,
        to=user.email,
        context={"user": user, **context, "unsubscribe_url": url},
        headers=headers,
        mailer=mailer,
    )
