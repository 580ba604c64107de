"""Chinese first, English from a switch on every page.

Message ids are the Chinese text itself, so a Chinese page never falls back to English; each domain keeps its
English catalogue in `<domain>/translations/en/LC_MESSAGES/messages.po`, compiled to .mo when it changes.
"""

import logging
from pathlib import Path
from urllib.parse import urlsplit

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Blueprint, current_app, has_request_context, redirect, request, session, url_for
from flask_login import current_user

from .redirects import local_target

log = logging.getLogger(__name__)
PACKAGE_DIR = Path(__file__).resolve().parent

bp = Blueprint("i18n", __name__)


def translation_directories() -> list[str]:
    dirs = [PACKAGE_DIR / "translations", *sorted(PACKAGE_DIR.glob("*/translations"))]
    return [str(d) for d in dirs if d.is_dir()]


def compile_catalogs(force: bool = False) -> int:
    """Compile every .po newer than its .mo; return how many were written."""
    written = 0
    for directory in translation_directories():
        for po_path in Path(directory).glob("*/LC_MESSAGES/*.po"):
            mo_path = po_path.with_suffix(".mo")
            if not force and mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
                continue
            with po_path.open("rb") as po_file:
                catalog = read_po(po_file)
            try:
                with mo_path.open("wb") as mo_file:
                    write_mo(mo_file, catalog)
                written += 1
            except OSError as exc:  # a read-only install keeps the catalogues it shipped with
                log.warning("cannot write %s: %s", mo_path, exc)
    return written


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    chosen = session.get("lang")
    if chosen in languages:
        return chosen
    if current_user and current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def public(view):
    """Mark a view as open to people who have not signed in."""
    view._public = True
    return view


@bp.get("/lang/<code>")
@public
def set_language(code: str):
    if code in current_app.config["LANGUAGES"]:
        session["lang"] = code
    home = url_for("home.index")
    target = request.args.get("next")
    if not target and request.referrer:
        referrer = urlsplit(request.referrer)
        if referrer.netloc == request.host:
            target = referrer.path + (f"?{referrer.query}" if referrer.query else "")
    return redirect(local_target(target, home))
