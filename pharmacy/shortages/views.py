"""Shortage pages: the village doctor's tablet page and the township's view of open registrations."""

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..auth.policy import load_in_scope, permission_required, scope_root
from ..catalog.services import tiers_at_or_below
from ..facilities.models import Tier
from ..facilities.services import facilities_under
from ..fields import ascii_int
from ..operations import load_form, refusal
from . import operations
from .models import Shortage, ShortageReason, ShortageStatus, Urgency
from .schemas import AcknowledgeManySchema, CancelSchema, NoteSchema, ResolveProductSchema

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
        "send_as_new": _("作为新登记重新发送"),
        "queue_count": _("%(n)s 条等待发送"), "empty": _("还没有登记"),
        "proposing": _("正在查找对应的目录药品…"), "proposal_title": _("“%(text)s”是不是以下药品？点一下即选定"),
        "proposal_best": _("最可能"), "proposal_keep": _("都不是，按原文登记"),
        "statuses": ShortageStatus.labels(), "urgencies": Urgency.labels(), "reasons": ShortageReason.labels(),
    }


def _said(error) -> str:
    """A refusal as one line for the page's alert: its message, then what it says about each field."""
    details = [text for said in (error.fields or {}).values()
               for text in (said if isinstance(said, list) else [said]) if isinstance(text, str)]
    return "：".join([error.message, "；".join(details)]) if details and error.message not in details else error.message


def _shortage(shortage_id: int) -> Shortage:
    return load_in_scope(current_user, Shortage, shortage_id)


@bp.get("/tablet")
@permission_required("shortage.register")
def tablet():
    """The village doctor's start page: register a shortage in a few taps, online or not."""
    facility = current_user.facility
    return render_template("shortages/tablet.html", facility=facility, mine=operations.my_recent(current_user),
                           quick_picks=operations.quick_picks(current_user), urgencies=list(Urgency),
                           reasons=list(ShortageReason), messages=_tablet_messages(), search=_search_api(facility))


def _search_api(facility) -> dict:
    """Where the tablet's search box asks: the matching engine's search-as-you-type (Chinese, pinyin initials,
    brand names, typos), limited on the server to what the facility's tier may stock."""
    return {"url": url_for("matching_api.search"), "param": "q", "extra": f"limit=12&facility={facility.id}",
            "allowed_tiers": ",".join(tiers_at_or_below(facility.tier))}


def _choices():
    return [f for f in facilities_under(scope_root(current_user), active_only=True) if f.tier != Tier.COUNTY]


@bp.get("/open")
@permission_required("shortage.manage")
def open_registrations(error: str | None = None, status: int = 200):
    """Open registrations of the villages below the user, grouped by product, emergencies first."""
    facility_id = request.args.get("facility_id", type=ascii_int)
    return render_template("shortages/open.html", groups=operations.open_groups(current_user, facility_id or None),
                           choices=_choices(), facility_id=facility_id, error=error,
                           done=request.args.get("done")), status


def _back():
    return redirect(url_for("shortages.open_registrations", facility_id=request.form.get("facility_id") or None,
                            done=1))


@bp.post("/<int:shortage_id>/acknowledge")
@permission_required("shortage.manage")
def acknowledge(shortage_id: int):
    shortage = _shortage(shortage_id)
    with refusal() as refused:
        operations.acknowledge(current_user, shortage, load_form(NoteSchema, request.form))
    if refused:
        return open_registrations(error=_said(refused.error), status=refused.error.status)
    return _back()


@bp.post("/acknowledge")
@permission_required("shortage.manage")
def acknowledge_group():
    with refusal() as refused:
        operations.acknowledge_many(current_user, load_form(AcknowledgeManySchema, request.form,
                                                            shortage_ids=request.form.getlist("shortage_id")))
    if refused:
        return open_registrations(error=_said(refused.error), status=refused.error.status)
    return _back()


@bp.post("/<int:shortage_id>/cancel")
@permission_required("shortage.manage")
def cancel(shortage_id: int):
    shortage = _shortage(shortage_id)
    with refusal() as refused:
        operations.cancel(current_user, shortage, load_form(CancelSchema, request.form))
    if refused:
        return open_registrations(error=_said(refused.error), status=refused.error.status)
    return _back()


@bp.get("/free-text")
@permission_required("shortage.manage")
def free_text_queue(error: str | None = None, status: int = 200):
    """Free-text registrations of the villages below the user, each with the products proposed for its text."""
    facility_id = (request.args.get("facility_id", type=ascii_int)
                   or request.form.get("facility_id", type=ascii_int))
    return render_template("shortages/free_text.html", items=operations.free_text_items(current_user, facility_id or None),
                           choices=_choices(), facility_id=facility_id, error=error,
                           done=request.args.get("done")), status


@bp.post("/<int:shortage_id>/product")
@permission_required("shortage.manage")
def resolve_product(shortage_id: int):
    shortage = _shortage(shortage_id)
    # A proposal's button sends product_id; the search field fills searched_product_id.
    chosen = request.form.get("product_id", type=ascii_int) or request.form.get("searched_product_id", type=ascii_int)
    with refusal() as refused:
        command = load_form(ResolveProductSchema, request.form, **({"product_id": chosen} if chosen else {}),
                            learn_alias=request.form.get("learn_alias") == "1")
        operations.resolve_product(current_user, shortage, command)
    if refused:
        return free_text_queue(error=_said(refused.error), status=refused.error.status)
    return redirect(url_for("shortages.free_text_queue", facility_id=request.form.get("facility_id") or None,
                            done=1))


@bp.get("/<int:shortage_id>")
@permission_required("shortage.read")
def detail(shortage_id: int):
    return render_template("shortages/detail.html", **operations.detail(_shortage(shortage_id)))
