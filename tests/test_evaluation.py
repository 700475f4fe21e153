"""`briefing eval` and the metric functions behind it, checked against hand-computed values."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from assistant.cli import main
from assistant.evaluation import (
    AnswerScores,
    EvalRun,
    GoldQuery,
    RetrievalScores,
    WritingScores,
    answer_correct,
    doc_recall,
    first_hit_rank,
    load_queries,
    percentile,
    quote_has_fact,
)

from .conftest import DATA


def gold(facts=("the fact here",), titles=("A",), qtype="comparison_query") -> GoldQuery:
    return GoldQuery("q", "a", qtype, tuple(facts), tuple(titles))


def test_fact_hit_ignores_spaces_and_newlines():
    chunks = ["nothing here", "and the\nfact   here, too"]
    assert first_hit_rank(chunks, ["the fact here"]) == 2
    assert first_hit_rank(chunks, ["absent"]) is None


def test_retrieval_scores_by_hand():
    scores = RetrievalScores()
    scores.add(["x", "y", "z", "the fact here"], ["A", "B", "C", "A"], gold())  # rank 4
    scores.add(["the fact here"], ["B"], gold(titles=("A", "B")))  # rank 1, half the docs
    scores.add(["no"] * 12, ["Z"] * 12, gold())  # miss
    assert scores.as_dict() == {
        "n": 3,
        "fact_hits_at_4": 2 / 3,
        "fact_hits_at_10": 2 / 3,
        "fact_mrr_at_10": (1 / 4 + 1) / 3,
        "doc_recall_at_10": (1 + 0.5 + 0) / 3,
    }
    assert doc_recall(["A"], []) == 0.0


def test_quote_fact_overlap_and_percentiles():
    assert quote_has_fact(
        "About 1,400 dockworkers stopped work on Tuesday.", ["1,400 dockworkers stopped"]
    )
    assert quote_has_fact("stopped work", ["About 1,400 dockworkers stopped work on Tuesday."])
    assert not quote_has_fact("A different sentence.", ["1,400 dockworkers"])
    assert percentile([5, 1, 4, 2, 3], 50) == 3 and percentile([], 95) == 0.0
    assert percentile(list(range(1, 101)), 95) == 95


def test_answer_accuracy_is_a_normalised_match():
    named = GoldQuery("q", "Gallo Bank", "inference_query", ("f",), ("A",))
    yes = GoldQuery("q", "Yes", "comparison_query", ("f",), ("A",))
    null = GoldQuery("q", "Insufficient information.", "null_query", (), ())
    assert answer_correct(yes, "Yes, both reports say so [1].", refused=False)
    assert not answer_correct(yes, "Yes and no: the reports differ.", refused=False)
    assert not answer_correct(yes, "Yes.", refused=True)  # a refusal answers nothing
    assert answer_correct(named, "It was gallo bank's board [2].", refused=False)
    assert not answer_correct(named, "It was Gallo Banking [2].", refused=False)  # whole words
    assert answer_correct(null, "", refused=True) and not answer_correct(null, "No.", False)
    scores = AnswerScores()
    for g, text in ((yes, "Yes [1]."), (yes, "No [1]."), (named, "Gallo Bank."), (null, "x")):
        scores.add(g, text, refused=False)
    figures = scores.as_dict()
    assert figures["comparison_query"] == {"n": 2, "accuracy": 0.5, "always_yes": 1.0}
    assert figures["null_query"] == {"n": 1, "accuracy": 0.0, "always_yes": 0.0}
    assert figures["all"] == {"n": 4, "accuracy": 0.5, "always_yes": 0.5}


def test_writing_scores_count_what_the_checks_found():
    class Written:
        generated, model, quotes = True, "m", (1, 2)
        raw_answer = "It rose [1]. It fell [7]. “made up words” [2]. Nothing cited."
        checks = (
            {"kind": "citation", "action": "removed", "detail": ""},
            {"kind": "quotation", "action": "removed", "detail": ""},
            {"kind": "uncited", "action": "marked", "detail": ""},
            {"kind": "uncited", "action": "marked", "detail": ""},
        )
        timings_ms = {"first_text": 900.0, "pieces_per_s": 30.0}

    class FellBack(Written):
        generated, raw_answer = False, None
        checks = ({"kind": "model", "action": "fell back", "detail": "no server"},)

    scores = WritingScores()
    scores.add(Written())
    scores.add(FellBack())
    figures = scores.as_dict()
    assert (figures["written"], figures["fell_back"], figures["raw_sentences"]) == (1, 1, 4)
    assert figures["raw_sentences_cited"] == 0.5  # [1] and [2] exist, [7] does not
    assert figures["sentences_marked_unsupported"] == 0.5
    assert (figures["quotations"], figures["quotations_verbatim"]) == (1, 0.0)
    assert (figures["first_text_ms_p50"], figures["tokens_per_s_p50"]) == (900.0, 30.0)


def test_hits_curves_per_type():
    run = EvalRun(ranks={"t1": [1, None], "t2": [3]})
    curves = run.hits_curves(depth=3)
    assert curves["t1"] == [0.5, 0.5, 0.5]
    assert curves["t2"] == [0.0, 0.0, 1.0]
    assert curves["all"] == [1 / 3, 1 / 3, 2 / 3]


def test_load_queries_reads_the_multihop_format():
    queries = load_queries(DATA / "queries.json")
    assert [q.is_null for q in queries] == [False, False, False, True]
    assert queries[0].titles == ("Dockworkers at Calder Bay walk out over automation plans",)


@pytest.mark.slow
def test_eval_command_on_a_tiny_dataset(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    corpus = tmp_path / "corpus"
    shutil.copytree(DATA / "articles", corpus)
    out = tmp_path / "eval.json"
    code = main(
        [
            "eval",
            str(DATA / "queries.json"),
            "--corpus",
            str(corpus),
            "--index",
            str(tmp_path / "index"),
            "--json",
            str(out),
            "-q",
        ]
    )
    assert code == 0
    figures = json.loads(out.read_text(encoding="utf-8"))
    # by hand: questions 1 and 2 are answered by their first passage; question 3's gold fact
    # is in no article (a miss); question 4 is a null question and must be refused
    assert figures["n_queries"] == 4 and figures["chunk_tokens"] == 254
    r = figures["retrieval"]
    assert (r["n"], r["fact_hits_at_4"], r["fact_hits_at_10"]) == (3, 2 / 3, 2 / 3)
    assert r["fact_mrr_at_10"] == pytest.approx(2 / 3)
    assert r["doc_recall_at_10"] == pytest.approx(2 / 3)
    assert figures["refusal"]["null_refused"] == 1.0
    assert figures["refusal"]["answerable_refused"] == 0.0
    assert figures["quotes"]["exact"] == 1.0
    assert figures["quotes"]["gold_fact_quoted"] == pytest.approx(2 / 3)
    assert 0 < figures["latency_ms"]["p50"] <= figures["latency_ms"]["p95"]
    assert figures["answers"]["null_query"]["accuracy"] == 1.0  # refused
    assert figures["answers"]["all"]["n"] == 4 and "writing" not in figures  # no model
    log = [
        json.loads(line)
        for line in out.with_suffix(".jsonl").read_text(encoding="utf-8").splitlines()
    ]
    assert [entry.get("hit_rank") for entry in log] == [1, 1, None, None]
    assert log[3]["refused"] and log[0]["retrieved"] and log[0]["quotes"]
    html = out.with_suffix(".html").read_text(encoding="utf-8")
    assert html.count("<svg") == 2 and "Hits@k" in html
    table = capsys.readouterr().out
    assert "all answerable" in table and "refusal: 1.000 of 1 null questions refused" in table
    assert "answer accuracy (answers written by composing the quotes" in table
