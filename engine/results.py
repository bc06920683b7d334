"""What the engine hands back: a window's text cut into segments of a sentence or so, segments as the canonical result
holds them, and a finished job's result (with its speakers when it was diarized)."""
from __future__ import annotations

from typing import Any

from . import diarize
from .speakers import names_in_order, speaking_times, split_by_speaker
from .windows import Job

#: Where a fine segment ends: after a sentence's last word, at a pause this long, or past this length.
SENTENCE_ENDS = (".", "?", "!", "。", "？", "！")
PAUSE_SECONDS = 0.8
LONGEST_SECONDS = 12.0


def sentences(segment: dict[str, Any]) -> list[dict[str, Any]]:
    """A window's aligned text cut into segments of a sentence or so, each with its words."""
    words = segment.get("words") or []
    if not words:
        return [segment] if segment["text"].strip() else []
    pieces: list[list[dict[str, Any]]] = [[]]
    for index, word in enumerate(words):
        pieces[-1].append(word)
        following = words[index + 1] if index + 1 < len(words) else None
        if following is None:
            break
        ended = word["word"].strip().endswith(SENTENCE_ENDS)
        paused = following["start"] - word["end"] >= PAUSE_SECONDS
        too_long = word["end"] - pieces[-1][0]["start"] >= LONGEST_SECONDS
        if ended or paused or too_long:
            pieces.append([])
    return [
        {**segment, "text": "".join(w["word"] for w in piece), "start": piece[0]["start"], "end": piece[-1]["end"], "words": piece}
        for piece in pieces
        if piece
    ]


def segment_item(index: int, segment: Any, with_words: bool) -> dict[str, Any]:
    """A segment as the canonical result holds it."""
    item: dict[str, Any] = {
        "id": index,
        "start": round(segment.start, 3),
        "end": round(segment.end, 3),
        "text": segment.text.strip(),
        "avg_logprob": segment.avg_logprob,
        "no_speech_prob": segment.no_speech_prob,
    }
    if with_words and segment.words:
        item["words"] = [
            {"word": w.word.strip(), "start": round(w.start, 3), "end": round(w.end, 3), "probability": w.probability}
            for w in segment.words
        ]
    return item


def job_result(job: Job, turns: list[diarize.Turn] | None = None) -> dict[str, Any]:
    """The canonical result of a finished job; with speaker turns, its segments split and labelled by speaker and a
    ``speakers`` summary."""
    result = {
        "text": " ".join(s["text"] for s in job.segments if s["text"]).strip(),
        "language": job.language,
        "duration": round(job.duration, 3),
        "model": job.model_name,
        "task": job.task,
        "segments": job.segments,
        "engine": "faster-whisper",
    }
    if turns is not None:
        pieces = split_by_speaker(job.timed, turns)
        names = names_in_order([cluster for _, cluster in pieces], job.speaker_names)
        segments = []
        for segment, cluster in pieces:
            item = {**segment_item(len(segments), segment, job.word_timestamps), "speaker": names[cluster]}
            for word in item.get("words", []):
                word["speaker"] = item["speaker"]
            segments.append(item)
        result["segments"] = segments
        result["speakers"] = speaking_times(turns, names)
    return result
