"""Issue 12's plumbing: speech and wire stories found at index time and kept in the store, the
timeline and "what is new", a named speaker's words preferred, and how the page shows them.

The attribution and grouping rules have their own tests (test_attribution, test_syndication);
here the fake embedder's index of the fixture articles, the seed and invented wire copies.
"""

from __future__ import annotations

import html
import json
import shutil
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

from assistant import Assistant, Settings, sync_index
from assistant.analysis import one_copy_per_story, prefer_named_speakers
from assistant.attribution import Speech, find_speech
from assistant.cli import main
from assistant.names import key_names
from assistant.quotes import ScoredSentence
from assistant.segments import list_segments
from assistant.syndication import Syndication
from assistant.types import Answer, Disagreement, Passage, Quote
from assistant.web_render import render_answer, render_quote, render_timeline

from .fakes import HashEmbedder

WIRE = """\
---
title: {title}
source: {source}
published: {published}
---
ORSEN BAY (Saldern Press Agency) — The Orsen Bay ferry company will cut its winter timetable to
two crossings a day from 1 December, its operations director, Marit Colquhoun, said on Monday.
"We carried fewer than forty passengers a crossing last winter, and the fuel bill doubled,"
Colquhoun told reporters at the harbour. "Two crossings is what the island can pay for."
The island council said it would ask the regional transport office to pay for a third crossing
on market days. Councillor Anselm Drury said the cut would leave shift workers without a way
home. "People here work in the fish plant until nine at night," he said.
The company said the summer timetable of six crossings a day would return in April.
"""


class NoEmbedding(HashEmbedder):
    """An embedder a sync must not call: the change is not one of article text."""

    def embed(self, texts, progress=None):  # type: ignore[no-untyped-def]
        if texts:
            raise AssertionError(f"{len(texts)} chunks embedded again")
        return super().embed(texts, progress)


@pytest.fixture
def wire_index(fake_index_copy: Settings) -> Settings:
    """The fixture index plus one wire story carried by two invented outlets."""
    corpus = fake_index_copy.corpus
    for name, source, day in (
        ("wire-a.md", "Orsen Gazette", "2023-11-20"),
        ("wire-b.md", "Island Courier", "2023-11-21"),
    ):
        text = WIRE.format(
            title="Orsen Bay ferry to cut winter crossings", source=source, published=day
        )
        if name == "wire-b.md":  # lightly edited: a shorter ending
            text = text.replace(
                "\nThe company said the summer timetable of six crossings a day would return in April.\n",
                "\n",
            )
        (corpus / name).write_text(text, encoding="utf-8")
    sync_index(fake_index_copy, embedder=HashEmbedder())
    return fake_index_copy


def test_speech_is_found_at_index_time_and_kept_with_the_article(fake_index: Settings):
    with Assistant(fake_index, HashEmbedder()) as assistant:
        spans = assistant.speakers()
        assert spans, "the fixture articles quote people"
        for article in assistant.articles():
            mine = [s for s in spans if s["article_id"] == article.id]
            found = find_speech(assistant.article(article.id).text)
            assert [(s["start"], s["end"], s["speaker"], s["kind"]) for s in mine] == [
                (f.start, f.end, f.speaker, f.kind) for f in found
            ]
            assert all(s["title"] == article.title and s["url"] == article.url for s in mine)
        seed = next(a for a in assistant.articles() if "peacekeepers" in a.title)
        assert assistant.speakers(seed.id) == [s for s in spans if s["article_id"] == seed.id]


def test_an_index_made_before_speech_was_found_gets_it_without_embedding_again(
    fake_index_copy: Settings,
):
    (segment,) = list_segments(fake_index_copy.index_dir)
    with sqlite3.connect(segment / "store.sqlite") as db:  # as an older sync left it
        db.execute("DELETE FROM speech")
        db.execute("DELETE FROM analysed")
        db.execute("DELETE FROM meta WHERE key = 'analysis'")
    with Assistant(fake_index_copy, HashEmbedder()) as assistant:
        assert assistant.speakers() == []
        report = assistant.sync()  # nothing in the corpus changed
        assert (report.added, report.updated, report.removed) == (0, 0, 0)
    with Assistant(fake_index_copy, NoEmbedding()) as assistant:
        assert assistant.speakers()
        again = assistant.sync()
        assert again.generation == report.generation  # analysed now: a no-op


def test_one_wire_story_is_one_source_naming_who_carried_it(wire_index: Settings):
    with Assistant(wire_index, HashEmbedder()) as assistant:
        answer = assistant.ask("Why will the Orsen Bay ferry cut its winter crossings?")
        assert not answer.refused
        wire = [q for q in answer.quotes if "Orsen" in q.title]
        assert wire and len({q.article_id for q in wire}) == 1  # one copy quoted
        assert "Orsen Gazette" in (wire[0].carried_by or "")
        assert "Island Courier" in (wire[0].carried_by or "")
        timeline = assistant.timeline("Orsen Bay ferry winter crossings")
        assert len([q for q in timeline.entries if "Orsen" in q.title]) == 1


def test_a_timeline_orders_one_quote_per_article_by_date(wire_index: Settings):
    with Assistant(wire_index, HashEmbedder()) as assistant:
        timeline = assistant.timeline("Calder Bay dockworkers strike automation")
        assert timeline.refusal_reason is None and timeline.entries
        days = [q.published for q in timeline.entries]
        assert days == sorted(days) and len({q.article_id for q in timeline.entries}) == len(days)
        for n, q in enumerate(timeline.entries, 1):
            assert q.n == n and assistant.article(q.article_id).text[q.start : q.end] == q.text
        assert assistant.timeline("sourdough starter recipe").refusal_reason
        later = assistant.timeline("Orsen Bay ferry winter crossings", since="2023-11-21")
        assert [q.source for q in later.entries] == ["Island Courier"]
        with pytest.raises(Exception, match="not a date"):
            assistant.timeline("ferry", since="next Tuesday-ish")


def test_what_is_new_since_a_date(wire_index: Settings):
    with Assistant(wire_index, HashEmbedder()) as assistant:
        fresh = assistant.new_since("2023-11-21")
        titles = [q.title for q in fresh.entries]
        assert "Dockworkers at Calder Bay walk out over automation plans" not in titles  # 11-08
        assert any("wildfire" in t for t in titles)
        days = [q.published for q in fresh.entries]
        assert days == sorted(days) and all(d >= "2023-11-21" for d in days)
        assert len([t for t in titles if "Orsen" in t]) <= 1  # the wire story once
        for q in fresh.entries:
            assert assistant.article(q.article_id).text[q.start : q.end] == q.text
        assert assistant.new_since("2031-01-01").refusal_reason


def test_one_copy_per_story_keeps_the_best_ranked_copy():
    story = Syndication(("a", "b", "c"), "a", None, ("A", "B", "C"), 0.9)
    stories = {"a": story, "b": story, "c": story}
    assert one_copy_per_story(["x", "b", "y", "a", "c"], stories) == {"a", "c"}
    assert one_copy_per_story(["x", "y"], stories) == set()


def test_a_named_speaker_is_preferred():
    passage = Passage("c", "art", 0, 100, "", "t", None, None, None, (), 1.0)
    lavrov = ScoredSentence(passage, 0, 40, 0.4, 0.5, frozenset({"peacekeep"}))
    other = ScoredSentence(passage, 50, 90, 0.5, 0.6, frozenset({"peacekeep"}))
    speeches = {0: Speech(0, 40, "Sergei Lavrov", "Lavrov", None, "indirect")}

    def speech_at(article_id: str, start: int, end: int) -> Speech | None:
        return speeches.get(start)

    asked = "What did Lavrov say about peacekeepers?"
    ranked = prefer_named_speakers(asked, [other, lavrov], key_names(asked), speech_at, 0.3)
    assert [s.start for s in ranked] == [0, 50]
    assert prefer_named_speakers(asked, [other, lavrov], (), speech_at, 0.3) == [other, lavrov]
    act = "Did Lavrov accept peacekeepers?"  # asks about an act, not words
    assert prefer_named_speakers(act, [other, lavrov], key_names(act), speech_at, 0.3) == [
        other,
        lavrov,
    ]


QUOTE = Quote(1, "We <b>will</b> not sign.", "a", "T", "Orsen Gazette", "2023-11-20", None, 0, 24)


def test_cards_show_speaker_role_and_wire_story_escaped():
    card = render_quote(
        replace(
            QUOTE,
            speaker="Marit <i>Colquhoun</i>",
            role="operations director",
            carried_by="SPA, via Orsen Gazette and Island Courier",
        )
    )
    assert "<b>" not in card and "<i>" not in card
    shown = html.unescape(card)
    assert "— Marit <i>Colquhoun</i>, operations director" in shown
    assert "One wire story: SPA, via Orsen Gazette and Island Courier" in shown


def test_disagreements_are_shown_side_by_side():
    other = replace(QUOTE, n=2, text="The company will sign on Friday.", source="Island Courier")
    answer = Answer(
        "q",
        "q",
        "",
        False,
        quotes=(QUOTE, other),
        disagreements=(
            Disagreement((1, 2), "denial", "One says it will not sign [1]; one that it will [2]"),
        ),
    )
    page = render_answer(answer, turn=3)
    block = page[page.index("briefing-disagreement") : page.index("briefing-lead")]
    assert "Sources disagree" in block and "denial" in block
    assert "briefing-cite-3-1" in block and "briefing-cite-3-2" in block
    assert "Island Courier" in block and "<b>will</b>" not in page
    assert json.loads(json.dumps(answer.to_dict()))["disagreements"][0]["quotes"] == [1, 2]


def test_timeline_view_escapes_and_says_why_when_empty():
    from assistant.timeline import Timeline

    shown = render_timeline(Timeline("ferry <script>", (replace(QUOTE, speaker="Marit"),)))
    assert "<script>" not in shown and "ferry <script>" in html.unescape(shown)
    assert "— Marit" in shown and "2023-11-20" in html.unescape(shown) and "1 article" in shown
    assert "No article" in render_timeline(Timeline("x", (), None, "No article is about 'x'."))


def test_cli_timeline_needs_a_topic_or_a_date(capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit) as stop:
        main(["timeline"])
    assert stop.value.code == 2 and "TOPIC, or --since" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["timeline", "ferry", "--since", "someday"])
    assert "cannot read the date" in capsys.readouterr().err


@pytest.mark.slow
def test_cli_speakers_and_timeline_on_the_seed(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    from .conftest import SEED_ARTICLE

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(SEED_ARTICLE, corpus / "article-000.txt")
    paths = ["--corpus", str(corpus), "--index", str(tmp_path / "index"), "-q"]
    assert main(["speakers", *paths, "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    keys = {"article_id", "url", "title", "start", "end", "speaker", "speaker_text", "role", "kind"}
    assert rows and all(set(r) == keys for r in rows)
    assert any(r["speaker"] == "Dmitry Peskov" for r in rows)
    assert main(["timeline", "Kremlin European peacekeepers", *paths, "--json"]) == 0
    timeline = json.loads(capsys.readouterr().out)
    assert timeline["topic"] == "Kremlin European peacekeepers" and timeline["entries"]


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("The ferry will stop.", "“The ferry will stop.”"),
        (
            "“There is a position on this. I have nothing to add.",
            "“There is a position on this. I have nothing to add.”",
        ),
        ("I have nothing to add,” Colquhoun said.", "“I have nothing to add,” Colquhoun said."),
        ("And not in talks.”", "“And not in talks.”"),
        ("He called it “unacceptable”.", "“He called it “unacceptable”.”"),
        ("“We will not sign,” she said.", "“We will not sign,” she said."),
    ],
)
def test_a_quote_never_doubles_the_articles_own_marks(text: str, shown: str):
    assert replace(QUOTE, text=text).marked() == shown
