"""Pages for authors (staff): preview a question as residents will see it; item analysis."""

from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import permission_required
from django.shortcuts import get_object_or_404, render
from django.views.decorators.cache import never_cache

from questions.analytics import item_stats
from questions.authoring import item_writing, rules
from questions.authoring.citations import explanation_context
from questions.models import Question
from questions.quizzes import engine
from questions.replica import reads_from_replica


@staff_member_required
@permission_required("questions.view_question", raise_exception=True)
def question_preview(request, pk: int):
    """The question as a resident meets it (no key), then its explanation as the resident
    sees it after answering, before it is published; with its rule problems and log."""
    question = get_object_or_404(
        Question.objects.with_bank_relations().select_related("author"), pk=pk
    )
    citations = list(question.citations.all())
    explained = {
        "choices": [
            {
                "letter": c.letter,
                "text": c.text,
                "rationale": c.rationale,
                "is_correct": c.is_correct,
                "is_selected": False,
                "image": c.image_data(),
                "share": None,
            }
            for c in question.choices.all()
        ],
        "objective": question.objective,
        "diagram": (
            question.explanation_diagram.image_data() if question.explanation_diagram else None
        ),
        "explanation": explanation_context(
            question.explanation, citations, f"q{question.pk}", "Explanation"
        ),
        "residents": 0,
        "has_shares": True,  # no "statistics appear once..." note in a preview
    }
    return render(
        request,
        "questions/question_preview.html",
        {
            "question": question,
            "problems": rules.question_problems(question),
            "item_writing": item_writing.item_findings(item_writing.item_of(question)),
            "explained": explained,
            "status_changes": question.status_changes.select_related("changed_by")[:10],
        },
    )


@never_cache
@staff_member_required
@permission_required("questions.view_question", raise_exception=True)
@reads_from_replica
def item_analysis(request):
    """Every question that residents have answered, flagged items first, then by key."""
    engine.expire_overdue()  # abandoned quizzes count once their time is up
    bank_stats = item_stats.bank_item_stats()
    bank_items = bank_stats.items
    rows = item_stats.item_analysis_rows(
        Question.objects.filter(pk__in=list(bank_items)), bank_items
    )
    rows.sort(key=lambda row: not row["flags"])  # stable: flagged first, each by key
    return render(
        request,
        "questions/item_analysis.html",
        {
            "rows": rows,
            "computed_at": bank_stats.computed_at,
            "max_age_minutes": item_stats.BANK_ITEM_STATS_MAX_AGE // 60,
            "flagged_count": sum(bool(row["flags"]) for row in rows),
            "min_responses": item_stats.MIN_RESPONSES_FOR_FLAGS,
            "thresholds": {
                "too_hard": item_stats.FACILITY_TOO_HARD,
                "too_easy": item_stats.FACILITY_TOO_EASY,
                "discrimination": item_stats.DISCRIMINATION_TOO_LOW,
            },
        },
    )
