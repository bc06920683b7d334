"""Typed engine errors, reported to callers by code."""
from __future__ import annotations


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
