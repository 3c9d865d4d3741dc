"""Domain errors: what services raise when a request cannot be served.

Each class's `message` is also the text of its status on error pages (`rendering.ERROR_TEXTS`).

Services raise these and know nothing of HTTP; the app factory maps each one, in one place, to a
JSON body (API), a whole page, or for htmx a fragment shown in the page's message area.
`message` is a message id, translated where it is shown; `values` fill its placeholders.
"""
from __future__ import annotations

from pydantic import ValidationError

from gennation.platform.i18n import N_


class DomainError(Exception):
    status = 400
    message = N_("This action is not available here.")

    def __init__(self, message: str | None = None, **values: object):
        super().__init__(message or self.message)
        if message:
            self.message = message
        self.values = values


class NotFound(DomainError):
    status = 404
    message = N_("We could not find this page. It may have moved, or the address has a typo.")


class Forbidden(DomainError):
    status = 403
    message = N_("You do not have permission to open this page.")


class Conflict(DomainError):
    status = 409


class InvalidField(DomainError):
    """One or more bad fields: {field: message id}. The form comes back filled in, each error beside its field."""

    status = 422
    message = N_("Please check this field.")

    def __init__(self, field: str | None = None, message: str | None = None, *, errors: dict[str, str] | None = None,
                 **values: object):
        self.errors = dict(errors or {})
        if field:
            self.errors[field] = message or self.message
        first = next(iter(self.errors.items()), ("", self.message))
        self.field = first[0]
        super().__init__(first[1], **values)  # values fill the placeholders of the message(s)


# What a form field's value broke, by pydantic's error type: one plain sentence each.
_FIELD_MESSAGES = {
    "missing": N_("Fill in this field."),
    "string_too_short": N_("Fill in this field."),
    "string_too_long": N_("This text is too long."),
    "string_pattern_mismatch": N_("Use small Latin letters, digits and dashes."),
    "int_parsing": N_("Enter a whole number."),
    "int_from_float": N_("Enter a whole number."),
    "float_parsing": N_("Enter a number, for example 12 or 3.5."),
    "greater_than_equal": N_("This number is outside the allowed range."),
    "less_than_equal": N_("This number is outside the allowed range."),
    "datetime_parsing": N_("Enter a date and time."),
    "datetime_from_date_parsing": N_("Enter a date and time."),
    "datetime_type": N_("Enter a date and time."),
    "too_short": N_("Choose at least one."),
    "literal_error": N_("Choose one of the options."),
}


def validated(model, values: dict):
    """`values` (a submitted form) as an instance of the pydantic `model`, or InvalidField naming every bad
    field in words a person understands."""
    try:
        return model.model_validate(values)
    except ValidationError as error:
        raise InvalidField(errors={str(e["loc"][0]): _FIELD_MESSAGES.get(e["type"], InvalidField.message)
                                   for e in error.errors()}) from None


class RateLimited(DomainError):
    status = 429
    message = N_("Please wait a little and try again.")

    def __init__(self, message: str | None = None, retry_after: int | None = None, **values: object):
        super().__init__(message, **values)
        self.retry_after = retry_after


class Unavailable(DomainError):
    status = 503
    message = N_("This part of the platform is not available right now. Please try again later.")


class Busy(Unavailable):
    """Too much of one kind of work at once for this server: try again in `retry_after` seconds."""

    def __init__(self, message: str | None = None, retry_after: int = 5, **values: object):
        super().__init__(message, **values)
        self.retry_after = retry_after


# What every API route may answer besides its own result, for /openapi.json. The body is always
# {"detail": message} (or, for 422, a list of {loc, msg, type} naming each bad field).
API_ERRORS: dict[int | str, dict] = {
    400: {"description": "The body could not be read (not UTF-8, or not JSON)"},
    401: {"description": "Not signed in, or the sign-in has ended"},
    403: {"description": "Not allowed, or a cookie-signed request without its CSRF token"},
    404: {"description": "No such thing"},
    413: {"description": "The request body is too large"},
    422: {"description": "A field is missing or not valid; `detail` names it"},
    429: {"description": "Too many requests; `Retry-After` says when to try again"},
}
