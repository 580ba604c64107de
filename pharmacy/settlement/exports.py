"""A statement as a workbook: the summary by category and 集采, then every receipt."""

from flask_babel import gettext as _

from .. import clock
from ..exports import xlsx_bytes
from .services import StatementView


def statement_workbook(view: StatementView) -> bytes:
    """The statement's two sheets. Quantities in base units and in packs (a pack is a box, a bottle, a bag…: the
    price is per pack of whatever kind, so its heading names no unit). The number of packs is 包装数 and the pack
    size 每包装含量: the catalog already calls the pack size 包装数量, and one Chinese text has one English text."""
    totals = view.totals
    summary = [[_(c), a] for c, a in sorted(totals.by_category.items())]
    summary += [[_("其中集采"), totals.vbp], [_("其中非集采"), totals.non_vbp], [_("合计"), totals.total]]
    detail = [[clock.to_local(r.received_at).strftime("%Y-%m-%d %H:%M"), r.product_code, r.product_name,
               _(r.category), _("是") if r.is_vbp else _("否"), r.lot_number, r.qty_base, r.base_unit, r.qty_packs,
               r.pack_size, r.unit_price, r.amount] for r in view.rows]
    return xlsx_bytes({
        _("汇总"): ([_("项目"), _("金额（元）")], summary),
        _("收货明细"): ([_("收货时间"), _("编码"), _("品名规格"), _("分类"), _("集采"), _("批号"), _("数量"), _("单位"),
                   _("包装数"), _("每包装含量"), _("单价（元/包装）"), _("金额（元）")], detail),
    })
