"""Root URLs: the admin (authoring) and the questions app."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.static import serve

from questions.views import public

admin.site.site_header = "Cluneal nerve board review: authoring"
admin.site.site_title = "Board review authoring"
admin.site.index_title = "Question bank"

urlpatterns = [
    path("healthz/", public.healthz, name="healthz"),
    path("admin/", admin.site.urls),
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
