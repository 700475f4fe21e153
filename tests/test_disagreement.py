"""Disagreement: which quotes oppose each other (pure functions over fixture sentences about
invented people, places and outlets), quote selection bringing in the other side from the
passages, and the seed article end to end on the session's fake-embedder index."""

from __future__ import annotations

from assistant import Assistant, Passage, Quote, QuoteConfig, Settings
from assistant.disagreement import Disagreement, Statement, find_disagreements, oppositions
from assistant.quotes import score_sentences, select_quotes

from .fakes import HashEmbedder


def quotes(*texts: str, speakers: tuple[str | None, ...] = ()) -> list[Quote]:
    """One quote per text, each from its own article of the invented outlet "Harrow Post"."""
    who = list(speakers) + [None] * (len(texts) - len(speakers))
    return [
        Quote(n, text, f"a{n}", f"Title {n}", "Harrow Post", "2024-05-02", None, 0, len(text), s)
        for n, (text, s) in enumerate(zip(texts, who, strict=True), 1)
    ]


def pairs(found: tuple[Disagreement, ...]) -> set[tuple[tuple[int, ...], str]]:
    return {(d.quotes, d.kind) for d in found}


# -- opposing statements ------------------------------------------------------------------------
def test_a_claim_and_its_denial_are_a_disagreement_with_a_line_that_says_who():
    found = find_disagreements(
        "Did Brinmoor Water leak customer records?",
        quotes(
            "The Harrow Post reported that Brinmoor Water had leaked the records of 9,000 customers.",
            "Brinmoor Water denied that any customer records had leaked from its systems.",
            speakers=(None, "Ottilie Varn"),
        ),
    )
    assert pairs(found) == {((1, 2), "denial")}  # the claim first, then the denial
    assert found[0].why == "Ottilie Varn denied [2] what Harrow Post said [1]"


def test_a_denial_that_points_back_answers_the_sentence_before_it():
    text = (
        "A columnist alleged that the Quenby council sold the park in secret. "
        "The council rejected this in the strongest terms."
    )
    first, second = text.split(". ")
    claim = Quote(1, first + ".", "q", "t", "Harrow Post", None, None, 0, len(first) + 1)
    denial = Quote(2, second, "q", "t", "Harrow Post", None, None, len(first) + 2, len(text))
    found = find_disagreements("Did the Quenby council sell the park?", [claim, denial])
    assert pairs(found) == {((1, 2), "denial")}


def test_a_denial_without_cue_words_negates_or_opposes_what_the_other_says():
    mill = find_disagreements(
        "Will the Fenwick mill close?",
        quotes(
            "The Fenwick mill will close in June, its owners told staff.",
            "The Fenwick mill will stay open, Mayor Ilsa Dorn said after meeting the owners.",
        ),
    )
    assert pairs(mill) == {((2, 1), "denial")}  # open against close
    coach = find_disagreements(
        "Will Tamsin Vell return as coach of Orlow United?",
        quotes(
            "Tamsin Vell will return as coach of Orlow United next season, the club said.",
            "Tamsin Vell won't be returning as coach of Orlow United, according to two players.",
        ),
    )
    assert pairs(coach) == {((1, 2), "outcome")}
    assert "won't be returning" in coach[0].why


def test_two_figures_for_the_same_quantity():
    found = find_disagreements(
        "How many jobs will go at the Carrow plant?",
        quotes(
            "As many as 1,200 jobs will go at the Carrow plant, the Weldon union said.",
            "Pellam Motors said about 800 roles at the Carrow plant would be affected.",
            speakers=("the Weldon union", "Pellam Motors"),
        ),
    )
    assert pairs(found) == {((1, 2), "figures")}
    assert (
        found[0].why == "the Weldon union gives 1,200 jobs [1]; Pellam Motors gives 800 roles [2]"
    )


def test_different_outcomes_reported():
    signing = find_disagreements(
        "Which club did Abel Tarrow sign with?",
        quotes(
            "Pellham Rovers have reportedly won the race for Abel Tarrow.",
            "Abel Tarrow has signed with Dunmere Athletic on a four-year deal.",
        ),
    )
    assert pairs(signing) == {((1, 2), "outcome")}
    enforced = find_disagreements(
        "Will the Osk province enforce the hosepipe ban?",
        quotes(
            "Governor Rhea Lund said the Osk province would not enforce the hosepipe ban.",
            "Inspectors in the Osk province began enforcing the hosepipe ban on Monday.",
        ),
    )
    assert pairs(enforced) == {((2, 1), "outcome")}


# -- statements that agree or are only related: none --------------------------------------------
def test_agreeing_statements_list_none():
    assert not find_disagreements(
        "Will the Fenwick mill close?",
        quotes(
            "The Fenwick mill will close in June, its owners told staff.",
            "Workers were told on Friday that the Fenwick mill will close in June.",
            "The closure of the Fenwick mill in June ends 140 years of weaving in the town.",
        ),
    )
    both_deny = quotes(
        "Brinmoor Water denied that any customer records had leaked.",
        "Brinmoor Water said no customer records had leaked and none were at risk.",
    )
    assert not find_disagreements("Did Brinmoor Water leak customer records?", both_deny)


def test_unrelated_or_differently_measured_numbers_list_none():
    assert not find_disagreements(  # what the question counts is jobs, not people employed
        "How many jobs are at risk at the Carrow plant?",
        quotes(
            "The Carrow plant employs about 2,100 people.",
            "About 1,200 jobs are at risk at the Carrow plant, the union said.",
        ),
    )
    assert not find_disagreements(  # changes on different days
        "How did Lantern Foods shares trade?",
        quotes(
            "Lantern Foods shares rose 3% on Monday after the results.",
            "Lantern Foods shares fell 2% on Tuesday as investors took profits.",
        ),
    )
    assert not find_disagreements(  # a target against what is used
        "How much water may households in Osk use?",
        quotes(
            "The order sets a target of 120 litres per person per day for households in Osk.",
            "Average household use in Osk was 131 litres per person per day last week.",
        ),
    )
    assert not find_disagreements(  # a later figure that names the earlier one
        "How much will go into the Carrow retraining fund?",
        quotes(
            "Pellam Motors must pay at least 45 million crowns into the Carrow retraining fund.",
            "It will pay 60 million crowns into the Carrow retraining fund, up from 45 million.",
        ),
    )


# -- quote selection: the other side comes in from the passages ----------------------------------
_CLAIM = "The Weldon union said the Carrow plant will close next year. "
_AGREE = "Weldon union officials repeated that the Carrow plant will close next year. "
_MORE = "The Carrow plant opened in 1961 on the Weldon estuary. "
_DENIAL = "Pellam Motors denied that the Carrow plant will close and called the union claim false."


def _passage(article_id: str, text: str, rank: int) -> Passage:
    spans, start = [], 0
    for sentence in text.split(". "):
        end = min(len(text), start + len(sentence) + 1)
        spans.append((start, end if text[end - 1 : end] == "." else end - 1))
        start = end + 1
    return Passage(
        f"{article_id}:0-{len(text)}", article_id, 0, len(text), text, f"Title {article_id}",
        "Harrow Post", "2024-05-02T00:00:00+00:00", None, tuple(spans), 1.0 / rank,
        {"rank": rank},
    )  # fmt: skip


def test_selection_brings_in_the_denial_from_the_passages_replacing_the_weakest():
    texts = {"a": _CLAIM + _AGREE + _MORE.strip(), "b": _DENIAL}
    passages = [_passage("a", texts["a"], 1), _passage("b", texts["b"], 2)]
    idf = lambda terms: {t: 1.0 for t in terms}  # noqa: E731
    config = QuoteConfig(max_quotes=2, per_article=2, min_supporting_coverage=0.2)
    question = "Will the Carrow plant close next year?"
    scored = score_sentences(question, passages, texts.__getitem__, idf, config)
    assert scored[0].passage.article_id == "a"  # the union's sentences score best

    without = select_quotes(scored, texts.__getitem__, config, other_side=False)
    assert [q.article_id for q in without] == ["a", "a"]
    assert not find_disagreements(question, without)

    shown = select_quotes(scored, texts.__getitem__, config)
    assert len(shown) == config.max_quotes  # never more than the configured number
    assert shown[0] == without[0]  # the lead stays; the weakest supporting quote made room
    assert shown[1].text == _DENIAL and shown[1].n == 2
    assert texts["b"][shown[1].start : shown[1].end] == shown[1].text
    assert pairs(find_disagreements(question, shown)) == {((1, 2), "denial")}


def test_selection_leaves_agreeing_passages_as_they_are():
    texts = {"a": _CLAIM + _AGREE + _MORE.strip()}
    passages = [_passage("a", texts["a"], 1)]
    idf = lambda terms: {t: 1.0 for t in terms}  # noqa: E731
    config = QuoteConfig(max_quotes=4, per_article=4, min_supporting_coverage=0.1)
    scored = score_sentences(
        "Will the Carrow plant close?", passages, texts.__getitem__, idf, config
    )
    assert select_quotes(scored, texts.__getitem__, config) == select_quotes(
        scored, texts.__getitem__, config, other_side=False
    )


# -- the seed article, end to end ------------------------------------------------------------
def test_the_seed_shows_trumps_claim_beside_the_kremlins_rejection(fake_index: Settings):
    question = "Did Putin accept European peacekeepers?"
    with Assistant(fake_index, HashEmbedder()) as assistant:
        answer = assistant.ask(question)
    found = find_disagreements(question, answer.quotes)
    by_n = {q.n: q for q in answer.quotes}
    assert found and all(d.kind == "denial" for d in found)
    for d in found:
        claim, rejection = (by_n[n] for n in d.quotes)
        assert claim.speaker == "Donald Trump" and "accept that" in claim.text
        assert "reject" in rejection.text or "not accept" in rejection.text


def test_only_a_strong_opposition_is_strong_enough_to_bring_a_sentence_in():
    def strong(question: str, *texts: str) -> list[bool]:
        found = oppositions([Statement(t) for t in texts], question)
        return [o.strong for o in found.values()]

    # the word the claim says, negated: strong; another use of its stem: weak
    assert strong(
        "Does Orlow Rail have a monopoly?",
        "Orlow Rail has a monopoly on freight, the Harrow Post found.",
        "Orlow Rail does not have a monopoly on freight, its chief said.",
    ) == [True]
    # a count of what the question counts: strong
    assert strong(
        "How many workers joined the Carrow strike?",
        "About 1,400 workers joined the Carrow strike, the union said.",
        "Pellam said 1,150 workers joined the Carrow strike.",
    ) == [True]
