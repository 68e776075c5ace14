"""What a request can be refused for before anything is read or searched."""

from __future__ import annotations


class BadRequest(Exception):
    """The request cannot be read as asked (400, or ``status``); ``code``: a stable name for programs."""

    def __init__(self, message: str, status: int = 400, code: str = "bad_request"):
        super().__init__(message)
        self.status = status
        self.code = code


class Forbidden(Exception):
    """The path tries to leave the output folder (403)."""
