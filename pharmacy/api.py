"""The JSON API's shared parts: an operation decorator that parses input with marshmallow,
dumps output, and records what the OpenAPI document at /api/v1/openapi.json says."""

import functools
import re
from datetime import UTC, date, datetime
from decimal import Decimal

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, Flask, Response, current_app, jsonify, request
from flask.json.provider import DefaultJSONProvider
from flask_babel import gettext as _
from marshmallow import Schema, fields

from . import clock, vocabulary
from .errors import DomainError
from .extensions import csrf
from .fields import DECIMAL_PATTERN, Integer, Money
from .i18n import public

API_PREFIX = "/api/v1"
MOMENT_EXAMPLE = "2026-12-04T01:31:00Z"
MOMENT_DESCRIPTION = "ISO 8601 in UTC with a Z"


class UtcDateTime(fields.AwareDateTime):
    """A moment in the API: written in UTC with a `Z`, read with any offset (none means UTC) and kept in UTC.

    Stored moments come back naive from SQLite and in the session's zone from PostgreSQL; both leave as UTC, so
    a client never has to guess. Every `schemas.py` declares its moments with this field, not `fields.DateTime`.
    """

    def __init__(self, **kwargs):
        super().__init__(default_timezone=UTC, **kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else clock.isoformat_utc(value)

    def _deserialize(self, value, attr, data, **kwargs):
        # SQLite keeps a datetime's wall time and drops its zone: anything stored must already be UTC.
        return clock.as_utc(super()._deserialize(value, attr, data, **kwargs))


MAX_JSON_DEPTH = 32


class RefusedJSON(ValueError):
    """A JSON text that parses but cannot be taken: nested too deep, or a string with a lone surrogate (which no
    database, log or page can encode). A ValueError, so `request.get_json` treats it as a bad body (400)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _check_parsed(value) -> None:
    """Walk a parsed JSON value without recursion: depth at most MAX_JSON_DEPTH, every text valid Unicode."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            _check_text(item)
        elif isinstance(item, (dict, list)):
            if depth > MAX_JSON_DEPTH:
                raise RefusedJSON(_("JSON 嵌套过深（最多 %(n)s 层）", n=MAX_JSON_DEPTH))
            if isinstance(item, dict):
                for key, child in item.items():
                    _check_text(key)
                    stack.append((child, depth + 1))
            else:
                stack.extend((child, depth + 1) for child in item)


def _check_text(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise RefusedJSON(_("JSON 文本含有无效字符（孤立的代理码位）")) from None


class JSONProvider(DefaultJSONProvider):
    """Flask's JSON with moments as the schemas write them (Flask's own default is an RFC 822 date); a request
    body nested too deep or holding a lone surrogate is refused as bad JSON (`RefusedJSON`), never a 500."""

    def loads(self, s, **kwargs):
        try:
            value = super().loads(s, **kwargs)
        except RecursionError:
            raise RefusedJSON(_("JSON 嵌套过深（最多 %(n)s 层）", n=MAX_JSON_DEPTH)) from None
        _check_parsed(value)
        return value

    @staticmethod
    def default(o):
        if isinstance(o, datetime):
            return clock.isoformat_utc(o)
        if isinstance(o, date):
            return o.isoformat()
        return DefaultJSONProvider.default(o)


def api_blueprint(name: str, import_name: str, url_prefix: str) -> Blueprint:
    """Make a domain's API blueprint under /api/v1; JSON writes need no form token (see `api_operation`)."""
    bp = Blueprint(name, import_name, url_prefix=API_PREFIX + url_prefix)
    csrf.exempt(bp)
    return bp


def _schema(schema):
    if schema is None:
        return None
    return schema() if isinstance(schema, type) else schema


def api_operation(*, summary: str, tags: list[str], query=None, body=None, response=None, status: int = 200,
                  many: bool = False, description: str = ""):
    """Declare one API operation: parse `query`/`body` with their schemas, dump the result with `response`.

    Cross-site forms cannot send `application/json`, so requiring it on writes is the API's CSRF defence for cookie
    sessions; a write sent without a JSON body (a bodyless action such as submit, a multipart upload) must carry the
    session's CSRF token in `X-CSRFToken` instead. A request signed in with a bearer token needs neither: browsers
    never add that header by themselves. An action whose body schema has no required field may be sent with no body.
    """
    query_schema, body_schema, response_schema = _schema(query), _schema(body), _schema(response)

    def decorate(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            if query_schema is not None:
                kwargs["query"] = query_schema.load(_flat_args())
            sessions_write = request.method in WRITE_METHODS and not _signed_in_with_token()
            if body_schema is not None and _has_body():
                kwargs["body"] = body_schema.load(_json_body())
            else:
                if sessions_write and not request.is_json:
                    _require_csrf_header()
                if body_schema is not None:
                    kwargs["body"] = body_schema.load({})
            result = view(*args, **kwargs)
            if isinstance(result, (Response, tuple)) or response_schema is None:
                return result
            return jsonify(response_schema.dump(result, many=many)), status

        wrapper._api_doc = {
            "summary": summary,
            "description": description,
            "tags": tags,
            "query": query_schema,
            "body": body_schema,
            "response": response_schema,
            "status": status,
            "many": many,
        }
        return wrapper

    return decorate


WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


def _signed_in_with_token() -> bool:
    from .auth.tokens import current_token

    return current_token() is not None


def _has_body() -> bool:
    return bool(request.get_data(cache=True))


def _flat_args() -> dict:
    out = {}
    for key in request.args:
        values = request.args.getlist(key)
        out[key] = values if len(values) > 1 else values[0]
    return out


def _json_body():
    if not request.is_json:
        raise DomainError(_("请求体必须是 JSON（Content-Type: application/json）"), code="unsupported_media_type")
    try:
        data = current_app.json.loads(request.get_data(cache=True))
    except RefusedJSON as refused:
        raise DomainError(refused.message, code="bad_json") from None
    except ValueError:
        data = None
    if data is None:
        raise DomainError(_("请求体不是有效的 JSON"), code="bad_json")
    return data


def _require_csrf_header() -> None:
    from flask_wtf.csrf import CSRFError, validate_csrf

    try:
        validate_csrf(request.headers.get("X-CSRFToken"))
    except (CSRFError, Exception) as exc:  # wtforms raises ValidationError, not CSRFError
        raise DomainError(_("缺少或无效的安全令牌（X-CSRFToken）"), code="csrf") from exc


def schema_component_name(schema) -> str:
    """A component name unique across domains: the domain's name, then the schema's (deliveries + ReceiptInput)."""
    cls = schema if isinstance(schema, type) else type(schema)
    parts = cls.__module__.split(".")
    domain = parts[1] if len(parts) > 2 and parts[0] == "pharmacy" else ""
    name = cls.__name__.removesuffix("Schema") or cls.__name__
    prefix = domain.title().replace("_", "")
    return name if name.startswith(prefix) else prefix + name


_PATH_PARAM = re.compile(r"<(?:(?P<conv>[a-z]+):)?(?P<name>\w+)>")


def build_openapi(app: Flask) -> dict:
    """Build the OpenAPI 3 document from every view decorated with `api_operation`."""
    marshmallow = MarshmallowPlugin(schema_name_resolver=schema_component_name)
    times = ("Every date-time is ISO 8601 in UTC with a `Z` (2026-12-04T01:31:00Z); one sent without an offset is "
             "taken as UTC. A date (YYYY-MM-DD: an expiry, a departure, a report's range) is a day in the county's "
             f"time zone, {app.config['BABEL_DEFAULT_TIMEZONE']}. Any query value, JSON string or JSON key holding an "
             "invisible control character (C0 but tab/LF/CR, DEL, C1, a lone surrogate, U+FFFE/FFFF, U+2028/2029) is "
             "refused with 422 `control_character`, the field named by its path (`lines.0.note`).")
    spec = APISpec(title="pharmacy API", version="1", openapi_version="3.0.3", plugins=[marshmallow],
                   info={"description": times})
    marshmallow.converter.add_attribute_function(_utc_moment_property)
    marshmallow.converter.add_attribute_function(_money_property)
    spec.components.schema("Error", {
        "type": "object",
        "properties": {"error": {"type": "object", "properties": {
            "code": {"type": "string"}, "message": {"type": "string"}, "fields": {"type": "object"}}}},
    })
    def ref(schema):
        # The marshmallow plugin registers each schema class once as a component and returns a $ref to it.
        return type(schema)

    paths: dict[str, dict] = {}
    for rule in app.url_map.iter_rules():
        view = app.view_functions.get(rule.endpoint)
        doc = getattr(view, "_api_doc", None)
        if doc is None:
            continue
        path = _PATH_PARAM.sub(lambda m: "{" + m.group("name") + "}", rule.rule)
        params = [
            {"name": m.group("name"), "in": "path", "required": True,
             "schema": {"type": "integer" if m.group("conv") == "int" else "string"}}
            for m in _PATH_PARAM.finditer(rule.rule)
        ]
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            op = {"summary": doc["summary"], "tags": doc["tags"], "operationId": f"{rule.endpoint}_{method.lower()}",
                  "parameters": list(params), "responses": {}}
            if doc["description"]:
                op["description"] = doc["description"]
            if doc["query"] is not None:
                op["parameters"].append({"in": "query", "schema": type(doc["query"])})
            if doc["body"] is not None:
                op["requestBody"] = {"required": _needs_body(doc["body"]),
                                     "content": {"application/json": {"schema": ref(doc["body"])}}}
            if method in WRITE_METHODS:
                op["parameters"].append(CSRF_HEADER)
                if doc["body"] is None or not _needs_body(doc["body"]):
                    # Sent without a JSON body, a cookie session's write needs the CSRF header; a bearer token not.
                    op["security"] = [{"bearerToken": []}, {"cookieSession": [], "csrfHeader": []}]
            ok = {"description": "OK"}
            if doc["response"] is not None:
                item = ref(doc["response"])
                schema = {"type": "array", "items": item} if doc["many"] else item
                ok["content"] = {"application/json": {"schema": schema}}
            op["responses"][str(doc["status"])] = ok
            for code in ("400", "401", "403", "404", "409", "422"):
                op["responses"][code] = {"description": code,
                                         "content": {"application/json": {"schema": "Error"}}}
            paths.setdefault(path, {})[method.lower()] = op
    spec.components.security_scheme("bearerToken", {
        "type": "http", "scheme": "bearer",
        "description": "An API token from the account page (/account) or POST /api/v1/auth/tokens, sent as "
                       "`Authorization: Bearer ph_…`. Scopes: `read` (GET) and `write` (every method); never more "
                       "than the user's role. No CSRF token needed."})
    spec.components.security_scheme("cookieSession", {
        "type": "apiKey", "in": "cookie", "name": app.config.get("SESSION_COOKIE_NAME", "session"),
        "description": "The browser's session after signing in on /login. Writes need a JSON body "
                       "(Content-Type: application/json) or the X-CSRFToken header (GET /api/v1/auth/csrf)."})
    spec.components.security_scheme("csrfHeader", {
        "type": "apiKey", "in": "header", "name": "X-CSRFToken",
        "description": "With a cookie session, a write sent without a JSON body (a bodyless action, an upload) "
                       "carries the session's CSRF token from GET /api/v1/auth/csrf; without it the answer is 400 "
                       "`csrf`. A JSON body (Content-Type: application/json) or a bearer token needs none."})
    for path in sorted(paths):
        spec.path(path=path, operations=paths[path])
    document = spec.to_dict()
    document["security"] = [{"bearerToken": []}, {"cookieSession": []}]
    return _plain_numbers(document)


CSRF_HEADER = {
    "name": "X-CSRFToken", "in": "header", "required": False, "schema": {"type": "string"},
    "description": "Cookie sessions only, when the request has no JSON body (a bodyless action, an upload): the "
                   "session's CSRF token from GET /api/v1/auth/csrf. Not needed with a bearer token."}


def _needs_body(schema) -> bool:
    """Whether an action needs a body: only when its schema has a required field (others may be sent bodyless)."""
    return any(field.required for field in schema.fields.values())


def _utc_moment_property(_converter, field, ret, **_kwargs) -> dict:
    """Say on every moment of the document that it is UTC with a Z (apispec's attribute-function hook)."""
    if not isinstance(field, UtcDateTime):
        return {}
    described = f"{ret['description']} ({MOMENT_DESCRIPTION})" if ret.get("description") else MOMENT_DESCRIPTION
    return {"example": MOMENT_EXAMPLE, "description": described}


def _money_property(_converter, field, ret, **_kwargs) -> dict:
    """Money is a decimal string in JSON ("12.50"), not a number: say so (a JSON number is also read)."""
    if not isinstance(field, Money):
        return {}
    note = "a decimal string such as \"12.50\" (a JSON number is also accepted in requests)"
    return {"type": "string", "pattern": DECIMAL_PATTERN,
            "description": f"{ret['description']}: {note}" if ret.get("description") else note}


def _plain_numbers(value):
    """Decimal bounds (validate.Range(min=Decimal(...))) as JSON numbers: jsonify would make them strings,
    which is not valid OpenAPI."""
    if isinstance(value, dict):
        if value.get("pattern") == DECIMAL_PATTERN:  # a money string: its Range bounds are not JSON Schema's
            value = {key: item for key, item in value.items() if key not in ("minimum", "maximum")}
        return {key: _plain_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain_numbers(item) for item in value]
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


meta_bp = api_blueprint("api_meta", __name__, "")


@meta_bp.get("/openapi.json")
@public
def openapi_document():
    return jsonify(build_openapi(current_app))


class VocabularyTermSchema(Schema):
    code = fields.String(metadata={"description": "the code stored and sent in every other field"})
    zh = fields.String(metadata={"description": "Chinese label"})
    en = fields.String(metadata={"description": "English label"})
    label = fields.String(metadata={"description": "label in the caller's language"})
    rank = Integer(allow_none=True, metadata={"description": "order where it matters (0 first), else null"})
    contexts = fields.List(fields.String(), metadata={"description": "where the term may be chosen, e.g. receipt"})


class VocabularySchema(Schema):
    language = fields.String(metadata={"description": "zh or en: the language of `label`"})
    sets = fields.Dict(keys=fields.String(), values=fields.List(fields.Nested(VocabularyTermSchema)),
                       metadata={"description": "every code set by name: urgency, shortage_status, order_status, …"})


@meta_bp.get("/vocabulary")
@api_operation(summary="Every urgency, status and reason code with its Chinese and English label", tags=["meta"],
               response=VocabularySchema,
               description="The one vocabulary the pages, PDFs, exports and the tablet show; labels never change a "
                           "code, so clients may cache this document.")
def vocabulary_document():
    language = vocabulary.current_language()
    return {"language": language, "sets": vocabulary.as_document(language)}
