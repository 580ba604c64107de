"""Sign-in pages and the county's user administration."""

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import IntegerField, PasswordField, SelectField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange
from flask_babel import lazy_gettext as _l

from ..errors import DomainError
from ..i18n import public
from ..operations import load_form, refusal
from ..redirects import local_target
from ..vocabulary import Role, TokenScope
from . import operations, queries, services, tokens
from .policy import has_permission, permission_required
from .schemas import TokenInputSchema, UserActiveInputSchema, UserInputSchema

bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    username = StringField(_l("用户名"), validators=[DataRequired()])
    password = PasswordField(_l("密码"), validators=[DataRequired()])


class UserForm(FlaskForm):
    username = StringField(_l("用户名"), validators=[DataRequired(), Length(max=64)])
    display_name = StringField(_l("姓名"), validators=[DataRequired(), Length(max=80)])
    password = PasswordField(_l("初始密码"), validators=[DataRequired(), Length(min=8)])
    role = SelectField(_l("角色"), choices=[SelectChoice(r.value, r.lazy_label) for r in Role])
    facility_id = SelectField(_l("所属机构"), coerce=int)


def _safe_next(target: str | None) -> str:
    return local_target(target, url_for("home.index"))


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    form = LoginForm()
    error = None
    status = 200
    if form.validate_on_submit():
        try:
            user = services.authenticate(form.username.data, form.password.data)
        except DomainError as exc:
            error, status = exc.message, exc.status
        else:
            from flask import session

            session.clear()  # a fresh session on sign-in: no fixation
            login_user(user)
            return redirect(_safe_next(request.args.get("next")))
    elif request.method == "POST":
        error, status = _("请输入用户名和密码"), 400
    return render_template("auth/login.html", form=form, error=error), status


@bp.post("/logout")
def logout():
    operations.sign_out(current_user)
    logout_user()
    from flask import session

    session.clear()
    return redirect(url_for("auth.login"))


@bp.get("/admin/users")
@permission_required("admin.manage")
def users():
    return render_template("auth/users.html", users=operations.users(current_user, {}))


def _mark_fields(form: FlaskForm, error) -> None:
    """Show a refused command's field messages beside the form's inputs."""
    for name, messages in (getattr(error, "fields", None) or {}).items():
        if name in form:
            form[name].errors = list(messages) if isinstance(messages, (list, tuple)) else [str(messages)]


@bp.route("/admin/users/new", methods=["GET", "POST"])
@permission_required("admin.manage")
def new_user():
    form = UserForm()
    form.facility_id.choices = [SelectChoice(f.id, f"{f.code} {f.name}")
                                for f in queries.facilities_for_choice(current_user)]
    error, status = None, 200
    if request.method == "POST":
        with refusal() as refused:
            operations.create_user(current_user, load_form(UserInputSchema, request.form))
        if not refused:
            return redirect(url_for("auth.users"))
        error, status = refused.error.message, refused.error.status
        _mark_fields(form, refused.error)
    return render_template("auth/user_form.html", form=form, error=error), status


@bp.post("/admin/users/<int:user_id>/active")
@permission_required("admin.manage")
def set_active(user_id: int):
    person = queries.user_in_scope(current_user, user_id)
    operations.set_user_active(current_user, person, load_form(UserActiveInputSchema, request.form))
    return redirect(url_for("auth.users"))


class TokenForm(FlaskForm):
    name = StringField(_l("令牌名称"), validators=[DataRequired(), Length(max=80)])
    scopes = SelectMultipleField(_l("权限范围"), choices=[SelectChoice(s.value, s.lazy_label) for s in TokenScope],
                                 default=[TokenScope.READ.value])
    days = IntegerField(_l("有效天数"), default=tokens.DEFAULT_DAYS,
                        validators=[DataRequired(), NumberRange(min=1, max=tokens.MAX_DAYS)])


def _account_page(form: TokenForm, *, created=None, error=None, status=200):
    everyone = has_permission(current_user, "admin.manage")
    return render_template("auth/account.html", form=form, created=created, error=error,
                           own_tokens=operations.token_list(current_user, {}),
                           scope_tokens=operations.token_list(current_user, {"everyone": True}) if everyone else None,
                           ), status


@bp.get("/account")
def account():
    return _account_page(TokenForm())


@bp.post("/account/tokens")
def create_token():
    form = TokenForm()
    with refusal() as refused:
        created = operations.create_token(current_user, load_form(TokenInputSchema, request.form))
    if refused:
        _mark_fields(form, refused.error)
        return _account_page(form, error=refused.error.message, status=refused.error.status)
    # Shown in this response only: the token is never stored in plain, and this page is not kept by the browser.
    body, status = _account_page(TokenForm(formdata=None), created=created, status=201)
    return body, status, {"Cache-Control": "no-store"}


@bp.post("/account/tokens/<int:token_id>/revoke")
def revoke_token(token_id: int):
    operations.revoke_token(current_user, tokens.token_in_scope(current_user, token_id))
    return redirect(url_for("auth.account"))
