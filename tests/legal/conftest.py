import pytest

from legal import services
from tests.factories import publish_agreement


@pytest.fixture
def agreements(db):
    """User Agreement and Privacy Policy version 1 in force (no notices sent)."""
    return {
        "user-agreement": publish_agreement(
            "user-agreement", body="## Terms\n\nFirst line.\n\nSecond line.\n"
        ),
        "privacy-policy": publish_agreement("privacy-policy", body="## Privacy\n\nWe keep little.\n"),
    }


def accept_all(user, versions):
    for version in versions.values():
        services.record_acceptance(user=user, version=version, method="signup")


@pytest.fixture
def accepted(agreements, owner, other):
    """Both personas accepted version 1 of both agreements at sign-up."""
    accept_all(owner, agreements)
    accept_all(other, agreements)
    return agreements
