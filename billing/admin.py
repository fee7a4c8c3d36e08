"""Staff site for billing: plans (editable), the Stripe mirrors (read-only), complimentary
memberships and extra seats (through services, audited), and staff tasks."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import AdminSplitDateTime
from django.contrib.auth import get_user_model
from django.http import HttpResponseRedirect
from django.utils import timezone

from allmytracks.admin import ReadOnlyAdmin, account_filter, confirm_action, link_to

from . import services
from .models import (
    TERMINAL,
    BillingAccount,
    Checkout,
    ComplimentaryMembership,
    Invoice,
    MembershipUsage,
    Plan,
    Source,
    StaffTask,
    StripeEvent,
    Subscription,
    TrackCredit,
)


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    # Narrow columns, so the list fits beside the menu and the filters: the slug, the Stripe price
    # id and the order are on each plan's page; the list says whether the plan is sold online.
    list_display = [
        "plan",
        "price",
        "licences",
        "sound_effects",
        "business",
        "sold_online",
        "active",
    ]
    list_display_links = ["plan"]
    list_editable = ["active"]  # the order on the pricing page is set on each plan's page
    list_filter = ["active", "interval", "is_business", "includes_sfx"]
    search_fields = ["name", "slug", "stripe_price_id"]
    prepopulated_fields = {"slug": ["name", "interval"]}

    def has_delete_permission(self, request, obj=None):
        return False  # plans are switched off (active), never deleted: subscriptions point at them

    @admin.display(description="Plan", ordering="name")
    def plan(self, obj):
        return str(obj)

    @admin.display(description="Price", ordering="price_cents")
    def price(self, obj):
        return obj.price_display

    @admin.display(description="Licences")
    def licences(self, obj):
        return obj.allowance_display

    @admin.display(description="Sound effects", boolean=True, ordering="includes_sfx")
    def sound_effects(self, obj):
        return obj.includes_sfx

    @admin.display(description="Business", boolean=True, ordering="is_business")
    def business(self, obj):
        return obj.is_business

    @admin.display(description="Sold online", boolean=True, ordering="stripe_price_id")
    def sold_online(self, obj):
        """A Stripe price is set: the plan can be bought on the site."""
        return bool(obj.stripe_price_id)


class UsageInline(admin.TabularInline):
    model = MembershipUsage
    extra = 0
    can_delete = False
    readonly_fields = ["period_start", "period_end", "allowance", "used"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Subscription)
class SubscriptionAdmin(ReadOnlyAdmin):
    list_display = [
        "account",
        "plan",
        "source",
        "status",
        "quantity",
        "current_period_end",
        "cancel_at_period_end",
    ]
    list_filter = ["status", "source", "plan", account_filter("user")]
    search_fields = ["user__email", "stripe_subscription_id", "stripe_customer_id"]
    list_select_related = ["user", "plan"]
    inlines = [UsageInline]
    actions = ["end_complimentary"]

    @admin.display(description="Account", ordering="user__email")
    def account(self, obj):
        return link_to(obj.user)

    @admin.action(description="End the selected complimentary memberships now", permissions=["act"])
    def end_complimentary(self, request, queryset):
        return confirm_action(
            self,
            request,
            queryset,
            title="End complimentary memberships",
            submit="End",
            done="Ended",
            form_class=EndReasonForm,
            consequences=[
                "The membership ends now: no new licences from it. Licences already taken stay valid.",
                "The member is emailed that the membership ended.",
                "Paid memberships are not ended here: they end in Stripe.",
            ],
            describe=lambda sub: f"{sub.get_source_display()}, {sub.get_status_display().lower()}",
            skip=_not_endable,
            apply=lambda sub, data: services.end_complimentary_membership(
                subscription=sub, actor=request.user, reason=data["reason"], request=request
            ),
        )


class EndReasonForm(forms.Form):
    reason = forms.CharField(
        label="Reason",
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="Kept in the audit log.",
    )


def _not_endable(sub, data=None):
    if sub.source != Source.COMPLIMENTARY:
        return "paid: it ends in Stripe"
    if sub.status in TERMINAL:
        return "already ended"
    return ""


class ComplimentaryForm(forms.ModelForm):
    account_email = forms.EmailField(help_text="The account that receives the membership.")
    ends_at = forms.SplitDateTimeField(
        label="Ends at",
        widget=AdminSplitDateTime,
        help_text="When the membership ends, in UTC. Until then it renews its licences every plan interval.",
    )
    reason = forms.CharField(widget=forms.Textarea, help_text="Recorded in the audit log.")

    class Meta:
        model = ComplimentaryMembership
        fields = ["plan", "quantity"]
        help_texts = {"quantity": "Seats, for a business plan; 1 for the others."}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        plan = self.fields["plan"]
        # A free plan grants nothing: only paid plans can be given without payment (the choice
        # is checked against this list on saving too).
        plan.queryset = Plan.objects.filter(price_cents__gt=0)
        plan.help_text = "Paid plans only."
        # Plans are edited in their own list, not from here.
        for tool in ("can_add_related", "can_change_related", "can_view_related", "can_delete_related"):
            setattr(plan.widget, tool, False)

    def clean_account_email(self):
        email = self.cleaned_data["account_email"].strip().lower()
        user = get_user_model().objects.filter(email__iexact=email).first()
        if user is None:
            raise forms.ValidationError("No account has this email.")
        self.cleaned_data["user"] = user
        return email

    def clean_ends_at(self):
        ends_at = self.cleaned_data["ends_at"]
        if ends_at <= timezone.now():
            raise forms.ValidationError("The end date must be in the future.")
        return ends_at


@admin.register(ComplimentaryMembership)
class ComplimentaryMembershipAdmin(admin.ModelAdmin):
    """Grant a membership without payment (audited). Also how development runs without Stripe."""

    form = ComplimentaryForm
    list_display = ["user", "plan", "status", "current_period_end", "granted_by", "grant_reason"]
    list_select_related = ["user", "plan", "granted_by"]
    search_fields = ["user__email"]
    # Granting asks for the account first; a granted membership is shown, never edited here.
    add_fields = ["account_email", "plan", "quantity", "ends_at", "reason"]
    view_fields = [
        "account",
        "plan",
        "quantity",
        "status",
        "current_period_start",
        "current_period_end",
        "ended_at",
        "granted_by",
        "grant_reason",
    ]

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is not None:
            kwargs["form"] = forms.ModelForm
        return super().get_form(request, obj, change, **kwargs)

    def get_fields(self, request, obj=None):
        return self.add_fields if obj is None else self.view_fields

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.view_fields

    @admin.display(description="Account", ordering="user__email")
    def account(self, obj):
        return link_to(obj.user)

    def get_queryset(self, request):
        return super().get_queryset(request).filter(source=Source.COMPLIMENTARY)

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        try:
            sub = services.grant_complimentary_membership(
                user=form.cleaned_data["user"],
                plan=form.cleaned_data["plan"],
                ends_at=form.cleaned_data["ends_at"],
                quantity=form.cleaned_data.get("quantity") or 1,
                actor=request.user,
                reason=form.cleaned_data["reason"],
                request=request,
            )
        except services.CheckoutError as exc:
            self.message_user(request, str(exc), level=messages.ERROR)
            obj.pk = None
            return
        obj.pk = sub.pk
        obj.__dict__.update(sub.__dict__)

    def response_add(self, request, obj, post_url_continue=None):
        if obj.pk is None:
            return HttpResponseRedirect(request.path)
        return super().response_add(request, obj, post_url_continue)


class BillingAccountForm(forms.ModelForm):
    reason = forms.CharField(
        required=False, widget=forms.Textarea, help_text="Why the seats change (audited)."
    )

    class Meta:
        model = BillingAccount
        fields = ["extra_seats"]

    def clean(self):
        cleaned = super().clean()
        if "extra_seats" in self.changed_data and not (cleaned.get("reason") or "").strip():
            self.add_error("reason", "Say why the seats change.")
        return cleaned


@admin.register(BillingAccount)
class BillingAccountAdmin(admin.ModelAdmin):
    """Extra designated-user seats granted by staff go through a service (audited)."""

    form = BillingAccountForm
    list_display = ["user", "stripe_customer_id", "extra_seats", "created_at"]
    search_fields = ["user__email", "stripe_customer_id"]
    readonly_fields = ["user", "stripe_customer_id", "created_at"]
    list_select_related = ["user"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        if "extra_seats" in form.changed_data:
            services.set_extra_seats(
                user=obj.user,
                extra_seats=form.cleaned_data["extra_seats"],
                actor=request.user,
                reason=form.cleaned_data["reason"],
                request=request,
            )


@admin.register(TrackCredit)
class TrackCreditAdmin(ReadOnlyAdmin):
    list_display = ["user", "track", "status", "amount_display", "purchase_ref", "created_at", "used_at"]
    list_filter = ["status", account_filter("user")]
    search_fields = ["user__email", "track__title", "purchase_ref"]
    list_select_related = ["user", "track"]


@admin.register(Invoice)
class InvoiceAdmin(ReadOnlyAdmin):
    list_display = ["number", "user", "status", "amount_display", "issued_at", "attempt_count"]
    list_filter = ["status", account_filter("user")]
    search_fields = ["number", "stripe_invoice_id", "user__email"]
    list_select_related = ["user"]


@admin.register(Checkout)
class CheckoutAdmin(ReadOnlyAdmin):
    list_display = ["pk", "user", "kind", "plan", "track", "amount_display", "status", "created_at"]
    list_filter = ["kind", "status"]
    search_fields = ["user__email", "stripe_session_id", "stripe_payment_intent_id"]
    list_select_related = ["user", "plan", "track"]


@admin.register(StripeEvent)
class StripeEventAdmin(ReadOnlyAdmin):
    list_display = ["stripe_id", "type", "received_at", "processed_at", "attempts", "has_error"]
    list_filter = ["type", ("processed_at", admin.EmptyFieldListFilter)]
    search_fields = ["stripe_id", "type"]
    actions = ["process_again"]

    @admin.display(boolean=True, description="error")
    def has_error(self, obj):
        return bool(obj.error)

    @admin.action(description="Process the selected unprocessed events again")
    def process_again(self, request, queryset):
        from allmytracks.tasks import enqueue_on_commit

        from .tasks import process_stripe_event

        pending = list(queryset.filter(processed_at__isnull=True).values_list("pk", flat=True))
        for pk in pending:
            enqueue_on_commit(process_stripe_event, pk)
        self.message_user(request, f"{len(pending)} event(s) queued.")


@admin.register(StaffTask)
class StaffTaskAdmin(admin.ModelAdmin):
    list_display = ["kind", "user", "credit", "stripe_object_id", "created_at", "resolved_at"]
    list_filter = ["kind", ("resolved_at", admin.EmptyFieldListFilter)]
    search_fields = ["user__email", "stripe_object_id"]
    readonly_fields = [
        "kind",
        "user",
        "credit",
        "stripe_object_id",
        "details",
        "created_at",
        "resolved_at",
        "resolved_by",
    ]
    fields = readonly_fields + ["resolution"]
    list_select_related = ["user", "credit"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        if obj.resolution.strip() and obj.resolved_at is None:
            services.resolve_task(task=obj, actor=request.user, resolution=obj.resolution)
        else:
            super().save_model(request, obj, form, change)
