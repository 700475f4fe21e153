"""The checks a model's written answer passes before it is shown (pure; no model)."""

from __future__ import annotations

from assistant.grounding import DECLINE_MARK, check_answer
from assistant.types import Quote


def quote(n: int, text: str) -> Quote:
    return Quote(n, text, f"a{n}", "Port strike", "Harbour Ledger", "2023-11-08", None, 0, 1)


QUOTES = [
    quote(1, "About 1,400 dockworkers at the Port of Calder Bay stopped work at 6 a.m."),
    quote(2, "“We will not be replaced by machines,” said Jana Holt of the union."),
]


def test_a_grounded_answer_passes_unchanged():
    raw = "About 1,400 dockworkers stopped work [1]. The union said “We will not be replaced by machines” [2]."
    checked = check_answer(raw, QUOTES)
    assert checked.text == raw and checked.checks == () and checked.refusal_reason is None


def test_a_citation_of_a_quote_that_does_not_exist_is_removed():
    checked = check_answer("The strike began on Tuesday [1, 7]. Ships waited [9].", QUOTES)
    assert checked.text.startswith("The strike began on Tuesday [1].")
    assert [(c.kind, c.action) for c in checked.checks] == [
        ("citation", "removed"),
        ("citation", "removed"),
        ("uncited", "marked"),
    ]
    assert checked.text == "The strike began on Tuesday [1]. Ships waited. [unsupported]"


def test_a_fabricated_quotation_is_removed_and_a_true_one_kept():
    raw = (
        "Holt said “the strike will last all winter” [2]. "
        'She also said "We will not be replaced by machines" [2].'
    )
    checked = check_answer(raw, QUOTES)
    assert "the strike will last all winter" not in checked.text
    assert "[quotation removed]" in checked.text
    assert '"We will not be replaced by machines"' in checked.text
    (found,) = checked.checks
    assert found.kind == "quotation" and "not verbatim in [2]" in found.detail
    assert checked.raw == raw  # the model's own words are kept for inspection


def test_a_quotation_must_be_in_the_quote_its_sentence_cites():
    checked = check_answer("The union said “We will not be replaced by machines” [1].", QUOTES)
    assert [c.kind for c in checked.checks] == ["quotation"]


def test_a_sentence_without_a_citation_is_marked_unsupported():
    checked = check_answer("Dockworkers stopped work [1]. The port will close for good.", QUOTES)
    assert (
        checked.text == "Dockworkers stopped work [1]. The port will close for good. [unsupported]"
    )
    assert [c.kind for c in checked.checks] == ["uncited"]


def test_a_model_that_declines_makes_a_refusal():
    checked = check_answer(f"{DECLINE_MARK} the quotes do not say who ordered the strike.", QUOTES)
    assert checked.refusal_reason == "the quotes do not say who ordered the strike."
    assert checked.text == ""
