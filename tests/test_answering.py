"""Answering: refusal rules and reasons (pure functions), composing, and the answer stream
with its writers (on the session's fake-embedder index)."""

from __future__ import annotations

from dataclasses import replace

from assistant import (
    Answer,
    Assistant,
    ComposedAnswerer,
    Passage,
    Quote,
    QuoteConfig,
    RefusalPolicy,
    RetrievalConfig,
    Settings,
    TextPiece,
    Written,
)
from assistant.answering import (
    Evidence,
    compose,
    evidence,
    no_match_reason,
    refusal_reason,
)
from assistant.dates import parse_date
from assistant.query import plan_query
from assistant.quotes import ScoredSentence, question_terms

from .fakes import HashEmbedder


def ts(day: str) -> int:
    return parse_date(day)[1]


def test_no_match_lists_the_sources_closest_to_the_one_asked_for_first():
    reason = no_match_reason(
        ["Meridian Wire", "The Harbour Ledger", "Ardval Gazette"],
        ("2026-03-02T00:00:00+00:00", "2026-04-03T00:00:00+00:00"),
        ["Harbor Ledger"],
    )
    assert reason == (
        "No article in the index matches the filters. No article comes from Harbor Ledger; "
        "the sources here are The Harbour Ledger, Ardval Gazette, Meridian Wire."
    )


def test_no_match_names_the_period_asked_for_and_the_one_the_articles_span():
    reason = no_match_reason(
        ["Meridian Wire"],
        ("2026-03-02T00:00:00+00:00", "2026-04-03T00:00:00+00:00"),
        period=(ts("2025-01-01"), ts("2025-02-01")),
    )
    assert reason.endswith(
        "The period asked for is 2025-01-01 to 2025-01-31; the articles run from 2026-03-02 "
        "to 2026-04-03."
    )
    open_ended = no_match_reason([], (None, None), period=(ts("2027-01-01"), None))
    assert open_ended.endswith("2027-01-01 to …; no article here has a date.")


def test_missing_names_are_named_and_come_after_unknown_outlets():
    plan = plan_query("What did Anthropic and Dario Velt say?", ["Meridian Wire"])
    ev = Evidence(0.9, 0.9, (), ("Anthropic", "Dario Velt"))
    assert refusal_reason(ev, RefusalPolicy(), plan) == (
        "The articles never mention Anthropic or Dario Velt."
    )
    outlet = Evidence(0.9, 0.9, ("Bloomberg",), ("Anthropic",))
    assert refusal_reason(outlet, RefusalPolicy(), plan) == (
        "The articles here include nothing from Bloomberg."
    )
    off = RefusalPolicy(refuse_missing_names=False)
    assert refusal_reason(ev, off, plan) is None


# -- the refusal rules -------------------------------------------------------------------------
def test_close_enough_or_supported_or_about_the_period_answers():
    plan = plan_query("How many dockworkers stopped work at Calder Bay?", [])
    policy = RefusalPolicy()  # 0.48, or 0.25 with a sentence holding 20% of the terms
    assert refusal_reason(Evidence(0.48, 0.0, ()), policy, plan) is None
    assert refusal_reason(Evidence(0.30, 0.20, ()), policy, plan) is None
    far = "No article here is close enough to the question to quote."
    assert refusal_reason(Evidence(0.30, 0.19, ()), policy, plan) == far
    assert refusal_reason(Evidence(0.24, 0.90, ()), policy, plan) == far
    assert refusal_reason(Evidence(0.10, 0.0, (), period_only=True), policy, plan) is None
    stricter = RefusalPolicy(min_similarity=0.6, min_support_share=0.5)
    assert refusal_reason(Evidence(0.50, 0.40, ()), stricter, plan) == far


def _sentence(held: set[str], coverage: float = 0.5) -> ScoredSentence:
    p = Passage("c", "a", 0, 1, "x", "t", None, None, None, ((0, 1),), 1.0)
    return ScoredSentence(p, 0, 1, coverage, coverage, frozenset(held))


def test_a_supporting_sentence_holds_a_name_and_enough_other_terms():
    plan = plan_query("Why did the dockworkers at Calder Bay strike over cranes?", [])
    assert [n.text for n in plan.names] == ["Calder Bay"]
    terms = set(question_terms(plan.question))
    name = set(plan.names[0].terms) & terms
    others = sorted(terms - name)  # dockwork, crane, strike
    cases = {
        "name and two terms": (name | set(others[:2]), 0.5),
        "three terms, no name": (set(others), 0.0),
        "name and one term": (name | set(others[:1]), 0.0),
    }
    for label, (held, best) in cases.items():
        ev = evidence(plan, [], [_sentence(held)])
        assert ev.best_coverage == best, label
    nameless = plan_query("Why do dockworkers strike over cranes at ports?", [])
    assert not nameless.names
    terms = sorted(question_terms(nameless.question))
    assert len(terms) >= 4  # it names nothing: four of its terms in one sentence support it
    assert evidence(nameless, [], [_sentence(set(terms[:4]))]).best_coverage == 0.5
    assert evidence(nameless, [], [_sentence(set(terms[:3]))]).best_coverage == 0.0


# -- composing and the answer stream -----------------------------------------------------------
def _quote(n: int, text: str, article: str = "a1", speaker: str | None = None) -> Quote:
    return Quote(
        n, text, article, "Port strike", "Harbour Ledger", "2023-11-08", None, 0, 1, speaker
    )


def test_compose_leads_with_the_best_quote_and_cites_each_article_once():
    quotes = [
        _quote(1, "About 1,400 dockworkers stopped work."),
        _quote(2, "Talks broke down.", speaker="Jana Holt"),
        _quote(3, "Ships waited.", article="a2"),
    ]
    assert compose(quotes) == (
        "“About 1,400 dockworkers stopped work.” [1]\n\nAlso in the articles:\n"
        "- “Talks broke down.” [2] — Jana Holt\n- “Ships waited.” [3]\n\n"
        "[1, 2] Harbour Ledger, 2023-11-08, “Port strike”\n"
        "[3] Harbour Ledger, 2023-11-08, “Port strike”"
    )
    events = list(ComposedAnswerer().write("How many?", quotes))
    *pieces, done = events
    assert all(isinstance(p, TextPiece) for p in pieces) and len(pieces) > 1
    assert done == Written(compose(quotes)) and "".join(p.text for p in pieces) == done.text


class _Declines:
    """An answer writer that reads the quotes and finds no answer in them."""

    name = "declines"

    def write(self, question: str, quotes):
        yield TextPiece("Looking… ")
        yield Written("", refusal_reason="The quotes do not say who ordered the strike.")


def test_the_stream_gives_text_pieces_then_the_answer(fake_index: Settings):
    question = "How many dockworkers stopped work at the Port of Calder Bay?"
    with Assistant(fake_index, HashEmbedder()) as assistant:
        *pieces, answer = assistant.stream(question)
        assert pieces and all(isinstance(p, TextPiece) for p in pieces)
        assert isinstance(answer, Answer) and not answer.refused
        assert "".join(p.text for p in pieces) == answer.answer
        assert {"first_text", "write", "total"} <= set(answer.timings_ms)
        off_topic = list(assistant.stream("What is the boiling point of liquid nitrogen?"))
        assert len(off_topic) == 1 and off_topic[0].refused  # refused before any writing
        asked = assistant.ask(question)  # ask is the stream's last event
        assert replace(asked, timings_ms={}) == replace(answer, timings_ms={})


def test_an_answer_writer_that_declines_makes_a_refusal(fake_index: Settings):
    question = "How many dockworkers stopped work at the Port of Calder Bay?"
    with Assistant(fake_index, HashEmbedder(), answerer=_Declines()) as assistant:
        answer = assistant.ask(question)
    assert answer.refused and answer.quotes == ()
    assert answer.refusal_reason == "The quotes do not say who ordered the strike."
    assert answer.answer.startswith("The articles do not answer this. The quotes do not say")
    assert answer.closest and answer.closest[0].title.startswith("Dockworkers")


def test_settings_sections_reach_the_stages(fake_index: Settings):
    question = "How many dockworkers stopped work at the Port of Calder Bay?"
    one = fake_index.model_copy(
        update={"quotes": QuoteConfig(max_quotes=1), "retrieval": RetrievalConfig(passages=3)}
    )
    with Assistant(one, HashEmbedder()) as assistant:
        answer = assistant.ask(question)
    assert len(answer.quotes) == 1 and len(answer.passages) == 3
    strict = fake_index.model_copy(
        update={"refusal": RefusalPolicy(min_similarity=1.0, min_named_similarity=1.0)}
    )
    with Assistant(strict, HashEmbedder()) as assistant:
        assert assistant.ask(question).refused
