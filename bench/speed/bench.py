"""make bench: this service against raw faster-whisper and a peer server, in one run, on the same audio and options.

Sides: this service (`whisperapi serve` as `make run` builds it, embedded) through its OpenAI route and its native
route; raw faster-whisper in a process of its own (sequential, and `BatchedInferencePipeline`); PyPI
`faster-whisper-server` 0.0.3 in its own virtualenv, at batch sizes 1 and 8. Every side uses the same model files
(tiny.en), int8, beam 5 and every core.

Figures (each repeated BENCH_REPEAT times, the sides in turn round after round; the best is compared, the spread
printed):
- LONG: >= 5 minutes of real human speech (Debian's LibriVox clips, joined), and its word accuracy on every side;
- BURST: 10 short clips submitted at once;
- MIXED: the long file and the 10 clips together: the clips' median latency against their latency alone;
- HTTP: wrk on GET /api/v1/status/:id, the list and a text result against /health on the same server, in rounds;
- PICKUP: enqueue -> active, median, on the embedded queue and on Redis;
- the whisper.cpp engine (WHISPER_ENGINE=whisper.cpp) on LONG and BURST, with its word accuracy.
"""
from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable

import requests

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from e2e import support  # noqa: E402
from e2e.support import Server, free_port, librivox_audio, read_wav, words  # noqa: E402
from engine.models import model_path  # noqa: E402

REPEAT = int(os.environ.get("BENCH_REPEAT", "2"))
HTTP_ROUNDS = int(os.environ.get("BENCH_HTTP_ROUNDS", "3"))
THREADS = os.cpu_count() or 2
PEER_PYTHON = ROOT / ".venv-peer" / "bin" / "python"
HERE = Path(__file__).resolve().parent


# MARK: - Accuracy


def word_accuracy(reference: str, hypothesis: str) -> float:
    """1 - word error rate (Levenshtein over words; "mr" is read as "mister")."""
    def normal(text: str) -> list[str]:
        return ["mister" if word == "mr" else word for word in words(text)]

    ref, hyp = normal(reference), normal(hypothesis)
    previous = list(range(len(hyp) + 1))
    for i, word in enumerate(ref, start=1):
        current = [i] + [0] * len(hyp)
        for j, other in enumerate(hyp, start=1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (word != other))
        previous = current
    return 1 - previous[-1] / max(1, len(ref))


# MARK: - Sides


def timed(run: Callable[[], list[str]]) -> tuple[float, list[str]]:
    started = time.perf_counter()
    texts = run()
    return time.perf_counter() - started, texts


def openai_request(base: str, key: str | None, path: Path, model_field: str = "model") -> str:
    with open(path, "rb") as handle:
        response = requests.post(
            base + "/v1/audio/transcriptions", headers={"Authorization": f"Bearer {key}"} if key else {},
            files={"file": (path.name, handle, "audio/wav")}, data={model_field: "whisper-1", "response_format": "json"},
            timeout=3600,
        )
    response.raise_for_status()
    return response.json()["text"]


def native_request(server: Server, key: str, path: Path) -> tuple[str, float]:
    """Submits through the native route, follows the status until done; returns the text and the latency."""
    started = time.perf_counter()
    transcription = server.submit(key, path).json()["data"]["transcriptionId"]
    while True:
        status = server.status(key, transcription)
        if status["status"] in ("COMPLETED", "FAILED", "CANCELLED"):
            break
        time.sleep(0.05)
    latency = time.perf_counter() - started
    assert status["status"] == "COMPLETED", status
    return server.get(key, f"/api/v1/transcriptions/{transcription}/result?format=text").text, latency


def at_once(function: Callable, items: list) -> list:
    with ThreadPoolExecutor(max_workers=len(items)) as pool:
        return list(pool.map(function, items))


def raw(mode: str, files: list[Path]) -> tuple[float, list[str]]:
    """Raw faster-whisper in its own process; its own clock (model load excluded)."""
    done = subprocess.run(
        [sys.executable, str(HERE / "raw.py"), mode, *map(str, files)], capture_output=True, text=True, check=True,
        env={**os.environ, "BENCH_THREADS": str(THREADS)},
    )
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    return answer["seconds"], answer["texts"]


class Peer:
    """faster-whisper-server 0.0.3, in .venv-peer, configured like our engine."""

    def __init__(self, batch_size: int, folder: Path) -> None:
        self.batch_size = batch_size
        config = folder / f"peer-{batch_size}.yaml"
        config.write_text(json.dumps({
            "batch_size": batch_size,
            "model_options": {"device": "cpu", "compute_type": "int8", "cpu_threads": THREADS},
            "models": [{"name": "whisper-1", "path": model_path("tiny.en"), "transcribe_options": {"beam_size": 5}}],
        }))
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [str(PEER_PYTHON), "-m", "faster_whisper_server", "--config", str(config), "--host", "127.0.0.1", "--port", str(self.port)],
            stdout=subprocess.DEVNULL, stderr=open(folder / f"peer-{batch_size}.log", "wb"),
        )
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                if requests.get(self.base + "/health", timeout=1).ok:
                    return
            except requests.RequestException:
                time.sleep(0.3)
        raise RuntimeError("the peer did not start")

    def transcribe(self, path: Path) -> str:
        return openai_request(self.base, None, path, model_field="model_name")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait()


# MARK: - Report


class Report:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def say(self, text: str) -> None:
        print(text, flush=True)
        self.lines.append(text)

    def figure(self, label: str, runs: list[float], unit: str = "s") -> float:
        best = min(runs)
        spread = f" (runs: {', '.join(f'{run:.2f}' for run in runs)})" if len(runs) > 1 else ""
        self.say(f"  {label:<34} {best:8.2f} {unit}{spread}")
        return best

    def ratio(self, label: str, ours: float, theirs: float, target: str) -> None:
        self.say(f"  {label:<52} {ours / theirs:6.2f}x   (target {target})")


def in_rounds(
    sides: dict[str, Callable[[], tuple[float, list[str]]]], rounds: int = REPEAT,
) -> dict[str, tuple[list[float], list[str]]]:
    """Each side's figures (one a round) and its last texts, the sides run in turn round after round."""
    found: dict[str, tuple[list[float], list[str]]] = {label: ([], []) for label in sides}
    for _ in range(rounds):
        for label, run in sides.items():
            seconds, texts = run()
            found[label] = (found[label][0] + [seconds], texts)
    return found


def wrk(url: str, key: str | None, seconds: int = 5) -> float:
    """Requests per second from wrk (2 threads, 32 connections)."""
    command = ["wrk", "-t2", "-c32", f"-d{seconds}s", url]
    if key:
        command[1:1] = ["-H", f"Authorization: Bearer {key}"]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))


def http_rounds(base: str, key: str, paths: dict[str, str]) -> dict[str, list[float]]:
    """Requests/s of each route, HTTP_ROUNDS times in turn with /health, so that each ratio compares two figures taken
    moments apart (on this shared machine /health alone swings by 2x between minutes)."""
    found = in_rounds({
        name: (lambda path=path, name=name: (wrk(base + path, None if name == "/health" else key), []))
        for name, path in paths.items()
    }, HTTP_ROUNDS)
    return {name: runs for name, (runs, _) in found.items()}


def pickup_embedded(server: Server, key: str, clip: Path, count: int = 15) -> list[float]:
    """Enqueue -> active of jobs submitted one at a time to an idle worker, from the embedded queue's own table."""
    import sqlite3

    ids = []
    for _ in range(count):
        transcription = server.submit(key, clip).json()["data"]["transcriptionId"]
        server.wait_for(key, transcription, {"COMPLETED"}, timeout=120)
        ids.append(transcription)
    with sqlite3.connect(server.data_dir / "whisperapi.sqlite") as db:
        rows = db.execute(
            f"SELECT processed_at - created_at FROM queue_jobs WHERE job_id IN ({','.join('?' * len(ids))})", ids
        ).fetchall()
    return [float(row[0]) for row in rows if row[0] is not None]


def pickup_redis(server: Server, key: str, clip: Path, redis_url: str, count: int = 15) -> list[float]:
    """Enqueue -> active on Redis: the BullMQ job hash's timestamp and processedOn."""
    import redis

    client = redis.Redis.from_url(redis_url)
    delays = []
    for _ in range(count):
        transcription = server.submit(key, clip).json()["data"]["transcriptionId"]
        job = server.status(key, transcription).get("jobId") or transcription
        server.wait_for(key, transcription, {"COMPLETED"}, timeout=120)
        added, processed = client.hmget(f"bull:transcription:{job}", "timestamp", "processedOn")
        if added and processed:
            delays.append(float(processed) - float(added))
    return delays


def main() -> None:
    support.BINARY = Path(os.environ.get("WHISPERAPI_BIN", ROOT / ".build" / "release" / "whisperapi"))
    redis_url = sys.argv[1] if len(sys.argv) > 1 else None
    report = Report()
    folder = Path(tempfile.mkdtemp(prefix="whisperapi-bench-"))
    long, long_reference, shorts, _ = librivox_audio(folder)
    seconds = len(read_wav(long)) / 16000
    report.say(f"make bench: tiny.en int8, beam 5, {THREADS} threads; LONG {seconds:.0f} s of LibriVox speech, BURST 10 clips; "
               f"{REPEAT} runs each")
    env = {"QUEUE_CONCURRENCY": "16", "LOG_LEVEL": "warning"}
    # Every side is up at once, and LONG and BURST go round the sides in turn, so that the runs compared were taken
    # moments apart: this shared machine's speed moves by a third within minutes.
    server = Server(folder / "ours", env=env).start()
    # The whisper.cpp engine (q8_0 weights converted from the same model, beam 5, every core) on the same audio.
    cpp = Server(folder / "whispercpp", env={**env, "WHISPER_ENGINE": "whisper.cpp"}).start()
    peers: list[Peer] = []
    key = server.bootstrap_key
    try:
        for batch in (1, 8) if PEER_PYTHON.exists() else ():
            peers.append(Peer(batch, folder))
        # Warm up: each server loads its model once.
        openai_request(server.base, key, shorts[0])
        openai_request(cpp.base, cpp.bootstrap_key, shorts[0])
        for peer in peers:
            peer.transcribe(shorts[0])
        results = in_rounds({
            "ours (OpenAI route)": lambda: timed(lambda: [openai_request(server.base, key, long)]),
            "ours (native route)": lambda: timed(lambda: [native_request(server, key, long)[0]]),
            "ours, whisper.cpp engine": lambda: timed(lambda: [openai_request(cpp.base, cpp.bootstrap_key, long)]),
            "raw faster-whisper, sequential": lambda: raw("sequential", [long]),
            "raw faster-whisper, batched (8)": lambda: raw("batched", [long]),
            **{f"faster-whisper-server 0.0.3, batch {peer.batch_size}": (lambda peer=peer: timed(lambda: [peer.transcribe(long)]))
               for peer in peers},
        })
        bursts = in_rounds({
            "ours (OpenAI route)": lambda: timed(lambda: at_once(lambda p: openai_request(server.base, key, p), shorts)),
            "raw batched, one after another": lambda: raw("batched", shorts),
            "ours, whisper.cpp engine": lambda: timed(lambda: at_once(lambda p: openai_request(cpp.base, cpp.bootstrap_key, p), shorts)),
            **{f"faster-whisper-server, batch {peer.batch_size}": (lambda peer=peer: timed(lambda: at_once(peer.transcribe, shorts)))
               for peer in peers},
        })
        alone = [latency for _, latency in at_once(lambda p: native_request(server, key, p), shorts)]
        mixed_started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=11) as pool:
            long_future = pool.submit(native_request, server, key, long)
            time.sleep(0.2)
            mixed = [latency for _, latency in pool.map(lambda p: native_request(server, key, p), shorts)]
            long_future.result()
        mixed_total = time.perf_counter() - mixed_started
        status_id = server.submit(key, shorts[0]).json()["data"]["transcriptionId"]
        server.wait_for(key, status_id, {"COMPLETED"})
        http_rps: dict[str, list[float]] = {}
        if has_wrk():
            http_rps = http_rounds(server.base, key, {
                "/health": "/health", "status": f"/api/v1/status/{status_id}", "list": "/api/v1/transcriptions?limit=20",
                "result": f"/api/v1/transcriptions/{status_id}/result?format=text",
            })
        pickup_sql = pickup_embedded(server, key, shorts[1])
    finally:
        for peer in peers:
            peer.stop()
        cpp.stop()
        server.stop()
    pickup_bull: list[float] = []
    if redis_url:
        distributed = Server(folder / "redis", env={**env, "REDIS_URL": redis_url, "QUEUE_PREFIX": "bull"}).start()
        try:
            openai_request(distributed.base, distributed.bootstrap_key, shorts[0])
            pickup_bull = pickup_redis(distributed, distributed.bootstrap_key, shorts[1], redis_url)
        finally:
            distributed.stop()

    report.say("\nLONG (seconds, best of the runs)")
    best = {label: report.figure(label, runs) for label, (runs, _) in results.items()}
    report.say("\nWord accuracy on LONG (1 - WER against the LibriVox transcripts)")
    accuracy = {label: word_accuracy(long_reference, texts[0]) for label, (_, texts) in results.items()}
    for label, value in accuracy.items():
        report.say(f"  {label:<34} {value:8.3f}")
    report.say("\nBURST: 10 clips at once (seconds)")
    burst = {label: report.figure(label, runs) for label, (runs, _) in bursts.items()}
    burst_best, raw_burst_best, cpp_burst_best = (burst[label] for label in (
        "ours (OpenAI route)", "raw batched, one after another", "ours, whisper.cpp engine"))
    report.say("\nMIXED: the 10 clips' median latency (seconds)")
    report.say(f"  alone {statistics.median(alone):.2f}, beside the long file {statistics.median(mixed):.2f} "
               f"(everything done in {mixed_total:.1f})")
    if http_rps:
        report.say(f"\nHTTP (wrk, 32 connections, 5 s a run, {HTTP_ROUNDS} rounds in turn; requests/s)")
        for name, runs in http_rps.items():
            report.say(f"  {name:<8} median {statistics.median(runs):7.0f}  (runs: {', '.join(f'{run:.0f}' for run in runs)})")
    report.say(f"\nPICKUP (enqueue -> active, ms): embedded median {statistics.median(pickup_sql):.1f}"
               + (f", Redis median {statistics.median(pickup_bull):.1f}" if pickup_bull else ""))

    report.say("\nRatios")
    ours = best["ours (OpenAI route)"]
    report.ratio("LONG: ours / raw batched faster-whisper", ours, best["raw faster-whisper, batched (8)"], "<= 1.05")
    if peers:
        peer_best = min(seconds for label, seconds in best.items() if label.startswith("faster-whisper-server"))
        peer_burst_best = min(seconds for label, seconds in burst.items() if label.startswith("faster-whisper-server"))
        report.ratio("LONG: ours / faster-whisper-server's best", ours, peer_best, "<= 0.75")
        report.ratio("BURST: ours / faster-whisper-server's best", burst_best, peer_burst_best, "<= 0.6")
    report.ratio("BURST: ours / raw batched, one after another", burst_best, raw_burst_best, "-")
    report.ratio("LONG: whisper.cpp engine / faster-whisper engine", best["ours, whisper.cpp engine"], ours, "-")
    report.ratio("BURST: whisper.cpp engine / faster-whisper engine", cpp_burst_best, burst_best, "-")
    report.ratio("MIXED: clips' median beside the long file / alone", statistics.median(mixed), statistics.median(alone), "<= 2")
    for name in ("status", "list", "result") if http_rps else ():
        rounds = [route / health for route, health in zip(http_rps[name], http_rps["/health"])]
        report.say(f"  {'HTTP: ' + name + ' route / /health (median of rounds)':<52} {statistics.median(rounds):6.2f}x   "
                   f"(target {'>= 0.5' if name == 'status' else '-'}; rounds: {', '.join(f'{r:.2f}' for r in rounds)})")
    sequential = accuracy["raw faster-whisper, sequential"]
    report.say(f"  {'accuracy: ours - raw sequential':<52} {accuracy['ours (OpenAI route)'] - sequential:+6.3f}    (target >= -0.01)")
    (folder / "report.txt").write_text("\n".join(report.lines) + "\n")
    print(f"\n(report also in {folder / 'report.txt'})")


def has_wrk() -> bool:
    return subprocess.run(["which", "wrk"], capture_output=True).returncode == 0


if __name__ == "__main__":
    main()
