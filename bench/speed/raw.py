"""Raw faster-whisper on the bench's audio, in a process of its own: `raw.py sequential|batched FILE...` prints one
JSON object with the wall time of the whole list (files one after another, as a script would run them) and each
file's text."""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from engine.models import model_path  # noqa: E402


def main() -> None:
    from faster_whisper import BatchedInferencePipeline, WhisperModel

    mode, files = sys.argv[1], sys.argv[2:]
    threads = int(os.environ.get("BENCH_THREADS", "0"))
    beam = int(os.environ.get("BENCH_BEAM", "5"))
    batch = int(os.environ.get("BENCH_BATCH", "8"))
    model = WhisperModel(model_path(os.environ.get("BENCH_MODEL", "tiny.en")), device="cpu", compute_type="int8", cpu_threads=threads)
    pipeline = BatchedInferencePipeline(model)
    texts = []
    started = time.perf_counter()
    for path in files:
        if mode == "batched":
            segments, _ = pipeline.transcribe(path, beam_size=beam, batch_size=batch)
        else:
            segments, _ = model.transcribe(path, beam_size=beam, vad_filter=False)
        texts.append(" ".join(segment.text.strip() for segment in segments))
    print(json.dumps({"seconds": time.perf_counter() - started, "texts": texts}))


if __name__ == "__main__":
    main()
