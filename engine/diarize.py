"""Who spoke when, without torch: Silero VAD (bundled with faster-whisper), CAM++ speaker embeddings run by
onnxruntime (exported once at set-up by ``scripts/setup-diarization.sh``), Kaldi-style filterbank features in numpy,
and spectral clustering whose speaker count comes from the eigengap unless the caller knows it.

The pipeline follows the one senko and 3D-Speaker use: speech regions are cut into 1.5 s pieces every 0.6 s, each
piece gets an embedding, the pieces are clustered, and every 10 ms of speech takes the speaker of the nearest piece.
"""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from .errors import DIARIZATION_UNAVAILABLE, EngineError

SAMPLE_RATE = 16000
#: Where set-up puts the exported model, unless DIARIZATION_MODEL names another file.
DEFAULT_MODEL = Path(__file__).resolve().parent.parent / "models" / "campplus.onnx"

#: Pieces of speech that each get an embedding: this long, one starting every SHIFT seconds.
PIECE_SECONDS = 1.5
SHIFT_SECONDS = 0.6
#: Pieces shorter than this are not embedded (see ``diarize``).
SHORTEST_PIECE_SECONDS = 0.8
#: Less speech than this is one speaker: too little to tell voices apart reliably.
MIN_SPEECH_SECONDS = 6.0
#: A cluster with fewer pieces than this is a stray (a cough, a laugh), folded into the nearest real speaker.
MIN_CLUSTER_PIECES = 3
#: The speaker count the eigengap may choose when the caller gives no bound.
DEFAULT_MAX_SPEAKERS = 8
#: In the similarity graph each piece keeps its strongest links to at least this many others; how many more is
#: chosen per recording among NEIGHBOUR_CHOICES counts (see ``neighbours``).
MIN_NEIGHBOURS = 6
NEIGHBOUR_CHOICES = 12
#: Clusters whose mean embeddings are at least this alike (cosine) are one voice. Measured on CAM++: the sentences
#: of one espeak-ng voice are 0.86–0.96 alike, two different espeak-ng voices at most 0.85, real people far less.
SAME_SPEAKER_SIMILARITY = 0.87
#: At most this many pieces (about 12 minutes of speech) are clustered; beyond, an even sample is (see ``cluster``).
MOST_CLUSTERED_PIECES = 1200
#: Frames of the filterbank: 25 ms long every 10 ms.
FRAME_LENGTH, FRAME_SHIFT, FFT_SIZE, MEL_BINS = 400, 160, 512, 80
EMBEDDING_BATCH = 64


@dataclass(frozen=True)
class Options:
    """What the caller knows of the speakers: an exact count, or bounds for the eigengap, and names for them in order
    of first appearance."""

    speakers: int | None = None
    min_speakers: int = 1
    max_speakers: int = DEFAULT_MAX_SPEAKERS
    names: tuple[str, ...] = ()

    @staticmethod
    def from_request(value: object) -> "Options":
        """``diarize`` as a request carries it: ``true``, or an object with ``speakers``/``min_speakers``/
        ``max_speakers``/``names``."""
        fields = value if isinstance(value, dict) else {}
        speakers = fields.get("speakers")
        low = int(fields.get("min_speakers") or 1)
        high = int(fields.get("max_speakers") or max(DEFAULT_MAX_SPEAKERS, low))
        names = tuple(str(name) for name in fields.get("names") or ())
        return Options(int(speakers) if speakers else None, max(1, low), max(1, low, high), names)


@dataclass(frozen=True)
class Turn:
    """A stretch of time one speaker holds; ``speaker`` is a cluster number (0-based, in no particular order)."""

    start: float
    end: float
    speaker: int


def asked(request: dict) -> bool:
    """Whether a request asks for diarization: ``diarize`` is ``true`` or an object (``{}`` included: no hints)."""
    value = request.get("diarize")
    return value is not None and value is not False


def model_file() -> Path:
    return Path(os.environ.get("DIARIZATION_MODEL") or DEFAULT_MODEL)


def available() -> bool:
    """Whether this engine can diarize (the exported model is installed)."""
    return model_file().is_file()


def require_available() -> None:
    """A typed refusal, before any work, where diarization is not installed."""
    if not available():
        raise EngineError(DIARIZATION_UNAVAILABLE, "speaker diarization is not installed on this worker (WITH_DIARIZATION=1 make setup)")


_session = None
_session_lock = threading.Lock()


def _embedder():
    global _session
    with _session_lock:
        if _session is None:
            require_available()
            import onnxruntime

            options = onnxruntime.SessionOptions()
            threads = int(os.environ.get("WHISPER_CPU_THREADS") or 0)
            if threads > 0:
                options.intra_op_num_threads = threads
            _session = onnxruntime.InferenceSession(str(model_file()), options, providers=["CPUExecutionProvider"])
        return _session


# MARK: - The pipeline


def diarize(audio: np.ndarray, options: Options, progress: Callable[[float], None] = lambda _: None) -> list[Turn]:
    """The speaker turns of 16 kHz mono ``audio``; ``progress`` hears the share done (0–1) as the work advances."""
    regions = speech_regions(audio)
    progress(0.2)
    speech = sum(end - start for start, end in regions)
    if not regions:
        return []
    pieces = cut_pieces(regions)
    if speech < MIN_SPEECH_SECONDS or len(pieces) < 2 * MIN_CLUSTER_PIECES:
        return [Turn(start, end, 0) for start, end in regions]
    # A piece under SHORTEST_PIECE_SECONDS (a lone short word between pauses) says too little of its voice: it is
    # not clustered, and its region goes to the speaker nearest in time.
    heard = [index for index, (start, end) in enumerate(pieces) if end - start >= SHORTEST_PIECE_SECONDS]
    if len(heard) < 2 * MIN_CLUSTER_PIECES:
        return [Turn(start, end, 0) for start, end in regions]
    embeddings = embed(audio, [pieces[index] for index in heard], lambda share: progress(0.2 + 0.7 * share))
    labels = np.full(len(pieces), -1)
    labels[heard] = cluster(embeddings, options)
    progress(0.95)
    return turns(regions, pieces, labels)


def speech_regions(audio: np.ndarray) -> list[tuple[float, float]]:
    """Where someone speaks, in seconds; pauses of a tenth of a second already separate regions, so that a turn
    change at a short pause is a region boundary."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    found = get_speech_timestamps(
        audio, VadOptions(threshold=0.55, min_speech_duration_ms=250, min_silence_duration_ms=100, speech_pad_ms=30)
    )
    return [(item["start"] / SAMPLE_RATE, item["end"] / SAMPLE_RATE) for item in found]


def cut_pieces(regions: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Each region cut into PIECE_SECONDS pieces every SHIFT_SECONDS, the last one ending with the region."""
    pieces = []
    for start, end in regions:
        at = start
        while at + PIECE_SECONDS < end:
            pieces.append((at, at + PIECE_SECONDS))
            at += SHIFT_SECONDS
        if at < end:
            pieces.append((max(start, end - PIECE_SECONDS), end))
    return pieces


def embed(audio: np.ndarray, pieces: list[tuple[float, float]], progress: Callable[[float], None]) -> np.ndarray:
    """One L2-normalised CAM++ embedding per piece (features mean-normalised per piece, as the model was trained)."""
    session = _embedder()
    features = fbank(audio)
    frames = [
        _piece_frames(features, start, end) for start, end in pieces
    ]
    out = np.zeros((len(pieces), 192), dtype=np.float32)
    # Pieces of equal length share a batch, so that none is padded.
    by_length: dict[int, list[int]] = {}
    for index, piece in enumerate(frames):
        by_length.setdefault(len(piece), []).append(index)
    done = 0
    for indices in by_length.values():
        for first in range(0, len(indices), EMBEDDING_BATCH):
            chunk = indices[first:first + EMBEDDING_BATCH]
            batch = np.stack([frames[i] for i in chunk]).astype(np.float32)
            out[chunk] = session.run(None, {"features": batch})[0]
            done += len(chunk)
            progress(done / len(pieces))
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.maximum(norms, 1e-9)


def _piece_frames(features: np.ndarray, start: float, end: float) -> np.ndarray:
    first = int(round(start * SAMPLE_RATE / FRAME_SHIFT))
    last = max(first + 2, int(round((end * SAMPLE_RATE - FRAME_LENGTH) / FRAME_SHIFT)) + 1)
    piece = features[first:min(last, len(features))]
    if len(piece) < 2:  # a region at the very end, shorter than two frames
        piece = features[max(0, len(features) - 2):]
    return piece - piece.mean(axis=0, keepdims=True)


# MARK: - Features


def fbank(audio: np.ndarray) -> np.ndarray:
    """Kaldi-style log Mel filterbank (80 bins, 25 ms Povey windows every 10 ms, pre-emphasis 0.97, no dither),
    what CAM++ was trained on. Returns (frames, 80)."""
    samples = np.asarray(audio, dtype=np.float64) * 32768.0
    if len(samples) < FRAME_LENGTH:
        samples = np.pad(samples, (0, FRAME_LENGTH - len(samples)))
    count = 1 + (len(samples) - FRAME_LENGTH) // FRAME_SHIFT
    index = np.arange(FRAME_LENGTH)[None, :] + FRAME_SHIFT * np.arange(count)[:, None]
    frames = samples[index]
    frames = frames - frames.mean(axis=1, keepdims=True)
    frames = np.concatenate([frames[:, :1] * (1 - 0.97), frames[:, 1:] - 0.97 * frames[:, :-1]], axis=1)
    frames = frames * _povey_window()
    power = np.abs(np.fft.rfft(frames, n=FFT_SIZE, axis=1)) ** 2
    energies = power[:, : FFT_SIZE // 2] @ _mel_banks().T
    return np.log(np.maximum(energies, np.finfo(np.float32).eps)).astype(np.float32)


def _povey_window() -> np.ndarray:
    n = np.arange(FRAME_LENGTH)
    return (0.5 - 0.5 * np.cos(2 * np.pi * n / (FRAME_LENGTH - 1))) ** 0.85


def _mel(frequency):
    return 1127.0 * np.log(1.0 + np.asarray(frequency) / 700.0)


def _mel_banks(low: float = 20.0, high: float = SAMPLE_RATE / 2) -> np.ndarray:
    """Triangular filters evenly spaced on Kaldi's Mel scale, over the FFT's bins below Nyquist: (80, 256)."""
    bins = FFT_SIZE // 2
    centres = np.linspace(_mel(low), _mel(high), MEL_BINS + 2)
    frequencies = _mel(np.arange(bins) * SAMPLE_RATE / FFT_SIZE)
    left, centre, right = centres[:-2, None], centres[1:-1, None], centres[2:, None]
    rising = (frequencies[None, :] - left) / (centre - left)
    falling = (right - frequencies[None, :]) / (right - centre)
    return np.maximum(0.0, np.minimum(rising, falling))


# MARK: - Clustering


def cluster(embeddings: np.ndarray, options: Options) -> np.ndarray:
    """A speaker number per embedding: spectral clustering (Ng, Jordan and Weiss) of the pruned cosine-similarity
    graph, with the speaker count read from the normalised Laplacian's eigenvalues (within the caller's bounds) unless
    it is given; then clusters that are one voice after all are merged."""
    count = len(embeddings)
    if count > MOST_CLUSTERED_PIECES:
        # An even sample is clustered; every other piece joins the speaker it sounds most like.
        sample = np.linspace(0, count - 1, MOST_CLUSTERED_PIECES).round().astype(int)
        return nearest_speakers(embeddings, embeddings[sample], cluster(embeddings[sample], options))
    similarity = embeddings @ embeddings.T
    if options.speakers:
        low = high = min(options.speakers, count)
    else:
        low = max(1, options.min_speakers)
        high = max(low, min(options.max_speakers, count // MIN_CLUSTER_PIECES))
    strongest = np.argsort(-similarity, axis=1)
    eigenvalues, eigenvectors = np.linalg.eigh(laplacian(similarity, strongest[:, :neighbours(similarity, strongest, low, high)]))
    speakers = low if options.speakers else speaker_count(eigenvalues, low, high)
    if speakers <= 1:
        return np.zeros(count, dtype=int)
    spectral = eigenvectors[:, :speakers]
    spectral = spectral / np.maximum(np.linalg.norm(spectral, axis=1, keepdims=True), 1e-9)
    labels = kmeans(spectral, speakers)
    if not options.speakers:
        labels = merge_alike(fold_strays(labels, embeddings), embeddings, fewest=low)
    return labels


def laplacian(similarity: np.ndarray, kept: np.ndarray) -> np.ndarray:
    """The normalised Laplacian of the similarity graph in which each piece keeps only its links to the pieces in its
    row of ``kept``."""
    count = len(similarity)
    pruned = np.zeros_like(similarity)
    rows = np.arange(count)[:, None]
    pruned[rows, kept] = similarity[rows, kept]
    affinity = np.maximum(0.5 * (pruned + pruned.T), 0.0)
    np.fill_diagonal(affinity, 0.0)
    scale = 1.0 / np.sqrt(np.maximum(affinity.sum(axis=1), 1e-9))
    return np.eye(count) - scale[:, None] * affinity * scale[None, :]


def neighbours(similarity: np.ndarray, strongest: np.ndarray, low: int, high: int) -> int:
    """How many links each piece keeps, chosen per recording as auto-tuning spectral clustering (Park et al., 2019)
    does: the fewest links for the clearest eigengap. Too few and one voice falls apart into its sentences (a long
    recording's pieces are most alike within a sentence); too many and voices join. ``strongest``: each row's pieces,
    most alike first."""
    count = len(similarity)
    choices = np.unique(np.geomspace(MIN_NEIGHBOURS, max(MIN_NEIGHBOURS, count // 4), NEIGHBOUR_CHOICES).round())
    best, best_ratio = MIN_NEIGHBOURS, np.inf
    for keep in choices.astype(int):
        eigenvalues = np.linalg.eigvalsh(laplacian(similarity, strongest[:, :keep]))
        gap = np.diff(eigenvalues[low - 1:high + 1]).max(initial=0.0) / max(eigenvalues[-1], 1e-9)
        ratio = keep / max(gap, 1e-9)
        if ratio < best_ratio:
            best, best_ratio = int(keep), ratio
    return best


def speaker_count(eigenvalues: np.ndarray, low: int, high: int) -> int:
    """The eigengap estimate: the first gap between consecutive eigenvalues that is nearly (3/4 of) the largest one.
    The largest gap alone over-splits short recordings, where a few noisy eigenvalues jump further than the real
    break; taking the first big one prefers fewer speakers when the evidence is close."""
    gaps = np.diff(eigenvalues[low - 1:high + 1])
    if len(gaps) == 0:
        return low
    return int(np.flatnonzero(gaps >= 0.75 * gaps.max())[0]) + low


def kmeans(points: np.ndarray, k: int, restarts: int = 8, rounds: int = 100) -> np.ndarray:
    """Lloyd's k-means with k-means++ starts (a fixed seed, so a file always gets the same labels); the best of
    ``restarts`` runs by inertia."""
    random = np.random.default_rng(0)
    best, best_inertia = None, np.inf
    for _ in range(restarts):
        centres = [points[random.integers(len(points))]]
        for _ in range(1, k):
            distance = np.min([((points - c) ** 2).sum(axis=1) for c in centres], axis=0)
            total = distance.sum()
            choice = random.choice(len(points), p=distance / total) if total > 0 else random.integers(len(points))
            centres.append(points[choice])
        centres = np.array(centres)
        for _ in range(rounds):
            labels = np.argmin(((points[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2), axis=1)
            moved = np.array([points[labels == j].mean(axis=0) if np.any(labels == j) else centres[j] for j in range(k)])
            if np.allclose(moved, centres):
                break
            centres = moved
        inertia = ((points - centres[labels]) ** 2).sum()
        if inertia < best_inertia:
            best, best_inertia = labels, inertia
    return best


def centroids(embeddings: np.ndarray, labels: np.ndarray, names: np.ndarray) -> np.ndarray:
    """The mean embedding of each cluster in ``names``, one row each."""
    return np.stack([embeddings[labels == name].mean(axis=0) for name in names])


def fold_strays(labels: np.ndarray, embeddings: np.ndarray) -> np.ndarray:
    """Clusters of fewer than MIN_CLUSTER_PIECES pieces join the real speaker whose centroid is most similar."""
    names, sizes = np.unique(labels, return_counts=True)
    real = names[sizes >= MIN_CLUSTER_PIECES]
    if len(real) == 0 or len(real) == len(names):
        return labels
    means = centroids(embeddings, labels, real)
    folded = labels.copy()
    for index in np.where(~np.isin(labels, real))[0]:
        folded[index] = real[int(np.argmax(means @ embeddings[index]))]
    return folded


def merge_alike(labels: np.ndarray, embeddings: np.ndarray, fewest: int) -> np.ndarray:
    """The two clusters whose mean embeddings are most alike become one while they are at least
    SAME_SPEAKER_SIMILARITY alike (and more than ``fewest`` remain): the eigengap cannot say "one speaker", and a
    voice whose sentences differ may still come out as two clusters."""
    merged = labels.copy()
    while True:
        names = np.unique(merged)
        if len(names) <= max(1, fewest):
            return merged
        means = centroids(embeddings, merged, names)
        means /= np.maximum(np.linalg.norm(means, axis=1, keepdims=True), 1e-9)
        alike = means @ means.T
        np.fill_diagonal(alike, -1.0)
        first, second = np.unravel_index(int(np.argmax(alike)), alike.shape)
        if alike[first, second] < SAME_SPEAKER_SIMILARITY:
            return merged
        merged[merged == names[second]] = names[first]


def nearest_speakers(embeddings: np.ndarray, sample: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Every embedding's speaker: the one whose centroid over the clustered ``sample`` is most similar."""
    names = np.unique(labels)
    return names[np.argmax(embeddings @ centroids(sample, labels, names).T, axis=1)]


# MARK: - Turns


def turns(regions: list[tuple[float, float]], pieces: list[tuple[float, float]], labels: np.ndarray) -> list[Turn]:
    """Every 10 ms of speech takes the speaker of the piece whose centre is nearest; runs of one speaker are turns."""
    centres = np.array([(start + end) / 2 for start, end in pieces])
    starts, ends = np.array([p[0] for p in pieces]), np.array([p[1] for p in pieces])
    labelled = labels >= 0
    found: list[Turn] = []
    step = FRAME_SHIFT / SAMPLE_RATE
    for start, end in regions:
        times = np.arange(start, end, step) + step / 2
        inside = np.flatnonzero((centres >= start) & (centres <= end) & labelled)
        if len(times) == 0:
            continue
        if len(inside) == 0:
            # No piece of its own was clustered: the speaker whose speech is nearest in time, before or after.
            gaps = np.where(labelled, np.maximum(starts - end, start - ends), np.inf)
            inside = np.array([int(np.argmin(gaps))])
        own = smoothed(labels[inside])
        nearest = np.argmin(np.abs(times[:, None] - centres[inside][None, :]), axis=1)
        speakers = own[nearest]
        changes = np.flatnonzero(np.diff(speakers)) + 1
        bounds = [0, *changes.tolist(), len(times)]
        for first, last in zip(bounds[:-1], bounds[1:]):
            turn_start = start if first == 0 else float(times[first] - step / 2)
            turn_end = end if last == len(times) else float(times[last] - step / 2)
            speaker = int(speakers[first])
            if found and found[-1].speaker == speaker and turn_start - found[-1].end < 0.5:
                found[-1] = Turn(found[-1].start, turn_end, speaker)
            else:
                found.append(Turn(turn_start, turn_end, speaker))
    return found


def smoothed(labels: np.ndarray) -> np.ndarray:
    """One region's piece labels with lone outliers replaced: a piece whose two neighbours agree with each other
    (or, at an edge, whose next two agree) takes their speaker. A real turn lasts at least two pieces (1.2 s)."""
    out = labels.copy()
    for index in range(len(labels)):
        if 0 < index < len(labels) - 1 and labels[index - 1] == labels[index + 1] != labels[index]:
            out[index] = labels[index - 1]
    if len(labels) >= 3:
        if labels[1] == labels[2] != labels[0]:
            out[0] = labels[1]
        if labels[-2] == labels[-3] != labels[-1]:
            out[-1] = labels[-2]
    return out
