"""County staff manage the facility tree."""

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from ..auth.policy import get_facility_in_scope, permission_required
from ..operations import load_form, refusal
from . import operations
from .models import FacilityKind
from .schemas import FacilityActiveInputSchema, FacilityInputSchema

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
    return render_template("facilities/index.html", facilities=operations.facilities(current_user, {}))


@bp.route("/new", methods=["GET", "POST"])
@permission_required("admin.manage")
def new():
    form = FacilityForm()
    form.parent_id.choices = [SelectChoice(0, "—")] + [
        SelectChoice(f.id, f"{f.code} {f.name}") for f in operations.parent_choices(current_user)]
    error, status = None, 200
    if request.method == "POST":
        with refusal() as refused:
            operations.create_facility(current_user, load_form(FacilityInputSchema, request.form))
        if not refused:
            return redirect(url_for("facilities.index"))
        error, status = refused.error.message, refused.error.status
        for name, messages in (refused.error.fields or {}).items():
            if name in form:
                form[name].errors = list(messages) if isinstance(messages, (list, tuple)) else [str(messages)]
    return render_template("facilities/form.html", form=form, error=error), status


@bp.post("/<int:facility_id>/active")
@permission_required("admin.manage")
def set_active(facility_id: int):
    facility = get_facility_in_scope(current_user, facility_id)
    operations.set_facility_active(current_user, facility, load_form(FacilityActiveInputSchema, request.form))
    return redirect(url_for("facilities.index"))
