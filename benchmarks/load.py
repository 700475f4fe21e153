"""Load on the web app and on the Python API: one client, then many at once; errors, latency,
throughput and memory.

    python benchmarks/load.py [--corpus corpus] [--index benchmarks/out/load-index]
                              [--clients 16] [--questions 25] [--face both|web|api]
                              [--timeout 60] [--json FILE]

Web: starts the real app (``briefing serve``, run as ``python -m assistant.cli serve``) on
127.0.0.1 and a free port, building the index first if missing; waits until it answers; asks
one warm-up question (not counted); then one gradio_client ``Client`` asks ``--questions``
questions in turn, then ``--clients`` Clients, each its own, ask ``--questions`` each at once.
Python API: the same with one ``Assistant`` in this process, from one thread and then from
``--clients`` threads. Every question starts a new conversation (a new Gradio session; no
history), so both faces ask the same standalone questions.

A question is an error when it raises, times out or the page shows an error notice; it is
"unexpected" when a question about the briefing is refused or an off-topic one is answered.
Throughput is questions per second of wall time; the ratio is many clients against one.
Memory is the RSS (VmRSS, and VmHWM as the peak) of the server process, or of this one.

Bounded and loopback only: every question has a timeout (``--timeout`` seconds), so does the
server's start, and the server is stopped (SIGINT, then SIGKILL) whatever happens; it also
dies with this process (PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import argparse
import ctypes
import json
import math
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "out"
CPUS = os.cpu_count() or 1

# the web app's example questions (assistant.web.DEMO_QUESTIONS), kept here so the list the
# figures were measured on does not move when the app's examples change
DEMO_QUESTIONS = (
    "How many jobs are at risk at the Eastbank terminal?",
    "What did Odile Brack deny?",
    "When did the harbour board vote on the Eastbank automation plan?",
    "How much will the Eastbank automation cost?",
    "What happened after Ketterby admitted the breach?",
)
MORE_QUESTIONS = (  # about the demo articles in corpus/
    "How many ships waited off Brennmouth during the Eastbank strike?",
    "Who chairs the board of the Brennmouth Harbour Authority?",
    "What did Agnes Thorlby say about ports that do not modernise?",
    "How low has the Stennet Reservoir fallen?",
    "How much water may each person in Ardval use per day under rationing?",
    "Why did Lidia Brannock refuse to enforce water rationing?",
    "What did the Administrative Court rule about the water agency's powers?",
    "How many farmers marched in Tarnholt against the irrigation cut?",
    "How much did water use in Ardval fall in the first week of rationing?",
    "How many Wendmoor residents had their personal data exposed?",
    "Who found the unprotected server holding Wendmoor residents' data?",
    "Why did the Data Protection Commissioner open an inquiry into Ketterby?",
    "How did Wendmoor councillors vote on the Ketterby contract?",
    "What share of Eastbank dockers voted to accept the deal with Corvane?",
    "Why did Odile Brack resign?",
    "Did the Kremlin accept European peacekeepers in Ukraine?",
)
OFF_TOPIC = (  # must be refused
    "What is the weather like in Tokyo?",
    "How do I bake sourdough bread at home?",
    "Who wrote the novel Moby-Dick?",
)
QUESTIONS = DEMO_QUESTIONS + MORE_QUESTIONS + OFF_TOPIC

Ask = Callable[[str], tuple[str, str]]
"""Asks one question; returns (outcome: "answered" | "refused" | "error", detail)."""


@dataclass(frozen=True)
class Result:
    client: int
    question: str
    seconds: float
    outcome: str
    detail: str = ""

    @property
    def unexpected(self) -> bool:
        if self.outcome == "error":
            return False
        return (self.outcome == "refused") != (self.question in OFF_TOPIC)


# -- measuring -------------------------------------------------------------------------------
def questions_for(client: int, n: int) -> list[str]:
    """``n`` questions from the fixed list, each client starting at another place in it."""
    start = client * 7 % len(QUESTIONS)
    return [QUESTIONS[(start + i) % len(QUESTIONS)] for i in range(n)]


def run_phase(asks: Sequence[Ask], n: int, timeout: float) -> tuple[list[Result], float, bool]:
    """Each ask (one per client) asks ``n`` questions in turn, all clients at once.

    Returns the results, the wall time and whether the phase ran out of time (then the
    questions still running are missing from the results)."""

    def one_client(client: int) -> list[Result]:
        results = []
        for question in questions_for(client, n):
            started = time.perf_counter()
            try:
                outcome, detail = asks[client](question)
            except Exception as exc:  # any failure is a figure, not a crash
                outcome, detail = "error", f"{type(exc).__name__}: {exc}"[:300]
            seconds = time.perf_counter() - started
            if seconds > timeout and outcome != "error":
                outcome, detail = "error", f"took {seconds:.1f} s, over the {timeout:g} s timeout"
            results.append(Result(client, question, seconds, outcome, detail))
        return results

    pool = ThreadPoolExecutor(max_workers=len(asks), thread_name_prefix="load-client")
    started = time.perf_counter()
    futures = [pool.submit(one_client, c) for c in range(len(asks))]
    done, pending = wait(futures, timeout=n * timeout + 30)
    wall = time.perf_counter() - started
    pool.shutdown(wait=not pending, cancel_futures=True)
    return [r for f in done for r in f.result()], wall, bool(pending)


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def figures(results: list[Result], wall: float, clients: int, timed_out: bool) -> dict[str, Any]:
    seconds = [r.seconds for r in results]
    return {
        "clients": clients,
        "questions": len(results),
        "errors": sum(r.outcome == "error" for r in results),
        "unexpected": sum(r.unexpected for r in results),
        "answered": sum(r.outcome == "answered" for r in results),
        "refused": sum(r.outcome == "refused" for r in results),
        "timed_out": timed_out,
        "wall_s": round(wall, 3),
        "throughput_qps": round(len(results) / wall, 3) if wall else None,
        "p50_s": percentile(seconds, 50),
        "p95_s": percentile(seconds, 95),
        "max_s": max(seconds, default=None),
        "mean_s": sum(seconds) / len(seconds) if seconds else None,
        "error_examples": sorted({r.detail for r in results if r.outcome == "error"})[:5],
        "results": [asdict(r) for r in results],
    }


def measure(
    face: str, asks: Sequence[Ask], args: argparse.Namespace, pids: dict[str, int | str]
) -> dict[str, Any]:
    """One client, then ``len(asks)`` at once; the figures of both and the ratio. ``pids``
    names the processes doing the work (this one, the server), to tell their CPU from others'."""
    phases = {}
    for key, clients in (("one", asks[:1]), ("many", asks)):
        print(f"{face}: {len(clients)} x {args.questions} questions", file=sys.stderr, flush=True)
        before = cpu_seconds(pids)
        results, wall, timed_out = run_phase(clients, args.questions, args.timeout)
        used = {name: spent - before[name] for name, spent in cpu_seconds(pids).items()}
        phases[key] = figures(results, wall, len(clients), timed_out)
        share = {name: round(spent / (wall * CPUS), 3) for name, spent in used.items()}
        ours = sum(share[name] for name in pids)
        phases[key]["cpu_share"] = {**share, "others": round(max(0.0, share["machine"] - ours), 3)}
    one, many = phases["one"]["throughput_qps"], phases["many"]["throughput_qps"]
    return {**phases, "ratio": round(many / one, 3) if one and many else None}


def cpu_seconds(pids: dict[str, int | str]) -> dict[str, float]:
    """CPU seconds used so far by each named process, and ``machine``: by all processes."""
    tick = os.sysconf("SC_CLK_TCK")
    spent = {}
    for name, pid in pids.items():  # utime and stime, the 14th and 15th fields
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        spent[name] = (int(fields[11]) + int(fields[12])) / tick
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(
        int, Path("/proc/stat").read_text().split()[1:9]
    )
    return {**spent, "machine": (user + nice + system + irq + softirq + steal) / tick}


def warm_up(ask: Ask) -> tuple[float, str]:
    """Ask the first question once, uncounted (first questions load lazily): (seconds, outcome)."""
    started = time.perf_counter()
    try:
        outcome, detail = ask(QUESTIONS[0])
    except Exception as exc:
        raise RuntimeError(
            f"the warm-up question failed ({type(exc).__name__}: {exc}); nothing was measured"
        ) from exc
    if outcome == "error":
        raise RuntimeError(f"the warm-up question failed ({detail}); nothing was measured")
    return round(time.perf_counter() - started, 3), outcome


def memory_mib(pid: int | str = "self") -> dict[str, float]:
    """VmRSS and VmHWM (peak RSS) of a process, in MiB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields["rss" if name == "VmRSS" else "peak"] = round(int(value.split()[0]) / 1024, 1)
    return fields


# -- the web app -----------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:  # in the child, before exec
    ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


@contextmanager
def server(corpus: Path, index: Path, start_timeout: float) -> Iterator[tuple[int, str]]:
    """``briefing serve`` on 127.0.0.1 and a free port: (pid, url) once it answers."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    log_path = OUT / "load-serve.log"
    env = {k: v for k, v in os.environ.items() if k not in ("BRIEFING_AUTH", "BRIEFING_HOST")}
    env["GRADIO_ANALYTICS_ENABLED"] = "False"
    command = [sys.executable, "-m", "assistant.cli", "serve", "--corpus", str(corpus)]
    command += ["--index", str(index), "--host", "127.0.0.1", "--port", str(port)]
    with log_path.open("w") as log:
        proc = subprocess.Popen(  # the briefing entry point, with this checkout on the path
            command,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,
        )
    try:
        deadline = time.monotonic() + start_timeout
        while True:
            if proc.poll() is not None:
                tail = log_path.read_text()[-2000:]
                raise RuntimeError(f"the server exited with {proc.returncode}:\n{tail}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"the server did not answer within {start_timeout:g} s")
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                time.sleep(0.5)
        yield proc.pid, url
    finally:
        proc.send_signal(signal.SIGINT)  # as Ctrl+C: the app closes its index
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def ask_endpoint(client: Any) -> str:
    """The api name of the ask handler: the shortest one whose first input is the question."""
    endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    names = [
        name
        for name, endpoint in endpoints.items()
        if [p["parameter_name"] for p in endpoint["parameters"]][:2] == ["question", "chat"]
    ]
    if not names:
        raise RuntimeError(f"no ask endpoint among {sorted(endpoints)}")
    return min(names, key=len)


def classify(chat: list[dict[str, Any]], notice: str) -> tuple[str, str]:
    """The outcome shown in the page: the last chat message and the notice."""
    last = chat[-1] if chat else {}
    content = last.get("content")
    if isinstance(content, list):
        content = "".join(part.get("text") or "" for part in content if isinstance(part, dict))
    html = str(content or "")
    if "briefing-error" in html or "briefing-error" in (notice or ""):
        return "error", (notice or html)[:300]
    if last.get("role") != "assistant":
        return "error", "no answer in the chat"
    if "briefing-refusal" in html:
        return "refused", ""
    if "briefing-lead" in html:
        return "answered", ""
    return "error", f"unrecognised answer: {html[:200]}"


def web_asker(client: Any, api_name: str, timeout: float) -> Ask:
    """Ask through ``client`` as the page does, each question in a new session (no history)."""

    def ask(question: str) -> tuple[str, str]:
        client.reset_session()
        job = client.submit(
            question=question, chat=[], sources=[], since="", until="", api_name=api_name
        )
        try:
            chat, _question_box, notice = job.result(timeout=timeout)
        except TimeoutError:
            job.cancel()
            raise
        return classify(chat, notice)

    return ask


def web_face(args: argparse.Namespace) -> dict[str, Any]:
    from gradio_client import Client

    started = time.perf_counter()
    with server(args.corpus, args.index, args.start_timeout) as (pid, url):
        start_s = time.perf_counter() - started
        memory = {"ready": memory_mib(pid)}
        clients: list[Any] = []
        try:
            for _ in range(args.clients):
                clients.append(
                    Client(
                        url, verbose=False, analytics_enabled=False, httpx_kwargs={"timeout": 30}
                    )
                )
            api_name = ask_endpoint(clients[0])
            asks = [web_asker(c, api_name, args.timeout) for c in clients]
            warm_s, warm_outcome = warm_up(asks[0])
            memory["before"] = memory_mib(pid)
            figures_ = measure("web", asks, args, {"benchmark": "self", "server": pid})
            memory["after"] = memory_mib(pid)
        finally:
            for client in clients:
                client.close()
    return {
        "url": url,
        "api_name": api_name,
        "server_start_s": round(start_s, 2),
        "warmup_s": warm_s,
        "warmup_outcome": warm_outcome,
        "server_memory_mib": memory,
        **figures_,
    }


# -- the Python API --------------------------------------------------------------------------
def api_face(args: argparse.Namespace) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT))  # this checkout, whatever the installed package points at
    from assistant import Assistant, Settings

    memory = {"start": memory_mib()}
    started = time.perf_counter()
    with Assistant.open(Settings(corpus=args.corpus, index_dir=args.index)) as assistant:
        open_s = time.perf_counter() - started

        def ask(question: str) -> tuple[str, str]:
            return ("refused" if assistant.ask(question).refused else "answered"), ""

        warm_s, warm_outcome = warm_up(ask)
        memory["before"] = memory_mib()
        figures_ = measure("api", [ask] * args.clients, args, {"benchmark": "self"})
        memory["after"] = memory_mib()
    return {
        "open_s": round(open_s, 2),
        "warmup_s": warm_s,
        "warmup_outcome": warm_outcome,
        "process_memory_mib": memory,
        **figures_,
    }


# -- report ----------------------------------------------------------------------------------
def _s(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def table(report: dict[str, Any]) -> str:
    """One row per phase; CPU is the share of all CPUs used by the measured processes (ours)
    and by everything else on the machine (others)."""
    lines = [
        f"{'face':<5} {'clients':>7} {'asked':>5} {'errors':>6} {'unexp':>5} {'p50 s':>6} "
        f"{'p95 s':>6} {'max s':>6} {'q/s':>6} {'ratio':>5} {'CPU ours/others':>15}  "
        "RSS MiB before -> after (peak)"
    ]
    errors = []
    for face, memory_key in (("web", "server_memory_mib"), ("api", "process_memory_mib")):
        if face not in report:
            continue
        data, memory = report[face], report[face][memory_key]
        for key in ("one", "many"):
            row = data[key]
            last = key == "many"
            share = row["cpu_share"]
            cpu = f"{share['machine'] - share['others']:.0%}/{share['others']:.0%}"
            rss = (
                f"{memory['before']['rss']:,.0f} -> {memory['after']['rss']:,.0f} "
                f"({memory['after']['peak']:,.0f})"
            )
            lines.append(
                f"{face:<5} {row['clients']:>7} {row['questions']:>5} {row['errors']:>6} "
                f"{row['unexpected']:>5} {_s(row['p50_s']):>6} {_s(row['p95_s']):>6} "
                f"{_s(row['max_s']):>6} {_s(row['throughput_qps']):>6} "
                f"{_s(data['ratio']) if last else '':>5} {cpu:>15}  {rss if last else ''}"
                + ("  (ran out of time)" if row["timed_out"] else "")
            )
            errors += [f"{face} error: {example}" for example in row["error_examples"]]
    return "\n".join(lines + errors)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=ROOT / "corpus")
    parser.add_argument("--index", type=Path, default=OUT / "load-index")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients (16)")
    parser.add_argument("--questions", type=int, default=25, help="questions per client (25)")
    parser.add_argument("--face", choices=("both", "web", "api"), default="both")
    parser.add_argument("--timeout", type=float, default=60, help="seconds per question (60)")
    parser.add_argument("--start-timeout", type=float, default=600, help="server start (600 s)")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()
    if args.clients < 1 or args.questions < 1 or args.timeout <= 0:
        parser.error("--clients and --questions take N >= 1, --timeout a positive number")
    args.corpus, args.index = args.corpus.resolve(), args.index.resolve()
    OUT.mkdir(parents=True, exist_ok=True)
    # SIGTERM unwinds like Ctrl+C, so the server is stopped; loopback never goes through a proxy
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    for name in ("NO_PROXY", "no_proxy"):
        os.environ[name] = ",".join(filter(None, [os.environ.get(name), "127.0.0.1", "localhost"]))

    report: dict[str, Any] = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "cpus": CPUS,
        "load_average_at_start": os.getloadavg(),  # other work on the machine skews the figures
        "corpus": str(args.corpus),
        "index": str(args.index),
        "questions_list": list(QUESTIONS),
        "off_topic": list(OFF_TOPIC),
    }
    try:
        if args.face in ("both", "web"):
            report["web"] = web_face(args)
        if args.face in ("both", "api"):
            report["api"] = api_face(args)
    except (RuntimeError, OSError) as exc:  # TimeoutError is an OSError
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(table(report))
    print(f"{report['cpus']} CPUs, load average at start {report['load_average_at_start'][0]:.2f}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2))
        print(f"wrote {args.json}", file=sys.stderr)
    phases = [report[f][k] for f in ("web", "api") if f in report for k in ("one", "many")]
    stuck = any(phase["timed_out"] for phase in phases)
    if stuck:  # threads still asking would keep the process alive
        sys.stdout.flush()
        os._exit(1)
    return 1 if any(phase["errors"] for phase in phases) else 0


if __name__ == "__main__":
    sys.exit(main())
