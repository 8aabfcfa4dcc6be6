import pytest
from django.urls import reverse

from questions.models import Question
from tests.factories import PublishableQuestionFactory, ReferenceFactory, TopicFactory

pytestmark = pytest.mark.django_db


def test_home_counts_published_questions_per_topic(client, django_assert_num_queries):
    topic = TopicFactory(name="Superior cluneal nerves")
    for question in PublishableQuestionFactory.create_batch(3):
        question.topics.add(topic)
    PublishableQuestionFactory(status=Question.Status.DRAFT).topics.add(topic)
    with django_assert_num_queries(2):
        response = client.get(reverse("questions:home"))
    assert response.status_code == 200
    topics = {t.name: t.published_count for t in response.context["topics"]}
    assert topics == {"Superior cluneal nerves": 3}
    assert response.context["published_total"] == 3


def test_reference_list_shows_cited_references_and_documents_only(client):
    cited = PublishableQuestionFactory().citations.get().reference
    ReferenceFactory(key="uncited", title="A paper nobody cites")
    ReferenceFactory(key="doc-b", kind="document", title="Cluneal nerves (WikiMD)", doi="", pmid="")
    response = client.get(reverse("questions:reference_list"))
    page = response.content.decode()
    assert cited.title in page
    assert "Cluneal nerves (WikiMD)" in page
    assert "A paper nobody cites" not in page
    assert f'href="{cited.doi_url}"' in page


class TestPreview:
    def url(self, question):
        return reverse("questions:question_preview", args=[question.pk])

    def test_anonymous_and_residents_are_sent_to_log_in(self, client, resident):
        question = PublishableQuestionFactory()
        assert reverse("admin:login") in client.get(self.url(question)).url
        client.force_login(resident)
        assert reverse("admin:login") in client.get(self.url(question)).url

    def test_educator_sees_key_rationales_and_linked_citations(
        self, educator_client, django_assert_max_num_queries
    ):
        question = PublishableQuestionFactory(correct_letter="B")
        # 4 for the question, 2 for permissions, 1 for the bell's unread count
        with django_assert_max_num_queries(10):
            response = educator_client.get(self.url(question))
        page = response.content.decode()
        assert response.status_code == 200
        as_resident = page[page.index('id="as-resident"') : page.index('id="review-page"')]
        review = page[page.index('id="review-page"') :]
        assert "Nerve B for" in as_resident
        assert "Correct answer" not in as_resident  # the resident's view holds no key
        assert "Rationale for" not in as_resident
        assert review.index("B.") < review.index("Correct answer") < review.index("C.")
        assert "Rationale for E." in review
        assert f'href="#q{question.pk}-ref-1"' in review

    def test_preview_lists_what_breaks_the_rules(self, educator_client):
        question = PublishableQuestionFactory()
        question.citations.all().delete()
        page = educator_client.get(self.url(question)).content.decode()
        assert "needs at least one citation" in page

    def test_preview_shows_the_item_writing_checkers_findings(self, educator_client):
        question = PublishableQuestionFactory(
            stem="A board-review page says these nerves come from L4-L5."
        )
        page = educator_client.get(self.url(question)).content.decode()
        notes = page[page.index('id="item-writing"') :]
        assert "stem-names-source" in notes and "board-review page" in notes
        clean = PublishableQuestionFactory(stem="A 52-year-old woman has buttock pain.")
        assert 'id="item-writing"' not in educator_client.get(self.url(clean)).content.decode()

    def test_unknown_question_is_404(self, educator_client):
        assert educator_client.get("/authoring/questions/999999/preview/").status_code == 404


def test_home_lists_topics_in_curriculum_order_not_alphabetically(client):
    TopicFactory(name="Superior cluneal nerves", order=1)
    TopicFactory(name="Differential diagnosis", order=9)
    TopicFactory(name="Middle cluneal nerves", order=2)
    response = client.get(reverse("questions:home"))
    assert [t.name for t in response.context["topics"]] == [
        "Superior cluneal nerves",
        "Middle cluneal nerves",
        "Differential diagnosis",
    ]


def test_reference_list_query_count_does_not_grow(client, django_assert_max_num_queries):
    PublishableQuestionFactory.create_batch(2)
    url = reverse("questions:reference_list")
    with django_assert_max_num_queries(20) as few:
        client.get(url)
    PublishableQuestionFactory.create_batch(40)
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(url)
