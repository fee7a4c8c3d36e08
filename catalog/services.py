"""Catalogue services: favourites, playlists, similar tracks, home-page shelves, popularity and trending,
publishing, slugs."""

import logging
import secrets
from datetime import datetime, time, timedelta
from time import monotonic
from typing import NamedTuple

from celery.exceptions import SoftTimeLimitExceeded
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Exists, F, Min, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify

from allmytracks import audit
from allmytracks.mail import mail_batch

from .cards import CARD_FIELDS, load_cards
from .models import (
    Artist,
    ArtistFollow,
    Collection,
    DailyPlays,
    Favourite,
    FollowDigest,
    IngestStatus,
    Playlist,
    PlaylistItem,
    Track,
    TrackVersion,
)
from .querysets import attach_tags
from .search import forget_search_results

log = logging.getLogger(__name__)


class CatalogError(Exception):
    """A catalogue action that cannot be done; the message is for the user."""


# --- slugs --------------------------------------------------------------------------------


def unique_slug(model, text, *, max_length=200, exclude_pk=None):
    base = slugify(text)[: max_length - 8].strip("-") or "untitled"
    slug, n = base, 2
    qs = model.objects.all()
    if exclude_pk:
        qs = qs.exclude(pk=exclude_pk)
    while qs.filter(slug=slug).exists():
        slug = f"{base}-{n}"
        n += 1
    return slug


# --- favourites ---------------------------------------------------------------------------


def _set(model, wanted, **fields):
    """Make the row of ``model`` with ``fields`` exist (``wanted`` True) or not (False); None flips
    it. Returns True when it now exists. A button posts the state it asks for, so a double click
    or a resent form asks for the same thing twice rather than undoing itself; a double click that
    races the create finds it made."""
    if wanted is None:
        wanted = not model.objects.filter(**fields).exists()
    if not wanted:
        model.objects.filter(**fields).delete()
        return False
    model.objects.get_or_create(**fields)  # a create that loses a race reads the winner's row
    return True


def set_favourite(*, user, track, wanted=None):
    """Make ``track`` one of ``user``'s favourites (``wanted`` True) or not (False; None flips it);
    returns True when it is now a favourite."""
    return _set(Favourite, wanted, user=user, track=track)


def licence_counts(user, tracks):
    """{track id: active licences ``user`` holds of it} among ``tracks`` (one query; none for
    anonymous)."""
    ids = [t.pk for t in tracks]
    if not user.is_authenticated or not ids:
        return {}
    license_model = Track._meta.get_field("licenses").related_model
    held = license_model.objects.filter(account=user, track_id__in=ids, status=license_model.Status.ACTIVE)
    return dict(held.values_list("track_id").annotate(n=Count("pk")).order_by())


def row_marks(user, tracks):
    """What result rows mark for the visitor: their favourites and the tracks they hold a licence for
    (“Licensed”), with how many (context for ``track_row`` / ``track_rows``; two queries, none
    signed out)."""
    counts = licence_counts(user, tracks)
    return {
        "favourite_ids": favourite_ids(user, tracks),
        "licensed_ids": set(counts),
        "licence_counts": counts,
    }


def favourite_ids(user, tracks):
    """The ids among ``tracks`` that ``user`` has favourited (one query; none for anonymous)."""
    if not user.is_authenticated:
        return set()
    ids = [t.pk for t in tracks]
    if not ids:
        return set()
    return set(Favourite.objects.filter(user=user, track_id__in=ids).values_list("track_id", flat=True))


# --- playlists ----------------------------------------------------------------------------

PLAYLISTS_PER_ACCOUNT = 100
TRACKS_PER_PLAYLIST = 500


def playlist_title(title):
    """A playlist's name as kept: spaces run together, ends trimmed, cut to the field's length (a
    collection's title may be longer)."""
    return " ".join(title.split())[: Playlist._meta.get_field("title").max_length].strip()


def create_playlist(*, user, title):
    """A new playlist of ``user``'s, or the one they already have of that name (any case): a form
    sent twice makes one. Refused past ``PLAYLISTS_PER_ACCOUNT``."""
    title = playlist_title(title)
    if not title:
        raise CatalogError("Give the playlist a name.")
    with transaction.atomic():
        # The account row is the lock: two requests at once cannot both pass the count.
        get_user_model().objects.select_for_update().filter(pk=user.pk).first()
        existing = Playlist.objects.filter(user=user, title__iexact=title).first()
        if existing is not None:
            return existing
        if Playlist.objects.filter(user=user).count() >= PLAYLISTS_PER_ACCOUNT:
            raise CatalogError(
                f"You have {PLAYLISTS_PER_ACCOUNT} playlists, the most an account can keep. "
                "Delete one you no longer use to make another."
            )
        return Playlist.objects.create(user=user, title=title)


def rename_playlist(*, playlist, title):
    title = playlist_title(title)
    if not title:
        raise CatalogError("Give the playlist a name.")
    others = Playlist.objects.filter(user_id=playlist.user_id, title__iexact=title).exclude(pk=playlist.pk)
    if others.exists():
        raise CatalogError(f"You already have a playlist called “{title}”.")
    playlist.title = title
    try:
        with transaction.atomic():
            playlist.save(update_fields=["title", "updated_at"])
    except IntegrityError:  # the same name given to another playlist at this moment
        raise CatalogError(f"You already have a playlist called “{title}”.") from None
    return playlist


def set_track_playlists(*, user, track, playlists, new_title="", among=None):
    """Put ``track`` in exactly ``playlists`` (``user``'s own, as the form checked them) and, with
    ``new_title``, in a new playlist of that name too — taking it off only the playlists (ids)
    ``among`` when given (those the form showed). Returns (added to, removed from) as lists of
    playlists. Refused, changing nothing, when a playlist would hold more than
    ``TRACKS_PER_PLAYLIST`` tracks."""
    with transaction.atomic():
        wanted = {p.pk: p for p in playlists if p.user_id == user.pk}
        if new_title:
            made = create_playlist(user=user, title=new_title)
            wanted[made.pk] = made
        mine = Playlist.objects.filter(user=user)
        items = PlaylistItem.objects.filter(playlist__in=mine, track=track)
        current = set(items.values_list("playlist", flat=True))
        unwanted = current - set(wanted)
        removed = list(mine.filter(pk__in=unwanted if among is None else unwanted & set(among)))
        added = [p for pk, p in wanted.items() if pk not in current]
        # Locked first, so two requests filling the same playlist at once count one after the other.
        list(Playlist.objects.select_for_update().filter(pk__in=[p.pk for p in added]).values_list("pk"))
        full = (
            Playlist.objects.filter(pk__in=[p.pk for p in added])
            .annotate(n=Count("items"))
            .filter(n__gte=TRACKS_PER_PLAYLIST)
            .first()
        )
        if full is not None:
            raise CatalogError(
                f"“{full.title}” holds {TRACKS_PER_PLAYLIST} tracks, the most a playlist can. "
                "Remove some, or start another playlist."
            )
        PlaylistItem.objects.filter(playlist__in=removed, track=track).delete()
        tops = _top_positions([p.pk for p in added])
        # A form sent twice at once: the second finds the items there and adds nothing.
        PlaylistItem.objects.bulk_create(
            [PlaylistItem(playlist=p, track=track, position=tops.get(p.pk, 0) - 1) for p in added],
            ignore_conflicts=True,
        )
        changed = [p.pk for p in added + removed]
        if changed:
            Playlist.objects.filter(pk__in=changed).update(updated_at=timezone.now())
    return added, removed


def save_as_playlist(*, user, title, tracks):
    """A playlist of ``user``'s named ``title`` holding ``tracks`` (a collection kept to change): the
    one they have of that name when there is one, with the tracks it lacks added. Refused, adding
    nothing, past ``TRACKS_PER_PLAYLIST``. Returns (playlist, number of tracks added)."""
    with transaction.atomic():
        playlist = create_playlist(user=user, title=title)
        Playlist.objects.select_for_update().filter(pk=playlist.pk).first()
        held = set(PlaylistItem.objects.filter(playlist=playlist).values_list("track_id", flat=True))
        new = [t for t in dict.fromkeys(tracks) if t.pk not in held]
        if len(held) + len(new) > TRACKS_PER_PLAYLIST:
            raise CatalogError(
                f"“{playlist.title}” would hold more than {TRACKS_PER_PLAYLIST} tracks, "
                "the most a playlist can."
            )
        top = _top_positions([playlist.pk]).get(playlist.pk, 0)
        PlaylistItem.objects.bulk_create(  # on top, in the given order
            [
                PlaylistItem(playlist=playlist, track=t, position=top - len(new) + n)
                for n, t in enumerate(new)
            ],
            ignore_conflicts=True,
        )
        if new:
            Playlist.objects.filter(pk=playlist.pk).update(updated_at=timezone.now())
    return playlist, len(new)


def _top_positions(playlist_ids):
    """{playlist id: its lowest position} of the non-empty ones among ``playlist_ids``: a new track
    goes one above (newest on top until the owner moves it)."""
    if not playlist_ids:
        return {}
    rows = (
        PlaylistItem.objects.filter(playlist_id__in=playlist_ids)
        .order_by()
        .values_list("playlist_id")
        .annotate(top=Min("position"))
    )
    return dict(rows)


PLAYLIST_MOVES = ("up", "down", "top", "bottom")


def move_in_playlist(*, playlist, track_id, move, at):
    """Move a track of ``playlist`` one place ``up`` or ``down`` among the tracks its page lists
    (the published ones), or to the ``top`` or ``bottom``. ``at`` is the position the owner's form
    showed: when the track is no longer there (the form sent twice, the list changed in another
    tab) nothing moves. Returns whether it moved; raises ``PlaylistItem.DoesNotExist`` when the
    track is not in the playlist."""
    if move not in PLAYLIST_MOVES:
        raise CatalogError("Choose up, down, top or bottom.")
    with transaction.atomic():
        Playlist.objects.select_for_update().filter(pk=playlist.pk).first()
        item = PlaylistItem.objects.get(playlist=playlist, track_id=track_id)
        if item.position != at:
            return False
        every = PlaylistItem.objects.filter(playlist=playlist)
        positions = list(every.values_list("position", flat=True))
        if len(set(positions)) != len(positions):  # never by these services; renumbered if ever
            _renumber(playlist)
            return False
        if move in ("top", "bottom"):
            end = min(positions) - 1 if move == "top" else max(positions) + 1
            if item.position == (end + 1 if move == "top" else end - 1):  # there already
                return False
            item.position = end
            item.save(update_fields=["position"])
        else:
            listed = every.filter(track__in=Track.objects.published())
            if move == "up":
                other = listed.filter(position__lt=item.position).order_by("-position").first()
            else:
                other = listed.filter(position__gt=item.position).order_by("position").first()
            if other is None:  # already first (or last) of the list
                return False
            item.position, other.position = other.position, item.position
            PlaylistItem.objects.bulk_update([item, other], ["position"])
        Playlist.objects.filter(pk=playlist.pk).update(updated_at=timezone.now())
    return True


def _renumber(playlist):
    items = list(PlaylistItem.objects.filter(playlist=playlist).order_by("position", "-id"))
    for position, item in enumerate(items):
        item.position = position
    PlaylistItem.objects.bulk_update(items, ["position"], batch_size=500)


def share_playlist(*, playlist, shared):
    """Start or stop sharing ``playlist`` by link. A new share gets a new link, so stopping and
    sharing again shuts out everyone the old link reached."""
    token = secrets.token_urlsafe(18) if shared else None
    if bool(playlist.share_token) == shared:
        return playlist
    Playlist.objects.filter(pk=playlist.pk).update(share_token=token)
    playlist.share_token = token
    return playlist


def remove_from_playlist(*, playlist, track_id):
    """Take a track off ``playlist``; returns whether it was there."""
    deleted, _ = PlaylistItem.objects.filter(playlist=playlist, track_id=track_id).delete()
    if deleted:
        Playlist.objects.filter(pk=playlist.pk).update(updated_at=timezone.now())
    return bool(deleted)


def forget_cancelled_account(sender, user, **kwargs):
    """A cancelled account keeps no favourites, playlists, followed artists or their email choice
    (shared links stop with them): they are the member's own choices, not records anyone must keep
    (``accounts.signals.account_cancelled``)."""
    Favourite.objects.filter(user=user).delete()
    Playlist.objects.filter(user=user).delete()
    ArtistFollow.objects.filter(user=user).delete()
    FollowDigest.objects.filter(user=user).delete()


# --- followed artists ------------------------------------------------------------------------

FOLLOWED_NEW_DAYS = 30  # "new from artists you follow": tracks first published within this many days


def set_follow(*, user, artist, wanted=None):
    """Follow ``artist`` (``wanted`` True) or stop (False; None flips it); returns True when
    ``user`` now follows it."""
    return _set(ArtistFollow, wanted, user=user, artist=artist)


def new_from_followed(user, *, limit=8, now=None):
    """Tracks first published in the last ``FOLLOWED_NEW_DAYS`` days by artists ``user`` follows,
    newest first, as result-row cards (none for a visitor signed out or following nobody)."""
    if not user.is_authenticated:
        return []
    since = (now or timezone.now()) - timedelta(days=FOLLOWED_NEW_DAYS)
    recent = followed_tracks(user).filter(published_at__gte=since)
    return list(card_queryset(recent).order_by("-published_at", "-pk")[:limit])


# --- the followed-artists email ---------------------------------------------------------------

DIGEST_DAYS = 7  # a member's first email reports this far back
DIGEST_BACKLOG_DAYS = 28  # the most an email reports (after weeks turned off, or missed)
DIGEST_TRACKS = 10  # tracks listed in one email; the rest are counted and linked
DIGEST_BATCH = 50  # members per task run (``catalog.tasks.send_follow_digests`` chains the runs)
DIGEST_BATCH_SECONDS = 120  # a run takes no further member after this long (its soft limit: 300 s)
# The week's email reports tracks first published up to an hour before the scheduled run: a
# publishing transaction (an ingest stores its files inside one) may not have committed yet, and a
# span once reported is never looked at again.
DIGEST_SETTLE = timedelta(hours=1)


def followed_tracks(user):
    """Published tracks by the artists ``user`` follows (the following page, the home shelf, the email)."""
    return Track.objects.published().filter(
        artist__in=ArtistFollow.objects.filter(user=user).values("artist")
    )


def digest_until(now=None):
    """The end of the span this week's email reports: the scheduled run (Monday,
    ``CATALOG_FOLLOW_DIGEST_HOUR``, TIME_ZONE) at or before ``now``, less ``DIGEST_SETTLE``. Every run
    of the week shares it, so a run repeated, resumed or started late finds the members already
    done and leaves them, and a member handled late is not a week behind the next time."""
    from django.conf import settings

    now = timezone.localtime(now)
    monday = now.date() - timedelta(days=now.weekday())
    scheduled = timezone.make_aware(datetime.combine(monday, time(settings.CATALOG_FOLLOW_DIGEST_HOUR)))
    if scheduled > now:
        scheduled -= timedelta(days=7)
    return scheduled - DIGEST_SETTLE


def digest_recipients(until):
    """Members the email for the span ending ``until`` may still go to, in id order: they follow
    an artist, may get promotional email (``legal.services.promotional_recipients``), have not
    turned it off, and are not done — done is reported up to ``until`` with no email left unsent.
    (``Exists`` rather than ``IN``: with most members done, ``NOT IN`` a big list cost seconds.)"""
    from legal.models import NoticeDelivery
    from legal.services import promotional_recipients

    done = FollowDigest.objects.filter(user=OuterRef("pk")).filter(
        Q(wanted=False) | (Q(covered_until__gte=until) & ~Q(delivery__status=NoticeDelivery.Status.PENDING))
    )
    members = get_user_model().objects.filter(
        Exists(ArtistFollow.objects.filter(user=OuterRef("pk"))), ~Exists(done)
    )
    return promotional_recipients(members).order_by("pk")


def prepare_follow_digest(user, *, until):
    """Claim ``user``'s email for the tracks first published since the last one (on a first email
    ``DIGEST_DAYS`` back, never more than ``DIGEST_BACKLOG_DAYS``) up to ``until``, in one short
    transaction with the member's digest row locked: the span is marked reported and, when there
    is something to say, a pending notice-log row made. An email claimed earlier and never sent is
    returned again (in a later week, with that week's tracks added); one with nothing left to say,
    or for a member who turned the email off, is marked skipped. Returns (delivery, email context)
    to send after the commit, or None."""
    from legal.models import NoticeDelivery
    from legal.services import promotional_delivery

    with transaction.atomic():
        digest, _ = FollowDigest.objects.select_for_update().get_or_create(user=user)
        unsent = digest.delivery if digest.delivery_id else None
        if unsent is not None and unsent.status != NoticeDelivery.Status.PENDING:
            unsent = None
        if not digest.wanted:
            _skip(unsent)
            return None
        if digest.covered_until and digest.covered_until >= until:  # this week's span is claimed
            context = None
            if unsent is not None and digest.since:
                context = _digest_context(user, since=digest.since, until=digest.covered_until)
            if context is None:
                _skip(unsent)
                return None
            return unsent, context
        since = digest.covered_until or until - timedelta(days=DIGEST_DAYS)
        if unsent is not None and digest.since:  # last week's email never went: this one says it too
            since = digest.since
        since = max(since, until - timedelta(days=DIGEST_BACKLOG_DAYS))
        context = _digest_context(user, since=since, until=until)
        delivery = None
        if context is not None:
            delivery = unsent or promotional_delivery(user=user, kind="follow_digest")
        elif unsent is not None:
            _skip(unsent)
        digest.covered_until, digest.since, digest.delivery = until, since, delivery
        digest.save(update_fields=["covered_until", "since", "delivery"])
    return (delivery, context) if delivery else None


def _skip(delivery):
    """An unsent email that will not go out any more: skipped in the notice log."""
    from legal.services import skip_promotional

    if delivery is not None:
        skip_promotional(delivery)


def skip_stranded_digests(until):
    """Emails claimed over an hour ago and never sent whose member the run no longer reaches
    (unfollowed everyone, unsubscribed, suspended): marked skipped, so the notice log says so."""
    from legal.services import skip_promotional, stale_promotional

    stranded = stale_promotional("follow_digest", older_than=timezone.now() - timedelta(hours=1))
    return skip_promotional(stranded.exclude(user__in=digest_recipients(until).values("pk")))


def _digest_context(user, *, since, until):
    """What the email says of the tracks first published in (``since``, ``until``], or None."""
    found = followed_tracks(user).filter(published_at__gt=since, published_at__lte=until)
    found = found.select_related("artist").order_by("-published_at", "-pk")
    artists = list(found.values_list("artist__name", flat=True))  # one per track, newest first
    if not artists:
        return None
    names = list(dict.fromkeys(artists))
    tracks = list(found[:DIGEST_TRACKS])
    return {
        "since": since,
        "tracks": tracks,
        "total": len(artists),
        "more": len(artists) - len(tracks),
        "lead_artist": names[0],
        "other_artists": len(names) - 1,
        "following_path": reverse("catalog:following"),
    }


def send_follow_digest(user, *, until, mailer=None):
    """``prepare_follow_digest``, then the email (outside any transaction; over ``mailer``, a batch's
    connection, when given). Returns whether it went out."""
    from legal.services import deliver_promotional

    prepared = prepare_follow_digest(user, until=until)
    if prepared is None:
        return False
    delivery, context = prepared
    sent = deliver_promotional(delivery, template="catalog_follow_digest", context=context, mailer=mailer)
    if sent:
        FollowDigest.objects.filter(user=user).update(sent_at=timezone.now())
    return sent


def send_follow_digest_batch(*, until, after=0, size=None):
    """The email to the next ``DIGEST_BATCH`` members after id ``after``, for at most
    ``DIGEST_BATCH_SECONDS``; one member's failure is logged and the rest go on. Returns (emails
    sent, the last member handled, or None when every member is done)."""
    size = size or DIGEST_BATCH
    started, last, sent = monotonic(), after, 0
    if not after:  # the first batch of a run
        skip_stranded_digests(until)
    members = list(digest_recipients(until).filter(pk__gt=after)[:size])
    with mail_batch() as mailer:  # one connection for the batch
        for user in members:
            try:
                sent += send_follow_digest(user, until=until, mailer=mailer)
            except SoftTimeLimitExceeded:  # the next hourly run goes on from the members not done
                raise
            except Exception:  # a bug or a lost connection for one member: the others still get theirs
                log.exception("followed-artists email to user %s failed", user.pk)
            last = user.pk
            if monotonic() - started > DIGEST_BATCH_SECONDS:
                return sent, last
    return sent, (last if len(members) == size else None)


def send_follow_digests(*, now=None):
    """This week's email in this process (the Celery task runs it batch by batch). Returns emails sent."""
    until, after, sent = digest_until(now), 0, 0
    while after is not None:
        batch_sent, after = send_follow_digest_batch(until=until, after=after)
        sent += batch_sent
    return sent


def set_follow_digest(*, user, wanted, request=None):
    """Turn the followed-artists email on or off for ``user`` (audited)."""
    with transaction.atomic():
        FollowDigest.objects.update_or_create(user=user, defaults={"wanted": bool(wanted)})
        audit.record("catalog.follow_digest", actor=user, target=user, request=request, wanted=bool(wanted))


def follow_digest_wanted(user):
    return not FollowDigest.objects.filter(user=user, wanted=False).exists()


# --- the track page -----------------------------------------------------------------------


def _key_distance(a, b):
    """Steps between two keys around the circle of fifths (0–6)."""
    if not a or not b:
        return None
    i, j = Track.KEYS.index(a), Track.KEYS.index(b)
    fifths_i, fifths_j = (i * 7) % 12, (j * 7) % 12
    d = abs(fifths_i - fifths_j)
    return min(d, 12 - d)


def similar_tracks(track, *, limit=6, candidates=200):
    """Published tracks that sound like ``track``, best first.

    Ranking, in two steps so it stays cheap at a million tracks:

    1. **Candidates** (one query): published tracks of the same kind sharing at least one
       genre, mood or instrument (or, for sound effects, the same category), scored in SQL
       by shared tags — each shared genre counts 3, each shared mood 2, each shared
       instrument 1 — and the best ``candidates`` (ties by popularity) are kept.
    2. **Re-rank** in Python by adding closeness:
       * tempo: ``+3 × (1 − |ΔBPM| / 40)`` when both have a BPM and they are within 40 BPM
         (half/double time counts as the same tempo);
       * key: ``+2`` for the same key and mode, ``+1.5`` for the relative major/minor,
         ``+1`` for a neighbour on the circle of fifths;
       * energy: ``+1`` for the same energy, ``+0.5`` for one step apart;
       * a small popularity tie-break.

    The same artist is not excluded but gets no bonus; the track itself never appears.
    """
    base = Track.objects.published().filter(kind=track.kind).exclude(pk=track.pk)
    if "tags" not in track.__dict__:
        attach_tags([track])
    genre_ids, mood_ids, instrument_ids = (
        [t.pk for t in track.tags[dim]] for dim in ("genre", "mood", "instrument")
    )
    condition = Q(genres__in=genre_ids) | Q(moods__in=mood_ids) | Q(instruments__in=instrument_ids)
    if track.sound_category_id:
        condition |= Q(sound_category_id=track.sound_category_id)
    # Grouped by the primary key: the other columns come along for the re-rank, not as cards.
    pool = [
        _Candidate(*row)
        for row in base.filter(condition)
        .values("pk", "bpm", "key", "mode", "energy", "popularity")
        .annotate(
            shared=Count("genres", filter=Q(genres__in=genre_ids), distinct=True) * 3
            + Count("moods", filter=Q(moods__in=mood_ids), distinct=True) * 2
            + Count("instruments", filter=Q(instruments__in=instrument_ids), distinct=True),
        )
        .order_by("-shared", "-popularity")
        .values_list("pk", "bpm", "key", "mode", "energy", "popularity", "shared")[:candidates]
    ]
    if not pool:
        return []

    def score(other):
        s = float(other.shared)
        if track.bpm and other.bpm:
            delta = min(
                abs(track.bpm - other.bpm), abs(track.bpm * 2 - other.bpm), abs(track.bpm - other.bpm * 2)
            )
            if delta < 40:
                s += 3 * (1 - delta / 40)
        if track.key and other.key:
            if track.key == other.key and track.mode == other.mode:
                s += 2
            elif _is_relative(track, other):
                s += 1.5
            elif _key_distance(track.key, other.key) == 1:
                s += 1
        if track.energy == other.energy:
            s += 1
        elif abs(track.energy - other.energy) == 1:
            s += 0.5
        return s + min(other.popularity, 1000) / 10000

    best = [c.pk for c in sorted(pool, key=lambda c: (-score(c), c.pk))[:limit]]
    # Only the winners are loaded as result rows.
    return load_cards(best)


class _Candidate(NamedTuple):
    pk: int
    bpm: int | None
    key: str
    mode: str
    energy: int
    popularity: int
    shared: int


def _is_relative(a, b):
    """Relative major/minor: A minor ↔ C major (the minor key is 3 semitones below)."""
    if not (a.mode and b.mode) or a.mode == b.mode:
        return False
    minor, major = (a, b) if a.mode == "minor" else (b, a)
    return (Track.KEYS.index(minor.key) + 3) % 12 == Track.KEYS.index(major.key)


def track_page_data(track):
    """Versions (ready ones, in order), collections it is in, similar tracks."""
    versions = [v for v in track.versions.all() if v.ingest_status == "ready"]
    collections = list(Collection.objects.published().filter(items__track=track).distinct()[:6])
    return {
        "versions": versions,
        "main_version": next(
            (v for v in versions if v.kind == TrackVersion.Kind.FULL), versions[0] if versions else None
        ),
        "stems": [v for v in versions if v.is_stem],
        "edits": [v for v in versions if not v.is_stem],
        "collections": collections,
        "similar": similar_tracks(track),
    }


def card_queryset(qs=None):
    """Tracks ready for result rows (``Track.objects.for_cards()``), published ones by default."""
    qs = qs if qs is not None else Track.objects.published()
    return qs.for_cards().only(*CARD_FIELDS)


# --- the home page ------------------------------------------------------------------------


BROWSE_KEY = "catalog:home:browse:v1"
BROWSE_SECONDS = 600


def browse_shortcuts(*, limit=10):
    """{"mood": [(slug, name)], "genre": [...]}: the moods and genres most music carries, the home
    page's ways into the catalogue. Taken from the facet counts of the plain music page (whose
    remembered results the search page shares), kept for ten minutes."""
    found = cache.get(BROWSE_KEY)
    if found is None:
        from .search import SearchParams, default_sort, search_tracks

        result = search_tracks(SearchParams(kind="music", sort=default_sort("")))
        found = {
            dim: [(v.value, v.label) for v in result.facets.get(dim, []) if v.count > 0][:limit]
            for dim in ("mood", "genre")
        }
        cache.set(BROWSE_KEY, found, BROWSE_SECONDS)
    return found


def home_context(user, *, limit=8, trending_limit=5):
    """Context for the home page: new from the artists a member follows, trending and new this week,
    featured collections, ways in by mood and genre. The trending shelf lists music in use this week,
    the followed one what followed artists added lately (either empty: no shelf)."""
    trending = list(
        card_queryset()
        .music()
        .filter(trending__gt=0)
        .order_by("-trending", "-popularity", "-pk")[:trending_limit]
    )
    new = list(card_queryset(Track.objects.new_this_week()).music()[:limit])
    if len(new) < limit:  # a quiet week: fill with the most recent releases
        seen = [t.pk for t in new]
        new += list(
            card_queryset().music().exclude(pk__in=seen).order_by("-published_at")[: limit - len(new)]
        )
    sounds = list(card_queryset().sound_effects().order_by("-published_at")[:4])
    collections = list(
        Collection.objects.published().annotate(n=Count("items")).order_by("position", "-created_at")[:4]
    )
    followed = new_from_followed(user, limit=trending_limit)
    return {
        "followed_tracks": followed,
        "trending_tracks": trending,
        "new_tracks": new,
        "new_sounds": sounds,
        "featured_collections": collections,
        **row_marks(user, followed + trending + new + sounds),
        "browse": browse_shortcuts(),
    }


# --- staff actions ------------------------------------------------------------------------


def redirect_page(old_path, new_path):
    """The page at ``old_path`` now lives at ``new_path`` (django.contrib.redirects answers 301);
    redirects that led to ``old_path`` lead straight to ``new_path``."""
    from django.conf import settings
    from django.contrib.redirects.models import Redirect

    if old_path == new_path:
        return
    Redirect.objects.filter(site_id=settings.SITE_ID, old_path=new_path).delete()  # the page is back
    Redirect.objects.filter(site_id=settings.SITE_ID, new_path=old_path).update(new_path=new_path)
    Redirect.objects.update_or_create(
        site_id=settings.SITE_ID, old_path=old_path, defaults={"new_path": new_path}
    )


def merge_artist(artist, *, into, actor, request=None):
    """Move every track of ``artist`` to ``into`` and delete ``artist`` (a duplicate made by tags
    that spell a name two ways). Search rows follow the tracks (database triggers); audited.
    Returns the number of tracks moved."""
    if artist.pk == into.pk:
        raise CatalogError("An artist cannot be merged into itself.")
    with transaction.atomic():
        locked = {a.pk: a for a in Artist.objects.select_for_update().filter(pk__in=[artist.pk, into.pk])}
        if len(locked) != 2:
            raise CatalogError("One of these artists no longer exists.")
        moved = Track.objects.filter(artist_id=artist.pk).update(artist_id=into.pk)
        audit.record(
            "catalog.artist_merged",
            actor=actor,
            target=into,
            request=request,
            merged=locked[artist.pk].name,
            tracks=moved,
        )
        redirect_page(locked[artist.pk].get_absolute_url(), into.get_absolute_url())
        locked[artist.pk].delete()
        transaction.on_commit(forget_search_results, robust=True)  # an update sends no signals
    return moved


class Published(NamedTuple):
    """What ``set_published`` did: how many tracks it changed, and the selected tracks it left
    unpublished because their audio is not ready (by title)."""

    count: int
    not_ready: list


def set_published(queryset, published, *, actor, request=None):
    """Publish or unpublish the tracks of ``queryset`` that are not so already. Only a track whose
    audio is ready can be published: the others are left as they are and named in the result, and
    the ready ones published all the same. A first publication sets ``published_at``; remembered
    search results are forgotten once committed; the change is audited (nothing changed: no entry)."""
    with transaction.atomic():
        selected = (
            Track.objects.select_for_update()
            .filter(pk__in=queryset.values("pk"))
            .exclude(is_published=published)
            .only("pk", "title", "ingest_status")
            .order_by("title", "pk")
        )
        ids, not_ready = [], []
        for track in selected:
            if published and track.ingest_status != IngestStatus.READY:
                not_ready.append(track)
            else:
                ids.append(track.pk)
        if ids:
            # ``updated_at`` too (an update() leaves it): a track page opened before this is stale.
            changed = {"is_published": published, "updated_at": timezone.now()}
            if published:  # the first publication's time stays (``Track.published_at``)
                changed["published_at"] = Coalesce("published_at", Value(timezone.now()))
            Track.objects.filter(pk__in=ids).update(**changed)
            transaction.on_commit(forget_search_results, robust=True)  # a bulk update sends no signals
            audit.record(
                "catalog.publish" if published else "catalog.unpublish",
                actor=actor,
                request=request,
                track_ids=ids,
            )
    return Published(len(ids), not_ready)


def undeletable_versions(track, versions, *, published):
    """{version id: why it cannot be deleted} among ``versions``, files of ``track`` staff mean to
    delete; empty when they may all go. A file a licence names (as the file first downloaded, or in
    one of its downloads) stays: it is what customers licensed. A published track (``published``:
    as it is being saved) keeps its full version and at least one ready file: staff unpublish it
    first. Run in the deleting transaction: the track's files are locked, so no licence can name
    one meanwhile."""
    license_model = Track._meta.get_field("licenses").related_model
    download_model = license_model._meta.get_field("downloads").related_model
    ids = {v.pk for v in versions}
    files = TrackVersion.objects.select_for_update().filter(track=track).values_list("pk", "ingest_status")
    ready_left = [pk for pk, status in files if pk not in ids and status == IngestStatus.READY]
    licences = {pk: set() for pk in ids}
    for version_id, license_id in [
        *license_model.objects.filter(version__in=ids).values_list("version", "pk"),
        *download_model.objects.filter(version__in=ids).values_list("version", "license"),
    ]:
        licences[version_id].add(license_id)
    unpublish_first = "Unpublish the track first (untick “Published” and save), then delete the file."
    refusals = {}
    for version in versions:
        named = f"“{version.label}”"
        if version.original_filename:
            named += f" ({version.original_filename})"
        n = len(licences[version.pk])
        if n:
            refusals[version.pk] = (
                f"{named} cannot be deleted: {n} licence{'s name' if n > 1 else ' names'} this file, "
                f"and customers download it under {'them' if n > 1 else 'it'}."
            )
        elif published and version.kind == TrackVersion.Kind.FULL:
            refusals[version.pk] = f"{named} is the main file of this published track. {unpublish_first}"
        elif published and not ready_left:
            refusals[version.pk] = (
                f"Deleting {named} would leave this published track no file. {unpublish_first}"
            )
    return refusals


def describe_by_files(track):
    """Make ``track`` describe the files it has left, after staff deleted some: its fingerprint is
    its full version's (a deleted main file's is freed, so that file can be uploaded again, to this
    track or another), its duration and mini waveform its main file's; a track left without any
    file has no audio (``IngestStatus.NO_AUDIO``) and cannot be published until one is uploaded.
    Saves only what changed."""
    from .ingest import mini_waveform

    main = track.main_version()
    full = main if main is not None and main.kind == TrackVersion.Kind.FULL else None
    wanted = {"content_hash": full.content_hash if full else None}
    if main is None:  # the next file uploaded gives the track its length again (``save_ingested``)
        wanted.update(ingest_status=IngestStatus.NO_AUDIO, ingest_error="", waveform=[], duration_seconds=0)
    else:
        wanted.update(duration_seconds=main.duration_seconds, waveform=mini_waveform(main.peaks))
        if track.ingest_status == IngestStatus.NO_AUDIO:
            wanted["ingest_status"] = IngestStatus.READY
    changed = [name for name, value in wanted.items() if getattr(track, name) != value]
    for name in changed:
        setattr(track, name, wanted[name])
    if changed:
        track.save(update_fields=changed)
    return changed


# What one use adds to a track's popularity (``refresh_popularity``): a preview play is cheap and
# often a skim, a favourite is a choice, a licence is the track put to use.
POPULARITY_WEIGHTS = {"play": 1, "favourite": 10, "licence": 25}


# The trending figure counts the uses of this many days: today and the days before.
TRENDING_DAYS = 7

POPULARITY_BATCH = 20_000  # tracks per statement (and transaction) of ``refresh_popularity``


def refresh_popularity(now=None):
    """Work out every track's popularity from its use: preview plays, favourites and active licences,
    weighted by ``POPULARITY_WEIGHTS``, plus the staff's editorial boost — and its trending figure:
    the same uses within the last ``TRENDING_DAYS`` days (today and the days before), without the
    boost. Tracks whose figures are unchanged are not written (each write also rewrites the track's
    search row); the rest are updated a batch of ids at a time, each in its own short transaction,
    so staff editing a track never wait long behind it. Daily plays older than the window are
    deleted. Returns the number of tracks whose figures changed. Nightly from Celery beat
    (``catalog.tasks``)."""
    license_model = Track._meta.get_field("licenses").related_model
    first_day = timezone.localdate(now) - timedelta(days=TRENDING_DAYS - 1)
    since = timezone.make_aware(datetime.combine(first_day, time.min))

    def uses(model, total=None, **conditions):
        counted = (
            model.objects.filter(track=OuterRef("pk"), **conditions)
            .order_by()
            .values("track")
            .annotate(n=total or Count("pk"))
            .values("n")
        )
        return Coalesce(Subquery(counted), Value(0))

    w, active = POPULARITY_WEIGHTS, license_model.Status.ACTIVE
    score = (
        F("play_count") * w["play"]
        + uses(Favourite) * w["favourite"]
        + uses(license_model, status=active) * w["licence"]
        + F("popularity_boost")
    )
    trend = (
        uses(DailyPlays, Sum("plays"), day__gte=first_day) * w["play"]
        + uses(Favourite, created_at__gte=since) * w["favourite"]
        + uses(license_model, status=active, issued_at__gte=since) * w["licence"]
    )
    changed, start = 0, Track.objects.aggregate(first=Min("pk"))["first"]
    while start is not None:
        # The next POPULARITY_BATCH tracks by id (ids need not be dense), then where the next begins.
        batch = Track.objects.filter(pk__gte=start).order_by("pk")
        ids = batch.values_list("pk", flat=True)
        start_next = next(iter(ids[POPULARITY_BATCH : POPULARITY_BATCH + 1]), None)
        if start_next is not None:
            batch = batch.filter(pk__lt=start_next)
        with transaction.atomic():
            figures = {"popularity": score, "trending": trend}
            changed += batch.order_by().exclude(**figures).update(**figures)
        start = start_next
    DailyPlays.objects.filter(day__lt=first_day).delete()
    if changed:
        transaction.on_commit(forget_search_results, robust=True)  # an update sends no signals
    return changed


# A visitor's plays of one version count once in this long: plays make popularity, and a script
# replaying a preview (within the preview rate limit, 1,500 an hour) must not rank a track.
PLAY_COUNTED_ONCE_PER_SECONDS = 24 * 3600


def record_play(version_id, *, visitor=None):
    """Count a preview start (the view leaves ranged follow-up requests out). With ``visitor`` (a
    signed-in account or an IP address, as a string) only its first play of the version in a day
    counts. Returns whether this one was counted."""
    key = f"catalog:played:{version_id}:{visitor}"
    if visitor is not None and not cache.add(key, 1, PLAY_COUNTED_ONCE_PER_SECONDS):
        return False
    with transaction.atomic():
        Track.objects.filter(versions__pk=version_id).update(play_count=F("play_count") + 1)
        # The day's count for trending: one row per track and day, added to in place (an upsert,
        # which the ORM cannot write as an increment).
        plays, versions = DailyPlays._meta.db_table, TrackVersion._meta.db_table
        with connection.cursor() as cur:
            cur.execute(
                f"INSERT INTO {plays} (track_id, day, plays) SELECT track_id, %s, 1 FROM {versions}"  # noqa: S608
                f" WHERE id = %s ON CONFLICT (track_id, day) DO UPDATE SET plays = {plays}.plays + 1",
                [timezone.localdate(), version_id],
            )
    return True
