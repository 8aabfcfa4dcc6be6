"""Root URLs: the admin (authoring) and the questions app."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.static import serve

from questions.views import accounts, public

# The 400 and 500 pages show the request id (Django's own render their templates without it).
handler400 = public.bad_request
handler500 = public.server_error

admin.site.site_header = "Cluneal nerve board review: authoring"
admin.site.site_title = "Board review authoring"
admin.site.index_title = "Question bank"

urlpatterns = [
    path("healthz/", public.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    # Before Django's own auth URLs, which they replace: a login rate-limited and safe to send
    # again (views.accounts.log_in); reset by e-mail only when the site can send mail.
    path("accounts/login/", accounts.log_in, name="login"),
    path("accounts/password_reset/", accounts.PasswordResetView.as_view(), name="password_reset"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", include("questions.urls")),
]

if settings.SERVE_MEDIA:
    urlpatterns += [
        re_path(
            rf"^{settings.MEDIA_URL.strip('/')}/(?P<path>.*)$",
            serve,
            {"document_root": settings.MEDIA_ROOT},
        )
    ]
