"""One function per licensing email. Rendered through the account adapter (the site's text
and HTML look) and sent from the Celery task that calls them."""

from django.conf import settings


def _absolute(path):
    return f"{settings.SITE_URL}{path}"


def _render(name, to, context):
    from allauth.account.adapter import get_adapter

    return get_adapter().render_mail(f"emails/{name}", to, context)


def license_letter(letter, licenses, pdf_bytes):
    """The licence letter, attached as a PDF."""
    first = licenses[0]
    message = _render(
        "license_letter",
        letter.account.email,
        {
            "user": letter.account,
            "letter": letter,
            "licenses": licenses,
            "project": letter.project,
            "license_url": _absolute(first.get_absolute_url()),
            "verify_url": first.absolute_verify_url,
        },
    )
    message.attach(letter.filename(), pdf_bytes, "application/pdf")
    message.send()


def license_revoked(license):
    message = _render(
        "license_revoked",
        license.account.email,
        {"user": license.account, "license": license, "license_url": _absolute(license.get_absolute_url())},
    )
    message.send()


def end_user_designated(end_user):
    message = _render(
        "end_user_designated",
        end_user.email,
        {"end_user": end_user, "account": end_user.account, "verify_url": _absolute("/licenses/verify/")},
    )
    message.send()
