"""What codes are called on pages and in messages, in the user's language."""

from flask_babel import format_datetime
from flask_babel import gettext as _

from .models import AlertKind, LineSource, RunStatus, StopStatus
from .planning import ShortfallReason


def run_status_label(status: str) -> str:
    return {RunStatus.PLANNED: _("待审核"), RunStatus.CONFIRMED: _("已确认"), RunStatus.DISPATCHED: _("已发车"),
            RunStatus.DELIVERED: _("已签收"), RunStatus.CANCELLED: _("已取消")}.get(status, status)


def stop_status_label(status: str) -> str:
    return {StopStatus.PENDING: _("待发车"), StopStatus.DISPATCHED: _("在途"), StopStatus.RECEIVED: _("已签收"),
            StopStatus.SKIPPED: _("本次无配送")}.get(status, status)


def line_source_label(source: str) -> str:
    return {LineSource.SHORTAGE: _("缺药登记"), LineSource.REPLENISH: _("补货"),
            LineSource.SHORTAGE_AND_REPLENISH: _("缺药登记＋补货"), LineSource.MANUAL: _("手工添加")}.get(source,
                                                                                                    source)


def shortfall_reason_label(reason: str) -> str:
    return {ShortfallReason.NO_STOCK: _("乡镇库存不足"), ShortfallReason.TIER_NOT_ALLOWED: _("村级不能配备"),
            ShortfallReason.INACTIVE: _("药品已停用"), ShortfallReason.NO_PRODUCT: _("未对应目录药品"),
            ShortfallReason.INBOUND: _("已在统一订单上，到乡镇后随下次配送")}.get(reason,
                                                                                                     reason)


def discrepancy_reason_label(reason: str) -> str:
    return {"short": _("短少"), "missing": _("短少"), "damaged": _("破损"), "lost": _("丢失"), "wrong_item": _("错发"),
            "expired": _("过期/近效期"), "other": _("其他")}.get(reason, reason)


def urgency_label(urgency: str) -> str:
    return {"emergency": _("特急"), "urgent": _("紧急"), "routine": _("常规")}.get(urgency, urgency)


def alert_kind_label(kind: str) -> str:
    return {AlertKind.STOCKOUT: _("缺货"), AlertKind.BELOW_MIN: _("低于下限"), AlertKind.NEAR_EXPIRY: _("近效期"),
            AlertKind.EXPIRED: _("已过期")}.get(kind, kind)


def weekday_label(day: int) -> str:
    return {1: _("周一"), 2: _("周二"), 3: _("周三"), 4: _("周四"), 5: _("周五"), 6: _("周六"),
            7: _("周日")}.get(day, str(day))


def weekdays_label(weekdays: list[int]) -> str:
    return _("、").join(weekday_label(d) for d in weekdays)


def frequency_label(every_n_runs: int) -> str:
    if every_n_runs <= 1:
        return _("每次")
    if every_n_runs == 2:
        return _("隔次")
    return _("每 %(n)s 次", n=every_n_runs)


def qty_label(qty_base: int | None, product) -> str:
    """A quantity as packs and loose base units, e.g. "3盒+10片"."""
    if qty_base is None:
        return ""
    packs, loose = divmod(qty_base, max(1, product.pack_size))
    if product.pack_size <= 1:
        return f"{qty_base}{product.base_unit}"
    if packs and loose:
        return f"{packs}{product.pack_unit}+{loose}{product.base_unit}"
    if packs:
        return f"{packs}{product.pack_unit}"
    return f"{loose}{product.base_unit}"


def line_reason(line) -> str:
    """Why a planned line is there: the shortages it serves and the level that triggered replenishment."""
    parts = []
    for shortage in line.shortages:
        parts.append(_("缺药登记 #%(id)s（%(urgency)s，%(qty)s%(unit)s）", id=shortage.id,
                       urgency=urgency_label(shortage.urgency), qty=shortage.qty_packs,
                       unit=shortage.product.pack_unit if shortage.product else ""))
    if line.source in (LineSource.REPLENISH, LineSource.SHORTAGE_AND_REPLENISH) and line.min_base is not None:
        product = line.product
        levels = {"on_hand": qty_label(line.on_hand_base, product), "min": qty_label(line.min_base, product),
                  "amc": qty_label(round(line.amc_base or 0), product), "max": qty_label(line.max_base, product)}
        if line.in_transit_base:
            parts.append(_("库存 %(on_hand)s（在途 %(transit)s）低于下限 %(min)s，月均消耗 %(amc)s，补至上限 %(max)s",
                           transit=qty_label(line.in_transit_base, product), **levels))
        else:
            parts.append(_("库存 %(on_hand)s 低于下限 %(min)s，月均消耗 %(amc)s，补至上限 %(max)s", **levels))
    if line.source == LineSource.MANUAL:
        parts.append(_("手工添加"))
    if line.is_edited and line.source != LineSource.MANUAL:
        parts.append(_("原计划 %(qty)s，已调整", qty=qty_label(line.planned_qty_base, line.product)))
    if line.note:
        parts.append(line.note)
    return "；".join(parts)


def when(value) -> str:
    """A stored time in the deployment's time zone, to the minute (naive values are UTC)."""
    return format_datetime(value, "yyyy-MM-dd HH:mm") if value else ""


TEMPLATE_HELPERS = {
    "when": when,
    "run_status_label": run_status_label, "stop_status_label": stop_status_label,
    "line_source_label": line_source_label, "shortfall_reason_label": shortfall_reason_label,
    "discrepancy_reason_label": discrepancy_reason_label, "urgency_label": urgency_label,
    "alert_kind_label": alert_kind_label, "weekdays_label": weekdays_label, "weekday_label": weekday_label,
    "frequency_label": frequency_label, "qty_label": qty_label, "line_reason": line_reason,
}
