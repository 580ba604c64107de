"""pharmacy: the drug catalog and central-pharmacy inventory of a county medical community."""

import importlib
import logging

from flask import Flask, g, redirect, request, url_for
from flask_babel import get_locale
from flask_login import current_user
from werkzeug.routing import IntegerConverter

from .config import ROOT, Config
from .events import HANDLER_MODULES
from .extensions import babel, csrf, db, login, migrate

log = logging.getLogger(__name__)

# "module:attribute" of every blueprint; each domain adds its own lines.
BLUEPRINTS = [
    "pharmacy.i18n:bp",
    "pharmacy.home:bp",
    "pharmacy.auth.views:bp",
    "pharmacy.auth.api:bp",
    "pharmacy.auth.api:users_bp",
    "pharmacy.facilities.views:bp",
    "pharmacy.facilities.api:bp",
    "pharmacy.catalog.views:bp",
    "pharmacy.catalog.api:bp",
    "pharmacy.audit.views:bp",
    "pharmacy.audit.api:bp",
    "pharmacy.inventory.views:bp",
    "pharmacy.inventory.api:bp",
    "pharmacy.supply.views:bp",
    "pharmacy.supply.api:bp",
    "pharmacy.supply.api:consignments_bp",
    "pharmacy.supply.api:settings_bp",
    "pharmacy.shortages.views:bp",
    "pharmacy.shortages.api:bp",
    "pharmacy.orders.views:bp",
    "pharmacy.orders.api:bp",
    "pharmacy.purchasing.views:bp",
    "pharmacy.purchasing.api:bp",
    "pharmacy.settlement.views:bp",
    "pharmacy.settlement.api:bp",
    "pharmacy.matching.views:bp",
    "pharmacy.matching.api:bp",
    "pharmacy.insurance.views:bp",
    "pharmacy.insurance.api:bp",
    "pharmacy.deliveries.views:bp",
    "pharmacy.deliveries.api:bp",
    "pharmacy.deliveries.api:routes_bp",
    "pharmacy.scheduler.views:bp",
    "pharmacy.reports.views:bp",
    "pharmacy.reports.api:bp",
    "pharmacy.api:meta_bp",
]

# "module:attribute" of every click command group.
CLI_GROUPS = [
    "pharmacy.catalog.cli:catalog_cli",
    "pharmacy.matching.cli:matching_cli",
    "pharmacy.matching.cli:match_cli",
    "pharmacy.insurance.cli:insurance_cli",
    "pharmacy.demo.cli:demo_cli",
    "pharmacy.reports.cli:reports_cli",
    "pharmacy.auth.cli:users_cli",
    "pharmacy.cli:i18n_cli",
    "pharmacy.deliveries.cli:deliveries_cli",
    "pharmacy.scheduler.cli:scheduler_cli",
]


class DatabaseIntConverter(IntegerConverter):
    """`<int:…>` ids in ASCII digits (werkzeug's `\\d` would read `٣` as 3) that fit an INTEGER column: a larger
    number is an id no row has, so it is not found (404) whatever the method. Refusing it in the converter instead
    would make werkzeug answer 405 for a PUT whose path also has a GET rule."""

    regex = r"[0-9]+"
    NO_ROW = 0

    def to_python(self, value: str) -> int:
        number = int(value)
        return number if number <= 2**31 - 1 else self.NO_ROW


def _load(spec: str):
    module, attribute = spec.split(":")
    return getattr(importlib.import_module(module), attribute)


def create_app(config_overrides: dict | None = None) -> Flask:
    """Build the application; tests and scripts pass their settings as overrides."""
    app = Flask(__name__, template_folder=str(ROOT / "templates"), instance_path=str(Config.INSTANCE_DIR))
    app.url_map.converters["int"] = DatabaseIntConverter
    app.config.from_object(Config)
    if config_overrides:
        app.config.update(config_overrides)
    _check_production_settings(app)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///"):
        Config.INSTANCE_DIR.mkdir(parents=True, exist_ok=True)

    from . import models  # noqa: F401  (every table on the metadata, for Alembic and create_all)
    from .api import JSONProvider
    from .audit.trail import install as install_audit_trail
    from .db_setup import configure_engine_events
    from .extensions import Session
    from .errors import register_error_handlers
    from .input_guard import refuse_control_characters
    from .logging_setup import configure_logging
    from .i18n import compile_catalogs, select_locale, translation_directories

    app.json = JSONProvider(app)
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = ";".join(translation_directories())
    compile_catalogs()
    db.init_app(app)
    with app.app_context():
        configure_engine_events(db.engine)
    install_audit_trail(Session)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True, compare_type=True)
    login.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    register_error_handlers(app)
    configure_logging(app)
    _configure_proxy(app)
    _configure_login(app)
    app.before_request(refuse_control_characters)  # every text field of every request, before any view
    _configure_unit_of_work(app)
    _configure_templates(app)
    _configure_security_headers(app)

    for spec in BLUEPRINTS:
        app.register_blueprint(_load(spec))
    for spec in CLI_GROUPS:
        app.cli.add_command(_load(spec))
    for module in HANDLER_MODULES:  # domain-event receivers connect when their module is imported
        importlib.import_module(module)
    return app


def _check_production_settings(app: Flask) -> None:
    """Production means HTTPS and a secret of its own: refuse to start otherwise rather than run unsafely."""
    from .config import DEFAULT_SECRET_KEY

    if not app.config.get("PRODUCTION"):
        return
    secret = app.config.get("SECRET_KEY") or ""
    if secret == DEFAULT_SECRET_KEY or len(secret) < 16:
        raise RuntimeError("PHARMACY_ENV=production needs its own SECRET_KEY (at least 16 characters); "
                           "generate one with: python -c 'import secrets; print(secrets.token_hex(32))'")
    app.config.update(SESSION_COOKIE_SECURE=True, REMEMBER_COOKIE_SECURE=True, SESSION_COOKIE_HTTPONLY=True,
                      REMEMBER_COOKIE_HTTPONLY=True)


def _configure_proxy(app: Flask) -> None:
    hops = int(app.config.get("PROXY_FIX_HOPS") or 0)
    if hops > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)


def _configure_login(app: Flask) -> None:
    from .auth import tokens
    from .auth.services import load_user_by_session_id
    from .logging_setup import remember_identity

    login.login_view = "auth.login"
    login.login_message = None

    @login.user_loader
    def load_user(session_id: str):
        if tokens.bearer_token_sent() is not None and request.path.startswith("/api/"):
            return None  # a bearer request is its token's user, whatever cookie the client also sends
        user = load_user_by_session_id(session_id)
        remember_identity(user)
        return user

    @login.request_loader
    def load_user_from_token(_request):
        user = tokens.user_for_request()
        remember_identity(user)
        return user

    @login.unauthorized_handler
    def unauthorized():
        from flask_babel import gettext as _

        from .errors import error_response, wants_json

        if g.get("api_token_refused"):
            return error_response(401, "invalid_token", _("API 令牌无效、已过期或已撤销"))
        if wants_json():
            return error_response(401, "unauthorized", _("请先登录"))
        # request.full_path writes "/?" for "/": pass the path, and the query only when there is one.
        target = request.path + ("?" + request.query_string.decode("latin-1") if request.query_string else "")
        return redirect(url_for("auth.login", next=target))

    @app.before_request
    def require_login():
        """Every view needs a signed-in user unless it is marked public."""
        view = app.view_functions.get(request.endpoint or "")
        if request.endpoint in (None, "static") or getattr(view, "_public", False):
            return None
        if not current_user.is_authenticated:
            return login.unauthorized()
        tokens.check_token_scope()
        return None


def _configure_unit_of_work(app: Flask) -> None:
    """One transaction per request: services flush, the request commits when it succeeded."""
    from .errors import DATABASE_UNAVAILABLE, database_unavailable, forget_failed_transaction

    @app.after_request
    def commit_unit_of_work(response):
        if response.status_code < 400 or g.pop("commit_on_error", False):
            try:
                db.session.commit()
            except DATABASE_UNAVAILABLE as err:  # gone at the commit: 503, and the client resends with its key
                return database_unavailable(err)
        elif response.status_code == 503:
            forget_failed_transaction()  # the database is out of reach: rolling back must not fail the answer
        else:
            db.session.rollback()
        return response


def _configure_templates(app: Flask) -> None:
    from . import clock
    from . import vocabulary
    from .auth.policy import has_permission
    from .navigation import navigation_for

    from flask_babel import format_datetime
    from jinja2 import pass_context

    @app.template_filter("localtime")
    def localtime(value, pattern: str = "yyyy-MM-dd HH:mm"):
        """A stored UTC time as the county's local time."""
        return format_datetime(value, pattern) if value else ""

    # `{{ order.status|label('order_status') }}`: every code's words come from the vocabulary. `pass_context` keeps
    # Jinja from folding `'emergency'|label('urgency')` into the first request's language at compile time.
    @app.template_filter("label")
    @pass_context
    def label(_context, code, vocabulary_name: str, default: str | None = None):
        return vocabulary.label(code, vocabulary_name, default)

    app.add_template_global(vocabulary.VOCABULARY, "vocabulary")

    @app.context_processor
    def inject_globals():
        locale = str(get_locale())
        return {
            "current_locale": locale,
            "time_zone": clock.local_zone().key,  # for scripts that show times (the filters convert already)
            "languages": app.config["LANGUAGES"],
            "can": lambda permission: has_permission(current_user, permission),
            "nav_items": navigation_for(current_user) if current_user.is_authenticated else [],
        }


def _configure_security_headers(app: Flask) -> None:
    @app.after_request
    def security_headers(response):
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            "object-src 'none'; base-uri 'self'; frame-ancestors 'none'; form-action 'self'",
        )
        return response

