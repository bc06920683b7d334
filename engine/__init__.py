"""WhisperAPI's speech engine: faster-whisper behind a JSON-lines protocol.

The Swift worker runs ``python -m engine`` as a long-lived process per worker slot;
the Python cloud worker imports :func:`engine.runner.transcribe` directly.
"""
