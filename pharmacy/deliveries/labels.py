"""What codes are called on pages and in messages, in the user's language."""

from flask_babel import format_datetime
from flask_babel import gettext as _

from ..vocabulary import (AlertKind, DeliveryLineSource, DifferenceReason, RunStatus, ShortfallReason, StopStatus,
                          Urgency)


def run_status_label(status: str) -> str:
    return RunStatus.label_of(status)


def stop_status_label(status: str) -> str:
    return StopStatus.label_of(status)


def line_source_label(source: str) -> str:
    return DeliveryLineSource.label_of(source)


def shortfall_reason_label(reason: str) -> str:
    return ShortfallReason.label_of(reason)


def discrepancy_reason_label(reason: str) -> str:
    return DifferenceReason.label_of(reason)


def urgency_label(urgency: str) -> str:
    return Urgency.label_of(urgency)


def alert_kind_label(kind: str) -> str:
    return AlertKind.label_of(kind)


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
    if line.source in (DeliveryLineSource.REPLENISH, DeliveryLineSource.SHORTAGE_AND_REPLENISH) and line.min_base is not None:
        product = line.product
        levels = {"on_hand": qty_label(line.on_hand_base, product), "min": qty_label(line.min_base, product),
                  "amc": qty_label(round(line.amc_base or 0), product), "max": qty_label(line.max_base, product)}
        if line.in_transit_base:
            parts.append(_("库存 %(on_hand)s（在途 %(transit)s）低于下限 %(min)s，月均消耗 %(amc)s，补至上限 %(max)s",
                           transit=qty_label(line.in_transit_base, product), **levels))
        else:
            parts.append(_("库存 %(on_hand)s 低于下限 %(min)s，月均消耗 %(amc)s，补至上限 %(max)s", **levels))
    if line.source == DeliveryLineSource.MANUAL:
        parts.append(_("手工添加"))
    if line.is_edited and line.source != DeliveryLineSource.MANUAL:
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
