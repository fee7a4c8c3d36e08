from tests.billing.helpers import (  # noqa: F401  (fixtures)
    _stripe_settings,
    buyer,
    comp,
    fake_stripe,
    membership_terms,
    plans,
    webhook,
)
