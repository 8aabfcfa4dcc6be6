"""The item-writing checker: the flaws an item reviewer looks for by hand, as pure functions
over plain data, each with a stable code. ``validate_bank`` runs it over the published bank.

Errors (the command fails):
- ``names-document``: anything a resident reads calls a source "Document A/B";
- ``stem-names-source``: the stem or lead-in names or characterises a source ("a web page
  says...", "according to a review", "a cadaver study of 20 sides", "X and colleagues"),
  which tells the examinee which option is the trap and is not board style;
- ``copied-item``: two items whose whole text (stem, lead-in, options) is nearly the same.
Warnings (listed, for a reviewer's judgement):
- ``absolute-distractors``: two or more distractors say always/never/only/all... and the key
  does not: a testwise examinee picks the hedged option;
- ``key-longest``: the key is the longest option by a clear margin;
- ``clang``: a word of the stem or lead-in repeats in the key and in no distractor;
- ``mixed-options``: the options are of different kinds (numbers beside words, one-word
  answers beside sentences);
- ``cover-the-options``: the lead-in cannot be answered with the options covered ("Which
  statement...", EXCEPT/NOT);
- ``near-duplicate``: two items that test much the same point (their objective and key);
- ``no-patient``: a stem without a patient in a topic that calls for a clinical vignette.
The bank-wide share of patient vignettes is reported beside them.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

ERROR, WARNING = "error", "warning"

# Topics whose questions board examinations ask as a patient vignette.
CLINICAL_TOPICS = frozenset(
    {
        "entrapment-diagnosis",
        "block-technique",
        "indications",
        "complications-safety",
        "differential-diagnosis",
    }
)

DOCUMENT_NAME = re.compile(r"\b(?i:doc(?:ument)?)\.?\s*[AB]\b")
SOURCE_IN_STEM = re.compile(
    r"\b(?:web ?(?:page|site)s?|online (?:source|reference|encyclopedia|article|resource|page)s?"
    r"|encyclop(?:a|ae|e)dia|wikipedia|wiki ?md|pmrexam|nrap"
    r"|board[- ]review (?:page|site|source|book|resource)s?|patient[- ]information (?:page|leaflet)"
    r"|according to|textbook|the literature|a (?:recent )?(?:\d{4} )?(?:narrative |systematic )?"
    r"review (?:of|says|states|reports|found)"
    r"|(?:cadaver(?:ic)?|anatomical|prospective|retrospective|observational|clinical)"
    r" (?:study|series)"
    r"|a study (?:of|in|found|reported|showed)|et al|and colleagues|and co-workers)\b",
    re.IGNORECASE,
)
ABSOLUTE = re.compile(
    r"\b(?:always|never|only|all|every|none|must|entirely|completely|invariably|exclusively"
    r"|cannot|guarantees?|proves?)\b",
    re.IGNORECASE,
)
COVER_THE_OPTIONS = re.compile(
    r"(?i:\bwhich (?:of the following )?(?:statements?|is (?:true|correct|accurate|false))\b)"
    r"|\b(?:EXCEPT|NOT|LEAST)\b"
)
PATIENT = re.compile(
    r"\b\d{1,3}-(?:year|month|week)-old\b|\bpatient\b|\b(?:man|woman|boy|girl)\b", re.IGNORECASE
)
NUMERIC = re.compile(r"^\W*(?:about |approximately |~)?[\d.,%–-]")
STOPWORDS = frozenset(
    re.findall(
        r"\w+",
        """a an the of and or to in on at by for with from is are was were be been being this that
        these those which what who whom whose its his her their he she they it as into over under
        than then there when where while after before about most more less not no nor if so such
        can may might will would should could does did do has have had also only other each any
        same both either one two three four five most likely best next step""",
    )
)
KEY_LONGEST_MARGIN = 1.10  # the key is at least 10% longer than the longest distractor
# Near-duplicates (docs/item-writing.md gives the measurements behind both thresholds).
NEAR_DUPLICATE = 0.60  # TF-IDF cosine of the objectives with the keys
COPIED = 0.80  # TF-IDF cosine of the whole items' text


@dataclass(frozen=True)
class Finding:
    code: str
    severity: str
    message: str


@dataclass(frozen=True)
class Item:
    """What the checker reads of a question."""

    key: str
    stem: str
    lead_in: str
    choices: Sequence[tuple[str, bool, str]]  # (text, is_correct, rationale)
    objective: str = ""
    explanation: str = ""
    topics: Sequence[str] = field(default_factory=tuple)

    @property
    def key_text(self) -> str:
        return next((text for text, correct, _ in self.choices if correct), "")

    @property
    def distractors(self) -> list[str]:
        return [text for text, correct, _ in self.choices if not correct]

    @property
    def has_patient(self) -> bool:
        return bool(PATIENT.search(self.stem))


def item_of(question) -> Item:
    """A saved question as the checker reads it (``with_bank_relations`` avoids queries)."""
    return Item(
        key=question.key,
        stem=question.stem,
        lead_in=question.lead_in,
        choices=[(c.text, c.is_correct, c.rationale) for c in question.choices.all()],
        objective=question.objective,
        explanation=question.explanation,
        topics=[t.slug for t in question.topics.all()],
    )


def _words(text: str) -> list[str]:
    """Content words, lower case, a plural's "s" dropped."""
    return [
        word[:-1] if len(word) > 4 and word.endswith("s") and not word.endswith("ss") else word
        for word in re.findall(r"[a-z][a-z0-9]+", text.lower())
        if word not in STOPWORDS and len(word) > 3
    ]


def item_findings(item: Item) -> list[Finding]:
    """The flaws of one item."""
    findings: list[Finding] = []
    read = [item.stem, item.lead_in, item.objective, item.explanation]
    read += [part for text, _, rationale in item.choices for part in (text, rationale)]
    if any(DOCUMENT_NAME.search(text) for text in read):
        findings.append(
            Finding(
                "names-document",
                ERROR,
                "calls a source 'Document A/B', which residents never saw: cite it as a "
                "reference instead",
            )
        )
    if match := SOURCE_IN_STEM.search(f"{item.stem}\n{item.lead_in}"):
        findings.append(
            Finding(
                "stem-names-source",
                ERROR,
                f"the stem or lead-in names a source ({match.group(0)!r}); correct a source's "
                "error in the explanation, and ask about the patient",
            )
        )
    absolute = [d for d in item.distractors if ABSOLUTE.search(d)]
    if len(absolute) >= 2 and not ABSOLUTE.search(item.key_text):
        findings.append(
            Finding(
                "absolute-distractors",
                WARNING,
                f"{len(absolute)} distractors use absolute words and the key does not",
            )
        )
    longest_distractor = max((len(d) for d in item.distractors), default=0)
    if longest_distractor and len(item.key_text) >= KEY_LONGEST_MARGIN * longest_distractor:
        findings.append(Finding("key-longest", WARNING, "the key is clearly the longest option"))
    asked = set(_words(f"{item.stem} {item.lead_in}"))
    in_distractors = {word for d in item.distractors for word in _words(d)}
    if echoed := sorted((set(_words(item.key_text)) & asked) - in_distractors):
        findings.append(
            Finding(
                "clang",
                WARNING,
                f"the key repeats {', '.join(echoed)} from the stem, and no distractor does",
            )
        )
    kinds = {"number" if NUMERIC.match(text) else "words" for text, _, _ in item.choices}
    lengths = [len(text.split()) for text, _, _ in item.choices]
    if len(kinds) > 1 or (lengths and min(lengths) * 4 <= max(lengths) and max(lengths) >= 8):
        findings.append(
            Finding(
                "mixed-options",
                WARNING,
                "the options are of mixed kinds (numbers and words, or single words beside "
                "sentences)",
            )
        )
    if COVER_THE_OPTIONS.search(item.lead_in):
        findings.append(
            Finding(
                "cover-the-options",
                WARNING,
                "the lead-in cannot be answered with the options covered",
            )
        )
    if not item.has_patient and CLINICAL_TOPICS & set(item.topics):
        findings.append(
            Finding(
                "no-patient",
                WARNING,
                "a clinical topic asked without a patient: write it as a vignette",
            )
        )
    return findings


def _tfidf(documents: list[list[str]]) -> list[dict[str, float]]:
    frequency = Counter(word for document in documents for word in set(document))
    count = len(documents)
    return [
        {word: n * math.log(count / frequency[word]) for word, n in Counter(document).items()}
        for document in documents
    ]


def _cosine(a: dict[str, float], b: dict[str, float]) -> float:
    dot = sum(weight * b.get(word, 0.0) for word, weight in a.items())
    norm = math.sqrt(sum(w * w for w in a.values())) * math.sqrt(sum(w * w for w in b.values()))
    return dot / norm if norm else 0.0


def similar_pairs(items: Sequence[Item]) -> list[tuple[Item, Item, Finding]]:
    """Pairs of items that test much the same point (a warning) or are copies (an error)."""
    tested = _tfidf([_words(f"{i.objective} {i.key_text}") for i in items])
    whole = _tfidf(
        [_words(" ".join([i.stem, i.lead_in, *(t for t, _, _ in i.choices)])) for i in items]
    )
    pairs = []
    for a, b in itertools.combinations(range(len(items)), 2):
        copied = _cosine(whole[a], whole[b])
        if copied >= COPIED:
            finding = Finding(
                "copied-item",
                ERROR,
                f"its text is nearly that of {items[b].key} (similarity {copied:.2f}): "
                "merge them or retire one",
            )
        elif (same := _cosine(tested[a], tested[b])) >= NEAR_DUPLICATE:
            finding = Finding(
                "near-duplicate",
                WARNING,
                f"tests much the same point as {items[b].key} (similarity {same:.2f})",
            )
        else:
            continue
        pairs.append((items[a], items[b], finding))
    return pairs


@dataclass
class BankReport:
    findings: dict[str, list[Finding]]  # by item key, in key order
    vignettes: int
    total: int

    @property
    def errors(self) -> int:
        return sum(f.severity == ERROR for fs in self.findings.values() for f in fs)

    @property
    def warnings(self) -> int:
        return sum(f.severity == WARNING for fs in self.findings.values() for f in fs)

    @property
    def vignette_share(self) -> float:
        return self.vignettes / self.total if self.total else 0.0


def check_bank(items: Iterable[Item]) -> BankReport:
    """Every item's findings (pairs reported on the first of the two), and the share of
    patient vignettes."""
    items = sorted(items, key=lambda i: i.key)
    findings = {item.key: item_findings(item) for item in items}
    for first, _, finding in similar_pairs(items):
        findings[first.key].append(finding)
    return BankReport(
        findings={key: found for key, found in findings.items() if found},
        vignettes=sum(item.has_patient for item in items),
        total=len(items),
    )
