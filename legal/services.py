"""Everything that changes legal state: publishing, accepting, consent, notices.

Other apps use: ``current_version``, ``record_acceptance``, ``outstanding_versions``,
``ensure_current_agreements``, ``set_marketing_consent``, ``send_private_message``, and for their own
promotional email ``promotional_recipients``, ``promotional_delivery`` and ``deliver_promotional``.
"""

import dataclasses
import logging

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import F, Max, Q
from django.urls import reverse
from django.utils import timezone

from allmytracks import audit
from allmytracks.mail import mail_batch
from allmytracks.tasks import enqueue_on_commit

from .models import (
    REQUIRED_FOR_EVERYONE,
    Acceptance,
    AcceptanceMethod,
    Announcement,
    ConsentChange,
    Document,
    MarketingConsent,
    Message,
    Notice,
    NoticeDelivery,
    Version,
    email_hash,
)

log = logging.getLogger(__name__)

# How long an agreement-change banner stays up after the version takes effect.
ANNOUNCEMENT_DAYS_AFTER_EFFECT = 30
_REQUEST_CACHE = "_legal_cache"


class LegalError(Exception):
    """A refusal with a message that can be shown to the user as it is."""


class AcceptanceRequired(LegalError):
    def __init__(self, versions=()):
        self.versions = list(versions)
        self.url = reverse("legal:accept")
        names = ", ".join(v.document.title for v in self.versions) or "the updated agreements"
        super().__init__(f"Please review and accept the updated {names} before you continue.")


# --- which version is in force -----------------------------------------------------------------


def ensure_documents():
    """The four documents (created by migration 0002; again here for tests that flush the
    database, and for seed_legal). Returns {kind: Document}."""
    from .models import DocumentKind

    descriptions = {
        "user-agreement": "The main agreement between you and AllMyTracks: accounts, use of the site, "
        "licences, fees and liability.",
        "privacy-policy": "What personal data we collect, why, how long we keep it and your rights.",
        "premium-membership": "The terms of paid memberships: billing, renewal, cancellation and what each "
        "plan includes.",
        "music-licence": "What a licence for a track or sound effect lets you do, for one end user "
        "and one project.",
    }
    return {
        kind: Document.objects.get_or_create(
            kind=kind, defaults={"title": label, "description": descriptions[kind], "position": position}
        )[0]
        for position, (kind, label) in enumerate(DocumentKind.choices, start=1)
    }


IN_FORCE_CACHE_KEY = "legal:in-force"
IN_FORCE_CACHE_SECONDS = 300


def _versions_in_force(now):
    result = {}
    rows = (
        Version.objects.in_force_or_past(now)
        .select_related("document")
        .order_by("document_id", "-effective_at", "-number")
    )
    for version in rows:
        result.setdefault(version.document.kind, version)
    return result


def current_versions(now=None):
    """{kind: Version} for every document with a version in force at ``now``.

    Without ``now`` the answer is cached (every signed-in page asks): until the next
    publication, or until an upcoming version takes effect, at most five minutes.
    """
    if now is not None:
        return _versions_in_force(now)
    cached = cache.get(IN_FORCE_CACHE_KEY)
    current = timezone.now()
    if cached is not None and (cached["until"] is None or cached["until"] > current):
        return cached["versions"]
    versions = _versions_in_force(current)
    upcoming = (
        Version.objects.upcoming(current).order_by("effective_at").values_list("effective_at", flat=True)
    )
    next_change = upcoming.first()
    timeout = IN_FORCE_CACHE_SECONDS
    if next_change is not None:
        timeout = max(1, min(timeout, int((next_change - current).total_seconds()) + 1))
    cache.set(IN_FORCE_CACHE_KEY, {"versions": versions, "until": next_change}, timeout)
    return versions


def forget_versions_in_force():
    """Called when a version is published: now, and again once the transaction commits."""
    cache.delete(IN_FORCE_CACHE_KEY)
    transaction.on_commit(lambda: cache.delete(IN_FORCE_CACHE_KEY))


def current_version(kind_slug, now=None):
    """The version of this document in force now, or None when none has taken effect."""
    if now is None:
        return current_versions().get(kind_slug)
    return (
        Version.objects.in_force_or_past(now)
        .filter(document__kind=kind_slug)
        .select_related("document")
        .order_by("-effective_at", "-number")
        .first()
    )


def upcoming_version(kind_slug, now=None):
    """A published version that takes effect later, if any (the soonest)."""
    return (
        Version.objects.upcoming(now)
        .filter(document__kind=kind_slug)
        .select_related("document")
        .order_by("effective_at", "number")
        .first()
    )


# --- acceptance --------------------------------------------------------------------------------


def _client(request):
    if request is None:
        return None, ""
    return audit.client_ip(request), (request.headers.get("user-agent") or "")[:400]


def _forget_cached_status(request):
    if request is not None and hasattr(request, _REQUEST_CACHE):
        delattr(request, _REQUEST_CACHE)


def record_acceptance(*, user, version, method, request=None):
    """Record that ``user`` accepted ``version`` (which must be the one in force now).

    ``method`` is one of signup, reaccept, guardian, checkout, continued_use. Stores the
    time, IP, user agent and the SHA-256 of the text accepted.
    """
    if method not in AcceptanceMethod.values:
        raise LegalError(f"Unknown way of accepting: {method!r}.")
    if user is None or not user.is_authenticated:
        raise LegalError("Sign in to accept an agreement.")
    in_force = current_version(version.document.kind, now=timezone.now())  # exact, never cached
    if in_force is None or in_force.pk != version.pk:
        shown = f"version {in_force.number}" if in_force else "no version"
        raise LegalError(
            f"{version.document.title} version {version.number} is not the one in force ({shown} is). "
            "Please review the current text and accept that one."
        )
    ip, agent = _client(request)
    acceptance = Acceptance.objects.create(
        user=user,
        email_hash=email_hash(user.email),
        version=in_force,
        method=method,
        ip=ip,
        user_agent=agent,
        text_sha256=in_force.body_sha256,
    )
    _forget_cached_status(request)
    return acceptance


@dataclasses.dataclass
class AgreementStatus:
    outstanding: list  # versions the user must accept explicitly
    continued_use: list  # non-material versions accepted by using the site


def agreement_status(user, now=None, request=None):
    """Which versions in force this user must accept, and which count as accepted by use.

    - User Agreement and Privacy Policy bind everyone; the Premium Membership and Music
      Licence agreements bind only users who accepted a version of them before.
    - If the user accepted the version in force: nothing to do.
    - Never accepted a required document: it is outstanding.
    - Accepted an older version: outstanding if any version after it, up to the one in
      force, is a material change; otherwise accepted by continued use.
    One or two queries; cached on ``request`` (when given) for the rest of the request.
    """
    cached = getattr(request, _REQUEST_CACHE, None)
    if cached is not None and now is None:
        return cached
    in_force = current_versions(now)
    status = AgreementStatus([], [])
    if not in_force or not user.is_authenticated:
        return status
    accepted = {}
    for kind, number in Acceptance.objects.filter(user=user).values_list(
        "version__document__kind", "version__number"
    ):
        accepted[kind] = max(number, accepted.get(kind, 0))
    needs_material_check = {}
    for kind, version in in_force.items():
        last = accepted.get(kind)
        if last is not None and last >= version.number:
            continue
        if last is None:
            if kind in REQUIRED_FOR_EVERYONE:
                status.outstanding.append(version)
            continue
        needs_material_check[kind] = (last, version)
    if needs_material_check:
        material = set(
            Version.objects.published()
            .filter(document__kind__in=needs_material_check.keys(), material=True)
            .values_list("document__kind", "number")
        )
        for kind, (last, version) in needs_material_check.items():
            if any((kind, n) in material for n in range(last + 1, version.number + 1)):
                status.outstanding.append(version)
            else:
                status.continued_use.append(version)
    status.outstanding.sort(key=lambda v: v.document.position)
    if now is None and request is not None:
        setattr(request, _REQUEST_CACHE, status)
    return status


def outstanding_versions(user, request=None):
    """Material versions in force of documents this user must accept and has not."""
    return agreement_status(user, request=request).outstanding


def record_continued_use(user, request=None):
    """Record non-material versions as accepted by continued use (the user was notified)."""
    status = agreement_status(user, request=request)
    recorded = []
    for version in status.continued_use:
        try:
            recorded.append(
                record_acceptance(user=user, version=version, method="continued_use", request=request)
            )
        except LegalError:  # a newer version took effect a moment ago; the next request handles it
            continue
    if recorded:
        status.continued_use = []
    return recorded


def ensure_current_agreements(user, request=None):
    """Raise AcceptanceRequired unless the user has accepted every material version in force.

    Billing and licensing call this before a purchase or a download.
    """
    record_continued_use(user, request)
    outstanding = outstanding_versions(user, request)
    if outstanding:
        raise AcceptanceRequired(outstanding)


def accept_versions(*, user, version_ids, request=None):
    """The acceptance page: accept exactly the versions shown. Refuses stale or unknown ids."""
    outstanding = {v.pk: v for v in outstanding_versions(user)}
    wanted = set(version_ids)
    if not wanted or wanted != set(outstanding):
        raise LegalError(
            "The agreements changed while you were reading. "
            "Please review the current versions below and accept again."
        )
    with transaction.atomic():
        rows = [
            record_acceptance(user=user, version=outstanding[pk], method="reaccept", request=request)
            for pk in sorted(wanted)
        ]
    return rows


def record_decline(*, user, versions, request=None):
    """The user declined: nothing is accepted; downloads and purchases stay refused."""
    for version in versions:
        audit.record("legal.decline", actor=user, target=version, request=request)


# --- marketing consent --------------------------------------------------------------------------


def marketing_opted_in(user):
    return MarketingConsent.objects.filter(user=user, opted_in=True).exists()


def promotional_recipients(users=None):
    """The accounts promotional email may go to now (``users``, a queryset of accounts, narrowed;
    every account by default): opted in, and allowed to use the site — not cancelled, banned,
    suspended or locked. The one rule for promotional notices and the catalogue's followed-artists
    email alike."""
    from django.contrib.auth import get_user_model

    users = get_user_model().objects.all() if users is None else users
    suspended = Q(moderation="suspended") & (
        Q(suspended_until__isnull=True) | Q(suspended_until__gt=timezone.now())
    )
    return (
        users.filter(
            is_active=True,
            cancelled_at__isnull=True,
            locked_at__isnull=True,
            marketing_consent__opted_in=True,
        )
        .exclude(moderation="banned")
        .exclude(suspended)
    )


def promotional_delivery(*, user, kind):
    """A pending notice-log row for a promotional email that is not a staff notice (``kind`` says
    what: the catalogue's followed-artists email), or None when ``user`` may not get promotional
    email now. Made in the transaction that decides to send; ``deliver_promotional`` sends it after
    the commit."""
    if not user.email or not promotional_recipients().filter(pk=user.pk).exists():
        return None
    return NoticeDelivery.objects.create(
        user=user,
        email_hash=email_hash(user.email),
        channel=NoticeDelivery.Channel.EMAIL,
        kind=kind,
        subject="",
        status=NoticeDelivery.Status.PENDING,
    )


def skip_promotional(deliveries):
    """Mark the still-pending rows among ``deliveries`` (a queryset of notice-log rows, or one row)
    skipped: emails claimed that will not be sent. Returns how many."""
    if isinstance(deliveries, NoticeDelivery):
        deliveries = NoticeDelivery.objects.filter(pk=deliveries.pk)
    return deliveries.filter(status=NoticeDelivery.Status.PENDING).update(
        status=NoticeDelivery.Status.SKIPPED
    )


def stale_promotional(kind, *, older_than):
    """Pending rows of promotional email ``kind`` claimed before ``older_than`` and never sent."""
    return NoticeDelivery.objects.filter(
        kind=kind, status=NoticeDelivery.Status.PENDING, created_at__lt=older_than
    )


def deliver_promotional(delivery, *, template, context, mailer=None):
    """Send a ``promotional_delivery`` once, as notices are sent: claimed first (pending → sending, so
    a second worker finds nothing), skipped if the account may no longer get promotional email, then
    marked sent (with its subject) or failed (with the reason); a row a dead worker left ``sending``
    is never sent again. Returns whether it was sent."""
    from . import emails

    claimed = NoticeDelivery.objects.filter(pk=delivery.pk, status=NoticeDelivery.Status.PENDING).update(
        status=NoticeDelivery.Status.SENDING, claimed_at=timezone.now()
    )
    if not claimed:
        return False
    if not promotional_recipients().filter(pk=delivery.user_id).exists():  # unsubscribed meanwhile
        NoticeDelivery.objects.filter(pk=delivery.pk).update(status=NoticeDelivery.Status.SKIPPED)
        return False
    try:
        message = emails.send_promotional(template, user=delivery.user, context=context, mailer=mailer)
    except SoftTimeLimitExceeded:  # out of time mid-send: left "sending" (uncertain), never sent again
        raise
    except Exception as exc:  # a bad address or a refusing server: logged, the caller goes on
        log.warning("%s email to user %s failed: %s", delivery.kind, delivery.user_id, exc)
        NoticeDelivery.objects.filter(pk=delivery.pk).update(
            status=NoticeDelivery.Status.FAILED, error=str(exc)[:300]
        )
        return False
    NoticeDelivery.objects.filter(pk=delivery.pk).update(
        status=NoticeDelivery.Status.SENT, sent_at=timezone.now(), subject=message.subject[:200]
    )
    return True


def set_marketing_consent(*, user, opted_in, source, request=None):
    """Set whether promotional email may be sent to this user, and log the change."""
    ip, agent = _client(request)
    with transaction.atomic():
        consent, created = MarketingConsent.objects.select_for_update().get_or_create(
            user=user, defaults={"opted_in": bool(opted_in), "source": source}
        )
        if not created and consent.opted_in == bool(opted_in):
            return consent
        if not created:
            consent.opted_in = bool(opted_in)
            consent.source = source
            consent.save(update_fields=["opted_in", "source", "updated_at"])
        ConsentChange.objects.create(
            user=user,
            email_hash=email_hash(user.email),
            opted_in=bool(opted_in),
            source=source,
            ip=ip,
            user_agent=agent,
        )
    return consent


# --- private messages and notices -----------------------------------------------------------------


def send_private_message(*, user, subject, body, sender=None):
    """Put one message in one user's inbox and log it as served."""
    with transaction.atomic():
        message = Message.objects.create(recipient=user, sender=sender, subject=subject, body=body)
        NoticeDelivery.objects.create(
            user=user,
            email_hash=email_hash(user.email),
            channel=NoticeDelivery.Channel.MESSAGE,
            kind="private_message",
            subject=subject[:200],
            status=NoticeDelivery.Status.SENT,
            sent_at=message.sent_at,
        )
        if sender is not None:
            audit.record("legal.message", actor=sender, target=user, subject=subject)
    return message


def audience(notice):
    """The accounts a notice goes to, in id order. Promotional notices: only the accounts
    ``promotional_recipients`` allows (opted in, and not suspended or locked either)."""
    from django.contrib.auth import get_user_model

    users = (
        get_user_model()
        .objects.filter(is_active=True, cancelled_at__isnull=True)
        .exclude(moderation="banned")
    )
    if notice.audience == Notice.Audience.ONE:
        users = users.filter(pk=notice.recipient_id)
    elif notice.audience == Notice.Audience.INDIVIDUAL:
        users = users.filter(account_type="individual")
    elif notice.audience == Notice.Audience.ENTERPRISE:
        users = users.filter(account_type="enterprise")
    elif notice.audience == Notice.Audience.ACCEPTED:
        users = users.filter(acceptances__version__document_id=notice.version.document_id).distinct()
    if notice.kind == Notice.Kind.PROMOTIONAL:
        users = promotional_recipients(users)
    return users.order_by("pk")


def start_notice(*, notice, actor):
    """Staff pressed send: move the notice from draft to sending and queue the first batch."""
    from . import tasks

    notice.full_clean()
    with transaction.atomic():
        moved = Notice.objects.filter(pk=notice.pk, status=Notice.Status.DRAFT).update(
            status=Notice.Status.SENDING, started_at=timezone.now(), heartbeat_at=timezone.now()
        )
        if not moved:
            raise LegalError(f"“{notice}” has already been sent or is being sent.")
        audit.record("legal.notice.start", actor=actor, target=notice, audience=notice.audience)
        enqueue_on_commit(tasks.send_notice_batch, notice.pk)


def resume_notice(*, notice, actor=None):
    """Queue the next batch of a notice whose sending stopped (worker crash, deploy)."""
    from . import tasks

    if notice.status != Notice.Status.SENDING:
        raise LegalError(f"“{notice}” is not being sent.")
    audit.record("legal.notice.resume", actor=actor, target=notice)
    enqueue_on_commit(tasks.send_notice_batch, notice.pk)


def _prepare_batch(notice_id, batch_size):
    """Hand the next ``batch_size`` recipients to this run: create their inbox messages and
    their pending email deliveries, and move the cursor. Returns (notice, more_to_come)."""
    with transaction.atomic():
        notice = (
            Notice.objects.select_for_update(of=("self",))
            .select_related("version__document")
            .get(pk=notice_id)
        )
        if notice.status != Notice.Status.SENDING:
            return notice, False
        users = list(audience(notice).filter(pk__gt=notice.cursor).values_list("pk", "email")[:batch_size])
        now = timezone.now()
        if users:
            kind = notice.kind
            subject = notice.subject[:200]
            if notice.send_message:
                Message.objects.bulk_create(
                    [
                        Message(
                            recipient_id=pk,
                            notice=notice,
                            subject=notice.subject,
                            body=notice.body,
                            sent_at=now,
                        )
                        for pk, _ in users
                    ],
                    ignore_conflicts=True,
                )
                NoticeDelivery.objects.bulk_create(
                    [
                        NoticeDelivery(
                            notice=notice,
                            user_id=pk,
                            email_hash=email_hash(email),
                            channel=NoticeDelivery.Channel.MESSAGE,
                            kind=kind,
                            subject=subject,
                            status=NoticeDelivery.Status.SENT,
                            sent_at=now,
                        )
                        for pk, email in users
                    ],
                    ignore_conflicts=True,
                )
            if notice.send_email:
                NoticeDelivery.objects.bulk_create(
                    [
                        NoticeDelivery(
                            notice=notice,
                            user_id=pk,
                            email_hash=email_hash(email),
                            channel=NoticeDelivery.Channel.EMAIL,
                            kind=kind,
                            subject=subject,
                        )
                        for pk, email in users
                    ],
                    ignore_conflicts=True,
                )
            notice.cursor = users[-1][0]
            notice.batches += 1
        notice.heartbeat_at = now
        notice.save(update_fields=["cursor", "batches", "heartbeat_at"])
        return notice, len(users) == batch_size


def _send_pending_emails(notice, limit):
    """Send this notice's pending emails, each claimed first so no one gets two copies."""
    from . import emails

    pending = list(
        NoticeDelivery.objects.filter(
            notice=notice, channel=NoticeDelivery.Channel.EMAIL, status=NoticeDelivery.Status.PENDING
        )
        .select_related("user")
        .order_by("pk")[:limit]
    )
    sent = 0
    with mail_batch() as mailer:  # one connection for the batch
        for delivery in pending:
            claimed = NoticeDelivery.objects.filter(
                pk=delivery.pk, status=NoticeDelivery.Status.PENDING
            ).update(status=NoticeDelivery.Status.SENDING, claimed_at=timezone.now())
            if not claimed:
                continue  # another run has it
            if delivery.user is None or not delivery.user.email:
                NoticeDelivery.objects.filter(pk=delivery.pk).update(status=NoticeDelivery.Status.SKIPPED)
                continue
            try:
                emails.send_notice_email(notice=notice, user=delivery.user, mailer=mailer)
            except Exception as exc:  # a bad address or a refusing server: log it, go on with the rest
                log.warning("notice %s to user %s failed: %s", notice.pk, delivery.user_id, exc)
                NoticeDelivery.objects.filter(pk=delivery.pk).update(
                    status=NoticeDelivery.Status.FAILED, error=str(exc)[:300]
                )
                continue
            NoticeDelivery.objects.filter(pk=delivery.pk).update(
                status=NoticeDelivery.Status.SENT, sent_at=timezone.now()
            )
            sent += 1
    if sent:
        Notice.objects.filter(pk=notice.pk).update(
            sent_count=F("sent_count") + sent, heartbeat_at=timezone.now()
        )
    return len(pending)


def send_notice_batch(notice_id, batch_size=None):
    """One bounded step of a notice's fan-out. Safe to run twice or concurrently.

    Returns True when another batch should be queued.
    """
    batch_size = batch_size or settings.LEGAL_NOTICE_BATCH_SIZE
    notice, more = _prepare_batch(notice_id, batch_size)
    if notice.status != Notice.Status.SENDING:
        return False
    handled = _send_pending_emails(notice, batch_size)
    if more or handled == batch_size:
        return True
    Notice.objects.filter(pk=notice.pk, status=Notice.Status.SENDING).update(
        status=Notice.Status.DONE, finished_at=timezone.now()
    )
    return False


def stalled_notices(older_than_minutes=10):
    cutoff = timezone.now() - timezone.timedelta(minutes=older_than_minutes)
    return Notice.objects.filter(status=Notice.Status.SENDING, heartbeat_at__lt=cutoff)


# --- publishing ------------------------------------------------------------------------------------


@dataclasses.dataclass
class PublishResult:
    version: Version
    notes: list


def _notice_text(version, effective_at):
    doc = version.document
    when = timezone.localtime(effective_at).strftime("%d %B %Y, %H:%M %Z")
    url = settings.SITE_URL + version.get_changes_url()
    lines = [
        f"We have published version {version.number} of our {doc.title}. It takes effect on {when}.",
        "",
    ]
    if version.summary:
        lines += ["What changes:", version.summary.strip(), ""]
    if version.material:
        lines.append(
            "This is a material change: we will ask you to read and accept it before your next download "
            "or purchase" + (" once it takes effect." if effective_at > timezone.now() else ".")
        )
    else:
        lines.append(
            "This change does not affect your rights materially; using AllMyTracks after it takes "
            "effect means you accept it."
        )
    lines += ["", f"Read the new text and what changed: {url}"]
    return "\n".join(lines)


def _and(words):
    words = list(words)
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def draft_refusal(document, *, editing=None):
    """Why no new draft of ``document`` may be saved (it has one already), in a sentence; "" when
    one may. ``editing`` is the draft being saved, when it exists already: it does not count.

    Answers without locking, for forms and confirmation pages; ``new_draft_from`` and
    ``save_draft`` ask again under the document's lock."""
    drafts = Version.objects.filter(document=document, status=Version.Status.DRAFT)
    if editing is not None and editing.pk:
        drafts = drafts.exclude(pk=editing.pk)
    numbers = sorted(drafts.values_list("number", flat=True))
    if not numbers:
        return ""
    named = f"a draft, v{numbers[0]}" if len(numbers) == 1 else f"drafts {_and(f'v{n}' for n in numbers)}"
    return f"The {document.title} already has {named}: edit it, or delete it to start again."


def number_refusal(document, number):
    """Why a draft of ``document`` numbered ``number`` could never be published (a version numbered
    at or above it is published already), in a sentence; "" when it could.

    Answers without locking, for forms; ``save_draft`` and ``publish_version`` ask again under the
    document's lock."""
    latest = document.versions.published().aggregate(n=Max("number"))["n"]
    if latest is not None and number <= latest:
        return f"Version {latest} of the {document.title} is already published; number this draft above it."
    if number < 1:
        return "Number versions from 1."
    return ""


def publish_refusal(draft, *, now=None):
    """Why ``draft`` may not be published, in a sentence; "" when it may (its number first:
    ``number_refusal``).

    A text already published (in force, or to take effect later) announced again would only ask
    everyone to accept what they accepted; a material change is accepted again by every member, and
    its notice and banner say what changed from the summary (an agreement's first version changes
    nothing, and needs none). Answers without locking; ``publish_version`` asks again under the
    document's lock."""
    now = now or timezone.now()
    document = draft.document
    refusal = number_refusal(document, draft.number)
    if refusal:
        return refusal
    published = [(current_version(document.kind, now=now), "the version in force")]
    published += [
        (version, "already published to take effect later")
        for version in Version.objects.upcoming(now).filter(document=document).order_by("effective_at")
    ]
    for version, which in published:
        if version is not None and version.pk != draft.pk and version.body_sha256 == draft.body_sha256:
            return f"{draft} has the same text as v{version.number}, {which}: there is no change to publish."
    first = not document.versions.published().exclude(pk=draft.pk).exists()
    if draft.material and not draft.summary.strip() and not first:
        return (
            f"{draft} is a material change without a summary of changes: write what changed (members "
            "are asked to accept it again, and the notice tells them what changed)."
        )
    return ""


def publish_version(*, version, actor, notify=True, now=None):
    """Publish a draft: freeze it, and announce it by banner, private message and email.

    - An effective date that is empty or in the past becomes "now" (and the result says so).
    - If two staff publish at the same time, exactly one wins; the other gets a LegalError.
    - A version number at or below one already published for the document is refused.
    - So is what ``publish_refusal`` refuses: the text of a version already published (in force or
      upcoming), or a material change without a summary. Checked under the document's lock, so two
      staff publishing at once cannot both get past it.
    """
    now = now or timezone.now()
    notes = []
    with transaction.atomic():
        # Locks the document so two versions of it are never published at once.
        Document.objects.select_for_update().get(pk=version.document_id)
        fresh = Version.objects.get(pk=version.pk)
        if fresh.is_published:
            who = fresh.published_by or "another staff member"
            raise LegalError(
                f"{fresh} was already published by {who} at "
                f"{timezone.localtime(fresh.published_at):%d %b %Y %H:%M}. Nothing was changed."
            )
        if not fresh.body.strip():
            raise LegalError(f"{fresh} has no text.")
        refusal = publish_refusal(fresh, now=now)
        if refusal:
            raise LegalError(refusal)
        effective = fresh.effective_at
        if effective is None or effective < now:
            if effective is not None:
                notes.append(
                    f"The effective date {timezone.localtime(effective):%d %b %Y %H:%M} was in the past; "
                    f"the version takes effect now ({timezone.localtime(now):%d %b %Y %H:%M})."
                )
            effective = now
        # The conditional update is what makes "one wins" hold on every database.
        won = Version.objects.filter(pk=fresh.pk, status=Version.Status.DRAFT).update(
            status=Version.Status.PUBLISHED, effective_at=effective, published_at=now, published_by=actor
        )
        if not won:
            raise LegalError(f"{fresh} was published by someone else a moment ago. Nothing was changed.")
        fresh.refresh_from_db()
        forget_versions_in_force()
        audit.record(
            "legal.publish",
            actor=actor,
            target=fresh,
            effective_at=effective.isoformat(),
            material=fresh.material,
            sha256=fresh.body_sha256,
        )
        if notify:
            _announce(fresh, effective, actor)
            notes.append("Users are being notified by banner, private message and email.")
    version.refresh_from_db()
    return PublishResult(fresh, notes)


def _announce(version, effective, actor):
    from . import tasks

    doc = version.document
    later = effective > timezone.now()
    title = (
        f"Our {doc.title} changes on {timezone.localtime(effective):%d %B %Y}"
        if later
        else f"We have updated our {doc.title}"
    )
    Announcement.objects.create(
        title=title,
        body=(version.summary.strip().splitlines() or [""])[0][:300],
        level=Announcement.Level.WARNING if version.material else Announcement.Level.INFO,
        kind=Announcement.Kind.AGREEMENT,
        link_url=version.get_changes_url(),
        starts_at=timezone.now(),
        ends_at=effective + timezone.timedelta(days=ANNOUNCEMENT_DAYS_AFTER_EFFECT),
        version=version,
        created_by=actor,
    )
    notice = Notice.objects.create(
        kind=Notice.Kind.AGREEMENT,
        subject=title,
        body=_notice_text(version, effective),
        audience=Notice.Audience.ALL if doc.required_for_everyone else Notice.Audience.ACCEPTED,
        version=version,
        status=Notice.Status.SENDING,
        started_at=timezone.now(),
        heartbeat_at=timezone.now(),
        created_by=actor,
    )
    enqueue_on_commit(tasks.send_notice_batch, notice.pk)
    return notice


def new_draft_from(*, version, actor):
    """Editing a published version means starting the next draft from its text.

    An agreement has one draft at a time: refused (LegalError) while it has one, checked under the
    document's lock so that two staff starting drafts at once get one draft between them."""
    with transaction.atomic():
        document = Document.objects.select_for_update().get(pk=version.document_id)
        refusal = draft_refusal(document)
        if refusal:
            raise LegalError(refusal)
        latest = document.versions.aggregate(n=Max("number"))["n"] or 0
        try:
            draft = Version.objects.create(
                document=document,
                number=latest + 1,
                title=version.title,
                body=version.body,
                summary="",
                material=True,
            )
        except IntegrityError as exc:  # pragma: no cover - a number taken outside this service
            raise LegalError("Another draft was created at the same moment; reload the list.") from exc
        audit.record("legal.draft", actor=actor, target=draft, source_version=version.pk)
    return draft


def save_draft(*, version, actor):
    """Save a draft written by staff (the staff site's add and change pages).

    Refused (LegalError) when its agreement has another draft, under the document's lock: a second
    draft could never be published once the other one is (its number would be at or below the
    latest), or would strand the other one. Refused too when its number is at or below the latest
    published version's: publishing it would be refused, so it is refused now. A published version
    is never saved here."""
    with transaction.atomic():
        document = Document.objects.select_for_update().get(pk=version.document_id)
        if version.pk and Version.objects.filter(pk=version.pk, status=Version.Status.PUBLISHED).exists():
            raise LegalError(f"{version} is published and cannot be changed. Make a new draft instead.")
        refusal = draft_refusal(document, editing=version) or number_refusal(document, version.number)
        if refusal:
            raise LegalError(refusal)
        created = version.pk is None
        version.status = Version.Status.DRAFT
        version.save()
        if created:
            audit.record("legal.draft", actor=actor, target=version)
    return version
