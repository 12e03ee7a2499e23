"""Marshmallow schemas: they validate the query, shape the answers, and generate the OpenAPI doc."""

from __future__ import annotations

from typing import Any

from marshmallow import INCLUDE, RAISE, Schema, ValidationError, fields, validate

from stock_ticker.domain import MAX_NDAYS, NDAYS_FORM, SYMBOL_FORM, SYMBOL_PATTERN
from stock_ticker.service import SOURCES


class _AsciiInteger(fields.Integer):
    """An integer in ASCII digits only: `int()` alone takes '+7', ' 7' and non-ASCII digits."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if not isinstance(value, str) or not value.isascii() or not value.isdigit():
            raise ValidationError(f"must be {NDAYS_FORM}")
        return int(value)


class NdaysQuerySchema(Schema):
    """Query parameters of `GET /ndays`. Unknown parameters are refused, not silently ignored."""

    class Meta:
        unknown = RAISE

    symbol = fields.String(
        validate=validate.Regexp(SYMBOL_PATTERN.pattern + r"\Z", error=f"must be {SYMBOL_FORM}"),
        metadata={
            "description": "Ticker symbol, case-insensitive. Defaults to the service's SYMBOL; "
            "others must be admitted by ALLOWED_SYMBOLS.",
            "example": "MSFT",
            "pattern": f"^{SYMBOL_PATTERN.pattern}$",
        },
    )
    ndays = _AsciiInteger(
        validate=validate.Range(1, MAX_NDAYS, error=f"must be {NDAYS_FORM}"),
        metadata={
            "description": "How many of the latest trading days to return. Defaults to NDAYS.",
            "example": 7,
            "minimum": 1,
            "maximum": MAX_NDAYS,
        },
    )


class DailyBarSchema(Schema):
    date = fields.Date(required=True, metadata={"example": "2026-11-27"})
    open = fields.Float(required=True, metadata={"example": 421.1})
    high = fields.Float(required=True, metadata={"example": 424.88})
    low = fields.Float(required=True, metadata={"example": 419.5})
    close = fields.Float(required=True, metadata={"example": 423.46})
    volume = fields.Integer(required=True, metadata={"example": 18234000})


class NdaysResponseSchema(Schema):
    symbol = fields.String(required=True, metadata={"example": "MSFT"})
    ndays = fields.Integer(
        required=True,
        metadata={
            "description": "Days actually returned: min(ndays asked, days available).",
            "example": 7,
            "minimum": 1,
        },
    )
    average_closing_price = fields.Float(
        required=True,
        metadata={
            "description": "Mean close over the returned days, decimal, rounded half-even to 4 "
            "places.",
            "example": 421.3743,
        },
    )
    daily_data = fields.List(
        fields.Nested(DailyBarSchema),
        required=True,
        metadata={"description": "Newest first."},
    )
    last_refreshed = fields.Date(required=True, metadata={"example": "2026-11-27"})
    source = fields.String(
        required=True,
        validate=validate.OneOf(SOURCES),
        metadata={
            "description": f"`{SOURCES[0]}` for live data, `{SOURCES[-1]}` for the bundled "
            "sample data served when no API key is set."
        },
    )


class InvalidParamSchema(Schema):
    name = fields.String(required=True, metadata={"example": "ndays"})
    reason = fields.String(required=True, metadata={"example": f"must be {NDAYS_FORM}"})


class ProblemSchema(Schema):
    """RFC 9457 problem details, served as `application/problem+json`. Open to extension
    members, as RFC 9457 allows (`request_id` and `invalid_params` are ours)."""

    class Meta:
        unknown = INCLUDE

    type = fields.String(
        required=True, metadata={"example": "urn:stock-ticker:problem:invalid-parameter"}
    )
    title = fields.String(required=True, metadata={"example": "Invalid query parameter"})
    status = fields.Integer(required=True, metadata={"example": 400})
    detail = fields.String(required=True)
    instance = fields.String(required=True, metadata={"description": "The request path."})
    request_id = fields.String(required=True, metadata={"description": "Same as X-Request-ID."})
    invalid_params = fields.List(
        fields.Nested(InvalidParamSchema),
        metadata={"description": "For 400: each bad parameter's name and the reason."},
    )


class HealthSchema(Schema):
    status = fields.String(required=True, metadata={"example": "ok"})
