"""Signals other apps connect to.

``account_cancelled`` is sent once a cancellation has been carried out and committed,
with ``user=`` the (now anonymised) account. Billing cancels the Stripe subscriptions;
licences, invoices and acceptance records stay attached to the anonymised row.
"""

from django.dispatch import Signal

account_cancelled = Signal()
