"""Sign-up, the resident's own settings, and password reset. Log in, log out and password
change are Django's own views (``django.contrib.auth.urls``) with this site's templates."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.decorators import method_decorator

from questions.forms import ProfileForm, SignUpForm
from questions.middleware import retry_safe
from questions.models import SiteSetting
from questions.people import accounts
from questions.people import limits as rate_limits


@rate_limits.rate_limited(rate_limits.SIGNUP_PER_ADDRESS)
def signup(request):
    if request.user.is_authenticated:
        # A second account would replace the session's: log out first to make one.
        messages.info(request, "You already have an account and are logged in.")
        return redirect("questions:dashboard")
    if not SiteSetting.current().is_signup_open:
        raise Http404("Sign-up is closed; ask your program's educator for an account.")
    form = SignUpForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        user = accounts.sign_up(
            username=data["username"],
            email=data["email"],
            password=data["password1"],
            program=data["program"],
            training_year=data["training_year"],
        )
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, "Welcome! Build your first quiz below.")
        return redirect("questions:attempt_new")
    return render(request, "registration/signup.html", {"form": form})


@login_required
def profile(request):
    profile = accounts.profile_for(request.user)
    form = ProfileForm(request.POST if request.method == "POST" else None, instance=profile)
    if request.method == "POST" and form.is_valid():
        # The form's fields are update_profile's keyword arguments, one for one.
        accounts.update_profile(profile=profile, **form.cleaned_data)
        messages.success(request, "Settings saved.")
        return redirect("questions:profile")
    return render(request, "questions/profile.html", {"form": form})


# Django's login view, limited before the password is checked; only failed logins count. A
# login sent again after a dropped database connection logs in once (retry_safe).
log_in = retry_safe(rate_limits.login_limits(auth_views.LoginView.as_view()))


class PasswordResetView(auth_views.PasswordResetView):
    """Django's reset by e-mail, when the site can send mail (settings.EMAIL_URL); otherwise
    a page that says whom to ask, and nothing is sent."""

    @method_decorator(
        rate_limits.rate_limited(
            rate_limits.PASSWORD_RESET_PER_EMAIL, rate_limits.PASSWORD_RESET_PER_ADDRESS
        )
    )
    def dispatch(self, request, *args, **kwargs):
        if not settings.PASSWORD_RESET_BY_EMAIL:
            return render(request, "registration/password_reset_unavailable.html")
        return super().dispatch(request, *args, **kwargs)
