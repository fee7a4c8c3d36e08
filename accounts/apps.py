from allauth.account.apps import AccountConfig
from allauth.mfa.apps import MFAConfig
from allauth.socialaccount.apps import SocialAccountConfig
from allauth.usersessions.apps import UserSessionsConfig
from django.apps import AppConfig
from django.contrib.auth.apps import AuthConfig
from django.contrib.sites.apps import SitesConfig


class AccountsConfig(AppConfig):
    default = True  # this module holds other apps' configs too
    name = "accounts"
    verbose_name = "Members"


# The sign-in apps and Django's own, named as the staff site's menu gathers them
# (allmytracks.admin.TECHNICAL_GROUPS), so that their pages' breadcrumbs say the same.
SIGN_IN = "Sign-in and security"
SET_UP = "Site set-up"


class SignInAccountConfig(AccountConfig):
    verbose_name = SIGN_IN


class SignInSocialAccountConfig(SocialAccountConfig):
    verbose_name = SIGN_IN


class SignInMFAConfig(MFAConfig):
    verbose_name = SIGN_IN


class SignInUserSessionsConfig(UserSessionsConfig):
    verbose_name = SIGN_IN


class SetUpAuthConfig(AuthConfig):
    verbose_name = SET_UP


class SetUpSitesConfig(SitesConfig):
    verbose_name = SET_UP
