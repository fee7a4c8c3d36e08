from django import template

from accounts.middleware import REFUSAL_SESSION_KEY, SIGNED_OUT_SESSION_KEY

register = template.Library()


@register.simple_tag(takes_context=True)
def sign_in_refusal(context):
    """Why the last sign-in was refused or the member was signed out (shown once), as
    ``{"reason": …, "signed_out": bool}``; None when there is nothing to say."""
    request = context.get("request")
    if request is None or not hasattr(request, "session"):
        return None
    reason = request.session.pop(REFUSAL_SESSION_KEY, "")
    signed_out = request.session.pop(SIGNED_OUT_SESSION_KEY, False)
    return {"reason": reason, "signed_out": signed_out} if reason else None


@register.filter
def with_placeholder(field, text):
    """A form field's widget with ``text`` as its placeholder, rendered by Django as usual (so it
    keeps its ids, ``required`` and ``aria-describedby`` naming its help and its errors): allauth's
    password fields repeat their Title Case label there."""
    return field.as_widget(attrs={"placeholder": text})
