"""Exam simulation pages: status codes, permissions, redirects, times as mm:ss, the
key-leak rule before the end, query counts that do not grow with the block size.

The views read the server's clock, so each test builds its simulation in the past
(``ago``) through the domain functions, which take ``now``."""

import datetime
import re
import uuid

import pytest
from django.urls import reverse
from django.utils import timezone

from questions.models import Attempt, ExamSimulation, ResidentProfile
from questions.quizzes import engine, simulation
from tests.factories import PublishableQuestionFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def _bank(module_db):
    with module_db():
        return PublishableQuestionFactory.create_batch(80)


@pytest.fixture
def bank(_bank, db):
    """80 published questions, built once for the module: 2 blocks of up to 40."""
    return _bank


@pytest.fixture
def resident_client(client, resident):
    client.force_login(resident)
    return client


def ago(**delta) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(**delta)


def create(user, *, block_count=2, block_size=5, break_seconds=600, now=None):
    return simulation.create_simulation(
        user=user,
        block_count=block_count,
        block_size=block_size,
        break_seconds=break_seconds,
        now=now or ago(hours=1),
    )


def page_url(sim):
    return reverse("questions:simulation_detail", args=[sim.pk])


def start_url(sim):
    return reverse("questions:simulation_start_block", args=[sim.pk])


def end_break_url(sim):
    return reverse("questions:simulation_end_break", args=[sim.pk])


def on_break(user, *, block_size=5, block_count=2):
    """Block 1 started 5 minutes ago and submitted a minute ago: 9 minutes of break left."""
    sim = create(user, block_size=block_size, block_count=block_count)
    block = simulation.start_block(simulation=sim, user=user, now=ago(minutes=5))
    engine.finish_attempt(attempt=block, now=ago(minutes=1))
    return sim


def finished(user, *, block_size=5):
    """Both blocks taken an hour ago, the second one submitted early."""
    sim = create(user, block_size=block_size, now=ago(hours=2))
    one = simulation.start_block(simulation=sim, user=user, now=ago(minutes=90))
    engine.finish_attempt(attempt=one, now=ago(minutes=88))
    two = simulation.end_break(simulation=sim, user=user, now=ago(minutes=85))
    engine.finish_attempt(attempt=two, now=ago(minutes=82))
    return sim


def text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


# --- Who may open what ----------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_log_in(client, bank, resident):
    sim = create(resident)
    for url in (reverse("questions:simulation_new"), page_url(sim)):
        response = client.get(url)
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))
    for url in (start_url(sim), end_break_url(sim)):
        assert client.post(url).url.startswith(reverse("login"))
    assert sim.blocks.count() == 0


def test_another_residents_simulation_is_404_and_left_alone(client, bank, resident):
    sim = on_break(resident)
    client.force_login(UserFactory(username="someone-else"))
    assert client.get(page_url(sim)).status_code == 404
    assert client.post(start_url(sim), {"block": "2"}).status_code == 404
    assert client.post(end_break_url(sim)).status_code == 404
    assert sim.blocks.count() == 1
    assert client.get(reverse("questions:simulation_detail", args=[2**31 - 1])).status_code == 404


def test_starting_and_ending_the_break_are_posts_only(resident_client, bank, resident):
    sim = create(resident)
    assert resident_client.get(start_url(sim)).status_code == 405
    assert resident_client.get(end_break_url(sim)).status_code == 405


# --- The builder ------------------------------------------------------------------------------


def test_the_builder_shows_the_residents_pace_and_the_total_time_as_mmss(
    resident_client, resident, bank
):
    ResidentProfile.objects.create(user=resident, time_setting="x1.5")
    page = text(resident_client.get(reverse("questions:simulation_new")))
    assert "<strong>2:15</strong> a question" in page  # 90 s x 1.5
    # 2 blocks of 20 at 2:15 (45:00 each) and one 10-minute break.
    assert '<strong class="simulation-block-time">45:00</strong> a block' in page
    assert '<strong class="simulation-total-time">1:40:00</strong>' in page
    assert " s<" not in page and "seconds" not in page


def test_the_builder_creates_a_simulation_and_opens_block_ones_start_screen(
    resident_client, resident, bank
):
    response = resident_client.post(
        reverse("questions:simulation_new"),
        {"block_count": 3, "block_size": 10, "break_minutes": 5, "pool": "all"},
    )
    sim = ExamSimulation.objects.get(user=resident)
    assert response.url == page_url(sim)
    assert (sim.block_count, sim.block_size, sim.break_seconds) == (3, 10, 300)
    assert sim.blocks.count() == 0


def test_the_same_builder_form_sent_twice_creates_one_simulation(resident_client, bank):
    form = {"block_count": 2, "block_size": 5, "break_minutes": 1, "pool": "all"}
    token = str(uuid.uuid4())
    first = resident_client.post(reverse("questions:simulation_new"), form | {"start_token": token})
    again = resident_client.post(reverse("questions:simulation_new"), form | {"start_token": token})
    assert first.url == again.url
    assert ExamSimulation.objects.count() == 1


def test_a_pool_too_small_is_said_on_the_builder(resident_client, bank):
    response = resident_client.post(
        reverse("questions:simulation_new"),
        {"block_count": 8, "block_size": 40, "break_minutes": 10, "pool": "all"},
    )
    assert response.status_code == 200
    assert "These settings hold 80 questions; 8 blocks of 40 need 320." in text(response)
    assert not ExamSimulation.objects.exists()


@pytest.mark.parametrize(
    ("field", "value"), [("block_count", 1), ("block_count", 9), ("block_size", 4),
                         ("block_size", 41), ("break_minutes", 20)]
)  # fmt: skip
def test_sizes_out_of_range_are_refused_on_the_builder(resident_client, bank, field, value):
    form = {"block_count": 2, "block_size": 5, "break_minutes": 1, "pool": "all"}
    response = resident_client.post(reverse("questions:simulation_new"), form | {field: value})
    assert response.status_code == 200
    assert "errorlist" in response.content.decode() or "invalid-feedback" in text(response)
    assert not ExamSimulation.objects.exists()


def test_an_untimed_resident_is_told_why_there_is_no_simulation(resident_client, resident, bank):
    ResidentProfile.objects.create(user=resident, time_setting="untimed")
    page = text(resident_client.get(reverse("questions:simulation_new")))
    assert "An exam simulation is timed, as the exam is" in page
    assert 'id="simulation-builder"' not in page
    response = resident_client.post(
        reverse("questions:simulation_new"),
        {"block_count": 2, "block_size": 5, "break_minutes": 1, "pool": "all"},
    )
    assert response.status_code == 200
    assert not ExamSimulation.objects.exists()


def test_the_builder_lists_the_residents_own_simulations(resident_client, resident, bank):
    mine = on_break(resident)
    create(UserFactory(username="other-resident"))
    page = resident_client.get(reverse("questions:simulation_new")).content.decode()
    assert re.findall(r'href="/simulations/\d+/"', page) == [f'href="{page_url(mine)}"']


def test_the_quiz_builder_links_to_the_simulation(resident_client, bank):
    page = resident_client.get(reverse("questions:attempt_new")).content.decode()
    assert f'href="{reverse("questions:simulation_new")}"' in page
    assert "Simulate an exam (blocks with breaks)" in page


# --- The start screen, the block, the break, the summary ---------------------------------------


def test_the_start_screen_gives_the_block_the_time_and_the_rules(resident_client, resident, bank):
    sim = create(resident, block_count=3, block_size=20)
    response = resident_client.get(page_url(sim))
    page = text(response)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
    assert "Block 1 of 3" in page
    assert '<dd class="col-6 col-sm-8" id="block-questions">20</dd>' in page
    assert "30:00" in page  # 20 questions at 1:30
    assert "10:00" in page  # the break
    for rule in (
        "The clock starts when you press Start",
        "You cannot go back to an earlier block",
        "Unanswered questions score as wrong",
    ):
        assert rule in page
    assert f'action="{start_url(sim)}"' in page
    assert 'name="block" value="1"' in page


def test_start_opens_block_one_and_a_double_click_starts_one_block(resident_client, resident, bank):
    sim = create(resident)
    first = resident_client.post(start_url(sim), {"block": "1"})
    second = resident_client.post(start_url(sim), {"block": "1"})
    block = sim.blocks.get()
    assert first.url == second.url == block.get_absolute_url()
    assert (block.block_number, block.mode) == (1, Attempt.Mode.TIMED)


def test_during_a_block_the_simulation_page_sends_to_the_block(resident_client, resident, bank):
    sim = create(resident)
    block = simulation.start_block(simulation=sim, user=resident)
    response = resident_client.get(page_url(sim))
    assert response.url == block.get_absolute_url()


def test_a_finished_block_leads_to_the_break(resident_client, resident, bank):
    sim = create(resident)
    block = simulation.start_block(simulation=sim, user=resident, now=ago(minutes=2))
    engine.finish_attempt(attempt=block)
    response = resident_client.get(reverse("questions:attempt_detail", args=[block.pk]))
    assert response.url == page_url(sim)


def test_the_break_screen_shows_the_servers_countdown_and_the_next_blocks_start_screen(
    resident_client, resident, bank
):
    sim = on_break(resident, block_count=3)
    page = text(resident_client.get(page_url(sim)))
    remaining = re.search(r'id="break-countdown"[^>]*data-remaining="(\d+)"[^>]*>([\d:]+)<', page)
    assert remaining, page
    assert 530 <= int(remaining[1]) <= 540  # 9 minutes left, give or take the test's time
    assert re.fullmatch(r"[89]:\d\d", remaining[2])
    assert "Block 1 of 3 is over" in page
    assert "Next: block 2 of 3" in page
    assert f'action="{end_break_url(sim)}"' in page
    assert "Start block 2 now" in page
    assert f'action="{start_url(sim)}"' not in page


def test_start_block_now_ends_the_break(resident_client, resident, bank):
    sim = on_break(resident)
    response = resident_client.post(end_break_url(sim))
    block = sim.blocks.get(block_number=2)
    assert response.url == block.get_absolute_url()
    assert timezone.now() - block.started_at < datetime.timedelta(minutes=1)


def test_ending_a_break_that_is_not_there_says_so(resident_client, resident, bank):
    sim = create(resident)
    response = resident_client.post(end_break_url(sim), follow=True)
    assert "There is no break running to end." in text(response)
    assert sim.blocks.count() == 0


def test_a_stale_start_screen_starts_nothing_and_says_where_things_stand(
    resident_client, resident, bank
):
    sim = on_break(resident)
    response = resident_client.post(start_url(sim), {"block": "1"}, follow=True)
    assert "Block 1 has already been taken" in text(response)
    assert sim.blocks.count() == 1


def test_a_break_that_ran_out_sends_to_the_next_block_started_at_its_end(
    resident_client, resident, bank
):
    sim = create(resident)
    block = simulation.start_block(simulation=sim, user=resident, now=ago(minutes=20))
    block = engine.finish_attempt(attempt=block, now=ago(minutes=12))  # break over 2 min ago
    response = resident_client.get(page_url(sim))
    two = sim.blocks.get(block_number=2)
    assert response.url == two.get_absolute_url()
    assert two.started_at == block.finished_at + datetime.timedelta(minutes=10)


def test_the_summary_gives_each_blocks_score_and_time_and_links_its_results(
    resident_client, resident, bank
):
    sim = finished(resident)
    page = text(resident_client.get(page_url(sim)))
    assert "Your exam simulation is over" in page
    assert 'id="simulation-score">0 / 10 (0.0%)' in page
    assert 'id="simulation-time">5:00' in page  # 2:00 + 3:00
    assert "2:00 of 7:30" in page and "3:00 of 7:30" in page
    for block in sim.blocks.all():
        assert f'href="{reverse("questions:attempt_results", args=[block.pk])}"' in page


def test_an_abandoned_simulation_shows_its_summary_with_every_block_run_out(
    resident_client, resident, bank
):
    sim = create(resident, now=ago(days=2))
    simulation.start_block(simulation=sim, user=resident, now=ago(days=2))
    page = text(resident_client.get(page_url(sim)))
    assert page.count("Time ran out") == 2
    assert "7:30 of 7:30" in page


# --- The key-leak rule ---------------------------------------------------------------------------


def _secrets(sim) -> list[str]:
    """What would give a question of the simulation away: its choices' texts (each names
    its question), its explanation (it cites the question's own reference)."""
    from questions.models import Question

    found = []
    for question in Question.objects.filter(pk__in=sim.question_ids).prefetch_related("choices"):
        found.append(question.explanation)
        found += [choice.text for choice in question.choices.all()]
    return found


def test_no_page_before_the_end_shows_a_question_let_alone_its_key(resident_client, resident, bank):
    sim = create(resident, block_count=3)
    pages = {"start": resident_client.get(page_url(sim))}
    block = simulation.start_block(simulation=sim, user=resident)
    pages["builder, block running"] = resident_client.get(reverse("questions:simulation_new"))
    engine.finish_attempt(attempt=block)
    pages["break"] = resident_client.get(page_url(sim))
    pages["builder, on break"] = resident_client.get(reverse("questions:simulation_new"))
    secrets = _secrets(sim)
    for name, response in pages.items():
        html = response.content.decode()
        assert response.status_code == 200, name
        leaked = [secret for secret in secrets if secret in html]
        assert not leaked, (name, leaked[:3])
        assert "is_correct" not in html and "Rationale" not in html, name


# --- Query counts ----------------------------------------------------------------------------


def _queries(client, url, django_assert_max_num_queries) -> int:
    with django_assert_max_num_queries(60) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("phase", ["start", "break", "summary", "builder"])
def test_query_counts_do_not_grow_with_the_block_size(
    client, bank, django_assert_max_num_queries, phase
):
    counts = []
    for size in (5, 40):
        user = UserFactory(username=f"resident-{size}")
        client.force_login(user)
        if phase == "start":
            sim = create(user, block_size=size)
        elif phase == "break":
            sim = on_break(user, block_size=size)
        else:
            sim = finished(user, block_size=size)
        url = reverse("questions:simulation_new") if phase == "builder" else page_url(sim)
        counts.append(_queries(client, url, django_assert_max_num_queries))
    assert counts[0] == counts[1], counts


def test_the_builders_query_count_does_not_grow_with_the_simulations_listed(
    client, bank, django_assert_max_num_queries
):
    counts = []
    for listed in (1, 4):
        user = UserFactory(username=f"resident-{listed}")
        client.force_login(user)
        for _ in range(listed):
            finished(user)
        # The first read stamps each simulation finished (once in its life); then they stay.
        client.get(reverse("questions:simulation_new"))
        counts.append(
            _queries(client, reverse("questions:simulation_new"), django_assert_max_num_queries)
        )
    assert counts[0] == counts[1], counts
