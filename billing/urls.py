from django.urls import path

from . import views

app_name = "billing"

urlpatterns = [
    path("pricing/", views.pricing, name="pricing"),
    path("billing/checkout/success/", views.checkout_success, name="checkout-success"),
    path("billing/checkout/cancelled/", views.checkout_cancel, name="checkout-cancel"),
    path("billing/checkout/<slug:plan>/", views.checkout, name="checkout"),
    path("billing/buy/<slug:slug>/", views.buy_track, name="buy-track"),
    path("billing/stripe/webhook/", views.webhook, name="webhook"),
    path("account/billing/", views.account_billing, name="account-billing"),
    path("account/billing/portal/", views.portal, name="portal"),
]
