from __future__ import annotations

from datetime import date

from assistant.query import condense, is_follow_up, plan_query, source_aliases

SOURCES = [
    "The Verge",
    "TechCrunch",
    "Fortune",
    "FOX News - Health",
    "FOX News - Lifestyle",
    "The Roar | Sports Writers Blog",
    "Essentially Sports",
]


def test_source_aliases_drop_section_and_leading_article():
    assert source_aliases("FOX News - Health") == {"FOX News - Health", "FOX News"}
    assert source_aliases("The Roar | Sports Writers Blog") == {
        "The Roar | Sports Writers Blog",
        "The Roar",
        "Roar | Sports Writers Blog",
    }


def test_outlets_named_in_a_question_are_matched_to_corpus_sources():
    plan = plan_query(
        "Which company, reported by The Verge and TechCrunch, and in a FOX News piece, made a fortune?",
        SOURCES,
    )
    assert plan.sources == ("The Verge", "TechCrunch", "FOX News - Health", "FOX News - Lifestyle")
    assert plan.unknown_outlets == ()  # "a fortune" is not the outlet Fortune


def test_quoted_outlet_names_and_unknown_outlets():
    plan = plan_query(
        "Does the 'Essentially Sports' article agree with a Bloomberg report and an article "
        "from The Financial Times about the fight?",
        SOURCES,
    )
    assert plan.sources == ("Essentially Sports",)
    assert plan.unknown_outlets == ("Bloomberg", "Financial Times")


def test_people_and_companies_are_not_taken_for_outlets():
    plan = plan_query("Which company was sued by Apple, according to Tim Cook?", SOURCES)
    assert plan.unknown_outlets == () and plan.sources == ()


def test_dates_in_the_question_become_a_scope():
    plan = plan_query(
        "What did TechCrunch report on October 7, 2023?", SOURCES, reference=date(2023, 12, 20)
    )
    assert plan.scope.days == ("2023-10-07",)
    assert plan.sources == ("TechCrunch",)


def test_follow_ups_get_the_earlier_question_as_topic():
    first = "Did the Kremlin accept European peacekeepers in Ukraine?"
    assert not is_follow_up(first)
    follow = condense("What did the Kremlin say about that?", [first])
    assert follow == (
        "What did the Kremlin say about that (about: Did the Kremlin accept European "
        "peacekeepers in Ukraine)?"
    )
    again = condense("And when was that?", [first, follow])
    assert again.startswith("And when was that (about: What did the Kremlin say about that")
    assert again.count("(about:") == 1
    # a question that stands on its own is left alone
    assert condense("How many dockworkers went on strike at the port of Valmere?", [first]) == (
        "How many dockworkers went on strike at the port of Valmere?"
    )
    assert condense("What about that?", []) == "What about that?"
