from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    # In the staff site's menu: allauth's email-address app is "Accounts" already.
    verbose_name = "Members"
