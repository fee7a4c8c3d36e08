"""Create the standard plans (idempotent): Free, Personal, Pro and Music & Sound Effects Business.

An existing plan is left as staff edited it: only a missing Stripe price id is filled in from
BILLING_STRIPE_PRICE_IDS, and a feature line still worded as an earlier seed wrote it (REWORDED)
is given its current wording. Run it again at any time.
"""

from django.conf import settings
from django.core.management import BaseCommand
from django.db import transaction

from billing.models import Plan

COMMON = [
    "One end user, one project per licence",
    "Licence letter (PDF) for every download",
    "Licences stay valid after you cancel",
]

# Feature lines an earlier seed wrote, and their current wording. A line staff have edited no
# longer matches and is left alone.
REWORDED = {
    # Members save favourites and playlists; collections are curated by staff.
    "Save favourites and collections": "Save favourites and playlists",
}

PLANS = [
    {
        "slug": "free",
        "family": "free",
        "name": "Free",
        "tagline": "Browse and preview the whole catalogue.",
        "interval": "month",
        "price_cents": 0,
        "licences_per_period": 0,
        "features": [
            "Search and preview every track and sound effect",
            "Save favourites and playlists",
            "Buy single tracks when you need them",
        ],
        "sort_order": 0,
    },
    {
        "slug": "personal-monthly",
        "family": "personal",
        "name": "Personal",
        "tagline": "For creators publishing on their own channels.",
        "interval": "month",
        "price_cents": 1299,
        "licences_per_period": 10,
        "features": ["10 music licences a month", *COMMON],
        "sort_order": 10,
    },
    {
        "slug": "personal-yearly",
        "family": "personal",
        "name": "Personal",
        "tagline": "For creators publishing on their own channels.",
        "interval": "year",
        "price_cents": 12900,
        "licences_per_period": 120,
        "features": ["120 music licences a year", *COMMON],
        "sort_order": 11,
    },
    {
        "slug": "pro-monthly",
        "family": "pro",
        "name": "Pro",
        "tagline": "Unlimited music and sound effects for busy creators.",
        "interval": "month",
        "price_cents": 2999,
        "licences_per_period": None,
        "fair_use_ceiling": 200,
        "includes_sfx": True,
        "highlight": True,
        "features": ["Unlimited music licences (fair use)", "Every sound effect included", *COMMON],
        "sort_order": 20,
    },
    {
        "slug": "pro-yearly",
        "family": "pro",
        "name": "Pro",
        "tagline": "Unlimited music and sound effects for busy creators.",
        "interval": "year",
        "price_cents": 29900,
        "licences_per_period": None,
        "fair_use_ceiling": 2400,
        "includes_sfx": True,
        "highlight": True,
        "features": ["Unlimited music licences (fair use)", "Every sound effect included", *COMMON],
        "sort_order": 21,
    },
    {
        "slug": "business-monthly",
        "family": "business",
        "name": "Music & Sound Effects Business",
        "tagline": "For companies and agencies licensing for clients.",
        "interval": "month",
        "price_cents": 6900,
        "licences_per_period": None,
        "fair_use_ceiling": 500,
        "includes_sfx": True,
        "is_business": True,
        "features": [
            "Priced per designated-user seat",
            "Name designated end users (clients) in writing",
            "Unlimited music and sound effects (fair use)",
            "Licence letters for your clients",
            "Makes your account an enterprise account",
        ],
        "sort_order": 30,
    },
    {
        "slug": "business-yearly",
        "family": "business",
        "name": "Music & Sound Effects Business",
        "tagline": "For companies and agencies licensing for clients.",
        "interval": "year",
        "price_cents": 69000,
        "licences_per_period": None,
        "fair_use_ceiling": 6000,
        "includes_sfx": True,
        "is_business": True,
        "features": [
            "Priced per designated-user seat",
            "Name designated end users (clients) in writing",
            "Unlimited music and sound effects (fair use)",
            "Licence letters for your clients",
            "Makes your account an enterprise account",
        ],
        "sort_order": 31,
    },
]


class Command(BaseCommand):
    help = "Create the standard membership plans if they are missing (idempotent)."

    @transaction.atomic
    def handle(self, *args, **options):
        prices = settings.BILLING_STRIPE_PRICE_IDS
        created = reworded = 0
        for spec in PLANS:
            defaults = {"currency": settings.BILLING_CURRENCY, **spec}
            slug = defaults.pop("slug")
            plan, was_created = Plan.objects.get_or_create(slug=slug, defaults=defaults)
            created += was_created
            changed = []
            price_id = prices.get(slug, "")
            if price_id and not plan.stripe_price_id:
                plan.stripe_price_id = price_id
                changed.append("stripe_price_id")
            features = plan.features if isinstance(plan.features, list) else []
            features = [REWORDED.get(line, line) if isinstance(line, str) else line for line in features]
            if features and features != plan.features:
                plan.features = features
                changed.append("features")
                reworded += 1
            if changed:
                plan.save(update_fields=[*changed, "updated_at"])
        self.stdout.write(
            f"Plans: {created} created, {len(PLANS) - created} already there"
            + (f", {reworded} with features reworded." if reworded else ".")
        )
