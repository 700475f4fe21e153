"""The ``briefing`` command: a thin layer over the Python API.

Exit status: 0 done; 1 an error stopped the command (the index in use is unchanged);
2 bad command-line usage; 3 done, but some article files were skipped (listed on stderr).

Usage is checked in full before anything slow starts (loading the model, indexing): an empty
question, an unreadable date, ``--passages`` without ``--json``, an empty date range, a bad
``--limit`` or ``--port`` exit 2 at once; an output file ``eval`` could not write exits 1
before indexing. Library errors and OS errors become one ``error: ...`` line on stderr.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from . import BriefingError, ConfigError, Settings
from . import cli_checks as checks
from .cli_story import add_commands as add_story_commands

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_SKIPPED = 0, 1, 2, 3
DAY = checks.DAY

logger = logging.getLogger(__name__)

_STAGE_LABELS = {
    "chunking": "Chunking",
    "embedding": "Embedding",
    "writing": "Writing",
    "attributing": "Finding speakers",
}


class _ProgressBars:
    """One tqdm bar per stage, shown only on a terminal (with time left from tqdm's rate)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._bars: dict[str, Any] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled or total == 0:
            return
        from tqdm import tqdm

        bar = self._bars.get(stage)
        if bar is None:
            unit = "article" if stage in ("chunking", "attributing") else "chunk"
            bar = self._bars[stage] = tqdm(
                total=total, desc=_STAGE_LABELS.get(stage, stage), unit=unit, file=sys.stderr
            )
        bar.update(done - bar.n)
        if done >= total:
            bar.close()

    def close(self) -> None:
        for bar in self._bars.values():
            bar.close()


def _settings(args: argparse.Namespace) -> Settings:
    given: dict[str, Any] = {}
    if getattr(args, "corpus", None) is not None:
        given["corpus"] = args.corpus
    if getattr(args, "index", None) is not None:
        given["index_dir"] = args.index
    if getattr(args, "llm", None) is not None:
        given["llm"] = args.llm
    if getattr(args, "llm_base_url", None) is not None:
        given["llm_base_url"] = args.llm_base_url
    try:
        return Settings(**given)
    except ValidationError as exc:  # a bad BRIEFING_* variable: one line, not a traceback
        wrong = "; ".join(
            f"BRIEFING_{'__'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(f"invalid setting ({wrong}); fix or unset the variable") from exc


def cmd_index(args: argparse.Namespace) -> int:
    from . import sync_index

    bars = _ProgressBars(enabled=sys.stderr.isatty() and not args.quiet)
    try:
        report = sync_index(
            _settings(args),
            rebuild=args.rebuild,
            compact=args.compact,
            reread=args.reread,
            progress=bars,
        )
    finally:
        bars.close()
    for problem in report.problems:
        print(
            f"warning: {problem}" if not problem.skipped else f"skipped: {problem}", file=sys.stderr
        )
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print(report.summary())
    return EXIT_SKIPPED if report.skipped else EXIT_OK


def cmd_ask(args: argparse.Namespace) -> int:
    from . import Assistant, Filters, TextPiece

    settings = _settings(args)
    filters = Filters(
        sources=tuple(args.source or ()),
        start_ts=args.since,
        end_ts=args.until + DAY if args.until is not None else None,
    )
    bars = _ProgressBars(enabled=sys.stderr.isatty() and not args.quiet)
    try:
        assistant = Assistant.open(settings, progress=bars, reference_date=args.reference_date)
    finally:
        bars.close()
    written: list[str] = []  # the text as it streams in, shown as it comes
    with assistant:
        for event in assistant.stream(args.question, filters=filters):
            if isinstance(event, TextPiece):
                written.append(event.text)
                if not args.json:
                    print(event.text, end="", flush=True)
            else:
                answer = event
    if args.json:
        print(json.dumps(answer.to_dict(passages=args.passages), indent=2, ensure_ascii=False))
    elif "".join(written) == answer.answer:
        print()
    else:  # a refusal, or checks changed what was streamed: the answer as it stands
        print(("\n\n--- checked answer ---\n" if written else "") + answer.answer)
    if answer.disagreements and not args.json:
        print("\nSources disagree:")
        for found in answer.disagreements:
            print(f"- {found.why} ({found.kind})")
    return EXIT_OK


def cmd_eval(args: argparse.Namespace) -> int:
    from . import Assistant
    from .evaluation import run_eval
    from .report import render_html

    settings = _settings(args)
    queries = checks.load_queries_file(args.queries)[: args.limit]
    outputs = checks.eval_outputs(args)
    for path, what in outputs:  # before indexing, which can take minutes
        checks.check_writable(path, what)
    show = sys.stderr.isatty() and not args.quiet
    bars = _ProgressBars(enabled=show)
    try:
        from . import sync_index

        report = sync_index(settings, progress=bars)
    finally:
        bars.close()
    print(report.summary(), file=sys.stderr)
    for path, what in outputs:
        checks.make_parent(path, what)
    from tqdm import tqdm

    log = args.log or (args.json.with_suffix(".jsonl") if args.json else None)
    with Assistant.open(settings, build_if_missing=False) as assistant:
        questions = tqdm(queries, desc="Questions", unit="q", file=sys.stderr, disable=not show)
        run = run_eval(assistant, questions, log=log)
    figures = run.report()
    figures["chunk_tokens"] = settings.chunk_tokens
    figures["llm"] = settings.llm
    _print_figures(figures)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2), encoding="utf-8")
        report_file = args.json.with_suffix(".html")
        report_file.write_text(
            render_html(
                figures, run.hits_curves(), run.latencies_ms, f"Evaluation: {args.queries.name}"
            ),
            encoding="utf-8",
        )
        print(f"wrote {args.json}, {report_file} and the per-question log {log}", file=sys.stderr)
    return EXIT_OK


def _print_figures(figures: dict[str, Any]) -> None:
    """The tables `briefing eval` prints (the same figures go to --json)."""
    from .report import answer_rows, retrieval_rows

    print(f"{'question type':<22}{'n':>6}  Hits@4  Hits@10  MRR@10  docR@10")
    for name, n, *values in retrieval_rows(figures):
        print(f"{name:<22}{n:>6}  " + "  ".join(f"{v:>6.3f}" for v in values))
    ref, quotes, lat = figures["refusal"], figures["quotes"], figures["latency_ms"]
    print(
        f"refusal: {ref['null_refused']:.3f} of {ref['n_null']} null questions refused, "
        f"{ref['answerable_refused']:.3f} of {ref['n_answerable']} answerable ones refused"
    )
    print(
        f"quotes: {quotes['exact']:.3f} exact at their offsets ({quotes['n_quotes']} quotes); "
        f"{quotes['gold_fact_quoted']:.3f} of answerable questions quote a gold fact"
    )
    written_by = "the model" if figures["llm"] != "none" else "composing the quotes"
    print(f"answer accuracy (answers written by {written_by}; null questions: refused):")
    print(f"{'question type':<22}{'n':>6}  answer  always-Yes")
    for name, n, accuracy, yes in answer_rows(figures):
        print(f"{name:<22}{n:>6}  {accuracy:>6.3f}  {yes:>10.3f}")
    if writing := figures.get("writing"):
        print(
            f"model: {figures['llm']} wrote {writing['written']} answers "
            f"({writing['fell_back']} fell back to the composed answer); of its "
            f"{writing['raw_sentences']} sentences {writing['raw_sentences_cited']:.3f} cite a "
            f"quote that exists, {writing['sentences_marked_unsupported']:.3f} were marked "
            f"[unsupported]; quotations verbatim {writing['quotations_verbatim']:.3f} of "
            f"{writing['quotations']}; p50 first token {writing['first_text_ms_p50']:.0f} ms, "
            f"{writing['tokens_per_s_p50']:.1f} tokens/s"
        )
    print(f"latency of ask: p50 {lat['p50']:.0f} ms, p95 {lat['p95']:.0f} ms")


def cmd_serve(args: argparse.Namespace) -> int:
    given: dict[str, Any] = {}
    if args.host:
        given["host"] = args.host
    if args.port:
        given["port"] = args.port
    settings = _settings(args).model_copy(update=given)
    checks.check_bindable(settings.host, settings.port)  # before gradio and the model load
    from .web import serve

    bars = _ProgressBars(enabled=sys.stderr.isatty())
    try:
        serve(settings, progress=bars)
    finally:
        bars.close()
    return EXIT_OK


def _add_paths(
    parser: argparse.ArgumentParser,
    *,
    corpus_help: str = "folder of articles or one collection file (default: corpus/)",
    corpus_required: bool = False,
) -> None:
    parser.add_argument(
        "--corpus", type=Path, metavar="PATH", required=corpus_required, help=corpus_help
    )
    parser.add_argument("--index", type=Path, metavar="DIR", help="index folder (default: index/)")


def _add_llm(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--llm",
        metavar="SPEC",
        help="who writes the answer: 'none' (the quotes, the default), 'llamacpp:PATH.gguf' "
        "or 'openai:MODEL'",
    )
    parser.add_argument(
        "--llm-base-url",
        metavar="URL",
        help="an OpenAI-compatible server for 'openai:MODEL' (llama.cpp, Ollama's /v1, vLLM)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="briefing",
        description="Ask questions of a folder of news articles; answers quote the articles verbatim.",
        epilog="Exit status: 0 done, 1 error (index unchanged), 2 bad usage (checked before "
        "anything slow starts), 3 done but files skipped.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    sub = parser.add_subparsers(dest="command", required=True)

    index = sub.add_parser(
        "index",
        help="build or sync the index with the corpus",
        description="Sync the index with the corpus: new articles are added, changed ones "
        "re-embedded, removed ones deleted. An unchanged corpus is a no-op.",
    )
    _add_paths(index)
    index.add_argument(
        "--rebuild", action="store_true", help="build from scratch (after a settings change)"
    )
    index.add_argument(
        "--compact",
        action="store_true",
        help="merge every segment into one (a sync merges small ones by itself)",
    )
    index.add_argument(
        "--reread",
        action="store_true",
        help="read every file, even those whose size and times have not changed since the "
        "last sync",
    )
    index.add_argument("--json", action="store_true", help="print the report as JSON")
    index.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    index.set_defaults(func=cmd_index, subparser=index)

    ask = sub.add_parser(
        "ask",
        help="answer a question with verified quotes",
        description="Answer a question from the index with verbatim, cited quotes, or say that "
        "the articles do not answer it. Builds the index first if there is none.",
    )
    ask.add_argument("question", metavar="QUESTION")
    _add_paths(ask)
    _add_llm(ask)
    ask.add_argument(
        "--source",
        action="append",
        type=checks.nonempty,
        metavar="NAME",
        help="only articles from this source (repeatable)",
    )
    ask.add_argument(
        "--since",
        type=checks.date_ts,
        metavar="DATE",
        help="only articles published on or after this date",
    )
    ask.add_argument(
        "--until",
        type=checks.date_ts,
        metavar="DATE",
        help="only articles published on or before this date",
    )
    ask.add_argument(
        "--reference-date",
        type=checks.day,
        metavar="DATE",
        help="'today' for relative dates like 'last week'",
    )
    ask.add_argument("--json", action="store_true", help="print the answer as JSON")
    ask.add_argument(
        "--passages", action="store_true", help="with --json: include the retrieved passages"
    )
    ask.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    ask.set_defaults(func=cmd_ask, subparser=ask)

    ev = sub.add_parser(
        "eval",
        help="measure retrieval, quotes, refusals and latency on a question set",
        description="Answer every question of a MultiHop-RAG-format file and print Hits@4/10, "
        "MRR@10, document Recall@10 per question type, refusal rates, quote checks and latency.",
    )
    ev.add_argument(
        "queries",
        type=Path,
        metavar="QUERIES",
        help="JSON (or .json.gz) list of {query, answer, question_type, evidence_list}",
    )
    _add_paths(ev, corpus_help="the corpus the questions are about", corpus_required=True)
    _add_llm(ev)
    ev.add_argument(
        "--limit", type=checks.positive_int, metavar="N", help="only the first N questions (N >= 1)"
    )
    ev.add_argument(
        "--json",
        type=checks.out_file,
        metavar="FILE",
        help="write the figures here, an HTML report beside it (.html); missing folders are made",
    )
    ev.add_argument(
        "--log",
        type=checks.out_file,
        metavar="FILE",
        help="per-question JSONL log (default: beside --json, .jsonl)",
    )
    ev.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    ev.set_defaults(func=cmd_eval, subparser=ev)

    serve = sub.add_parser(
        "serve",
        help="serve the web UI (as python app.py)",
        description="Open the index (building it first if missing) and serve the web UI on "
        "127.0.0.1:7860 unless --host/--port or BRIEFING_HOST/BRIEFING_PORT say otherwise.",
    )
    _add_paths(serve)
    _add_llm(serve)
    serve.add_argument(
        "--host", type=checks.nonempty, metavar="H", help="address to bind (default 127.0.0.1)"
    )
    serve.add_argument(
        "--port", type=checks.port_number, metavar="N", help="port, 1 to 65535 (default 7860)"
    )
    serve.set_defaults(func=cmd_serve, subparser=serve)
    add_story_commands(sub, _add_paths, _synced)
    return parser


def _synced(args: argparse.Namespace) -> Any:
    """The Assistant of ``args``'s settings, its index synced with the corpus first."""
    from . import Assistant, sync_index

    settings = _settings(args)
    bars = _ProgressBars(enabled=sys.stderr.isatty() and not args.quiet)
    try:
        report = sync_index(settings, progress=bars)
    finally:
        bars.close()
    if not args.quiet:
        print(report.summary(), file=sys.stderr)
    return Assistant.open(settings, build_if_missing=False)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)  # bad usage exits 2 here, before anything slow
    checks.check_usage(args)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.func(args))
    except BriefingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except OSError as exc:  # e.g. --index names a file, or a folder without permission
        logger.info("details", exc_info=True)
        where = f": {exc.filename}" if exc.filename else ""
        print(f"error: {exc.strerror}{where}" if exc.strerror else f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("interrupted; the index in use is unchanged", file=sys.stderr)
        return EXIT_ERROR
    except Exception as exc:  # Chroma's errors and our bugs: one line; -v shows the traceback
        logger.info("details", exc_info=True)
        store = type(exc).__module__.startswith("chromadb")
        what = "the vector store (Chroma) failed" if store else "unexpected error"
        print(
            f"error: {what}: {type(exc).__name__}: {exc}; the index in use is unchanged "
            "(run with -v for details" + ("" if store else ", and please report it") + ")",
            file=sys.stderr,
        )
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
