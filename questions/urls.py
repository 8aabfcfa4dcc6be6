from django.urls import path

from .views import authoring, public

app_name = "questions"

urlpatterns = [
    path("", public.home, name="home"),
    path("references/", public.reference_list, name="reference_list"),
    path(
        "authoring/questions/<int:pk>/preview/", authoring.question_preview, name="question_preview"
    ),
]
