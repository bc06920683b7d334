"""Typed engine errors, reported to callers by code. The codes and whether a retry can help live in
failures.json, which the Swift side is checked against."""
from __future__ import annotations

import json
from pathlib import Path

_CODES: dict[str, dict[str, bool]] = json.loads((Path(__file__).with_name("failures.json")).read_text())["codes"]


class EngineError(Exception):
    """An error with a stable code that the Swift side maps to a job failure."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


INVALID_AUDIO = "INVALID_AUDIO"
MODEL_NOT_FOUND = "MODEL_NOT_FOUND"
UNSUPPORTED_TASK = "UNSUPPORTED_TASK"
BAD_REQUEST = "BAD_REQUEST"
INTERNAL = "ENGINE_ERROR"
DIARIZATION_UNAVAILABLE = "DIARIZATION_UNAVAILABLE"
assert {INVALID_AUDIO, MODEL_NOT_FOUND, UNSUPPORTED_TASK, BAD_REQUEST, INTERNAL, DIARIZATION_UNAVAILABLE} == set(_CODES), (
    "failures.json and errors.py differ"
)

#: Codes that no retry can fix.
NOT_RETRYABLE = frozenset(code for code, facts in _CODES.items() if not facts["retryable"])
