"""Sending a batch of emails over one SMTP connection (``allmytracks.mail``), against a real SMTP
server in the test process (aiosmtpd)."""

import socket

import pytest
from aiosmtpd.controller import Controller
from django.core.mail import EmailMessage

from allmytracks.mail import mail_batch, send_on


class TwoPerSession:
    """A relay that ends each session after two messages (421 at MAIL FROM), as per-session limits do."""

    def __init__(self):
        self.delivered = []

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        sent = getattr(session, "amt_sent", 0)
        if sent >= 2:
            return "421 4.7.0 Too many messages in this session, closing"
        session.amt_sent = sent + 1
        envelope.mail_from = address
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.delivered.append(envelope.rcpt_tos[0])
        return "250 OK"


@pytest.fixture
def relay(settings):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    handler = TwoPerSession()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": port, "timeout": 5},
        }
    }
    yield handler
    controller.stop()


def test_a_batch_outlasts_a_server_that_ends_the_session(relay):
    with mail_batch() as mailer:
        for n in range(5):
            send_on(mailer, EmailMessage(f"Batch #{n}", "Hello.", to=[f"m{n}@example.com"]))
    assert relay.delivered == [f"m{n}@example.com" for n in range(5)]
