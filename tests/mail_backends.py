"""Test mail backends."""

import smtplib

from django.core.mail.backends import locmem


class CountingBackend(locmem.EmailBackend):
    """The test outbox, counting the connections opened (``opened``, for the whole class) the way an
    SMTP backend opens them; it refuses any address that starts with "refused" as a server would,
    and ends a session after ``per_session`` messages (a server's per-session limit)."""

    opened = 0
    per_session = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.connection = None

    def open(self):
        if self.connection is not None:
            return False
        type(self).opened += 1
        self.connection = {"sent": 0}
        return True

    def close(self):
        self.connection = None

    def send_messages(self, messages):
        for message in messages:
            if self.connection is None:
                raise smtplib.SMTPServerDisconnected("please run connect() first")
            if self.per_session is not None and self.connection["sent"] >= self.per_session:
                self.connection = None
                raise smtplib.SMTPSenderRefused(421, b"Too many messages in this session", message.from_email)
            refused = [to for to in message.to if to.startswith("refused")]
            if refused:
                raise smtplib.SMTPRecipientsRefused(dict.fromkeys(refused, (550, b"mailbox unavailable")))
            self.connection["sent"] += 1
        return super().send_messages(messages)
