"""make bench-diarization: what speaker labels cost, measured beside the same work without them, in one run.

Audio: TALK, a conversation of three espeak-ng voices in turn (known turns, so its accuracy is printed too); LONG, the
LibriVox speech `make bench` uses (one reader, over 5 minutes). Sides, alternated run by run so that a noisy machine
hits both alike:
- the job: a real `whisperapi serve` (embedded), the same file submitted with and without `diarize=true`, timed from
  submit to COMPLETED. Diarization runs on its own thread beside the transcription, so this is what a user waits;
- the step alone, in this process: the engine's diarization (`engine.diarize.diarize`) against raw faster-whisper
  transcribing the same file (tiny.en int8, beam 5, every core): its cost as a fraction of the transcription's.
Each figure is the median of BENCH_REPEAT runs (default 3), the runs in brackets.
"""
from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from e2e import support  # noqa: E402
from e2e.support import LINES, Server, conversation, librivox_audio, wrong_share  # noqa: E402
from engine import diarize  # noqa: E402
from engine.models import model_path  # noqa: E402

REPEAT = int(os.environ.get("BENCH_REPEAT", "3"))


def job_seconds(server: Server, key: str, path: Path, **fields: str) -> tuple[float, dict]:
    """Submit to COMPLETED through the native route (status polled every 50 ms); the verbose result."""
    started = time.perf_counter()
    transcription = server.submitted(key, path, **fields)
    while server.status(key, transcription)["status"] not in ("COMPLETED", "FAILED", "CANCELLED"):
        time.sleep(0.05)
    seconds = time.perf_counter() - started
    result = server.get(key, f"/api/v1/transcriptions/{transcription}/result?format=verbose_json")
    assert result.status_code == 200, result.text
    return seconds, result.json()


def step_seconds(model, audio) -> tuple[float, float, int]:
    """Raw faster-whisper on ``audio``, then the engine's diarization of it: both times and the speaker count."""
    started = time.perf_counter()
    segments, _ = model.transcribe(audio, beam_size=5, vad_filter=False)
    list(segments)
    transcribed = time.perf_counter() - started
    started = time.perf_counter()
    turns = diarize.diarize(audio, diarize.Options())
    return transcribed, time.perf_counter() - started, len({turn.speaker for turn in turns})


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):6.2f} ({', '.join(f'{value:.2f}' for value in values)})"


def main() -> None:
    from faster_whisper import WhisperModel
    from faster_whisper.audio import decode_audio

    assert diarize.available(), "speaker diarization is not installed: make setup-diarization"
    support.BINARY = Path(os.environ.get("WHISPERAPI_BIN", support.BINARY))
    folder = Path(tempfile.mkdtemp(prefix="whisperapi-bench-diarization-"))
    talk, turns = conversation(folder, 3, LINES * 4)
    long = librivox_audio(folder)[0]
    files = {"TALK": (talk, turns), "LONG": (long, None)}
    # The conversation is 22.05 kHz (espeak): the engine decodes it to 16 kHz; here faster-whisper's decoder does.
    audio = {name: decode_audio(str(path)) for name, (path, _) in files.items()}
    lengths = {name: len(samples) / 16000 for name, samples in audio.items()}
    print(f"make bench-diarization: tiny.en int8, beam 5, {os.cpu_count()} cores; TALK {lengths['TALK']:.0f} s (3 espeak "
          f"voices), LONG {lengths['LONG']:.0f} s (LibriVox, one reader); {REPEAT} runs each, median (runs)")
    server = Server(folder / "server", env={"LOG_LEVEL": "warning"}).start()
    model = WhisperModel(model_path("tiny.en"), device="cpu", compute_type="int8", cpu_threads=os.cpu_count() or 2)
    try:
        key = server.bootstrap_key
        job_seconds(server, key, talk, diarize="true")  # warm up: the engine process, its model and the ONNX session
        for name, (path, known) in files.items():
            plain, labelled, transcribed, diarized, ratios, fractions = [], [], [], [], [], []
            speakers, wrong = set(), []
            for _ in range(REPEAT):
                seconds, _ = job_seconds(server, key, path)
                plain.append(seconds)
                seconds, result = job_seconds(server, key, path, diarize="true")
                labelled.append(seconds)
                ratios.append(labelled[-1] / plain[-1])
                speakers.add(len(result["speakers"]))
                if known:
                    wrong.append(wrong_share(result["segments"], known)[0])
                alone, step, _ = step_seconds(model, audio[name])
                transcribed.append(alone)
                diarized.append(step)
                fractions.append(step / alone)
            print(f"\n{name}")
            print(f"  job without speakers            {spread(plain)} s")
            print(f"  job with diarize=true           {spread(labelled)} s")
            print(f"  ratio with / without            {spread(ratios)}")
            print(f"  raw transcription alone         {spread(transcribed)} s")
            print(f"  diarization alone               {spread(diarized)} s  ({statistics.median(diarized) / lengths[name]:.3f}x real time)")
            print(f"  diarization / transcription     {spread(fractions)}")
            accuracy = f", wrong speaker {max(wrong):.1%} of speech at worst" if wrong else ""
            print(f"  speakers found                  {sorted(speakers)}{accuracy}")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
