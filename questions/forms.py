"""Forms residents fill in: sign-up, profile, the quiz builder."""

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms
from django.contrib.auth.forms import UserCreationForm
from django.db import transaction

from .models import Attempt, ResidentProfile, Topic


class SignUpForm(UserCreationForm):
    program = forms.CharField(max_length=200, help_text="Your residency program.")
    training_year = forms.TypedChoiceField(
        coerce=int, choices=ResidentProfile._meta.get_field("training_year").choices
    )

    class Meta(UserCreationForm.Meta):
        fields = ("username", "email")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.add_input(Submit("submit", "Create account"))

    @transaction.atomic
    def save(self, commit=True):
        user = super().save(commit=True)
        ResidentProfile.objects.create(
            user=user,
            program=self.cleaned_data["program"],
            training_year=self.cleaned_data["training_year"],
        )
        return user


class ProfileForm(forms.ModelForm):
    class Meta:
        model = ResidentProfile
        fields = ["program", "training_year", "time_setting", "has_keyboard_shortcuts"]
        help_texts = {
            "time_setting": "Timed quizzes allow 90 seconds a question times this setting.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.add_input(Submit("submit", "Save settings"))


class QuizBuilderForm(forms.Form):
    topics = forms.ModelMultipleChoiceField(
        queryset=Topic.objects.all(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Leave all unticked for every topic.",
    )
    pool = forms.ChoiceField(
        choices=Attempt.Pool.choices, initial=Attempt.Pool.ALL, widget=forms.RadioSelect
    )
    question_count = forms.IntegerField(
        label="Number of questions", min_value=1, max_value=200, initial=10
    )
    mode = forms.ChoiceField(
        choices=[
            (Attempt.Mode.TIMED, "Timed: exam pace, one clock for the whole block"),
            (Attempt.Mode.TUTOR, "Tutor: untimed, explanation after each answer"),
        ],
        initial=Attempt.Mode.TIMED,
        widget=forms.RadioSelect,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.add_input(Submit("submit", "Start quiz"))
