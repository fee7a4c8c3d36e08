from django.urls import path

from . import views

app_name = "legal"

urlpatterns = [
    path("legal/", views.index, name="index"),
    path("legal/accept/", views.accept, name="accept"),
    path("legal/unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("legal/announcements/<id:pk>/dismiss/", views.dismiss_announcement, name="dismiss-announcement"),
    path("legal/<slug:slug>/", views.document, name="document"),
    path("legal/<slug:slug>/v/<id:number>/", views.version_detail, name="version"),
    path("legal/<slug:slug>/changes/<id:number>/", views.changes, name="changes"),
    path("account/inbox/", views.inbox, name="inbox"),
    path("account/inbox/read-all/", views.mark_all_read, name="mark-all-read"),
    path("account/inbox/<id:pk>/", views.message_detail, name="message"),
    path("account/agreements/", views.agreements, name="agreements"),
    path("account/email-preferences/", views.email_preferences, name="email-preferences"),
]
