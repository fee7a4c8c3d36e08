"""Account services: every change that touches more than one row or has a side effect.

Each runs in a transaction, writes an audit row, and schedules email and other side
effects for after commit. Errors a person can fix are raised as ``AccountRestricted``.
"""

import hashlib
import logging
import secrets
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.core.exceptions import ObjectDoesNotExist
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from allmytracks.audit import client_ip, record
from allmytracks.errors import UserFacingError
from allmytracks.staff_alerts import alert_staff
from allmytracks.tasks import enqueue_on_commit

from . import emails
from .models import (
    AccountType,
    CancellationRequest,
    CancellationStatus,
    CompromiseReport,
    EnterpriseApplication,
    GuardianConsent,
    Moderation,
    ProfileReview,
    RequestStatus,
    User,
)

log = logging.getLogger(__name__)

GUARDIAN_SALT = "accounts.guardian-consent"
RECOVERY_SALT = "accounts.compromise-recovery"
TOMBSTONE_DOMAIN = "cancelled.invalid"
AGREEMENT_SLUGS = ("user-agreement", "privacy-policy")


class AccountRestricted(UserFacingError):
    """The account may not do this now. ``str()`` is for the user; ``url`` fixes it."""


# --- who may buy and download ----------------------------------------------------------


def check_can_transact(user):
    """Raise AccountRestricted unless ``user`` may buy or download now."""
    if user is None or not getattr(user, "is_authenticated", False):
        raise AccountRestricted("Sign in to buy or download.", url=reverse("account_login"))
    refusal = user.sign_in_refusal()
    if refusal:
        raise AccountRestricted(refusal)
    if not user.is_active:
        raise AccountRestricted("This account is not active.")
    from allauth.account.models import EmailAddress

    if not EmailAddress.objects.filter(user=user, email__iexact=user.email, verified=True).exists():
        raise AccountRestricted(
            "Confirm your email address first: follow the link we emailed you when you signed up.",
            url=reverse("account_email_verification_sent"),
        )
    if user.profile_review:
        raise AccountRestricted(
            "Staff asked you to update your profile before you continue.", url=reverse("accounts:profile")
        )
    if user.date_of_birth is None:
        raise AccountRestricted("Tell us your date of birth first.", url=reverse("accounts:profile"))
    if user.is_held_minor:
        raise AccountRestricted(
            "Members under 18 can browse and preview. Buying and downloading start once a parent "
            "or guardian confirms by email.",
            url=reverse("accounts:guardian"),
        )


# --- sign-up ----------------------------------------------------------------------------


def current_agreement_versions():
    """The current User Agreement and Privacy Policy versions, or AccountRestricted."""
    try:
        from legal import services as legal
    except ImportError:
        legal = None
    versions = {}
    for slug in AGREEMENT_SLUGS:
        version = None
        if legal is not None and hasattr(legal, "current_version"):
            try:
                version = legal.current_version(slug)
            except ObjectDoesNotExist:
                version = None
        if version is None:
            raise AccountRestricted(
                "Registration is closed for a moment: the User Agreement and Privacy Policy are not "
                f"published yet. Please try again later or write to {settings.OPERATOR['support_email']}."
            )
        versions[slug] = version
    return versions


@transaction.atomic
def complete_registration(
    *, user, date_of_birth, versions, marketing_opt_in=False, request=None, via="email"
):
    """Store what sign-up asked for: date of birth, the agreement acceptances, marketing choice."""
    from legal import services as legal

    user.date_of_birth = date_of_birth
    user.save(update_fields=["date_of_birth"])
    for version in versions.values():
        legal.record_acceptance(user=user, version=version, method="signup", request=request)
    legal.set_marketing_consent(user=user, opted_in=bool(marketing_opt_in), source="signup", request=request)
    record("accounts.registered", target=user, request=request, via=via, minor=user.is_minor)


# --- enterprise -------------------------------------------------------------------------


@transaction.atomic
def mark_enterprise(*, user, source, actor=None, request=None):
    """Make ``user`` an enterprise account (by "purchase" or "verification"). Idempotent."""
    if source not in {"purchase", "verification"}:
        raise ValueError(f"Unknown enterprise source {source!r}.")
    locked = User.objects.select_for_update().get(pk=user.pk)
    if locked.account_type == AccountType.ENTERPRISE:
        user.account_type = locked.account_type
        return False
    now = timezone.now()
    User.objects.filter(pk=user.pk).update(
        account_type=AccountType.ENTERPRISE, enterprise_source=source, enterprise_since=now
    )
    user.account_type, user.enterprise_source, user.enterprise_since = AccountType.ENTERPRISE, source, now
    record("accounts.enterprise_marked", actor=actor, target=user, request=request, source=source)
    return True


@transaction.atomic
def submit_enterprise_application(*, user, data, letter, request=None):
    """``letter`` is a checked upload from EnterpriseApplicationForm (name, content type, bytes)."""
    if EnterpriseApplication.objects.filter(user=user, status=RequestStatus.PENDING).exists():
        raise AccountRestricted("Your earlier application is still being reviewed.")
    application = EnterpriseApplication(user=user, **data)
    application.letter_content_type = letter.content_type
    application.letter_filename = letter.name
    application.letter.save(letter.name, letter.file, save=False)
    application.save()
    record("accounts.enterprise_applied", actor=user, target=application, request=request)
    emails.enterprise_received(application)
    alert_staff(
        f"New enterprise application from {application.company_name}", application, details=user.email
    )
    return application


@transaction.atomic
def decide_enterprise_application(*, application, approve, actor, reason="", request=None):
    application = EnterpriseApplication.objects.select_for_update().get(pk=application.pk)
    if application.status != RequestStatus.PENDING:
        raise AccountRestricted("This application has already been decided.")
    if not approve and not reason.strip():
        raise AccountRestricted("Give the applicant a reason for the rejection.")
    application.status = RequestStatus.APPROVED if approve else RequestStatus.REJECTED
    application.decision_reason = reason
    application.decided_at = timezone.now()
    application.decided_by = actor
    application.save()
    company = {}
    if approve:
        mark_enterprise(user=application.user, source="verification", actor=actor, request=request)
        company = _take_company_name(application)
    record(
        f"accounts.enterprise_{application.status}",
        actor=actor,
        target=application,
        reason=reason,
        request=request,
        **company,
    )
    emails.enterprise_decided(application)
    return application


def _take_company_name(application):
    """An approved account without a company takes the company it applied as (licence letters name
    it as the licensee). Returns the audit detail of the change: {"company": name}, or {}."""
    user = application.user
    name = application.company_name.strip()[: User._meta.get_field("company").max_length]
    if not name or not User.objects.filter(pk=user.pk, company="").update(company=name):
        return {}
    user.company = name
    return {"company": name}


# --- minors -----------------------------------------------------------------------------


def guardian_token(consent):
    return signing.dumps({"c": consent.pk, "u": consent.user_id}, salt=GUARDIAN_SALT)


@transaction.atomic
def request_guardian_consent(*, user, guardian_name, guardian_email, request=None):
    if not user.is_held_minor:
        raise AccountRestricted("This account does not need a guardian's confirmation.")
    if guardian_email.strip().lower() == user.email.lower():
        raise AccountRestricted("Enter your parent's or guardian's own email address, not yours.")
    consent = GuardianConsent.objects.create(
        user=user, guardian_name=guardian_name, guardian_email=guardian_email
    )
    link = settings.SITE_URL + reverse("accounts:guardian-confirm", args=[guardian_token(consent)])
    record(
        "accounts.guardian_requested", actor=user, target=user, request=request, guardian_email=guardian_email
    )
    emails.guardian_request(consent, link)
    return consent


def read_guardian_token(token):
    """The pending GuardianConsent a link stands for, or AccountRestricted."""
    try:
        data = signing.loads(token, salt=GUARDIAN_SALT, max_age=settings.ACCOUNTS_GUARDIAN_LINK_MAX_AGE)
    except signing.SignatureExpired as exc:
        raise AccountRestricted(
            "This confirmation link has expired. Ask the member to send a new one."
        ) from exc
    except signing.BadSignature as exc:
        raise AccountRestricted("This confirmation link is not valid.") from exc
    consent = (
        GuardianConsent.objects.select_related("user").filter(pk=data.get("c"), user_id=data.get("u")).first()
    )
    if consent is None or consent.user.is_cancelled:
        raise AccountRestricted("This confirmation link is not valid.")
    return consent


@transaction.atomic
def confirm_guardian(*, token, request=None):
    consent = read_guardian_token(token)
    consent = GuardianConsent.objects.select_for_update().select_related("user").get(pk=consent.pk)
    if consent.confirmed_at is not None:
        return consent
    now = timezone.now()
    consent.confirmed_at = now
    consent.confirmed_ip = client_ip(request)
    consent.confirmed_user_agent = request.META.get("HTTP_USER_AGENT", "")[:300] if request else ""
    consent.save()
    User.objects.filter(pk=consent.user_id, guardian_confirmed_at__isnull=True).update(
        guardian_confirmed_at=now
    )
    # The guardian's confirmation is also their acceptance of the agreements in force.
    from legal import services as legal

    for version in current_agreement_versions().values():
        legal.record_acceptance(user=consent.user, version=version, method="guardian", request=request)
    record(
        "accounts.guardian_confirmed",
        target=consent.user,
        request=request,
        guardian_name=consent.guardian_name,
        guardian_email=consent.guardian_email,
    )
    emails.guardian_confirmed(consent)
    return consent


# --- sessions ---------------------------------------------------------------------------


def end_all_sessions(user, *, keep_session_key=None):
    """Sign ``user`` out everywhere (every tracked session; the middleware catches the rest)."""
    from allauth.usersessions.adapter import get_adapter as sessions_adapter
    from allauth.usersessions.models import UserSession

    sessions = [s for s in UserSession.objects.filter(user_id=user.pk) if s.session_key != keep_session_key]
    sessions_adapter().end_sessions(sessions)
    return len(sessions)


# --- staff moderation -------------------------------------------------------------------


def _staff_change(user, action, *, actor, reason, request, notify=None, **fields):
    for name, value in fields.items():
        setattr(user, name, value)
    user.save(update_fields=list(fields))
    record(
        action,
        actor=actor,
        target=user,
        reason=reason,
        request=request,
        **{k: str(v) if v is not None else None for k, v in fields.items() if k != "moderation_reason"},
    )
    if notify:
        notify(user)


def _not_oneself(user, actor, what, instead="ask another staff member"):
    """Staff do not lock themselves out: another staff member suspends, bans or questions their
    account."""
    if actor is not None and actor.pk == user.pk:
        raise AccountRestricted(f"You cannot {what} your own account; {instead}.")


@transaction.atomic
def suspend_user(*, user, actor, reason, until=None, request=None):
    _not_oneself(user, actor, "suspend")
    if not reason.strip():
        raise AccountRestricted("Give a reason: the member is shown it.")
    if until is not None and until <= timezone.now():
        raise AccountRestricted("The end of the suspension must be in the future.")
    _staff_change(
        user,
        "accounts.suspended",
        actor=actor,
        reason=reason,
        request=request,
        notify=emails.account_suspended,
        moderation=Moderation.SUSPENDED,
        moderation_reason=reason,
        suspended_until=until,
    )
    # Sessions are not deleted here: AccountStatusMiddleware refuses each of them at its next
    # request, signs it out and shows the member the reason on the sign-in page.


@transaction.atomic
def ban_user(*, user, actor, reason, request=None):
    _not_oneself(user, actor, "ban")
    if not reason.strip():
        raise AccountRestricted("Give a reason: the member is shown it.")
    _staff_change(
        user,
        "accounts.banned",
        actor=actor,
        reason=reason,
        request=request,
        notify=emails.account_banned,
        moderation=Moderation.BANNED,
        moderation_reason=reason,
        suspended_until=None,
    )
    # Signed out at the next request by AccountStatusMiddleware, with the reason shown.


@transaction.atomic
def reinstate_user(*, user, actor, reason="", request=None):
    _staff_change(
        user,
        "accounts.reinstated",
        actor=actor,
        reason=reason,
        request=request,
        notify=emails.account_reinstated,
        moderation=Moderation.ACTIVE,
        moderation_reason="",
        suspended_until=None,
    )


@transaction.atomic
def request_profile_review(*, user, actor, kind, message, request=None):
    """Force a rename ("rename") or ask for registration data again ("resubmit").

    Not for staff accounts: until the profile is updated every page, the staff site's too, sends its
    owner to it. Staff update their own details on their profile page, and correct another staff
    member's on the account's page."""
    if kind not in (ProfileReview.RENAME, ProfileReview.RESUBMIT):
        raise ValueError(kind)
    asking = "force a new name on" if kind == ProfileReview.RENAME else "refuse the registration data of"
    _not_oneself(user, actor, asking, instead="update your details on your profile page")
    if user.is_staff:
        raise AccountRestricted(
            f"You cannot {asking} a staff account: it would keep them out of the staff site until they "
            "update their profile. Ask them to, or correct the details on the account's page."
        )
    if not message.strip():
        raise AccountRestricted("Write the message the member sees.")
    action = "accounts.rename_forced" if kind == ProfileReview.RENAME else "accounts.registration_refused"
    _staff_change(
        user,
        action,
        actor=actor,
        reason=message,
        request=request,
        notify=emails.profile_review_requested,
        profile_review=kind,
        profile_review_message=message,
    )


@transaction.atomic
def resolve_profile_review(*, user, request=None):
    """The member saved their profile again after staff asked them to."""
    if not user.profile_review:
        return
    kind = user.profile_review
    User.objects.filter(pk=user.pk).update(profile_review="", profile_review_message="")
    user.profile_review, user.profile_review_message = "", ""
    record("accounts.profile_resubmitted", actor=user, target=user, request=request, kind=kind)


# --- cancellation -----------------------------------------------------------------------


@transaction.atomic
def request_cancellation(*, user, reason="", request=None):
    User.objects.select_for_update().filter(pk=user.pk).first()
    if user.is_cancelled:
        raise AccountRestricted("This account is already cancelled.")
    if CancellationRequest.objects.filter(user=user, status__in=["pending", "approved"]).exists():
        raise AccountRestricted("You already asked to cancel this account; staff are reviewing it.")
    cancellation = CancellationRequest.objects.create(
        user=user, reason=reason, requested_ip=client_ip(request)
    )
    record("accounts.cancellation_requested", actor=user, target=cancellation, request=request)
    emails.cancellation_received(cancellation)
    alert_staff(f"Cancellation requested by {user.email}", cancellation, details=reason)
    return cancellation


@transaction.atomic
def withdraw_cancellation(*, cancellation, user, request=None):
    updated = CancellationRequest.objects.filter(pk=cancellation.pk, user=user, status="pending").update(
        status=CancellationStatus.REJECTED,
        decision_reason="Withdrawn by the member.",
        decided_at=timezone.now(),
    )
    if updated:
        record("accounts.cancellation_withdrawn", actor=user, target=cancellation, request=request)
    return bool(updated)


@transaction.atomic
def decide_cancellation(*, cancellation, approve, actor, reason="", request=None):
    cancellation = CancellationRequest.objects.select_for_update().get(pk=cancellation.pk)
    if cancellation.status != CancellationStatus.PENDING:
        raise AccountRestricted("This request has already been decided.")
    if not approve and not reason.strip():
        raise AccountRestricted("Give the member a reason for the rejection.")
    cancellation.status = CancellationStatus.APPROVED if approve else CancellationStatus.REJECTED
    cancellation.decided_at = timezone.now()
    cancellation.decided_by = actor
    cancellation.decision_reason = reason
    cancellation.save()
    record(
        f"accounts.cancellation_{cancellation.status}",
        actor=actor,
        target=cancellation,
        reason=reason,
        request=request,
    )
    if approve:
        from .tasks import carry_out_cancellation

        enqueue_on_commit(carry_out_cancellation, cancellation.pk)
    else:
        emails.cancellation_rejected(cancellation)
    return cancellation


def tombstone_email(user):
    return f"cancelled-{user.pk}-{secrets.token_hex(8)}@{TOMBSTONE_DOMAIN}"


def email_fingerprint(email):
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


def carry_out_cancellation(cancellation_id):
    """Cancel the account of an approved request. Safe to run twice. Irreversible."""
    from allauth.account.models import EmailAddress
    from allauth.mfa.models import Authenticator
    from allauth.socialaccount.models import SocialAccount

    from .signals import account_cancelled

    with transaction.atomic():
        cancellation = (
            CancellationRequest.objects.select_for_update()
            .filter(pk=cancellation_id, status="approved")
            .first()
        )
        if cancellation is None:
            return False
        user = User.objects.select_for_update().get(pk=cancellation.user_id)
        former_email = user.email
        end_all_sessions(user)
        avatar_name = user.avatar.name if user.avatar else ""
        # The email never changes through save(); the tombstone is written directly.
        User.objects.filter(pk=user.pk).update(
            email=tombstone_email(user),
            display_name="Cancelled account",
            date_of_birth=None,
            country="",
            company="",
            bio="",
            avatar="",
            is_active=False,
            is_staff=False,
            is_superuser=False,
            cancelled_at=timezone.now(),
            password=f"!{secrets.token_urlsafe(30)}",  # unusable: no hasher matches
        )
        EmailAddress.objects.filter(user=user).delete()
        SocialAccount.objects.filter(user=user).delete()
        Authenticator.objects.filter(user=user).delete()
        try:
            from legal import services as legal

            legal.set_marketing_consent(user=user, opted_in=False, source="cancellation")
        except (ImportError, AttributeError):
            log.warning("legal.set_marketing_consent is not available; marketing consent left as is")
        cancellation.status = CancellationStatus.COMPLETED
        cancellation.completed_at = timezone.now()
        cancellation.save(update_fields=["status", "completed_at"])
        record("accounts.cancelled", target=user, email_sha256=email_fingerprint(former_email))
        emails.cancellation_completed(former_email)
        user.refresh_from_db()

        def after_commit():
            if avatar_name:
                user.avatar.storage.delete(avatar_name)
            account_cancelled.send(sender=User, user=user)

        transaction.on_commit(after_commit)
    return True


# --- compromise reports and recovery ----------------------------------------------------


def recovery_token(user):
    return signing.dumps({"u": user.pk, "l": user.locked_at.isoformat()}, salt=RECOVERY_SALT)


def _recovery_link(user):
    return settings.SITE_URL + reverse("accounts:recover", args=[recovery_token(user)])


def export_account_data(*, user, request=None):
    """Everything the account holds, as JSON-ready data (``accounts.data_export``); audited."""
    from .data_export import collect

    data = collect(user)
    record("accounts.data_exported", actor=user, target=user, request=request)
    return data


@transaction.atomic
def report_compromise(*, email, details="", request=None, reporter=None):
    """Lock the account at once, end its sessions, revoke trusted browsers, email the owner.
    An account already locked stays locked as it is (the emailed link stays valid). An account its
    owner recovered lately (``ACCOUNTS_RELOCK_GRACE_SECONDS``) is locked again only on the signed-in
    owner's own report; anyone else's goes to staff.

    The answer is the same whether or not ``email`` has an account (no enumeration).
    """
    user = (
        User.objects.select_for_update()
        .filter(email__iexact=email.strip(), cancelled_at__isnull=True)
        .first()
    )
    report = CompromiseReport.objects.create(
        user=user,
        reported_email=email.strip().lower(),
        details=details,
        reported_while_signed_in=bool(reporter and reporter.is_authenticated),
        ip=client_ip(request),
    )
    if user is None:
        record("accounts.compromise_reported_unknown", target=report, request=request)
        return report
    if user.locked_at is not None:
        # Locked already and waiting for its owner. Locking again would void the link already
        # emailed (it names the lock), so reports from rotating addresses could keep the owner out;
        # the report is kept for staff and the owner gets the link again, at most once per interval.
        record(
            "accounts.compromise_reported_again",
            actor=reporter,
            target=user,
            request=request,
            report=report.pk,
        )
        interval = settings.ACCOUNTS_RECOVERY_RESEND_SECONDS
        if cache.add(f"accounts:recovery-resent:{user.pk}", 1, interval):
            emails.compromise_recovery(user, _recovery_link(user))
        return report
    grace = timezone.now() - timedelta(seconds=settings.ACCOUNTS_RELOCK_GRACE_SECONDS)
    by_owner = reporter is not None and reporter.pk == user.pk
    if not by_owner and CompromiseReport.objects.filter(user=user, recovered_at__gte=grace).exists():
        record(
            "accounts.compromise_report_held", actor=reporter, target=user, request=request, report=report.pk
        )
        interval = settings.ACCOUNTS_RECOVERY_RESEND_SECONDS
        if cache.add(f"accounts:report-held-alert:{user.pk}", 1, interval):
            alert_staff(
                f"Compromise report for {user.email}, recovered by its owner lately: not locked, review it",
                report,
                details=details,
            )
        return report
    user.locked_at = timezone.now()
    # A new password hash ends every Django session and invalidates every MFA-trusted
    # browser (allauth's trust fingerprint includes the hash).
    user.set_unusable_password()
    user.save(update_fields=["locked_at", "password"])
    record("accounts.compromise_locked", actor=reporter, target=user, request=request, report=report.pk)
    alert_staff(f"Account {user.email} locked after a compromise report", report, details=details)
    cache.set(f"accounts:recovery-resent:{user.pk}", 1, settings.ACCOUNTS_RECOVERY_RESEND_SECONDS)
    emails.compromise_recovery(user, _recovery_link(user))
    transaction.on_commit(lambda: end_all_sessions(user))
    return report


def read_recovery_token(token):
    try:
        data = signing.loads(token, salt=RECOVERY_SALT, max_age=settings.ACCOUNTS_RECOVERY_LINK_MAX_AGE)
    except signing.SignatureExpired as exc:
        raise AccountRestricted(
            "This recovery link has expired. Report the account again to get a new one.",
            url=reverse("accounts:report-compromise"),
        ) from exc
    except signing.BadSignature as exc:
        raise AccountRestricted("This recovery link is not valid.") from exc
    user = User.objects.filter(pk=data.get("u"), cancelled_at__isnull=True).first()
    if user is None or user.locked_at is None or user.locked_at.isoformat() != data.get("l"):
        raise AccountRestricted("This recovery link has already been used or is no longer valid.")
    return user


@transaction.atomic
def recover_account(*, token, new_password, request=None):
    user = read_recovery_token(token)
    user = User.objects.select_for_update().get(pk=user.pk)
    user.set_password(new_password)
    user.locked_at = None
    user.save(update_fields=["password", "locked_at"])
    CompromiseReport.objects.filter(user=user, recovered_at__isnull=True).update(recovered_at=timezone.now())
    record("accounts.recovered", actor=None, target=user, request=request)
    emails.account_recovered(user)
    return user


@transaction.atomic
def resolve_compromise_report(*, report, actor, notes="", request=None):
    updated = CompromiseReport.objects.filter(pk=report.pk, resolved_at__isnull=True).update(
        resolved_at=timezone.now(), resolved_by=actor, staff_notes=notes
    )
    if updated:
        record("accounts.compromise_resolved", actor=actor, target=report, reason=notes, request=request)
    return bool(updated)
