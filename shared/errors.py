"""Domain errors that the API layer turns into HTTP answers (404, 409, 412, 413, 415, 422)."""
from __future__ import annotations


class DomainError(Exception):
    status = 400
    code = "error"

    def __init__(self, message: str, *, field: str | None = None, **detail):
        super().__init__(message)
        self.message = message
        self.field = field
        self.detail = detail


class NotFound(DomainError):
    """The record does not exist or belongs to another tenant: both look the same."""
    status = 404
    code = "not_found"


class Conflict(DomainError):
    """The request is well-formed but the record's state forbids it."""
    status = 409
    code = "conflict"


class PreconditionFailed(DomainError):
    """If-Match did not match the current version."""
    status = 412
    code = "precondition_failed"


class Invalid(DomainError):
    """A value is wrong in a way only the domain can tell; names the field."""
    status = 422
    code = "invalid"


class TooLarge(DomainError):
    status = 413
    code = "too_large"


class UnsupportedType(DomainError):
    status = 415
    code = "unsupported_media_type"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"
