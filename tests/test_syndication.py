"""Syndication: copies of one wire story group; different stories, lone and short articles do not."""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from assistant.corpus import load_corpus
from assistant.syndication import (
    NUM_PERM,
    Syndication,
    carried_by,
    shingles,
    signature,
    syndication_groups,
    update_groups,
    wire_credit,
)
from assistant.types import Article

DEMO = Path(__file__).resolve().parents[1] / "corpus"

# An invented wire story (Veldmark News Agency) and the copies two invented outlets ran.
WIRE = """ORVIK, 4 May (VNA) — Tessmark Rail said on Tuesday that it would close the Sallen Bridge line between Orvik and Halden for fourteen weeks from June, after engineers found cracks in the piers of the 140-year-old bridge over the river Sallen.

About 9,000 passengers a day use the line, most of them commuters travelling into Orvik. Replacement buses will run every ten minutes at peak times, the company said, and journeys will take about twenty-five minutes longer.

"We would not close a line that so many people rely on unless we had to. The bridge is safe for now, but it will not stay safe without this work," said Ilka Brandvold, Tessmark's director of infrastructure.

The repairs will cost about 38 million crowns. Tessmark said the piers would be strengthened with steel collars and that the track across the bridge would be replaced at the same time.

The Orvik Passengers' Forum said the closure was "a summer of misery" for commuters and asked why the cracks had not been found at the last inspection, in 2024. Tessmark said the cracks had grown since then.

The line last closed for repairs in 1998, for six weeks."""

COPY_TRIMMED = (
    WIRE.replace("said on Tuesday", "announced on Tuesday")
    .replace("Replacement buses", "Buses")
    .rsplit("\n\n", 1)[0]  # the last paragraph cut
)
COPY_EXTENDED = (
    WIRE + "\n\nThe Halden Herald will publish the replacement bus timetable in full on Saturday, "
    "with a map of the stops in the town centre and the times of the first and last buses."
)

# The same event, reported apart: the same facts in other words.
OTHER_STORY = """Commuters between Halden and Orvik face a summer on buses. The Sallen Bridge, which carries the railway over the river, is to shut for fourteen weeks while cracked piers are repaired, the rail operator Tessmark confirmed this week.

At Halden station on Wednesday morning, passengers were unimpressed. Jorun Ekholt, who travels to a hospital job in Orvik, said the bus would add nearly an hour to her day. "Nobody asked us when the work should be done," she said.

Tessmark expects to spend 38 million crowns on the bridge, which opened in the 1880s. Ilka Brandvold, who runs the company's infrastructure division, told the Ledger that the piers had deteriorated faster than expected since they were last examined.

The passengers' forum in Orvik is collecting signatures for a petition asking for the works to be split into two shorter closures, one in summer and one next spring."""

ALONE = """The Orvik city council approved a budget on Thursday that raises spending on libraries by 6% and freezes parking charges for a second year. Councillors voted 23 to 14 for the plan after a debate that lasted most of the evening. The opposition said the budget relied on selling the old fire station on Quay Road, which has not yet found a buyer."""


def article(
    key: str,
    text: str,
    *,
    source: str | None = None,
    day: int | None = 4,
    author: str | None = None,
    title: str = "A headline",
) -> Article:
    instant = None if day is None else datetime(2026, 5, day, 9, tzinfo=UTC)
    return Article(
        id=key,
        locator=f"{key}.md",
        title=title,
        text=text,
        source=source,
        published=None if instant is None else instant.isoformat(),
        published_ts=None if instant is None else int(instant.timestamp()),
        author=author,
    )


@pytest.fixture
def wire_and_copies() -> list[Article]:
    return [
        article("extended", COPY_EXTENDED, source="Halden Herald", day=5),
        article("other", OTHER_STORY, source="The Orvik Ledger", day=5),
        article("wire", WIRE, source="Veldmark News Agency", day=4, title="Sallen Bridge to close"),
        article("alone", ALONE, source="The Orvik Ledger", day=6),
        article("trimmed", COPY_TRIMMED, source="The Orvik Ledger", day=4, title="Rail misery"),
    ]


def test_a_wire_story_and_its_edited_copies_are_one_group(wire_and_copies):
    (group,) = syndication_groups(wire_and_copies)
    # the earliest published first; of the two published on 4 May, the longer text (the wire)
    assert group.representative == "wire"
    assert group.article_ids == ("wire", "trimmed", "extended")
    assert group.origin == "VNA"
    assert group.outlets == ("Veldmark News Agency", "The Orvik Ledger", "Halden Herald")
    assert 0.7 <= group.similarity < 1.0  # the trimmed copy changed two words


def test_same_event_reported_apart_is_not_a_copy(wire_and_copies):
    grouped = {key for g in syndication_groups(wire_and_copies) for key in g.article_ids}
    assert "other" not in grouped and "alone" not in grouped


def test_a_story_quoted_whole_inside_a_long_live_blog_is_not_a_copy():
    updates = [
        f"Update {n}: the {n + 6}:{n % 60:02d} bus from stop {3 * n} left Halden "
        f"with {n % 9 + 2} passengers and reached Orvik {n % 7 + 20} minutes later."
        for n in range(120)
    ]
    blog = "\n\n".join([*updates[:60], WIRE, *updates[60:]])
    articles = [article("wire", WIRE), article("blog", blog, day=5)]
    assert syndication_groups(articles, threshold=0.5) == ()  # containment 1.0, Jaccard low


def test_an_article_alone_or_no_articles_make_no_group():
    assert syndication_groups([article("wire", WIRE)]) == ()
    assert syndication_groups([]) == ()


def test_empty_and_very_short_texts_never_group():
    texts = ["", "   ", "Storm warning.", "Storm warning.", "Photo: Sallen Bridge at dusk."]
    articles = [article(f"short-{n}", text) for n, text in enumerate(texts)]
    assert syndication_groups([*articles, article("wire", WIRE)]) == ()
    assert len(shingles("")) == 0 and len(shingles("Storm warning.")) == 1


def test_an_article_given_twice_is_read_once():
    wire = article("wire", WIRE)
    assert syndication_groups([wire, wire]) == ()
    (group,) = syndication_groups([wire, wire, article("copy", COPY_TRIMMED)])
    assert group.article_ids == ("wire", "copy")


def test_undated_copies_come_last_and_ties_go_to_the_longer_text():
    undated = article("a-undated", WIRE, day=None)
    shorter = article("b-short", COPY_TRIMMED, day=9)
    longer = article("c-long", COPY_EXTENDED, day=9)
    (group,) = syndication_groups([undated, shorter, longer])
    assert group.article_ids == ("c-long", "b-short", "a-undated")


def test_a_higher_threshold_splits_what_a_lower_one_joins(wire_and_copies):
    assert len(syndication_groups(wire_and_copies, threshold=0.5)) == 1
    (group,) = syndication_groups(wire_and_copies, threshold=0.99)
    assert set(group.article_ids) == {"wire", "extended"}  # the only copy left whole
    with pytest.raises(ValueError, match="threshold must be in"):
        syndication_groups(wire_and_copies, threshold=0)


@pytest.mark.parametrize(
    ("text", "author", "credit"),
    [
        ("WASHINGTON (AP) — The Senate voted on Tuesday.", None, "AP"),
        ("LONDON, Nov 3 (Reuters) - Shares fell.", None, "Reuters"),
        ("ORVIK (VNA) — Trains stop.", None, "VNA"),
        ("Shares fell.\n\n— Reuters", None, "Reuters"),
        ("The team won.\n\n© AAP", None, "AAP"),
        ("It passed.\n\nThe Associated Press contributed to this report.", None, "AP"),
        ("It passed.\n\nAssociated Press writers Jo Roe contributed to this report.", None, "AP"),
        ("Prices rose.", "Matt Oberlin, The Associated Press", "AP"),
        ("Prices rose.", "Corin Aldous (Meridian Wire)", "Meridian Wire"),
        ("The striker scored. Credit: AFP\n\nHe left (PA) later.", None, None),
        ('"It is over," she told The Associated Press.', None, None),
        ("Stars shone.", "ana.rill@example.com (Ana Rill)", None),
        ("A quiet day.", "Ana Rill", None),
    ],
)
def test_wire_credits_are_read_from_dateline_closing_line_and_byline(text, author, credit):
    assert wire_credit(article("a", text, author=author)) == credit


def test_the_group_credits_the_wire_its_members_credit():
    credited = article("credited", WIRE, source="Halden Herald", day=5)
    uncredited = article(
        "uncredited", WIRE.replace("(VNA) — ", ""), source="The Orvik Ledger", day=4
    )
    (group,) = syndication_groups([credited, uncredited])
    assert group.representative == "uncredited" and group.origin == "VNA"
    (group,) = syndication_groups([uncredited, article("b", COPY_TRIMMED.replace("(VNA)", ""))])
    assert group.origin is None


def _group(origin: str | None, *outlets: str) -> Syndication:
    ids = tuple(f"a{n}" for n in range(max(2, len(outlets))))
    return Syndication(ids, ids[0], origin, outlets, 0.9)


def test_the_display_line_names_the_wire_then_the_outlets():
    assert carried_by(_group("AP", "The Ledger", "Harbour Times")) == (
        "AP, via The Ledger and Harbour Times"
    )
    assert carried_by(_group("AP", "AP", "The Ledger", "Harbour Times", "The Courier")) == (
        "AP, via The Ledger, Harbour Times and The Courier"
    )
    assert carried_by(_group(None, "The Ledger", "Harbour Times")) == (
        "The Ledger, also carried by Harbour Times"
    )
    assert carried_by(_group(None, "Engadget")) == "Engadget"
    assert carried_by(_group("AP")) == "AP"
    assert carried_by(_group(None)) == "one story in 2 articles"


def test_the_demo_briefing_has_two_wire_stories_and_nothing_else_groups():
    articles = {a.locator: a for a in load_corpus(DEMO).articles}
    groups = syndication_groups(list(articles.values()))
    locators = {a.id: a.locator for a in articles.values()}
    assert [[locators[key][:7] for key in g.article_ids] for g in groups] == [
        ["demo-01", "demo-02", "demo-03"],  # the Meridian Wire story on the Eastbank plan
        ["demo-27", "demo-28"],  # the new SPA story on drought compensation
    ]
    eastbank, drought = groups
    assert carried_by(eastbank) == ("Meridian Wire, via The Harbour Ledger and The Saldern Courier")
    assert carried_by(drought) == "SPA, via Ardval Gazette and The Saldern Courier"
    assert locators[drought.representative].startswith("demo-27")


# -- incremental groups ------------------------------------------------------------------------


def test_a_signature_is_none_for_a_short_text_and_the_same_on_every_call():
    assert signature("") is None and signature("Storm warning. " * 5) is None
    first, again = signature(WIRE), signature(WIRE)
    assert first is not None and first.dtype == np.uint64 and first.shape == (NUM_PERM,)
    assert np.array_equal(first, again)
    assert np.array_equal(np.frombuffer(first.tobytes(), dtype=np.uint64), first)
    # Stored signatures must match new ones: if this changes (another datasketch, other
    # shingles), every stored signature is stale and a sync must compute them again.
    assert first[:3].tolist() == [33489876, 17437427, 22064167]


def _signatures(articles: Iterable[Article]) -> dict[str, np.ndarray]:
    """What a sync stores: each signature's bytes, read back."""
    stored = {a.id: sig.tobytes() for a in articles if (sig := signature(a.text)) is not None}
    return {key: np.frombuffer(data, dtype=np.uint64) for key, data in stored.items()}


class Reader:
    """``article(id)`` over the live articles, recording every call."""

    def __init__(self, live: dict[str, Article]) -> None:
        self.live, self.calls = live, []

    def __call__(self, key: str) -> Article:
        self.calls.append(key)
        return self.live[key]  # a KeyError if asked for an article that is gone


def _prose(rng: random.Random, words: int) -> str:
    """Invented words, so that no two runs of it share a shingle by chance."""
    syllables = ["ka", "lo", "mer", "vin", "dos", "tar", "el", "bru", "sen", "qui", "fa", "rum"]
    vocabulary = ["".join(rng.choices(syllables, k=3)) for _ in range(2000)]
    return " ".join(rng.choices(vocabulary, k=words))


def _cut(text: str, keep: float) -> str:
    paragraphs = text.split("\n")
    return "\n".join(paragraphs[: max(1, round(len(paragraphs) * keep))])


def _reworded(text: str, rng: random.Random, rate: float = 1 / 20) -> str:
    tokens = text.split(" ")
    return " ".join(rng.choice(tokens) if rng.random() < rate else t for t in tokens)


def _pool(rng: random.Random) -> list[Article]:
    """The demo briefing, the wire story and its copies, edited copies of some demo articles,
    and a chain of overlapping windows of one text (each links to the next, not further), so
    that adding or removing one article can merge or split groups."""
    demo = list(load_corpus(DEMO).articles)
    pool = [*demo]
    for n, original in enumerate(demo[3::4]):
        for copy, text in enumerate(
            (_cut(original.text, 0.6), _reworded(original.text, rng), original.text + "\nMore.")
        ):
            pool.append(
                replace(original, id=f"{original.id}~{copy}", text=text, source=f"Outlet {n}")
            )
    pool += [
        article("wire", WIRE, source="Veldmark News Agency"),
        article("trimmed", COPY_TRIMMED, source="The Orvik Ledger"),
        article("extended", COPY_EXTENDED, source="Halden Herald", day=5),
        article("other", OTHER_STORY, source="The Orvik Ledger", day=5),
        article("alone", ALONE, day=6),
    ]
    chain = _prose(rng, 600).split(" ")
    pool += [
        article(f"chain-{n}", " ".join(chain[60 * n : 60 * n + 300]), day=7 + n) for n in range(6)
    ]
    return pool


def _step(
    rng: random.Random, live: dict[str, Article], pool: list[Article]
) -> tuple[set[str], set[str]]:
    """Add, remove or change one to three articles of ``live``: (added, removed)."""
    added: set[str] = set()
    removed: set[str] = set()
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        absent = [a for a in pool if a.id not in live]
        kind = rng.choice(("add", "add", "remove", "change")) if live else "add"
        if kind == "add" and absent:
            new = rng.choice(absent)
            live[new.id] = new
            added.add(new.id)
        elif kind == "remove" or not absent:
            key = rng.choice(sorted(live))
            del live[key]
            removed.add(key)
            added.discard(key)
        else:  # changed: another text, a copy of another live article, or too short; redated
            key = rng.choice(sorted(live))
            other = rng.choice([*absent, *live.values()])
            text = rng.choice(
                (other.text, _cut(other.text, 0.7), _reworded(live[key].text, rng), "Too short.")
            )
            published = rng.choice((live[key].published_ts, rng.randrange(1, 2**31)))
            live[key] = replace(live[key], text=text, published_ts=published)
            added.add(key)
            removed.add(key)
    return added, removed


@pytest.mark.parametrize("seed", [0, 1])
def test_updated_groups_equal_the_groups_of_the_whole_corpus_after_every_change(seed):
    rng = random.Random(seed)
    pool = _pool(rng)
    live = {a.id: a for a in rng.sample(pool, len(pool) // 2)}
    groups = syndication_groups(list(live.values()))
    stored = _signatures(live.values())
    changes = 0
    for _ in range(30):
        added, removed = _step(rng, live, pool)
        for key in added | removed:
            stored.pop(key, None)
        stored.update(_signatures(live[key] for key in added))
        if rng.random() < 0.5:  # a changed id may be given as added only
            removed -= added
        updated = update_groups(groups, stored, added, removed, Reader(live))
        assert updated == syndication_groups(list(live.values()))
        changes += updated != groups
        groups = updated
    assert changes >= 10  # groups were made, grown, merged and split, not only kept


def test_one_new_article_reads_itself_and_its_candidates_not_the_corpus():
    live = {a.id: a for a in [*load_corpus(DEMO).articles, article("wire", WIRE)]}
    live["trimmed"] = article("trimmed", COPY_TRIMMED)
    groups = syndication_groups(list(live.values()))
    stored = _signatures(live.values())

    live["alone"] = article("alone", ALONE)  # unrelated to every article there
    stored.update(_signatures([live["alone"]]))
    reader = Reader(live)
    assert update_groups(groups, stored, {"alone"}, set(), reader) == groups
    assert reader.calls == []  # no article shares a band with it: not even it is read

    live["extended"] = article("extended", COPY_EXTENDED, day=5)  # a third copy of the wire
    stored.update(_signatures([live["extended"]]))
    reader = Reader(live)
    updated = update_groups(groups, stored, {"extended"}, set(), reader)
    assert updated == syndication_groups(list(live.values()))
    # the group and, to place it among the demo's two (a binary search), their representatives
    representatives = {g.representative for g in groups} - {"wire"}
    assert len(reader.calls) == len(set(reader.calls))  # each read once
    assert set(reader.calls) - representatives == {"extended", "trimmed", "wire"}


def test_removing_the_link_between_two_copies_splits_their_group():
    chain = _prose(random.Random(3), 420).split(" ")
    # windows of 300 words 60 apart: neighbours share 240 (containment 0.8), the ends 180 (0.6)
    live = {f"w{n}": article(f"w{n}", " ".join(chain[60 * n : 60 * n + 300])) for n in range(3)}
    stored = _signatures(live.values())
    (group,) = syndication_groups(list(live.values()))
    assert set(group.article_ids) == {"w0", "w1", "w2"}
    middle = live.pop("w1")
    del stored["w1"]
    assert update_groups([group], stored, set(), {"w1"}, Reader(live)) == ()
    live["w1"] = middle
    stored.update(_signatures([middle]))
    assert update_groups((), stored, {"w1"}, set(), Reader(live)) == (group,)


def test_many_new_articles_at_once_give_the_groups_of_the_whole_corpus():
    pool = _pool(random.Random(2))
    live = {a.id: a for a in pool}
    assert len(live) > 32  # more than are compared one by one: candidates from all pairs
    updated = update_groups((), _signatures(pool), set(live), set(), Reader(live))
    assert updated == syndication_groups(pool) and len(updated) >= 5


def test_a_signature_read_back_with_the_wrong_type_is_refused():
    sig = signature(WIRE)
    assert sig is not None
    wrong = {"wire": np.frombuffer(sig.tobytes(), dtype=np.uint32)}
    with pytest.raises(ValueError, match="np.frombuffer"):
        update_groups((), wrong, {"wire"}, set(), Reader({}))


def test_a_group_whose_representative_is_redated_moves_to_its_new_place():
    chain = _prose(random.Random(4), 360).split(" ")
    live = {
        "wire": article("wire", WIRE, day=4),
        "trimmed": article("trimmed", COPY_TRIMMED, day=9),
        "w0": article("w0", " ".join(chain[:300]), day=6),
        "w1": article("w1", " ".join(chain[60:]), day=7),
    }
    groups = syndication_groups(list(live.values()))
    assert [g.representative for g in groups] == ["wire", "w0"]
    live["wire"] = article("wire", WIRE, day=8)  # still the earliest of its group
    updated = update_groups(groups, _signatures(live.values()), {"wire"}, {"wire"}, Reader(live))
    assert updated == syndication_groups(list(live.values()))
    assert [g.representative for g in updated] == ["w0", "wire"]
