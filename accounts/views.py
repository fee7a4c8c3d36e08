"""Account pages under /account/. Views orchestrate: form, service, redirect."""

from allauth.account.internal.flows.reauthentication import is_reauthentication_required
from allauth.core.exceptions import ReauthenticationRequired
from allauth.mfa.models import Authenticator
from allauth.usersessions.models import UserSession
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from allmytracks.ratelimit import check as check_rate
from allmytracks.ratelimit import ratelimit
from allmytracks.storage import private_download_url
from allmytracks.views import too_many_requests

from . import services, user_agents
from .forms import (
    CancellationForm,
    CompromiseReportForm,
    EnterpriseApplicationForm,
    GuardianConfirmForm,
    GuardianRequestForm,
    ProfileForm,
    RecoveryForm,
)
from .models import CancellationRequest, EnterpriseApplication


def _restricted(request, exc, template="accounts/restricted.html", status=400):
    return render(request, template, {"message": str(exc), "fix_url": exc.url}, status=status)


@login_required
@require_safe
def account(request):
    user = request.user
    sessions = UserSession.objects.purge_and_list(user)
    context = {
        "mfa_types": set(Authenticator.objects.filter(user=user).values_list("type", flat=True)),
        "session_count": len(sessions),
        "pending_cancellation": CancellationRequest.objects.filter(
            user=user, status__in=["pending", "approved"]
        ).first(),
        "latest_application": EnterpriseApplication.objects.filter(user=user).first(),
        "transact_block": None,
        "membership": _membership(user),
        "end_users": _end_users(user),
    }
    try:
        services.check_can_transact(user)
    except services.AccountRestricted as exc:
        context["transact_block"] = exc
    return render(request, "accounts/account.html", context)


def _membership(user):
    """The live membership from billing, if billing is installed (it is built alongside)."""
    try:
        from billing.services import live_membership
    except ImportError:
        return None
    return live_membership(user)


def _end_users(user):
    try:
        from licensing.models import EndUser
    except ImportError:
        return []
    return list(EndUser.objects.for_account(user).only("name", "role", "kind")[:6])


@login_required
@require_http_methods(["GET", "POST"])
@ratelimit("profile-save", "20/m", methods=["POST"])
def profile(request):
    from legal import services as legal

    user = request.user
    marketing = legal.marketing_opted_in(user)
    form = ProfileForm(
        request.POST or None, request.FILES or None, instance=user, initial={"marketing_opt_in": marketing}
    )
    if request.method == "POST" and form.is_valid():
        if form.sensitive_changed() and is_reauthentication_required(request, app="account"):
            # allauth asks for the password and then replays this very request.
            raise ReauthenticationRequired()
        with transaction.atomic():
            form.save()
            if form.cleaned_data["marketing_opt_in"] != marketing:
                legal.set_marketing_consent(
                    user=user,
                    opted_in=form.cleaned_data["marketing_opt_in"],
                    source="profile",
                    request=request,
                )
            services.resolve_profile_review(user=user, request=request)
        messages.success(request, "Your profile is saved.")
        return redirect("accounts:profile")
    return render(request, "accounts/profile.html", {"form": form})


@login_required
@require_http_methods(["GET", "POST"])
@ratelimit("account-data", "5/h", methods=("POST",))
def data_export(request):
    """What a copy of the account's data holds, and the copy itself (a JSON file) on POST."""
    if request.method == "POST":
        data = services.export_account_data(user=request.user, request=request)
        response = JsonResponse(data, json_dumps_params={"indent": 2, "ensure_ascii": False})
        name = f"allmytracks-account-data-{timezone.localdate():%Y-%m-%d}.json"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        response["Cache-Control"] = "no-store"
        return response
    return render(request, "accounts/data.html")


@login_required
@require_safe
def security(request):
    user = request.user
    sessions = sorted(UserSession.objects.purge_and_list(user), key=lambda s: s.created_at, reverse=True)
    for session in sessions:
        session.current = session.session_key == request.session.session_key
        session.browser = user_agents.describe(session.user_agent)
    return render(
        request,
        "accounts/security.html",
        {
            "sessions": sessions,
            "mfa_types": set(Authenticator.objects.filter(user=user).values_list("type", flat=True)),
            "has_password": user.has_usable_password(),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
@ratelimit("guardian-request", "5/h", methods=["POST"])
def guardian(request):
    user = request.user
    form = GuardianRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.request_guardian_consent(user=user, request=request, **form.cleaned_data)
        except services.AccountRestricted as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request, f"We emailed {form.cleaned_data['guardian_email']} a confirmation link."
            )
            return redirect("accounts:guardian")
    consents = user.guardian_consents.all()[:5]
    return render(request, "accounts/guardian.html", {"form": form, "consents": consents})


@require_http_methods(["GET", "POST"])
@ratelimit("guardian-confirm", "20/h", by=("ip",))
def guardian_confirm(request, token):
    try:
        consent = services.read_guardian_token(token)
    except services.AccountRestricted as exc:
        return _restricted(request, exc, status=400)
    form = GuardianConfirmForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.confirm_guardian(token=token, request=request)
        return render(request, "accounts/guardian_confirmed.html", {"consent": consent})
    if consent.confirmed_at:
        return render(request, "accounts/guardian_confirmed.html", {"consent": consent})
    return render(request, "accounts/guardian_confirm.html", {"form": form, "consent": consent})


@login_required
@require_http_methods(["GET", "POST"])
@ratelimit("enterprise-apply", "10/h", methods=["POST"])
def enterprise(request):
    user = request.user
    applications = list(EnterpriseApplication.objects.filter(user=user).select_related("decided_by")[:10])
    pending = next((a for a in applications if a.status == "pending"), None)
    form = None
    if not pending:
        form = EnterpriseApplicationForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            try:
                services.submit_enterprise_application(
                    user=user,
                    data=form.application_data(),
                    letter=form.cleaned_data["letter"],
                    request=request,
                )
            except services.AccountRestricted as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, "Thank you. Staff will review your application and email you.")
                return redirect("accounts:enterprise")
    elif request.method == "POST":
        messages.error(request, "Your earlier application is still being reviewed.")
        return redirect("accounts:enterprise")
    return render(
        request, "accounts/enterprise.html", {"form": form, "applications": applications, "pending": pending}
    )


@login_required
@require_safe
def enterprise_letter(request, pk):
    application = get_object_or_404(EnterpriseApplication, pk=pk, user=request.user)
    return redirect(
        private_download_url(
            application.letter.name,
            filename=application.letter_filename,
            content_type=application.letter_content_type,
        )
    )


@login_required
@require_http_methods(["GET", "POST"])
def cancel(request):
    user = request.user
    pending = CancellationRequest.objects.filter(user=user, status__in=["pending", "approved"]).first()
    form = CancellationForm(request.POST or None, user=user)
    if request.method == "POST":
        if pending:
            messages.error(request, "You already asked to cancel this account; staff are reviewing it.")
            return redirect("accounts:cancel")
        if form.is_valid():
            # Each request emails the member and staff, so asking is limited — per account, and only
            # asking counts: a mistyped confirmation does not, nor does withdrawing (which needs a
            # request to withdraw, so asking and withdrawing in a loop stops at this limit too).
            wait = check_rate(request, "account-cancel", "5/h", by=("user",))
            if wait:
                return too_many_requests(request, retry_after=wait)
            try:
                services.request_cancellation(user=user, reason=form.cleaned_data["reason"], request=request)
            except services.AccountRestricted as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, "Your cancellation request is with our staff. We will email you.")
                return redirect("accounts:cancel")
    return render(request, "accounts/cancel.html", {"form": form, "pending": pending})


@login_required
@require_POST
def cancel_withdraw(request, pk):
    """Never rate-limited: a member must always be able to stop a cancellation (only a pending one
    can be withdrawn, and each needs an asking, which is limited)."""
    cancellation = get_object_or_404(CancellationRequest, pk=pk, user=request.user)
    if services.withdraw_cancellation(cancellation=cancellation, user=request.user, request=request):
        messages.success(request, "Your cancellation request is withdrawn. Your account stays open.")
    else:
        messages.error(request, "This request can no longer be withdrawn.")
    return redirect("accounts:cancel")


@require_http_methods(["GET", "POST"])
@ratelimit("report-compromise", "5/h", by=("ip",), methods=["POST"])
def report_compromise(request):
    initial = {"email": request.user.email} if request.user.is_authenticated else {}
    form = CompromiseReportForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        reporter = request.user if request.user.is_authenticated else None
        services.report_compromise(
            email=form.cleaned_data["email"],
            details=form.cleaned_data["details"],
            request=request,
            reporter=reporter,
        )
        if reporter and reporter.email.lower() == form.cleaned_data["email"].lower():
            logout(request)
        return render(request, "accounts/report_sent.html", {"email": form.cleaned_data["email"]})
    return render(request, "accounts/report_compromise.html", {"form": form})


@require_http_methods(["GET", "POST"])
@ratelimit("account-recover", "20/h", by=("ip",), methods=["POST"])
def recover(request, token):
    try:
        user = services.read_recovery_token(token)
    except services.AccountRestricted as exc:
        return _restricted(request, exc)
    form = RecoveryForm(request.POST or None, user=user)
    if request.method == "POST" and form.is_valid():
        try:
            services.recover_account(
                token=token, new_password=form.cleaned_data["password1"], request=request
            )
        except services.AccountRestricted as exc:
            return _restricted(request, exc)
        messages.success(request, "Your account is unlocked. Sign in with your new password.")
        return redirect("account_login")
    return render(request, "accounts/recover.html", {"form": form, "account_email": user.email})
