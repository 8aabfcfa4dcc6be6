"""Pages for educators (staff): preview a question as it will read, with its key."""

from django.contrib.admin.views.decorators import staff_member_required
from django.shortcuts import get_object_or_404, render

from questions import bank
from questions.models import Question


@staff_member_required
def question_preview(request, pk: int):
    question = get_object_or_404(Question.objects.with_bank_relations(), pk=pk)
    return render(
        request,
        "questions/question_preview.html",
        {"question": question, "problems": bank.question_problems(question)},
    )
