from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("account/", views.account, name="account"),
    path("account/profile/", views.profile, name="profile"),
    path("account/security/", views.security, name="security"),
    path("account/data/", views.data_export, name="data"),
    path("account/guardian/", views.guardian, name="guardian"),
    path("account/guardian/confirm/<str:token>/", views.guardian_confirm, name="guardian-confirm"),
    path("account/enterprise/", views.enterprise, name="enterprise"),
    path("account/enterprise/<id:pk>/letter/", views.enterprise_letter, name="enterprise-letter"),
    path("account/cancel/", views.cancel, name="cancel"),
    path("account/cancel/<id:pk>/withdraw/", views.cancel_withdraw, name="cancel-withdraw"),
    path("account/report-compromise/", views.report_compromise, name="report-compromise"),
    path("account/recover/<str:token>/", views.recover, name="recover"),
]
