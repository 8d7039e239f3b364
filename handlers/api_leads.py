"""`POST /api/leads`: the form and API intake (SPEC §3, §12).

Validation is strict and every error names its field, so an integrator can fix
their form from the response alone. Nothing is written unless the whole body is
valid.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from aiohttp import web
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    ValidationError,
)

from bot.domain.contact import ContactError, Email, Phone, parse_email, parse_phone
from bot.leads import Captured, LeadIntake
from handlers.http import Handler

MAX_BODY_BYTES = 64 * 1024

ShortText = Annotated[StrictStr, Field(max_length=200)]
AnswerKey = Annotated[StrictStr, Field(min_length=1, max_length=100)]
AnswerValue = (
    Annotated[StrictStr, Field(max_length=2000)]
    | StrictInt
    | StrictFloat
    | StrictBool
    | Annotated[list[Annotated[StrictStr, Field(max_length=200)]], Field(max_length=20)]
)


class LeadBody(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    email: Annotated[StrictStr, Field(max_length=320)] | None = None
    phone: Annotated[StrictStr, Field(max_length=64)] | None = None
    name: ShortText | None = None
    company: ShortText | None = None
    source: ShortText | None = None
    answers: Annotated[dict[AnswerKey, AnswerValue], Field(max_length=50)] = Field(
        default_factory=dict
    )
    utm: Annotated[
        dict[
            Annotated[StrictStr, Field(min_length=1, max_length=50)],
            Annotated[StrictStr, Field(max_length=500)],
        ],
        Field(max_length=20),
    ] = Field(default_factory=dict)


def _field_name(loc: tuple[int | str, ...]) -> str:
    # For unions pydantic adds the member type to the location; the person only needs the key.
    parts = [str(p) for p in loc if not (isinstance(p, str) and ("[" in p or p in _TYPE_TAGS))]
    return ".".join(parts) or "body"


_TYPE_TAGS = {"str", "int", "float", "bool", "list", "dict", "constrained-str"}
ANSWER_TYPES = "must be a string, a number, true/false, or a list of strings"


def _message(error: Any) -> str:
    """Pydantic's message, except for an answer of the wrong type, where it would name one
    arbitrary member of the union instead of what is allowed."""
    loc = error["loc"]
    is_answer_value = len(loc) >= 3 and loc[0] == "answers"
    if is_answer_value and str(error["type"]).endswith("_type"):
        return ANSWER_TYPES
    return str(error["msg"])


def bad_request(fields: list[dict[str, str]], message: str = "invalid lead") -> web.Response:
    return web.json_response(
        {"error": "invalid_request", "message": message, "fields": fields}, status=400
    )


def _dedupe(errors: list[dict[str, str]]) -> list[dict[str, str]]:
    seen: dict[str, dict[str, str]] = {}
    for err in errors:
        seen.setdefault(err["field"], err)
    return list(seen.values())


def parse_lead_body(
    payload: Any, phone_region: str, api_key_id: int
) -> LeadIntake | list[dict[str, str]]:
    """A validated `LeadIntake`, or the list of field errors to send back."""
    if not isinstance(payload, dict):
        return [{"field": "body", "message": "must be a JSON object"}]
    try:
        body = LeadBody.model_validate(payload)
    except ValidationError as exc:
        return _dedupe(
            [{"field": _field_name(tuple(e["loc"])), "message": _message(e)} for e in exc.errors()]
        )
    errors: list[dict[str, str]] = []
    email: Email | None = None
    phone: Phone | None = None
    if not body.email and not body.phone:
        errors.append({"field": "email", "message": "give at least one of email or phone"})
        errors.append({"field": "phone", "message": "give at least one of email or phone"})
    if body.email:
        try:
            email = parse_email(body.email)
        except ContactError as exc:
            errors.append({"field": "email", "message": str(exc)})
    if body.phone:
        try:
            phone = parse_phone(body.phone, phone_region)
        except ContactError as exc:
            errors.append({"field": "phone", "message": str(exc)})
    if errors:
        return errors
    return LeadIntake(
        intake="api",
        email=email,
        phone=phone,
        name=body.name or None,
        company=body.company or None,
        source=body.source or None,
        answers=dict(body.answers),
        utm=dict(body.utm),
        api_key_id=api_key_id,
    )


Authenticate = Callable[[str], Awaitable[int | None]]
Capture = Callable[[LeadIntake], Awaitable[Captured]]


def make_lead_api(authenticate: Authenticate, capture: Capture, phone_region: str) -> Handler:
    async def post_lead(request: web.Request) -> web.Response:
        header = request.headers.get("Authorization", "")
        scheme, _, key = header.partition(" ")
        key_id = (
            await authenticate(key.strip()) if scheme.lower() == "bearer" and key.strip() else None
        )
        if key_id is None:
            return web.json_response(
                {
                    "error": "unauthorized",
                    "message": "missing or invalid API key (Authorization: Bearer KEY)",
                },
                status=401,
                headers={"WWW-Authenticate": 'Bearer realm="leadbot"'},
            )
        if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
            return _too_large()
        raw = await request.content.read(MAX_BODY_BYTES + 1)
        if len(raw) > MAX_BODY_BYTES:
            return _too_large()
        try:
            payload = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            return web.json_response(
                {
                    "error": "invalid_json",
                    "message": f"body is not valid JSON: {exc}",
                    "fields": [{"field": "body", "message": "not valid JSON"}],
                },
                status=400,
            )
        parsed = parse_lead_body(payload, phone_region, key_id)
        if isinstance(parsed, list):
            return bad_request(parsed)
        captured = await capture(parsed)
        # A returning person is merged into their open lead: the same id, its current state.
        return web.json_response(
            {"id": captured.lead_id, "state": captured.state.value, "merged": captured.merged},
            status=201,
        )

    return post_lead


def _too_large() -> web.Response:
    return web.json_response(
        {"error": "too_large", "message": f"body over {MAX_BODY_BYTES} bytes"}, status=413
    )
