import time_machine
from allauth.usersessions.models import UserSession


def test_session_activity_is_recorded_once_per_interval_not_on_every_request(owner_client, owner, settings):
    settings.ACCOUNTS_SESSION_ACTIVITY_INTERVAL = 300
    with time_machine.travel("2026-11-26 10:00:00 +0000", tick=False):
        owner_client.get("/", REMOTE_ADDR="198.51.100.7")
        session = UserSession.objects.get(user=owner)
        first_seen = session.last_seen_at
        assert session.ip == "198.51.100.7"
    with time_machine.travel("2026-11-26 10:02:00 +0000", tick=False):
        owner_client.get("/")
        assert UserSession.objects.get(user=owner).last_seen_at == first_seen
    with time_machine.travel("2026-11-26 10:06:00 +0000", tick=False):
        owner_client.get("/")
        assert UserSession.objects.get(user=owner).last_seen_at > first_seen
    assert UserSession.objects.filter(user=owner).count() == 1
