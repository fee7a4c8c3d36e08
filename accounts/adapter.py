"""allauth adapters: where AllMyTracks' account rules meet allauth's flows.

- Every email allauth sends (and every account email of ours) is rendered here in the
  site's look (text + HTML, support contact in the footer) and sent by Celery after commit.
- Sign-in is refused, with the reason, for suspended, banned, locked and cancelled accounts.
- Sign-up is refused with a clear message while no User Agreement / Privacy Policy is published.
- The email address is the account ID: nothing here ever adds, removes or changes one.
"""

from allauth.account.adapter import DefaultAccountAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.urls import reverse

from allmytracks.tasks import enqueue_on_commit

from .middleware import REFUSAL_SESSION_KEY
from .services import AccountRestricted, current_agreement_versions


class AccountAdapter(DefaultAccountAdapter):
    def clean_email(self, email):
        return super().clean_email(email).strip().lower()

    def is_open_for_signup(self, request):
        try:
            current_agreement_versions()
        except AccountRestricted:
            return False
        return True

    def pre_authenticate(self, request, **credentials):
        """Too many failed sign-ins answer 429 with the site's page, not just a form error."""
        try:
            super().pre_authenticate(request, **credentials)
        except ValidationError as exc:
            if exc.code == "too_many_login_attempts":
                from allauth.core.exceptions import ImmediateHttpResponse

                from allmytracks.views import too_many_requests

                raise ImmediateHttpResponse(too_many_requests(request, retry_after=300)) from exc
            raise

    def can_delete_email(self, email_address):
        return False

    def pre_login(self, request, user, **kwargs):
        refusal = user.sign_in_refusal()
        if refusal:
            from allauth.account.internal.stagekit import clear_login

            clear_login(request)
            request.session[REFUSAL_SESSION_KEY] = refusal
            return redirect("account_login")
        return super().pre_login(request, user, **kwargs)

    def get_login_redirect_url(self, request):
        user = request.user
        if user.profile_review or user.date_of_birth is None:
            return reverse("accounts:profile")
        return super().get_login_redirect_url(request)

    # --- mail -------------------------------------------------------------------------

    def render_mail(self, template_prefix, email, context, headers=None):
        context = {"OPERATOR": settings.OPERATOR, "SITE_URL": settings.SITE_URL, **context}
        message = super().render_mail(template_prefix, email, context, headers=headers)
        has_html = any(mimetype == "text/html" for _, mimetype in getattr(message, "alternatives", []))
        if not has_html and message.content_subtype != "html":
            # allauth's own messages come as text; give them the site's HTML look too (the HTML
            # layout has its own footer, so the text footer after "—" is left out).
            text_body = message.body.split("\n—\n")[0]
            html = render_to_string(
                "emails/_layout.html", {**context, "subject": message.subject, "text_body": text_body}
            )
            message.attach_alternative(html, "text/html")
        return message

    def send_mail(self, template_prefix, email, context):
        """Render now (allauth's context), send from a Celery task once the transaction commits."""
        from allauth.core import context as allauth_context
        from django.contrib.sites.shortcuts import get_current_site

        from .tasks import send_rendered_email

        request = allauth_context.request
        ctx = {"request": request, "email": email, "current_site": get_current_site(request), **context}
        msg = self.render_mail(template_prefix, email, ctx)
        html = next((content for content, mimetype in msg.alternatives if mimetype == "text/html"), "")
        enqueue_on_commit(
            send_rendered_email,
            list(msg.to),
            msg.subject,
            msg.body,
            html,
            msg.from_email,
            dict(msg.extra_headers),
        )


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def get_app(self, request, provider, client_id=None):
        """A provider whose credentials are not set (settings: Google and Apple appear only when
        they are) is not found: its sign-in URLs answer 404, not a server error."""
        from allauth.socialaccount.models import SocialApp

        try:
            return super().get_app(request, provider, client_id=client_id)
        except SocialApp.DoesNotExist:
            raise Http404("No such sign-in provider.") from None

    def populate_user(self, request, sociallogin, data):
        """The provider's name for the account (the sign-up form shows it to confirm or change)."""
        user = super().populate_user(request, sociallogin, data)
        full = " ".join(part for part in (data.get("first_name"), data.get("last_name")) if part)
        user.display_name = (data.get("name") or full or "").strip()[
            : user._meta.get_field("display_name").max_length
        ]
        return user

    def get_signup_form_initial_data(self, sociallogin):
        return {
            **super().get_signup_form_initial_data(sociallogin),
            "display_name": sociallogin.user.display_name,
        }

    def is_open_for_signup(self, request, sociallogin):
        try:
            current_agreement_versions()
        except AccountRestricted:
            return False
        return True

    def pre_social_login(self, request, sociallogin):
        # A connected provider never adds an email address to an existing account.
        if sociallogin.is_existing or (
            request.user.is_authenticated and sociallogin.state.get("process") == "connect"
        ):
            user = sociallogin.user if sociallogin.is_existing else request.user
            sociallogin.email_addresses = [
                address
                for address in sociallogin.email_addresses
                if address.email.lower() == user.email.lower()
            ]
            refusal = user.sign_in_refusal()
            if refusal:
                from allauth.core.exceptions import ImmediateHttpResponse

                request.session[REFUSAL_SESSION_KEY] = refusal
                messages.error(request, refusal)
                raise ImmediateHttpResponse(redirect("account_login"))
