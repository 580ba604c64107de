"""Shortage pages: the village doctor's tablet page and the township's view of open registrations."""

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..auth.policy import permission_required, scope_root
from ..catalog.services import get_product, tiers_at_or_below
from ..errors import DomainError, InvalidInput
from ..extensions import db
from ..facilities.models import Tier
from ..facilities.services import facilities_under
from . import queries, services
from .models import Shortage, ShortageReason, ShortageStatus, Urgency

bp = Blueprint("shortages", __name__, url_prefix="/shortages")


def _tablet_messages() -> dict:
    """Every text the tablet script shows, in the page's language (the script has no gettext of its own)."""
    return {
        "waiting": _("等待发送"), "sending": _("正在发送…"), "received": _("服务器已收到"),
        "rejected": _("未被接受"), "online": _("在线"), "offline": _("离线：登记先保存在本机，联网后自动发送"),
        "login_again": _("登录已过期：请重新登录，未发送的登记会保留并自动发送"),
        "saved_offline": _("已保存在本机，联网后自动发送"), "sent": _("已提交"),
        "pick_product": _("请先选择药品"), "bad_qty": _("数量应为 1 到 10000 的整数"),
        "no_results": _("没有找到匹配的药品"), "register_as_text": _("按输入的名称登记：%(text)s"),
        "searching": _("正在查找…"), "offline_results": _("离线查找（本机缓存）"),
        "free_text": _("（未选目录药品）"), "free_text_unit": _("包装"), "retry": _("重试"), "remove": _("删除"),
        "queue_count": _("%(n)s 条等待发送"), "empty": _("还没有登记"),
        "proposing": _("正在查找对应的目录药品…"), "proposal_title": _("“%(text)s”是不是以下药品？点一下即选定"),
        "proposal_best": _("最可能"), "proposal_keep": _("都不是，按原文登记"),
        "statuses": ShortageStatus.labels(), "urgencies": Urgency.labels(), "reasons": ShortageReason.labels(),
    }


@bp.get("/tablet")
@permission_required("shortage.register")
def tablet():
    """The village doctor's start page: register a shortage in a few taps, online or not."""
    facility = current_user.facility
    mine = queries.shortages_in([facility.id], registered_by_id=current_user.id, limit=30)
    return render_template("shortages/tablet.html", facility=facility, mine=mine,
                           quick_picks=queries.quick_picks(facility), urgencies=list(Urgency),
                           reasons=list(ShortageReason), messages=_tablet_messages(), search=_search_api(facility))


def _search_api(facility) -> dict:
    """Where the tablet's search box asks: the matching engine's search-as-you-type (Chinese, pinyin initials,
    brand names, typos), limited on the server to what the facility's tier may stock."""
    return {"url": url_for("matching_api.search"), "param": "q", "extra": f"limit=12&facility={facility.id}",
            "allowed_tiers": ",".join(tiers_at_or_below(facility.tier))}


@bp.get("/open")
@permission_required("shortage.manage")
def open_registrations(error: str | None = None, status: int = 200):
    """Open registrations of the villages below the user, grouped by product, emergencies first."""
    facility_id = request.args.get("facility_id", type=int)
    groups = queries.open_by_product(queries.scope_ids(current_user, facility_id or None))
    choices = [f for f in facilities_under(scope_root(current_user), active_only=True) if f.tier != Tier.COUNTY]
    return render_template("shortages/open.html", groups=groups, choices=choices, facility_id=facility_id,
                           error=error, done=request.args.get("done")), status


def _back():
    return redirect(url_for("shortages.open_registrations", facility_id=request.form.get("facility_id") or None,
                            done=1))


@bp.post("/<int:shortage_id>/acknowledge")
@permission_required("shortage.manage")
def acknowledge(shortage_id: int):
    shortage = queries.get_shortage_in_scope(current_user, shortage_id)
    try:
        services.acknowledge(shortage, user=current_user, note=request.form.get("note", ""))
    except DomainError as exc:
        return open_registrations(error=exc.message, status=exc.status)
    return _back()


@bp.post("/acknowledge")
@permission_required("shortage.manage")
def acknowledge_group():
    ids = [int(i) for i in request.form.getlist("shortage_id") if i.isdigit()]
    shortages = [queries.get_shortage_in_scope(current_user, i) for i in ids]
    services.acknowledge_many(shortages, user=current_user)
    return _back()


@bp.post("/<int:shortage_id>/cancel")
@permission_required("shortage.manage")
def cancel(shortage_id: int):
    shortage = queries.get_shortage_in_scope(current_user, shortage_id)
    try:
        services.cancel(shortage, user=current_user, reason=request.form.get("reason", ""))
    except DomainError as exc:
        return open_registrations(error=exc.message, status=exc.status)
    return _back()


@bp.get("/free-text")
@permission_required("shortage.manage")
def free_text_queue(error: str | None = None, status: int = 200):
    """Free-text registrations of the villages below the user, each with the products proposed for its text."""
    facility_id = request.args.get("facility_id", type=int) or request.form.get("facility_id", type=int)
    items = queries.free_text_queue(queries.scope_ids(current_user, facility_id or None))
    choices = [f for f in facilities_under(scope_root(current_user), active_only=True) if f.tier != Tier.COUNTY]
    return render_template("shortages/free_text.html", items=items, choices=choices, facility_id=facility_id,
                           error=error, done=request.args.get("done")), status


@bp.post("/<int:shortage_id>/product")
@permission_required("shortage.manage")
def resolve_product(shortage_id: int):
    shortage = queries.get_shortage_in_scope(current_user, shortage_id)
    try:
        # A proposal's button sends product_id; the search field fills searched_product_id.
        product_id = request.form.get("product_id", type=int) or request.form.get("searched_product_id", type=int)
        if not product_id:
            raise InvalidInput(_("请先选择药品"), fields={"product_id": [_("必填")]})
        services.resolve_product(shortage, get_product(product_id), user=current_user,
                                 learn_alias=request.form.get("learn_alias") == "1",
                                 note=request.form.get("note", ""))
    except DomainError as exc:
        db.session.rollback()
        return free_text_queue(error=exc.message, status=exc.status)
    return redirect(url_for("shortages.free_text_queue", facility_id=request.form.get("facility_id") or None,
                            done=1))


@bp.get("/<int:shortage_id>")
@permission_required("shortage.read")
def detail(shortage_id: int):
    shortage: Shortage = queries.get_shortage_in_scope(current_user, shortage_id)
    return render_template("shortages/detail.html", shortage=shortage, events=queries.events_of(shortage),
                           is_open=shortage.status not in (ShortageStatus.DELIVERED, ShortageStatus.CANCELLED))
