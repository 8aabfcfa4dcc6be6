"""Root URLs: the admin (authoring) and the questions app."""

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from django.views.static import serve

from questions.middleware import retry_safe
from questions.views import accounts, public

# The 500 page shows the request id (Django's own would render the template without it).
handler500 = public.server_error

admin.site.site_header = "Cluneal nerve board review: authoring"
admin.site.site_title = "Board review authoring"
admin.site.index_title = "Question bank"

urlpatterns = [
    path("healthz/", public.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    # Before Django's own auth URLs, which they replace: a login sent again after a dropped
    # database connection logs in once; reset by e-mail only when the site can send mail.
    path("accounts/login/", retry_safe(auth_views.LoginView.as_view()), name="login"),
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
