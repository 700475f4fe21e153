"""Score speech attribution on the hand-labelled sentences and time it on the whole corpus.

    python benchmarks/attribution.py [--labels benchmarks/labels/speakers.jsonl] [--errors]

Reads ../shared/data/multihop-rag/corpus.json.gz with the project's loader (offsets are into
``Article.text``) and the labels (one JSON object a line: ``url``, sentence ``start``/``end``,
``speaker`` or null, ``kind`` or null for not speech, ``case``). A labelled sentence is
matched by the Speech whose span holds it; a speaker matches when it equals the label after
case-folding and dropping titles, a leading "the"/"a" and punctuation. A label with no speaker
is right when no Speech holds the sentence or its speaker is None. The same figures are
printed for today's quote-time ``assistant.quotes.speaker_of`` (the sentence and the ones
before it) as the baseline, and, since that names people by the surname a sentence uses, also
a lenient score that compares last words only. ``--errors`` prints each miss with its sentence (to the terminal
only: the article text stays in ../shared).
"""

from __future__ import annotations

import argparse
import json
import re
import time
from collections import defaultdict
from pathlib import Path

from assistant.attribution import Speech, find_speech
from assistant.chunking import split_sentences
from assistant.corpus import load_corpus
from assistant.mentions import TITLES
from assistant.quotes import speaker_of

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "multihop-rag"


def normal(name: str | None) -> str | None:
    """ "President Emmanuel Macron" -> "emmanuel macron"; "The Kremlin" -> "kremlin"."""
    if name is None:
        return None
    words = re.sub(r"[’']s\b|[^\w\s&-]", " ", name.casefold()).split()
    while words and (words[0] in TITLES or words[0] in ("the", "a", "an")):
        words = words[1:]
    return " ".join(words) or None


def _surname(name: str | None) -> str | None:
    """The last word of a normalised name: "Peskov" then counts for "Dmitry Peskov"."""
    words = (normal(name) or "").split()
    return words[-1] if words else None


def holding(speeches: tuple[Speech, ...], start: int, end: int) -> Speech | None:
    return next((s for s in speeches if s.start <= start and end <= s.end), None)


def baseline(text: str, start: int, end: int) -> str | None:
    before = [text[s:e] for s, e in split_sentences(text) if e <= start]
    return speaker_of(text[start:end], before)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DATA / "corpus.json.gz")
    parser.add_argument("--labels", type=Path, default=ROOT / "benchmarks/labels/speakers.jsonl")
    parser.add_argument("--errors", action="store_true", help="print every miss")
    args = parser.parse_args()

    articles = {a.url: a for a in load_corpus(args.corpus).articles}
    labels = [json.loads(line) for line in args.labels.read_text().splitlines() if line.strip()]
    started = time.perf_counter()
    found = {url: find_speech(article.text) for url, article in articles.items()}
    seconds = time.perf_counter() - started
    n_speech = sum(map(len, found.values()))

    rows = []  # (label, ours, base)
    for label in labels:
        article = articles[label["url"]]
        speech = holding(found[label["url"]], label["start"], label["end"])
        base = baseline(article.text, label["start"], label["end"])
        rows.append((label, speech, base))

    def scores(pick):  # pick(speech, base) -> (is speech, speaker)
        right: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        said = truly = both = 0
        for label, speech, base in rows:
            is_speech, speaker = pick(speech, base)
            ok = normal(speaker) == normal(label["speaker"])
            keys = [f"case {label['case']}"]
            if label["kind"] is not None:
                keys += ["all speech", f"kind {label['kind']}"]
            for key in keys:
                right[key][0] += ok
                right[key][1] += 1
            said += is_speech
            truly += label["kind"] is not None
            both += is_speech and label["kind"] is not None
        return right, (both / said if said else 0.0), (both / truly if truly else 0.0)

    ours = scores(lambda s, b: (s is not None, s.speaker if s else None))
    base = scores(lambda s, b: (b is not None, b))
    keys = ["all speech"] + sorted(k for k in ours[0] if k != "all speech")
    print(f"{'speaker accuracy':30} {'n':>4} {'attribution':>12} {'speaker_of':>11}")
    for key in keys:
        (r, n), (rb, _) = ours[0][key], base[0][key]
        print(f"{key:30} {n:>4} {r / n:>12.3f} {rb / n:>11.3f}")
    print(f"{'is-speech precision':30} {'':>4} {ours[1]:>12.3f} {base[1]:>11.3f}")
    print(f"{'is-speech recall':30} {'':>4} {ours[2]:>12.3f} {base[2]:>11.3f}")
    speech_rows = [(lab, s, b) for lab, s, b in rows if lab["kind"] is not None]
    lenient = [
        sum(_surname(got) == _surname(lab["speaker"]) for lab, got in pairs) / len(pairs)
        for pairs in (
            [(lab, s.speaker if s else None) for lab, s, _ in speech_rows],
            [(lab, b) for lab, _, b in speech_rows],
        )
    ]
    print(
        f"{'all speech, last word only':30} {len(speech_rows):>4} {lenient[0]:>12.3f} {lenient[1]:>11.3f}"
    )
    kinds = [(lab["kind"], s.kind) for lab, s, _ in rows if lab["kind"] and s is not None]
    agree = sum(a == b for a, b in kinds) / len(kinds) if kinds else 0.0
    print(f"kind agreement (labelled speech found): {agree:.3f} of {len(kinds)}")
    print(
        f"corpus: {len(articles)} articles, {n_speech:,} speeches, {seconds:.1f} s "
        f"({1000 * seconds / len(articles):.1f} ms an article)"
    )
    if args.errors:
        for label, speech, _ in rows:
            got = speech.speaker if speech else None
            if normal(got) != normal(label["speaker"]):
                text = articles[label["url"]].text[label["start"] : label["end"]]
                print(f"\n[{label['case']}] want {label['speaker']!r} got {got!r}")
                print(f"   {label['url']} {label['start']}")
                print(f"   {text[:300]}")


if __name__ == "__main__":
    main()
