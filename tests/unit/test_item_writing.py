"""The item-writing checker: each rule with an item it flags and one it passes."""

import pytest

from questions.authoring.item_writing import ERROR, WARNING, Item, check_bank, item_findings

GOOD = Item(
    key="scn-tender-point",
    stem=(
        "A 52-year-old woman has 6 months of right upper buttock pain. Pressure over the "
        "posterior iliac crest reproduces it and tingling spreads into the buttock."
    ),
    lead_in="Which nerve is most likely entrapped?",
    choices=[
        ("Superior cluneal nerve", True, "Crosses the crest in a tunnel."),
        ("Middle cluneal nerve", False, "Lies caudal to the PSIS."),
        ("Iliohypogastric nerve", False, "Crosses the lateral crest."),
        ("Lateral femoral cutaneous nerve", False, "Supplies the lateral thigh."),
        ("Inferior cluneal nerve", False, "Supplies the lower buttock."),
    ],
    objective="Localize superior cluneal nerve entrapment at the posterior iliac crest.",
    explanation="The superior cluneal nerves cross the crest in an osteofibrous tunnel.",
    topics=("superior-cluneal", "entrapment-diagnosis"),
)


def codes(item: Item) -> set[str]:
    return {finding.code for finding in item_findings(item)}


def with_choices(*choices, **changes) -> Item:
    return Item(**(GOOD.__dict__ | {"choices": list(choices)} | changes))


def test_a_well_written_item_has_no_finding():
    assert item_findings(GOOD) == []


@pytest.mark.parametrize(
    "changes",
    [
        {"explanation": "Document B says the nerves pierce the fascia lata."},
        {"choices": [(*GOOD.choices[0][:2], "Doc A is right here."), *GOOD.choices[1:]]},
    ],
)
def test_naming_document_a_or_b_anywhere_is_an_error(changes):
    item = Item(**(GOOD.__dict__ | changes))
    assert "names-document" in codes(item)
    assert next(f for f in item_findings(item) if f.code == "names-document").severity == ERROR


@pytest.mark.parametrize(
    "stem",
    [
        "A 40-year-old man read on an online encyclopedia that these nerves come from L4-L5.",
        "A cadaver study of 20 sides traced the nerves to the crest.",
        "According to a 2022 review, pudendal blocks are mainly diagnostic.",
        "Darnis and colleagues described two conflict zones in a 48-year-old woman.",
        "A resident consults a board-review page before the block.",
    ],
)
def test_a_stem_that_names_a_source_is_an_error(stem):
    assert "stem-names-source" in codes(Item(**(GOOD.__dict__ | {"stem": stem})))


def test_a_source_named_in_the_explanation_is_fine():
    item = Item(
        **(GOOD.__dict__ | {"explanation": "Some online sources say L4-L5; a cadaver study..."})
    )
    assert "stem-names-source" not in codes(item)


def test_absolute_distractors_against_a_hedged_key():
    cued = with_choices(
        ("Usually relieved by a block at the crest", True, ""),
        ("Always caused by a disc herniation", False, ""),
        ("Never relieved by local anesthetic", False, ""),
        ("Seen on MRI in most patients", False, ""),
        ("Reduced by hip flexion", False, ""),
    )
    assert "absolute-distractors" in codes(cued)
    assert "absolute-distractors" not in codes(GOOD)


def test_the_key_as_the_clearly_longest_option():
    cued = with_choices(
        ("Superior cluneal nerve, where it crosses the posterior iliac crest", True, ""),
        ("Middle cluneal nerve", False, ""),
        ("Iliohypogastric nerve", False, ""),
        ("Lateral femoral cutaneous nerve", False, ""),
    )
    assert "key-longest" in codes(cued)
    assert "key-longest" not in codes(GOOD)


def test_a_stem_word_echoed_only_by_the_key():
    cued = Item(**(GOOD.__dict__ | {"stem": GOOD.stem + " The skin over the coccyx is numb."}))
    cued = with_choices(
        ("Skin over the coccyx", True, ""),
        ("Lower lateral buttock", False, ""),
        ("Posterior thigh", False, ""),
        ("Perineum", False, ""),
        stem=cued.stem,
    )
    findings = [f for f in item_findings(cued) if f.code == "clang"]
    assert findings and "coccyx" in findings[0].message and findings[0].severity == WARNING
    assert "clang" not in codes(GOOD)


def test_options_of_mixed_kinds():
    mixed = with_choices(
        ("7 cm from the midline", True, ""),
        ("At the ischial tuberosity", False, ""),
        ("3 cm caudal to the PSIS", False, ""),
        ("Over the sacral hiatus", False, ""),
    )
    assert "mixed-options" in codes(mixed)
    sentences = with_choices(
        ("Nerve", True, ""),
        ("A long sentence that explains a mechanism in far too many words", False, ""),
        ("Ligament", False, ""),
        ("Tendon", False, ""),
    )
    assert "mixed-options" in codes(sentences)
    assert "mixed-options" not in codes(GOOD)


@pytest.mark.parametrize(
    "lead_in",
    [
        "Which statement about these nerves is most accurate?",
        "Each of the following supplies the buttock EXCEPT which nerve?",
    ],
)
def test_a_lead_in_that_needs_the_options(lead_in):
    assert "cover-the-options" in codes(Item(**(GOOD.__dict__ | {"lead_in": lead_in})))


def test_a_clinical_topic_without_a_patient():
    dry = Item(**(GOOD.__dict__ | {"stem": "The nerves cross the crest in a tunnel."}))
    assert "no-patient" in codes(dry)
    anatomy = Item(**(dry.__dict__ | {"topics": ("superior-cluneal",)}))
    assert "no-patient" not in codes(anatomy)  # anatomy may be asked without a patient


def test_near_duplicates_warn_copies_fail_and_the_share_of_vignettes():
    near = Item(
        **(
            GOOD.__dict__
            | {
                "key": "scn-tender-point-again",
                "stem": "A 61-year-old man has upper buttock pain after a fall on the ice.",
                "lead_in": "Which nerve is most likely involved?",
            }
        )
    )
    copy = Item(**(GOOD.__dict__ | {"key": "scn-tender-point-copy"}))
    other = Item(
        key="last-lipid",
        stem="Lipid emulsion, 20%, is drawn up.",
        lead_in="What bolus is given first?",
        choices=[
            ("100 mL", True, ""),
            ("20 mL", False, ""),
            ("500 mL", False, ""),
            ("1 L", False, ""),
        ],  # fmt: skip
        objective="Dose lipid emulsion for local anesthetic systemic toxicity.",
        topics=("complications-safety",),
    )
    report = check_bank([GOOD, near, copy, other])
    found = {(key, f.code) for key, fs in report.findings.items() for f in fs}
    assert ("scn-tender-point", "copied-item") in found
    assert ("scn-tender-point", "near-duplicate") in found
    assert ("last-lipid", "no-patient") in found
    assert not any(key == "last-lipid" and code.endswith("duplicate") for key, code in found)
    assert report.errors == 1
    assert (report.vignettes, report.total) == (3, 4)
