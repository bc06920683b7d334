"""WhisperAPI's speech engine: faster-whisper behind a JSON-lines protocol.

The Swift worker runs ``python -m engine`` as a long-lived process per worker slot;
the Python cloud worker imports :func:`engine.runner.transcribe` directly.
"""

import os as _os

# Numerical libraries (numpy's BLAS for the features, CTranslate2's OpenMP parts) sum in an order that depends on
# their thread count, which changes results slightly. Their count follows WHISPER_CPU_THREADS, set before any of them
# loads (as in the engine process the Swift worker starts), so a Python cloud worker and a Swift worker with the same
# settings give the same transcript.
_threads = _os.environ.get("WHISPER_CPU_THREADS", "0")
if _threads.isdigit() and int(_threads) > 0:
    _os.environ.setdefault("OMP_NUM_THREADS", _threads)
