"""Sending many emails over one connection, and the development backend (every message written
to var/mail/ and printed)."""

import smtplib
from contextlib import contextmanager

from django.core.mail import mailers
from django.core.mail.backends.console import EmailBackend as ConsoleBackend
from django.core.mail.backends.filebased import EmailBackend as FileBackend


@contextmanager
def mail_batch():
    """One connection of the default mailer for a run of emails (a notice's batch, a batch of the
    weekly email): pass it on as ``mailer`` to ``send_on``. Opened by the first email, closed at
    the end: a batch that sends nothing never connects."""
    mailer = mailers.default
    try:
        yield mailer
    finally:
        mailer.close()


def send_on(mailer, message):
    """Send ``message`` over ``mailer``'s connection (opened if it is not).

    A refused recipient fails this email alone and the connection stays. Any other failure — the
    server ending the session (a per-session message limit, an idle timeout), a dropped
    connection — closes it and the email is tried once more on a new one (as it would have gone
    out on a connection of its own); a second failure closes that one too and is raised."""
    try:
        mailer.open()
        mailer.send_messages([message])
        return
    except smtplib.SMTPRecipientsRefused:
        raise
    except Exception:
        mailer.close()
    try:
        mailer.open()
        mailer.send_messages([message])
    except Exception:
        mailer.close()
        raise


class FileAndConsoleBackend(FileBackend):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._console = ConsoleBackend(alias=self.alias)

    def send_messages(self, email_messages):
        sent = super().send_messages(email_messages)
        self._console.send_messages(email_messages)
        return sent
