"""Runs the queue benchmark: Swift BullMQ vs Python bullmq against the same Redis, in one run.

Each scenario runs REPEAT times per side (alternating sides), and reports medians and the ratio:
    SCENARIO swift=N/s python=M/s ratio=R
plus where the time went (client CPU vs Redis CPU vs wall clock). Results go to bench/RESULTS.md.
"""
from __future__ import annotations

import datetime
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ["queue-add", "queue-add-bulk", "worker-generic", "worker-concurrent"]
JOBS = int(os.environ.get("JOBS", "5000"))
REPEAT = int(os.environ.get("REPEAT", "3"))


def redis_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(command: list[str], redis_pid: int) -> tuple[float, float, float, float]:
    """Runs one side; returns (jobs/s, wall s, client CPU s, Redis CPU s)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    redis_before = redis_cpu(redis_pid)
    started = time.perf_counter()
    output = subprocess.run(command, check=True, capture_output=True, text=True, cwd=ROOT).stdout
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    client = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return float(output.strip().splitlines()[-1]), wall, client, redis_cpu(redis_pid) - redis_before


def main() -> None:
    url, redis_pid = sys.argv[1], int(sys.argv[2])
    swift = [str(ROOT / ".build" / "release" / "queue-bench")]
    python = [str(ROOT / ".venv" / "bin" / "python"), str(ROOT / "bench" / "queue" / "bench_python.py")]
    lines, table = [], []
    for scenario in SCENARIOS:
        results: dict[str, list[tuple[float, float, float, float]]] = {"swift": [], "python": []}
        for repeat in range(REPEAT):
            order = ["swift", "python"] if repeat % 2 == 0 else ["python", "swift"]
            for side in order:
                base = swift if side == "swift" else python
                results[side].append(run(base + [scenario, url, str(JOBS)], redis_pid))
        median = {side: statistics.median(r[0] for r in runs) for side, runs in results.items()}
        ratio = median["swift"] / median["python"]
        line = f"{scenario} swift={median['swift']:.0f}/s python={median['python']:.0f}/s ratio={ratio:.2f}"
        print(line, flush=True)
        lines.append(line)
        for side, runs in results.items():
            cpu = statistics.median(r[2] for r in runs)
            redis = statistics.median(r[3] for r in runs)
            wall = statistics.median(r[1] for r in runs)
            rates = ", ".join(f"{r[0]:.0f}" for r in runs)
            table.append(f"| {scenario} | {side} | {rates} | {median[side]:.0f} | {wall:.2f} | {cpu:.2f} | {redis:.2f} |")
            print(f"  {side}: runs {rates} jobs/s; process wall {wall:.2f} s, client CPU {cpu:.2f} s, Redis CPU {redis:.2f} s", flush=True)
    floor = round_trip_floor(url, swift)
    for line in floor:
        print(line, flush=True)
    write_results(lines, table, floor)


def round_trip_floor(url: str, swift: list[str]) -> list[str]:
    """What a single add cannot go below on this machine: one loopback round trip plus the script's Redis time."""
    port = url.rsplit(":", 1)[1]
    cli = ["redis-cli", "-p", port]
    pings = [float(subprocess.run(swift + ["ping", url, str(JOBS)], check=True, capture_output=True, text=True).stdout.split()[-1])
             for _ in range(REPEAT)]
    bench = subprocess.run(["redis-benchmark", "-p", port, "-n", str(JOBS), "-c", "1", "-q", "-t", "ping"],
                           capture_output=True, text=True).stdout
    c_rate = max((float(part.split()[0]) for part in bench.replace("\r", "\n").split("PING_MBULK:")[1:]
                  if "requests per second" in part), default=0.0)
    subprocess.run(cli + ["config", "resetstat"], check=True, capture_output=True)
    subprocess.run(swift + ["queue-add", url, str(JOBS)], check=True, capture_output=True)
    stats = subprocess.run(cli + ["info", "commandstats"], check=True, capture_output=True, text=True).stdout
    evalsha = next((line for line in stats.splitlines() if line.startswith("cmdstat_evalsha:")), "")
    per_call = next((field.split("=")[1] for field in evalsha.split(",") if field.startswith("usec_per_call")), "?")
    return [
        f"round-trip floor: Swift client PING {statistics.median(pings):.0f}/s, redis-benchmark (C, 1 connection) PING {c_rate:.0f}/s",
        f"Redis time per add script (INFO commandstats): {per_call} us",
    ]


ANALYSIS = (ROOT / "bench" / "queue" / "ANALYSIS.md").read_text() if (ROOT / "bench" / "queue" / "ANALYSIS.md").exists() else ""


def write_results(lines: list[str], table: list[str], floor: list[str]) -> None:
    redis_version = subprocess.run(["redis-server", "--version"], capture_output=True, text=True).stdout.split()[2]
    text = f"""# Benchmark results

## Queue (`make bench-queue`)

Command: `make bench-queue` (runs `bench/queue/run.sh`: a fresh `redis-server` on loopback with persistence off,
the release build of `queue-bench` and Python `bullmq` 3.4.4 against it, {JOBS} no-op jobs per run, {REPEAT} runs per side,
sides alternating, medians).

Recorded {datetime.date.today().isoformat()} on {platform.machine()}, {os.cpu_count()} cores, Redis {redis_version}.

```
{chr(10).join(lines)}
{chr(10).join(floor)}
```

| scenario | side | runs (jobs/s) | median | process wall s | client CPU s | Redis CPU s |
|---|---|---|---|---|---|---|
{chr(10).join(table)}

Process wall and CPU include start-up (Python import, Swift connection set-up) and, for the worker scenarios,
the pre-fill with addBulk; the jobs/s figures time only the measured phase.

{ANALYSIS}
"""
    (ROOT / "bench" / "RESULTS.md").write_text(text)


if __name__ == "__main__":
    main()
