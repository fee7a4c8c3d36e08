"""Test mail backends."""

import smtplib

from django.core.mail.backends import locmem


class CountingBackend(locmem.EmailBackend):
    """The test outbox, counting the connections opened (``opened``, for the whole class) the way an
    SMTP backend opens them, and refusing any address that starts with "refused" as a server would."""

    opened = 0

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.connection = None

    def open(self):
        if self.connection is not None:
            return False
        type(self).opened += 1
        self.connection = object()
        return True

    def close(self):
        self.connection = None

    def send_messages(self, messages):
        for message in messages:
            refused = [to for to in message.to if to.startswith("refused")]
            if refused:
                raise smtplib.SMTPRecipientsRefused(dict.fromkeys(refused, (550, b"mailbox unavailable")))
        return super().send_messages(messages)
