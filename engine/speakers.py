"""Speaker turns laid over a transcript: each word and segment gets the speaker who covers most of it, and a segment
that spans a change of speaker is split at the word boundary nearest the change."""
from __future__ import annotations

import bisect
import dataclasses
import itertools
from typing import Any, Sequence

from .diarize import Turn

#: A run of words shorter than this between two runs of the same speaker is that speaker's too (a stray label
#: inside a sentence, not a turn).
SHORTEST_TURN_SECONDS = 0.5


def speaker_at(start: float, end: float, turns: Sequence[Turn]) -> int:
    """The cluster that covers most of [start, end]; where none covers any of it, the one nearest in time. ``turns``
    are in time order and do not overlap (as ``diarize`` returns them), so only the few around [start, end] are read."""
    if not turns:
        return 0
    first = bisect.bisect_right(turns, start, key=lambda turn: turn.end)  # the first turn that ends after start
    cover: dict[int, float] = {}
    for turn in itertools.islice(turns, first, None):
        if turn.start >= end:
            break
        overlap = min(end, turn.end) - max(start, turn.start)
        if overlap > 0:
            cover[turn.speaker] = cover.get(turn.speaker, 0.0) + overlap
    if cover:
        return max(cover, key=cover.get)
    middle = (start + end) / 2
    near = turns[max(0, first - 1):first + 1]
    return min(near, key=lambda turn: max(turn.start - middle, middle - turn.end)).speaker


def split_by_speaker(segments: Sequence[Any], turns: Sequence[Turn]) -> list[tuple[Any, int]]:
    """(segment, cluster) pairs: faster-whisper segments cut where the speaker changes between two words, each piece
    a segment of its own with its words and text. Segments without words keep their extent."""
    words = [(index, word) for index, segment in enumerate(segments) for word in (segment.words or [])]
    labels = _smoothed([speaker_at(word.start, word.end, turns) for _, word in words], [word for _, word in words])
    by_segment: dict[int, list[tuple[Any, int]]] = {}
    for (index, word), label in zip(words, labels):
        by_segment.setdefault(index, []).append((word, label))
    pieces: list[tuple[Any, int]] = []
    for index, segment in enumerate(segments):
        labelled = by_segment.get(index)
        if not labelled:
            pieces.append((segment, speaker_at(segment.start, segment.end, turns)))
            continue
        run: list[Any] = []
        for position, (word, label) in enumerate(labelled):
            run.append(word)
            following = labelled[position + 1][1] if position + 1 < len(labelled) else None
            if following != label:
                pieces.append((_piece(segment, run, whole=len(run) == len(labelled)), label))
                run = []
    return pieces


def _piece(segment: Any, words: list[Any], whole: bool) -> Any:
    if whole:
        return segment
    return dataclasses.replace(segment, start=words[0].start, end=words[-1].end, text="".join(word.word for word in words), words=words)


def _smoothed(labels: list[int], words: Sequence[Any]) -> list[int]:
    """Labels with short runs folded into the speaker on both sides of them."""
    runs: list[list[int]] = []  # [label, first, last] index ranges
    for index, label in enumerate(labels):
        if runs and runs[-1][0] == label:
            runs[-1][2] = index
        else:
            runs.append([label, index, index])
    out = list(labels)
    for position in range(1, len(runs) - 1):
        label, first, last = runs[position]
        before, after = runs[position - 1][0], runs[position + 1][0]
        if before == after != label and words[last].end - words[first].start < SHORTEST_TURN_SECONDS:
            for index in range(first, last + 1):
                out[index] = before
    return out


def names_in_order(clusters: Sequence[int], known: Sequence[str] = ()) -> dict[int, str]:
    """Display labels by first appearance: the caller's known names first, then ``SPEAKER_<n>``."""
    names: dict[int, str] = {}
    for cluster in clusters:
        if cluster not in names:
            position = len(names)
            names[cluster] = known[position] if position < len(known) else f"SPEAKER_{position + 1}"
    return names


def speaking_times(turns: Sequence[Turn], names: dict[int, str]) -> list[dict[str, Any]]:
    """``speakers`` of the result: each labelled speaker with the seconds the diarization gave them, in label order."""
    totals = {cluster: 0.0 for cluster in names}
    for turn in turns:
        if turn.speaker in totals:
            totals[turn.speaker] += turn.end - turn.start
    return [{"speaker": names[cluster], "speaking_time": round(totals[cluster], 3)} for cluster in names]
