from __future__ import annotations

from assistant.quotes import QuoteConfig, score_sentences, select_quotes, speaker_of, verify
from assistant.types import Passage, Quote

TEXT = (
    "The council approved the tram budget on Monday. "
    "“We will open the line in May,” Mayor Ana Ruiz said. "
    "She added that fares would stay flat. "
    "Critics said the route skips the hospital."
)


def spans(text: str) -> tuple[tuple[int, int], ...]:
    out, start = [], 0
    for part in text.split(". "):
        end = start + len(part) + (1 if not part.endswith(".") else 0)
        out.append((start, min(end, len(text))))
        start = end + 1
    return tuple(out)


def passage(article_id: str, text: str, rank: int, source: str) -> Passage:
    return Passage(
        chunk_id=f"{article_id}:0-{len(text)}",
        article_id=article_id,
        start=0,
        end=len(text),
        text=text,
        title=f"Title {article_id}",
        source=source,
        published="2023-11-02T00:00:00+00:00",
        url=None,
        sentences=spans(text),
        score=1.0 / rank,
        stages={"rank": rank},
    )


def test_speaker_is_found_in_reported_speech():
    assert speaker_of("“Yeah, he will accept that,” Trump said, speaking to reporters.") == "Trump"
    assert speaker_of("But, said Dmitry Peskov, the move was unacceptable.") == "Dmitry Peskov"
    assert speaker_of("“There is a position,” Peskov said.") == "Peskov"
    assert speaker_of("The ceasefire, according to Lavrov, would be a trap.") == "Lavrov"
    assert (
        speaker_of(
            "She added that fares would stay flat.", ["“We open in May,” Mayor Ana Ruiz said."]
        )
        == "Mayor Ana Ruiz"
    )
    assert speaker_of("The council approved the budget.") is None
    assert (
        speaker_of("Jane Roe, a spokesperson for Calder Terminals, said the offer stands.")
        == "Jane Roe"
    )


def test_quotes_are_verbatim_best_first_and_spread_over_articles():
    other = "Tram fares rose in the next city. The hospital route was dropped there too."
    texts = {"a": TEXT, "b": other}
    passages = [passage("a", TEXT, 1, "Daily"), passage("b", other, 2, "Herald")]
    idf = lambda terms: {t: 1.0 for t in terms}  # noqa: E731
    config = QuoteConfig(max_quotes=3, per_article=2, min_supporting_coverage=0.1)
    scored = score_sentences(
        "When will the tram line open?", passages, texts.__getitem__, idf, config
    )
    quotes = select_quotes(scored, texts.__getitem__, config, sources=["Herald"])
    assert quotes[0].text == "“We will open the line in May,” Mayor Ana Ruiz said."
    assert quotes[0].speaker == "Mayor Ana Ruiz"
    assert any(q.source == "Herald" for q in quotes)  # the named outlet gets its sentence
    for q in quotes:
        assert texts[q.article_id][q.start : q.end] == q.text
    assert [q.n for q in quotes] == list(range(1, len(quotes) + 1))


def test_verify_drops_a_quote_that_is_not_the_article_text():
    good = Quote(1, TEXT[:47], "a", "t", None, None, None, 0, 47)
    shifted = Quote(2, TEXT[:47], "a", "t", None, None, None, 1, 48)
    invented = Quote(3, "The council rejected the budget.", "a", "t", None, None, None, 0, 32)
    assert verify([good, shifted, invented], {"a": TEXT}.__getitem__) == [good]
