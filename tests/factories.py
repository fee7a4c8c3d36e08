"""factory_boy factories shared by every app's tests."""

import factory
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model

DEFAULT_PASSWORD = "a-Long-test-passw0rd"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    display_name = factory.Sequence(lambda n: f"User {n}")
    password = factory.django.Password(DEFAULT_PASSWORD)

    @factory.post_generation
    def verified(self, create, extracted, **kwargs):
        """A verified primary email address, as allauth records it (pass verified=False to skip)."""
        if create and extracted is not False:
            EmailAddress.objects.create(user=self, email=self.email, verified=True, primary=True)


class StaffFactory(UserFactory):
    is_staff = True
    is_superuser = True
    email = factory.Sequence(lambda n: f"staff{n}@allmytracks.test")


# --- catalog ---
class ArtistFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "catalog.Artist"

    name = factory.Sequence(lambda n: f"Artist {n}")
    slug = factory.Sequence(lambda n: f"artist-{n}")


class GenreFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "catalog.Genre"
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Genre {n}")
    slug = factory.LazyAttribute(lambda o: o.name.lower().replace(" ", "-"))


class MoodFactory(GenreFactory):
    class Meta:
        model = "catalog.Mood"
        django_get_or_create = ("slug",)


class InstrumentFactory(GenreFactory):
    class Meta:
        model = "catalog.Instrument"
        django_get_or_create = ("slug",)


class TrackFactory(factory.django.DjangoModelFactory):
    """A published, ingested track (no files: add a TrackVersionFactory for a playable one)."""

    class Meta:
        model = "catalog.Track"
        skip_postgeneration_save = True

    title = factory.Sequence(lambda n: f"Track {n}")
    slug = factory.Sequence(lambda n: f"track-{n}")
    artist = factory.SubFactory(ArtistFactory)
    kind = "music"
    bpm = 100
    duration_seconds = 62.0
    is_published = True
    ingest_status = "ready"
    waveform = factory.LazyFunction(lambda: [20 + (i * 37) % 80 for i in range(100)])

    @factory.post_generation
    def genres(self, create, extracted, **kwargs):
        if create and extracted:
            self.genres.set(extracted)

    @factory.post_generation
    def moods(self, create, extracted, **kwargs):
        if create and extracted:
            self.moods.set(extracted)


class TrackVersionFactory(factory.django.DjangoModelFactory):
    """A ready version whose master and preview are small stored files (not real audio)."""

    class Meta:
        model = "catalog.TrackVersion"

    track = factory.SubFactory(TrackFactory)
    kind = "full"
    format = "wav"
    duration_seconds = 62.0
    master = factory.django.FileField(filename="master.wav", data=b"RIFF-master-bytes")
    preview = factory.django.FileField(filename="preview.mp3", data=b"ID3" + bytes(range(256)) * 8)
    peaks = factory.LazyFunction(lambda: [[-(i % 100), i % 100] for i in range(1000)])
    content_hash = factory.Sequence(lambda n: f"{n:064x}")
    ingest_status = "ready"


class CollectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "catalog.Collection"

    title = factory.Sequence(lambda n: f"Collection {n}")
    slug = factory.Sequence(lambda n: f"collection-{n}")
    is_published = True


# --- legal ---


class AgreementVersionFactory(factory.django.DjangoModelFactory):
    """A draft agreement version; publish it with legal.services.publish_version(version=…, actor=None)."""

    class Meta:
        model = "legal.Version"

    document = factory.LazyFunction(lambda: _legal_document("user-agreement"))
    number = factory.Sequence(lambda n: n + 1)
    title = factory.LazyAttribute(lambda o: f"{o.document.title} v{o.number}")
    body = factory.LazyAttribute(lambda o: f"## Terms\n\nThe terms, version {o.number}.\n")
    summary = "Changes for testing."
    material = True


def _legal_document(kind):
    from legal.services import ensure_documents

    return ensure_documents()[kind]


def publish_agreement(kind="user-agreement", *, material=True, body=None, notify=False, **kwargs):
    """Publish the next version of an agreement now and return it (tests of every app may use it)."""
    from legal.models import Version
    from legal.services import publish_version

    document = _legal_document(kind)
    numbers = Version.objects.filter(document=document).order_by("-number").values_list("number", flat=True)
    number = (numbers.first() or 0) + 1
    version = AgreementVersionFactory(
        document=document, number=number, material=material, **({"body": body} if body else {}), **kwargs
    )
    publish_version(version=version, actor=None, notify=notify)
    version.refresh_from_db()
    return version


# --- billing ---


class PlanFactory(factory.django.DjangoModelFactory):
    """A paid monthly plan with a quota of 10 licences.

    Unlimited plans: licences_per_period=None plus a fair_use_ceiling."""

    class Meta:
        model = "billing.Plan"
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"plan-{n}")
    family = factory.LazyAttribute(lambda o: o.slug)
    name = factory.Sequence(lambda n: f"Plan {n}")
    interval = "month"
    price_cents = 1299
    currency = "usd"
    stripe_price_id = factory.LazyAttribute(lambda o: f"price_{o.slug.replace('-', '_')}")
    licences_per_period = 10
    includes_sfx = False


class SubscriptionFactory(factory.django.DjangoModelFactory):
    """An active membership mirrored from Stripe, in its current month."""

    class Meta:
        model = "billing.Subscription"

    user = factory.SubFactory(UserFactory)
    plan = factory.SubFactory(PlanFactory)
    source = "stripe"
    stripe_subscription_id = factory.Sequence(lambda n: f"sub_test_{n:06d}")
    stripe_customer_id = factory.Sequence(lambda n: f"cus_test_{n:06d}")
    status = "active"
    current_period_start = factory.LazyFunction(lambda: _now() - _days(3))
    current_period_end = factory.LazyFunction(lambda: _now() + _days(27))


class TrackCreditFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "billing.TrackCredit"

    user = factory.SubFactory(UserFactory)
    track = factory.SubFactory(TrackFactory)
    status = "available"
    purchase_ref = factory.Sequence(lambda n: f"pi_test_{n:06d}")
    amount_cents = 1900


def _now():
    from django.utils import timezone

    return timezone.now()


def _days(n):
    import datetime

    return datetime.timedelta(days=n)
