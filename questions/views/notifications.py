"""The bell: a person's notifications, marking them read, and opening one (marked read,
then its page). The unsubscribe page of the notification e-mails, which needs no login:
its signed token names the account."""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from questions.middleware import retry_safe
from questions.models import Notification
from questions.notifications import inbox, unsubscribe


def unread_notifications(request) -> dict:
    """Context processor: the bell's count, counted (one query) only if a page shows it."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"unread_notifications": lambda: inbox.unread_count(user)}


@never_cache
@login_required
def notification_list(request):
    return render(
        request,
        "questions/notification_list.html",
        {"notifications": inbox.recent(request.user)},
    )


def _mark_read(request, pk: int) -> Notification:
    try:
        return inbox.mark_read(user=request.user, notification_id=pk)
    except Notification.DoesNotExist as exc:
        raise Http404("No such notification.") from exc


@retry_safe
@require_POST
@login_required
def notification_read(request, pk: int):
    """Mark one read. htmx: the item again, and the bell's new count (out of band)."""
    notification = _mark_read(request, pk)
    if request.htmx:
        return render(
            request,
            "includes/_notification.html",
            {"notification": notification, "with_bell": True},
        )
    return redirect("questions:notification_list")


@retry_safe
@require_POST
@login_required
def notification_read_all(request):
    inbox.mark_all_read(user=request.user)
    return redirect("questions:notification_list")


@retry_safe
@require_POST
@login_required
def notification_open(request, pk: int):
    """Mark it read and go to its page: a path on this site only, else the list."""
    notification = _mark_read(request, pk)
    return redirect(inbox.safe_link(notification) or "questions:notification_list")


# No CSRF check: the signed token in the URL is the only credential (the session is never
# used), and RFC 8058's one-click unsubscribe is a POST from the mail provider, which can
# carry no CSRF token. A forged request would need the recipient's token.
@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def notification_unsubscribe(request, token: str):
    """GET: a page with a button to confirm. POST (that button, or a mail client's one-click
    ``List-Unsubscribe=One-Click``): e-mail preference set to none."""
    try:
        user = unsubscribe.user_for(token)
    except unsubscribe.BadToken:
        return render(
            request, "questions/notification_unsubscribe.html", {"invalid": True}, status=400
        )
    done = request.method == "POST"
    if done:
        unsubscribe.unsubscribe(user=user)
    return render(
        request,
        "questions/notification_unsubscribe.html",
        {"account": user, "done": done, "token": token},
    )
