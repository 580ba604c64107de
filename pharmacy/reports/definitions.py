"""What each dashboard figure counts, written once: the page's ⓘ and the API's `definitions` read these, so a figure
cannot mean one thing on the page and another in the JSON.

Tracer availability and village stock-outs share one population: the scope's active village
points × the county's tracer products, at the dashboard's moment. A pair "in stock" holds stock of a lot that has
not expired on that day; every other pair is a stock-out, so stock-outs = pairs × (1 − availability).
"""

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l


@dataclass(frozen=True)
class Figure:
    key: str
    name: object  # lazy message: shown in the reader's language
    definition: object  # lazy message: the whole rule in one or two sentences

    def as_dict(self) -> dict:
        """Name and definition in the reader's language."""
        return {"name": str(self.name), "definition": str(self.definition)}


FIGURES: dict[str, Figure] = {f.key: f for f in (
    Figure("availability", _l("示踪药品可及率"),
           _l("范围内在用的村卫生室 × 全县示踪药品（村卫生室配备过的慢病药品，加上县里设定的示踪药品）中，"
              "统计时点持有未过期库存的组合所占比例。")),
    Figure("stockouts", _l("村级断货"),
           _l("与可及率同一口径：村卫生室 × 示踪药品中，统计时点没有未过期库存的组合数（含从未配备的）；"
              "等于组合总数 ×（1 − 可及率）。")),
    Figure("open_shortages", _l("未结缺药登记"),
           _l("状态为已登记、已确认、已订购或已发出的缺药登记条数；账龄从登记时算起。")),
    Figure("response", _l("缺药响应时间"),
           _l("近4周（或12周）内送达的缺药登记，从登记到送达的天数的中位数与P90。")),
    Figure("orders_fill", _l("乡镇订单满足率"),
           _l("窗口内结清（已发出的全部签收）的乡镇订单：实收包装数 ÷ 批准包装数；驳回的明细不计。")),
    Figure("deliveries_fill", _l("村级配送到货率"),
           _l("窗口内签收的村级配送站点：村卫生室实收基本单位数 ÷ 计划配送基本单位数。")),
    Figure("near_expiry", _l("近效期药品"),
           _l("范围内各机构在近效期窗口内到期的库存，按统一价计算的金额；已过期未报损的另列。")),
    Figure("vbp_share", _l("集采金额占比"),
           _l("全县：窗口内确认的采购订单中集采品种的金额占比（按采购价）；乡镇：从乡镇以外收到的货物中集采品种的"
              "金额占比（按统一价）。")),
)}


def definitions() -> dict[str, dict]:
    """Every figure's name and definition in the reader's language, by key."""
    return {key: figure.as_dict() for key, figure in FIGURES.items()}
