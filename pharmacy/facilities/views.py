"""County staff manage the facility tree."""

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from ..auth.policy import get_facility_in_scope, permission_required, scope_root
from ..errors import DomainError
from . import services
from .models import FacilityKind

bp = Blueprint("facilities", __name__, url_prefix="/admin/facilities")

class FacilityForm(FlaskForm):
    code = StringField(_l("编码"), validators=[DataRequired(), Length(max=32)])
    name = StringField(_l("名称"), validators=[DataRequired(), Length(max=120)])
    kind = SelectField(_l("类型"), choices=[SelectChoice(k.value, k.lazy_label) for k in FacilityKind])
    parent_id = SelectField(_l("上级机构"), coerce=int)
    population = IntegerField(_l("服务人口"), validators=[Optional(), NumberRange(min=0)])


@bp.get("")
@permission_required("admin.manage")
def index():
    facilities = services.facilities_under(scope_root(current_user))
    return render_template("facilities/index.html", facilities=facilities)


@bp.route("/new", methods=["GET", "POST"])
@permission_required("admin.manage")
def new():
    form = FacilityForm()
    form.parent_id.choices = [SelectChoice(0, "—")] + [
        SelectChoice(f.id, f"{f.code} {f.name}") for f in services.facilities_under(scope_root(current_user))
        if f.tier != "village"]
    error, status = None, 200
    if form.validate_on_submit():
        try:
            parent = get_facility_in_scope(current_user, form.parent_id.data) if form.parent_id.data else None
            services.create_facility(code=form.code.data, name=form.name.data, kind=form.kind.data, parent=parent,
                                     population=form.population.data)
            return redirect(url_for("facilities.index"))
        except DomainError as exc:
            error, status = exc.message, exc.status
    elif request.method == "POST":
        error, status = _("输入有误，请检查标出的字段"), 422
    return render_template("facilities/form.html", form=form, error=error), status


@bp.post("/<int:facility_id>/active")
@permission_required("admin.manage")
def set_active(facility_id: int):
    facility = get_facility_in_scope(current_user, facility_id)
    services.set_facility_active(facility, request.form.get("is_active") == "1")
    return redirect(url_for("facilities.index"))
