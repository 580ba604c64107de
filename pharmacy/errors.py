"""Domain errors and the one handler that turns them into JSON or a page in the user's language."""

import logging
import re

from flask import Flask, current_app, g, jsonify, render_template, request, session
from flask_babel import force_locale
from flask_babel import gettext as _
from marshmallow import ValidationError
from sqlalchemy.exc import DataError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)


class DomainError(Exception):
    """A rule of the domain refused the request; nothing was written."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, fields: dict | None = None, details=None):
        super().__init__(message)
        self.message = str(message)
        if code:
            self.code = code
        self.fields = fields or {}
        self.details = details


class InvalidInput(DomainError):
    status = 422
    code = "invalid"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class InsufficientStock(Conflict):
    code = "insufficient_stock"


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def error_response(status: int, code: str, message: str, fields: dict | None = None, details=None):
    if wants_json():
        body = {"error": {"code": code, "message": message, "fields": fields or {}}}
        if details is not None:
            body["error"]["details"] = details
        return jsonify(body), status
    return render_template("errors/error.html", status=status, code=code, message=message, fields=fields or {}), status


HTTP_MESSAGES = {
    400: lambda: _("请求有误"),
    401: lambda: _("请先登录"),
    403: lambda: _("您没有权限执行此操作"),
    404: lambda: _("找不到该页面或记录"),
    405: lambda: _("不支持此请求方法"),
    409: lambda: _("与当前状态冲突"),
    413: lambda: _("上传的文件太大"),
    415: lambda: _("不支持的内容类型"),
    429: lambda: _("请求过于频繁，请稍后再试"),
    500: lambda: _("服务器内部错误，已记录，请稍后重试"),
}


# marshmallow speaks English; these are its messages as the user's language says them.
_MARSHMALLOW_MESSAGES = [
    (re.compile(r"^Missing data for required field\.$"), lambda m: _("必填")),
    (re.compile(r"^Field may not be null\.$"), lambda m: _("不能为空")),
    (re.compile(r"^Unknown field\.$"), lambda m: _("未知字段")),
    (re.compile(r"^Not a valid integer\.$"), lambda m: _("应为整数")),
    (re.compile(r"^Not a valid number\.$"), lambda m: _("应为数字")),
    (re.compile(r"^Not a valid string\.$"), lambda m: _("应为文本")),
    (re.compile(r"^Not a valid boolean\.$"), lambda m: _("应为是或否")),
    (re.compile(r"^Not a valid (date|datetime)\.$"), lambda m: _("日期格式无效")),
    (re.compile(r"^Not a valid UUID\.$"), lambda m: _("编号格式无效")),
    (re.compile(r"^Not a valid list\.$"), lambda m: _("应为列表")),
    (re.compile(r"^Invalid input type\.$"), lambda m: _("输入类型无效")),
    (re.compile(r"^Must be greater than or equal to (.+) and less than or equal to (.+)\.$"),
     lambda m: _("应在 %(a)s 到 %(b)s 之间", a=m.group(1), b=m.group(2))),
    (re.compile(r"^Must be greater than or equal to (.+)\.$"), lambda m: _("应大于或等于 %(a)s", a=m.group(1))),
    (re.compile(r"^Must be less than or equal to (.+)\.$"), lambda m: _("应小于或等于 %(a)s", a=m.group(1))),
    (re.compile(r"^Must be greater than (.+)\.$"), lambda m: _("应大于 %(a)s", a=m.group(1))),
    (re.compile(r"^Length must be between (.+) and (.+)\.$"),
     lambda m: _("长度应在 %(a)s 到 %(b)s 之间", a=m.group(1), b=m.group(2))),
    (re.compile(r"^Shorter than minimum length (.+)\.$"), lambda m: _("长度不能少于 %(a)s", a=m.group(1))),
    (re.compile(r"^Longer than maximum length (.+)\.$"), lambda m: _("长度不能超过 %(a)s", a=m.group(1))),
    (re.compile(r"^Must be one of: (.+)\.$"), lambda m: _("应为以下之一：%(a)s", a=m.group(1))),
]


def translate_validation_messages(messages):
    """Translate marshmallow's messages, keeping their nesting."""
    if isinstance(messages, dict):
        return {key: translate_validation_messages(value) for key, value in messages.items()}
    if isinstance(messages, list):
        return [translate_validation_messages(value) for value in messages]
    if isinstance(messages, str):
        for pattern, render in _MARSHMALLOW_MESSAGES:
            match = pattern.match(messages)
            if match:
                return render(match)
    return messages


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def handle_domain_error(err: DomainError):
        from .extensions import db

        db.session.rollback()
        return error_response(err.status, err.code, err.message, err.fields, err.details)

    @app.errorhandler(ValidationError)
    def handle_validation_error(err: ValidationError):
        from .extensions import db

        db.session.rollback()
        fields = err.messages if isinstance(err.messages, dict) else {"_schema": err.messages}
        fields = translate_validation_messages(fields)
        return error_response(422, "invalid", _("输入有误，请检查标出的字段"), fields)

    @app.errorhandler(HTTPException)
    def handle_http_error(err: HTTPException):
        status = err.code or 500
        message = HTTP_MESSAGES.get(status, lambda: err.description or "")()
        if status == 400 and "CSRF" in (err.description or ""):
            message = _("表单已过期或缺少安全令牌，请刷新页面后重试")
            return error_response(400, "csrf", message)
        response, status = error_response(status, err.name.lower().replace(" ", "_"), message)
        response = app.make_response(response)
        for name, value in err.get_headers():
            if name.lower() not in ("content-type", "content-length"):
                response.headers[name] = value  # e.g. 405's Allow
        return response, status

    for unavailable in DATABASE_UNAVAILABLE:
        app.register_error_handler(unavailable, database_unavailable)

    @app.errorhandler(OverflowError)
    @app.errorhandler(DataError)
    def handle_out_of_range(err: Exception):
        """A number or text the database cannot hold (an id beyond INTEGER, a text longer than its column) is bad
        input, whichever schema forgot its bounds: 422, nothing written."""
        from .extensions import db

        db.session.rollback()
        log.warning("value out of range on %s %s: %s", request.method, request.path, str(err).splitlines()[0][:200])
        return error_response(422, "out_of_range", _("输入的数值或文本超出允许范围"))

    @app.errorhandler(Exception)
    def handle_unexpected(err: Exception):
        from .extensions import db

        db.session.rollback()
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, "internal", _("服务器内部错误，已记录，请稍后重试"))


DATABASE_UNAVAILABLE = (OperationalError, InterfaceError, PoolTimeout)


def database_unavailable(err: Exception):
    """The database is out of reach (down, restarting, every connection busy): 503 in the user's language,
    answered without touching the database again (no user reload, no query while logging or rendering)."""
    identity = _identity_without_database()
    forget_failed_transaction()
    log.warning("database unavailable on %s %s: %s", request.method, request.path,
                str(err).splitlines()[0][:200] if str(err) else type(err).__name__)
    locale = session.get("lang") or identity.get("locale")
    if locale in current_app.config["LANGUAGES"]:
        with force_locale(locale):
            response, status = _database_unavailable()
    else:
        response, status = _database_unavailable()
    response = current_app.make_response((response, status))
    response.headers["Retry-After"] = "30"
    return response


def _database_unavailable():
    return error_response(503, "database_unavailable", _("数据库暂时无法访问，请稍后重试"))


def _identity_without_database() -> dict:
    """Who is signed in, as already loaded; from here on the request is answered as by a visitor, because asking
    the user object anything could reload it from the database that just failed."""
    from .extensions import login
    from .logging_setup import signed_in

    identity = signed_in()
    g._login_user = login.anonymous_user()
    return identity


def forget_failed_transaction() -> None:
    """Roll back a transaction whose connection may be dead: a failure to roll back is logged, not raised (the
    pool discards the connection; the database rolls back what it had)."""
    from .extensions import db

    try:
        db.session.rollback()
    except SQLAlchemyError as exc:
        log.warning("rollback failed on %s %s: %s", request.method, request.path, type(exc).__name__)
