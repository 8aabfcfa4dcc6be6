import pytest
from django.template import Context, Template

from questions.authoring.citations import render_cited_text
from tests.factories import CitationFactory, PublishableQuestionFactory, ReferenceFactory


def test_markers_become_numbered_links_and_text_is_escaped():
    html = render_cited_text(
        "Purely sensory [@isu2018].\n\n<script>alert(1)</script> [@gray1918] [@unknown]",
        {"isu2018": 1, "gray1918": 2},
        "q7",
    )
    assert html == (
        '<p>Purely sensory <sup><a class="citation-link" href="#q7-ref-1" aria-label="reference 1">'
        "[1]</a></sup>.</p>"
        "<p>&lt;script&gt;alert(1)&lt;/script&gt; "
        '<sup><a class="citation-link" href="#q7-ref-2" aria-label="reference 2">[2]</a></sup> '
        "[@unknown]</p>"
    )


@pytest.mark.django_db
def test_explanation_renders_numbered_references_with_doi_and_pmid_links():
    question = PublishableQuestionFactory()
    second = CitationFactory(
        question=question,
        order=2,
        locator="p. 959",
        reference=ReferenceFactory(key="gray", doi="", pmid="", url="https://example.org/gray"),
    )
    first_key = question.citations.get(order=1).reference.key
    question.explanation = f"From the sacral plexus [@{second.reference.key}] and [@{first_key}]."
    question.save()
    html = Template("{% load bank_tags %}{% cited_explanation question %}").render(
        Context({"question": question})
    )
    anchor = f"q{question.pk}"
    assert f'href="#{anchor}-ref-2" aria-label="reference 2">[2]</a>' in html
    assert f'href="#{anchor}-ref-1" aria-label="reference 1">[1]</a>' in html
    assert f'<li id="{anchor}-ref-1">' in html
    assert f'<li id="{anchor}-ref-2">' in html
    assert 'href="https://doi.org/10.14245/ns.1836024.012"' in html
    assert 'href="https://pubmed.ncbi.nlm.nih.gov/29656623/"' in html
    assert 'href="https://example.org/gray"' in html
    assert "Cited for: p. 959" in html
    assert html.index(f'id="{anchor}-ref-1"') < html.index(f'id="{anchor}-ref-2"')
