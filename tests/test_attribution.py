"""Attribution on invented sentences and articles (people, places and outlets made up for
these tests), and on the seed article."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.attribution import Speech, find_speech
from assistant.chunking import split_sentences

SEED = Path(__file__).resolve().parents[2] / "shared" / "seed" / "article-000.txt"


def speech_at(text: str, words: str) -> Speech | None:
    """The Speech whose span holds ``words`` (a piece of one sentence)."""
    at = text.index(words)
    return next((s for s in find_speech(text) if s.start <= at < s.end), None)


def speaker_at(text: str, words: str) -> str | None:
    speech = speech_at(text, words)
    return speech.speaker if speech else None


def test_spans_are_whole_sentences_of_the_text():
    text = (
        "Harbour traffic fell in May. Port director Mira Santell said the fall was seasonal.\n"
        "“We expect a busy summer,” Santell added."
    )
    sentences = split_sentences(text)
    for speech in find_speech(text):
        assert any(s == speech.start for s, _ in sentences)
        assert any(e == speech.end for _, e in sentences)
        assert text[speech.start : speech.end].strip() == text[speech.start : speech.end]


def test_speaker_before_and_after_a_quotation():
    text = (
        "Vessa Orlin chairs the Tarnby ferry board.\n"
        "“The ferry will run all winter,” Orlin said.\n"
        "“We found the money,” said Orlin.\n"
        "Orlin said: “Nobody will be stranded on the island.”"
    )
    for words in ("ferry will run", "found the money", "Nobody will"):
        speech = speech_at(text, words)
        assert speech is not None and speech.kind == "direct"
        assert speech.speaker == "Vessa Orlin"  # the surname resolves to the fullest name
    assert speech_at(text, "found the money").speaker_text == "Orlin"


def test_indirect_speech_and_told_reporters():
    text = (
        "Tomas Kell runs the Brindle Works.\n"
        "Kell said that the plant would close in March.\n"
        "Kell told reporters the workers would be paid until then."
    )
    assert speech_at(text, "plant would close").kind == "indirect"
    assert speaker_at(text, "plant would close") == "Tomas Kell"
    assert speaker_at(text, "workers would be paid") == "Tomas Kell"


def test_appositive_gives_the_person_and_their_role():
    text = "Jane Roe, a spokesperson for Calder Terminals, said the offer still stands."
    speech = speech_at(text, "offer still")
    assert speech is not None
    assert speech.speaker == "Jane Roe"
    assert speech.role == "a spokesperson for Calder Terminals"


def test_role_before_the_name_and_titles_are_stripped():
    text = (
        "At a briefing on Monday, the mayor's spokesperson, Ilse Varga, said the bridge would "
        "reopen.\n"
        "President Oskar Benedek said the budget was final."
    )
    speech = speech_at(text, "bridge would")
    assert (speech.speaker, speech.role) == ("Ilse Varga", "the mayor's spokesperson")
    speech = speech_at(text, "budget was final")
    assert speech.speaker == "Oskar Benedek" and speech.role == "President"


def test_relative_clause_is_not_the_speaker():
    text = "The minister, who took office in May, told the chamber the tax would stay."
    assert speaker_at(text, "tax would stay") == "the minister"


def test_groups_and_organisations_speak_as_themselves():
    text = (
        "Officials in Brussels said the tariff was under review.\n"
        "Local shop owners on Quay Street warned that trade would fall.\n"
        "The Kremlin said the talks were over."
    )
    assert speaker_at(text, "tariff") == "officials in Brussels"
    assert speaker_at(text, "trade would fall") == "local shop owners on Quay Street"
    assert speaker_at(text, "talks were over") == "the Kremlin"


def test_inverted_attribution_after_an_appositive_is_the_speaker_after_the_verb():
    text = "Larch Holdings, a fund he also controlled, was the real buyer, argued Pell Umber."
    assert speaker_at(text, "real buyer") == "Pell Umber"


def test_posted_and_announced_need_reported_words():
    text = (
        "The harbour office posted a notice on the gate.\n"
        "Weller Foods announced a new bakery.\n"
        "Weller Foods announced that the bakery would hire 40 people."
    )
    assert speech_at(text, "posted a notice") is None
    assert speech_at(text, "new bakery") is None
    assert speaker_at(text, "would hire") == "Weller Foods"


def test_speech_verbs_with_no_speaker_give_none():
    text = (
        "The old mill is said to be haunted.\n"
        "It was said that the mayor would resign.\n"
        "The lighthouse keeper reportedly left in 1990."
    )
    for words in ("haunted", "would resign", "lighthouse keeper"):
        assert speaker_at(text, words) is None


def test_pronouns_resolve_to_the_last_person_named():
    text = (
        "Dana Whitlock, the chief engineer at Orsk Rail, inspected the line on Friday.\n"
        "She said the rails were safe.\n"
        "Ferro Lund, the union leader, disagreed.\n"
        "The repairs were rushed, he told reporters."
    )
    assert speaker_at(text, "rails were safe") == "Dana Whitlock"
    speech = speech_at(text, "repairs were rushed")
    assert speech.speaker == "Ferro Lund" and speech.speaker_text == "he"


def test_a_multi_sentence_quotation_is_one_speech_with_one_speaker():
    text = (
        "Councillor Abel Moro spoke after the vote.\n"
        "“The plan was drafted by the planning chief Rina Solt. I have nothing to add to "
        "it,” Moro said.\n"
        "The vote passed."
    )
    speeches = [s for s in find_speech(text) if "Rina Solt" in text[s.start : s.end]]
    assert len(speeches) == 1
    speech = speeches[0]
    assert speech.speaker == "Abel Moro" and speech.kind == "direct"
    assert "nothing to add" in text[speech.start : speech.end]


def test_a_paragraph_that_goes_on_quoting_keeps_the_speaker():
    text = (
        "“We were not ready for the storm,” said Petra Anand, the harbour master.\n"
        "“The sea wall held, but the pumps failed.\n"
        "“Next year we will have new pumps.”\n"
        "The council will vote on the pumps in June."
    )
    assert speaker_at(text, "sea wall held") == "Petra Anand"
    assert speaker_at(text, "Next year") == "Petra Anand"
    assert speaker_at(text, "council will vote") is None


def test_nested_quotes_belong_to_the_outer_speaker():
    text = (
        "Ivo Brandt recalled the night of the flood.\n"
        "“My neighbour shouted, ‘Get to the roof!’ and we ran,” Brandt said."
    )
    assert speaker_at(text, "neighbour shouted") == "Ivo Brandt"


def test_according_to():
    text = (
        "The line cost 1.2 billion crowns, according to Sela Ostrova, the transport minister.\n"
        "Ridership doubled, according to a report by the Kestrel Institute."
    )
    speech = speech_at(text, "1.2 billion")
    assert (speech.speaker, speech.kind) == ("Sela Ostrova", "according-to")
    assert speaker_at(text, "Ridership doubled") == "the Kestrel Institute"


def test_the_spokesperson_and_the_company_resolve_to_who_was_named():
    text = (
        "Corin Vale, a spokesperson for Hadley Freight, met the press.\n"
        "The spokesperson said the depot would stay open.\n"
        "Hadley Freight declined to give figures.\n"
        "The company said its drivers would not strike."
    )
    assert speaker_at(text, "depot would stay") == "Corin Vale"
    assert speaker_at(text, "drivers would not") == "Hadley Freight"


def test_not_speech_sentences_give_nothing():
    text = (
        "The new terminal opened in May.\n"
        "Its roof, shaped like a “sail in the wind”, was built in Ostrava.\n"
        "Passengers can buy tickets online."
    )
    assert find_speech(text) == ()


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \n\n ",
        "“",
        "”,” said",
        '"He said "she said" they said"',
        "“Unclosed quotation that never ends, he said\n“and goes on",
        "said said said said.",
        "According to",
        "x" * 50_000,
        ('“Mixed quotes," Anna Bell said. "Curly and straight” she added. ' * 400),
    ],
)
def test_odd_text_never_raises(text: str):
    speeches = find_speech(text)
    for speech in speeches:
        assert 0 <= speech.start < speech.end <= len(text)
        assert speech.kind in ("direct", "indirect", "according-to")


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.sampled_from([*"ab AZ.,“”\"'’\n:—", "said ", "he ", "The ", "Ann Lee "])).map(
        "".join
    )
)
def test_random_text_never_raises(text: str):
    for speech in find_speech(text):
        assert text[speech.start : speech.end].strip()


@pytest.mark.skipif(not SEED.exists(), reason="the seed article is not in ../shared/seed")
def test_seed_article_peskov_and_trump():
    from assistant.corpus import load_corpus

    text = load_corpus(SEED).articles[0].text  # the text as the index stores it
    speech = speech_at(text, "There is a position on this matter")
    assert speech is not None
    assert speech.speaker == "Dmitry Peskov"
    assert speech.role == "Putin’s spokesperson"
    assert speech.kind == "direct"
    quoted = text[speech.start : speech.end]
    assert quoted.startswith("“There is a position") and quoted.endswith("Peskov said.")
    assert "I have nothing to add" in quoted  # both sentences, one Speech
    assert not any(s.speaker and "Lavrov" in s.speaker for s in find_speech(text) if s is speech)
    assert speaker_at(text, "Yeah, he will accept that") == "Donald Trump"
    assert speaker_at(text, "I specifically asked him") == "Donald Trump"
