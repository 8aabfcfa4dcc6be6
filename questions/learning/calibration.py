"""Calibration: how often a resident's "sure", "unsure" and "guess" answers were right, and
the questions they answered wrongly while sure, by topic. Each function states the shape it
returns and its query count."""

from __future__ import annotations

import datetime

from django.db.models import (
    Count,
    Max,
    Q,
)

from questions.learning import withholding
from questions.models import AttemptItem, Question, Topic


def _calibration_rows(counts: dict[str, tuple[int, int]]) -> list[dict]:
    rows = []
    for value, label in AttemptItem.Confidence.choices:
        answered, correct = counts.get(value, (0, 0))
        rows.append(
            {
                "confidence": value,
                "label": label,
                "answered": answered,
                "correct": correct,
                "percent": round(100 * correct / answered, 1) if answered else None,
            }
        )
    return rows


def calibration_of(items) -> list[dict]:
    """Per confidence (sure, unsure, guess, in that order): ``{"confidence", "label",
    "answered", "correct", "percent"}`` over the locked ``items`` that carry one. Well
    calibrated: "sure" near 100%, "guess" near chance. No query (items already read)."""
    counts: dict[str, tuple[int, int]] = {}
    for item in items:
        if item.locked_at is not None and item.confidence:
            answered, correct = counts.get(item.confidence, (0, 0))
            counts[item.confidence] = (answered + 1, correct + bool(item.is_correct))
    return _calibration_rows(counts)


def _scored(user, cohort, withhold_at: datetime.datetime | None):
    items = AttemptItem.objects.scored().visible_to(cohort).filter(attempt__user=user)
    return withholding.without_held(items, user, withhold_at)


def calibration(user, *, cohort=None, withhold_at: datetime.datetime | None = None) -> list[dict]:
    """``calibration_of`` every scored answer of ``user`` (as ``cohort``'s educators may
    see them, when given; without the answers held back at ``withhold_at``, when given:
    ``learning.withholding``). One query."""
    rows = (
        _scored(user, cohort, withhold_at)
        .exclude(confidence="")
        .values("confidence")
        .annotate(answered=Count("id"), correct=Count("id", filter=Q(is_correct=True)))
        .order_by()
    )
    return _calibration_rows({r["confidence"]: (r["answered"], r["correct"]) for r in rows})


NO_TOPIC = "No topic"


def confident_misses(
    user, *, cohort=None, withhold_at: datetime.datetime | None = None
) -> list[dict]:
    """The questions ``user`` answered wrongly while sure (the misconceptions that feel
    like knowledge), by topic in curriculum order: ``[{"topic", "questions": [{"question_id",
    "key", "lead_in", "times", "last"}]}]``, each topic's most recent first. A question in
    two topics is listed under both, one without a topic under NO_TOPIC, last. Without
    the answers held back at ``withhold_at``, when given. One query."""
    rows = (
        _scored(user, cohort, withhold_at)
        .filter(confidence=AttemptItem.Confidence.SURE, is_correct=False)
        .values(
            "question_id",
            "question__key",
            "question__lead_in",
            "question__topics",
            "question__topics__name",
            "question__topics__order",
        )
        .annotate(times=Count("id"), last=Max("locked_at"))
        .order_by("question__topics__order", "question__topics__name", "-last", "question_id")
    )
    groups: dict[int, dict] = {}
    for r in rows:
        topic_id = r["question__topics"]
        if topic_id not in groups:
            topic = Topic(
                pk=topic_id,
                name=r["question__topics__name"] or NO_TOPIC,
                order=r["question__topics__order"] or 0,
            )
            groups[topic_id] = {"topic": topic, "questions": []}
        groups[topic_id]["questions"].append(
            {
                "question_id": r["question_id"],
                "key": r["question__key"],
                "lead_in": r["question__lead_in"],
                "times": r["times"],
                "last": r["last"],
            }
        )
    return sorted(groups.values(), key=lambda g: g["topic"].pk is None)  # "No topic" last


def topics_by_question(question_ids) -> dict[int, list[Topic]]:
    """``{question_id: [Topic, ...]}`` in curriculum order; a question without a topic is
    missing. One query."""
    topics: dict[int, list[Topic]] = {}
    links = (
        Question.topics.through.objects.filter(question_id__in=set(question_ids))
        .select_related("topic")
        .order_by("topic__order", "topic__name")
    )
    for link in links:
        topics.setdefault(link.question_id, []).append(link.topic)
    return topics


def items_by_topic(items, *, topics_of: dict[int, list[Topic]] | None = None) -> list[dict]:
    """``items`` grouped under their questions' topics in curriculum order: ``[{"topic",
    "items"}]``; an item in two topics is under both, one in none under NO_TOPIC, last.
    One query (``topics_by_question``), none for no items or given ``topics_of`` (its
    result for these items' questions, or more)."""
    if not items:
        return []
    if topics_of is None:
        topics_of = topics_by_question(i.question_id for i in items)
    groups: dict[int, dict] = {}
    for item in items:
        for topic in topics_of.get(item.question_id, ()):
            groups.setdefault(topic.pk, {"topic": topic, "items": []})["items"].append(item)
    ordered = sorted(groups.values(), key=lambda g: (g["topic"].order, g["topic"].name))
    rest = [i for i in items if i.question_id not in topics_of]
    return ordered + ([{"topic": NO_TOPIC, "items": rest}] if rest else [])
