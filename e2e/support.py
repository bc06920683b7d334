"""Shared helpers for the end-to-end tests: real server processes, speech audio, word overlap."""
from __future__ import annotations

import itertools
import os
import re
import signal
import socket
import subprocess
import time
import wave
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import requests

ROOT = Path(__file__).resolve().parents[1]
LIBRIVOX = Path("/usr/share/pocketsphinx/test/data/librivox")
#: Another real person, in the same package: short spoken card names.
CARDS = LIBRIVOX.parent / "cards"
BINARY = Path(os.environ.get("WHISPERAPI_BIN", ROOT / ".build" / "debug" / "whisperapi"))
KEY_PATTERN = re.compile(r"wapi_[A-Za-z0-9]{8}_[A-Za-z0-9]{32}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


#: Tests poll quickly and submit several jobs per user: plan limits are raised unless a test sets its own
#: (e2e/test_limits.py does).
RELAXED_PLANS = {
    f"PLAN_{plan}_{name}": value
    for plan in ("FREE", "PRO", "PAYG")
    for name, value in (("CONCURRENT_JOBS", "1000"), ("REQUESTS_PER_MINUTE", "1000000"), ("MODELS", "tiny.en,base,whisper-1"))
}


class Server:
    """A real `whisperapi serve` process on a free loopback port with its own data directory."""

    def __init__(self, data_dir: Path, env: dict[str, str] | None = None, workers: int | None = None) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.workers = workers
        self.env = {**os.environ, "DATA_DIR": str(data_dir), "LOG_LEVEL": "info", **RELAXED_PLANS, **(env or {})}
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir / f"server-{self.port}.log"
        self.bootstrap_key: str | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> "Server":
        self.data_dir.mkdir(parents=True, exist_ok=True)
        args = [str(BINARY), "serve", "--port", str(self.port)]
        if self.workers is not None:
            args += ["--workers", str(self.workers)]
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(args, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log()}")
            try:
                if requests.get(self.base + "/health", timeout=1).status_code == 200:
                    found = KEY_PATTERN.findall(self.log())
                    self.bootstrap_key = found[0] if found else None
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"server did not start:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def kill9(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def cli(self, *args: str) -> str:
        """Runs a `whisperapi` admin subcommand against this server's data directory."""
        done = subprocess.run([str(BINARY), *args], cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            raise RuntimeError(f"whisperapi {' '.join(args)} failed: {done.stdout}{done.stderr}")
        return done.stdout

    def new_key(self, email: str, plan: str) -> str:
        return self.new_key_with_secret(email, plan)[0]

    def new_key_with_secret(self, email: str, plan: str) -> tuple[str, str]:
        """A new user's key and its webhook signing secret (printed once by `keys create`)."""
        self.cli("users", "create", "--email", email, "--plan", plan)
        lines = self.cli("keys", "create", "--email", email).strip().splitlines()
        secret = next(line.split(": ", 1)[1] for line in lines if line.startswith("webhook signing secret: "))
        return lines[-1], secret

    # HTTP helpers

    def submit(self, key: str, path: Path, **fields: str) -> requests.Response:
        with open(path, "rb") as handle:
            return requests.post(
                self.base + "/api/v1/transcribe",
                headers={"Authorization": f"Bearer {key}"},
                files={"file": (path.name, handle)},
                data=fields,
                timeout=60,
            )

    def submitted(self, key: str, path: Path, **fields: str) -> str:
        """Submits and returns the transcription's id; the submission must be accepted."""
        response = self.submit(key, path, **fields)
        assert response.status_code == 202, response.text
        return response.json()["data"]["transcriptionId"]

    def get(self, key: str, path: str) -> requests.Response:
        return requests.get(self.base + path, headers={"Authorization": f"Bearer {key}"}, timeout=30)

    def status(self, key: str, transcription_id: str) -> dict[str, Any]:
        response = self.get(key, f"/api/v1/status/{transcription_id}")
        assert response.status_code == 200, response.text
        return response.json()["data"]

    def wait_for(self, key: str, transcription_id: str, states: set[str], timeout: float = 180) -> dict[str, Any]:
        deadline = time.time() + timeout
        status: dict[str, Any] = {}
        while time.time() < deadline:
            status = self.status(key, transcription_id)
            if status["status"] in states:
                return status
            time.sleep(0.25)
        raise AssertionError(f"{transcription_id} did not reach {states}: {status}\n{self.log()[-3000:]}")

    def child_pids(self) -> list[int]:
        """Engine processes started by this server."""
        assert self.process is not None
        return [pid for pid, parent in _engine_processes() if parent == self.process.pid]


def pid_alive(pid: int) -> bool:
    """True while the process exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


# Audio


def speak(text: str, path: Path, voice: str = "en-us", speed: int = 150) -> Path:
    """Speaks `text` with espeak-ng into a WAV file."""
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(path), text], check=True)
    return path


def convert(wav: Path, target: Path, codec: str, container: str) -> Path:
    """Re-encodes a WAV file with PyAV (mp3 via LAME, ogg via Opus)."""
    import av

    rate = 48000 if codec == "libopus" else 22050
    with av.open(str(wav)) as source, av.open(str(target), "w", format=container) as out:
        stream = out.add_stream(codec, rate=rate)
        for frame in source.decode(audio=0):
            frame.pts = None
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return target


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


def overlap(reference: str, hypothesis: str) -> float:
    """The share of the reference's words that the hypothesis contains (as a multiset)."""
    ref, hyp = Counter(words(reference)), Counter(words(hypothesis))
    total = sum(ref.values())
    return sum(min(count, hyp[word]) for word, count in ref.items()) / total if total else 0.0


SRT_CUE = re.compile(r"^(\d+)\n(\d{2,}:\d{2}:\d{2},\d{3}) --> (\d{2,}:\d{2}:\d{2},\d{3})\n(.+)$", re.S)
VTT_CUE = re.compile(r"^(\d{2,}:\d{2}:\d{2}\.\d{3}) --> (\d{2,}:\d{2}:\d{2}\.\d{3})\n(.+)$", re.S)


def seconds(stamp: str) -> float:
    hours, minutes, rest = stamp.replace(",", ".").split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(rest)


def parse_srt(body: str) -> list[tuple[float, float, str]]:
    """Parses SubRip strictly: numbered from 1, ordered times, non-empty text."""
    cues = []
    for number, block in enumerate(body.strip().split("\n\n"), start=1):
        match = SRT_CUE.match(block)
        assert match, f"bad SRT cue: {block!r}"
        assert int(match.group(1)) == number
        start, end = seconds(match.group(2)), seconds(match.group(3))
        assert 0 <= start <= end
        cues.append((start, end, match.group(4)))
    return cues


def parse_vtt(body: str) -> list[tuple[float, float, str]]:
    """Parses WebVTT strictly: header, then cues with dot milliseconds."""
    assert body.startswith("WEBVTT\n\n"), body[:20]
    cues = []
    for block in body[len("WEBVTT\n\n"):].strip().split("\n\n"):
        match = VTT_CUE.match(block)
        assert match, f"bad VTT cue: {block!r}"
        start, end = seconds(match.group(1)), seconds(match.group(2))
        assert 0 <= start <= end
        cues.append((start, end, match.group(3)))
    return cues


class Redis:
    """A throw-away redis-server (AOF on) started by scripts/test-redis.sh."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.url = ""

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def start(self, port: int | None = None) -> "Redis":
        args = [str(ROOT / "scripts" / "test-redis.sh"), "start", str(self.directory)]
        if port:
            args.append(str(port))
        self.url = subprocess.run(args, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
        return self

    def stop(self) -> None:
        subprocess.run([str(ROOT / "scripts" / "test-redis.sh"), "stop", str(self.directory)], check=True)

    def restart(self) -> None:
        port = self.port
        self.stop()
        self.start(port)

    def client(self):
        import redis

        return redis.Redis.from_url(self.url, decode_responses=True)


class WorkerProcess:
    """A real `whisperapi worker` process."""

    def __init__(self, data_dir: Path, env: dict[str, str], concurrency: int = 1, inherit_env: bool = True) -> None:
        """`inherit_env=False` starts it with only `env` (and a system PATH): nothing of this test run's environment."""
        base = {**os.environ} if inherit_env else {"PATH": "/usr/bin:/bin"}
        self.env = {**base, "DATA_DIR": str(data_dir), "LOG_LEVEL": "info", **env}
        self.log_path = data_dir / f"worker-{id(self)}.log"
        data_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [str(BINARY), "worker", "--concurrency", str(concurrency)], cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def completed_jobs(self) -> int:
        return self.log().count("job completed")

    def engine_pids(self) -> list[int]:
        return [pid for pid, parent in _engine_processes() if parent == self.process.pid]

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def cancel_on_worker(api: Server, key: str, transcription_id: str, worker: WorkerProcess) -> float:
    """Cancels a job a worker process is running and returns how long the worker took to stop it."""
    response = requests.delete(f"{api.base}/api/v1/transcribe/{transcription_id}", headers={"Authorization": f"Bearer {key}"}, timeout=10)
    assert response.json()["data"]["cancelled"] is True
    cancelled_at = time.time()
    while "job stopped: cancelled" not in worker.log() and time.time() - cancelled_at < 10:
        time.sleep(0.05)
    assert "job stopped: cancelled" in worker.log(), worker.log()[-2000:]
    return time.time() - cancelled_at


class WorkerProcesses:
    """The `whisperapi worker` processes one test starts on a shared data directory, all killed when it ends."""

    def __init__(self, data_dir: Path, env: dict[str, str]) -> None:
        self.data_dir = data_dir
        self.env = env
        self.started: list[WorkerProcess] = []

    def add(self, env: dict[str, str] | None = None, inherit_env: bool = True) -> WorkerProcess:
        worker = WorkerProcess(self.data_dir, {**self.env, **(env or {})}, inherit_env=inherit_env)
        self.started.append(worker)
        return worker

    def kill_all(self) -> None:
        for worker in self.started:
            worker.stop(signal.SIGKILL)


def _engine_processes() -> list[tuple[int, int]]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
        except (OSError, IndexError, ValueError):
            continue
        if b"-m engine" in cmdline:
            found.append((int(entry.name), parent))
    return found


# Real human speech


def references() -> dict[str, str]:
    """Each LibriVox clip's reference transcript."""
    found = {}
    for line in (LIBRIVOX / "transcription").read_text().splitlines():
        match = re.match(r"<s>(.*)</s>\s*\((.*)\)", line.strip())
        if match:
            found[match.group(2)] = match.group(1).strip()
    return found


def read_wav(path: Path) -> np.ndarray:
    with wave.open(str(path)) as source:
        assert source.getframerate() == 16000 and source.getnchannels() == 1, path
        return np.frombuffer(source.readframes(source.getnframes()), dtype=np.int16)


def write_wav(path: Path, samples: np.ndarray) -> Path:
    with wave.open(str(path), "wb") as target:
        target.setnchannels(1)
        target.setsampwidth(2)
        target.setframerate(16000)
        target.writeframes(samples.astype(np.int16).tobytes())
    return path


def librivox_audio(folder: Path) -> tuple[Path, str, list[Path], list[str]]:
    """Real human speech from Debian's pocketsphinx-testdata: a long file (the LibriVox clips in turn, half a second
    apart, until 5 minutes) and 10 short clips (the clips twice), with their reference transcripts."""
    texts = references()
    clips = sorted(LIBRIVOX.glob("*.wav"))
    gap = np.zeros(8000, dtype=np.int16)
    parts, reference, length = [], [], 0
    while length < 300 * 16000:
        for clip in clips:
            samples = read_wav(clip)
            parts += [samples, gap]
            reference.append(texts[clip.stem])
            length += len(samples) + len(gap)
    long = write_wav(folder / "long.wav", np.concatenate(parts))
    shorts = (clips * 2)[:10]
    return long, " ".join(reference), shorts, [texts[clip.stem] for clip in shorts]


# MARK: - Conversations (speaker diarization)


#: Voices espeak-ng makes clearly different: variant and pitch.
VOICES = [("en-us+m3", 35), ("en-gb+f4", 75), ("en-us+m7", 55)]
LINES = [
    "Good morning, did you finish the report for the meeting today?",
    "Yes, I sent it to the whole team last night before dinner.",
    "Great, then we can talk about the budget and the new office.",
    "I think the new office should be closer to the train station.",
    "That would help everyone who comes in from the city each day.",
    "Let us ask the manager what she thinks about it this afternoon.",
]
GAP_SECONDS = 0.4


def conversation(folder: Path, speakers: int, lines: list[str] = LINES) -> tuple[Path, list[tuple[float, float, int]]]:
    """A WAV of ``lines`` spoken in turn by ``speakers`` voices with short pauses, and its turns (start, end, voice)."""
    pieces, turns, at, rate = [], [], 0.0, 22050
    for index, line in enumerate(lines):
        voice, pitch = VOICES[index % speakers]
        path = folder / f"line-{speakers}-{index}.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-p", str(pitch), "-s", "150", "-w", str(path), line], check=True)
        with wave.open(str(path)) as clip:
            rate = clip.getframerate()
            samples = np.frombuffer(clip.readframes(clip.getnframes()), dtype=np.int16)
        pieces += [samples, np.zeros(int(GAP_SECONDS * rate), dtype=np.int16)]
        turns.append((at, at + len(samples) / rate, index % speakers))
        at += (len(samples) + int(GAP_SECONDS * rate)) / rate
    out = folder / f"conversation-{speakers}-{len(lines)}.wav"
    with wave.open(str(out), "wb") as target:
        target.setnchannels(1)
        target.setsampwidth(2)
        target.setframerate(rate)
        target.writeframes(np.concatenate(pieces).tobytes())
    return out, turns


def wrong_share(segments: list[dict], turns: list[tuple[float, float, int]]) -> tuple[float, dict[str, int]]:
    """The share of the spoken time labelled with the wrong speaker, under the label-to-voice mapping that makes it
    smallest, and that mapping."""
    overlap: dict[tuple[str, int], float] = {}
    for segment in segments:
        for start, end, voice in turns:
            shared = min(end, segment["end"]) - max(start, segment["start"])
            if shared > 0:
                overlap[(segment["speaker"], voice)] = overlap.get((segment["speaker"], voice), 0.0) + shared
    labels = sorted({label for label, _ in overlap})
    voices = sorted({voice for _, _, voice in turns})
    total = sum(overlap.values())
    best, mapping = 0.0, {}
    for chosen in itertools.permutations(voices + [-1] * max(0, len(labels) - len(voices)), len(labels)):
        right = sum(overlap.get((label, voice), 0.0) for label, voice in zip(labels, chosen))
        if right >= best:
            best, mapping = right, dict(zip(labels, chosen))
    return (total - best) / total if total else 1.0, mapping


def two_readers(folder: Path, rounds: int = 2) -> tuple[Path, list[tuple[float, float, int]]]:
    """Real human speech from two people in turn (a LibriVox clip, then a spoken card, ``rounds`` times over), 0.4 s
    apart, and its turns (start, end, person)."""
    pairs = list(zip(sorted(LIBRIVOX.glob("*.wav")), sorted(CARDS.glob("*.wav"))))
    gap = np.zeros(int(GAP_SECONDS * 16000), dtype=np.int16)
    parts, turns, at = [], [], 0.0
    for _ in range(rounds):
        for pair in pairs:
            for person, clip in enumerate(pair):
                samples = read_wav(clip)
                parts += [samples, gap]
                turns.append((at, at + len(samples) / 16000, person))
                at += (len(samples) + len(gap)) / 16000
    return write_wav(folder / f"two-readers-{rounds}.wav", np.concatenate(parts)), turns
