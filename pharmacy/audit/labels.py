"""What the audit page calls the tables and columns it shows, and how it shows their values.

The trail stores table and column names as the database has them (a query needs them); people read these words
instead. One dictionary for the whole trail, derived from the models where they say it themselves: a column whose
default is a vocabulary term shows its values through that vocabulary, a boolean column as 是/否. The other coded
columns name their vocabulary set in `CODED`; their labels come only from `pharmacy.vocabulary`.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Boolean, DateTime

from .. import clock
from ..extensions import db
from ..vocabulary import VOCABULARY, Term

BULK_TABLE = "*"  # the table name of a bulk load's summary row

TABLES = {
    "apscheduler_jobs": _l("定时任务存储"),
    "scheduler_job_run": _l("定时任务运行记录"),
    "scheduler_lease": _l("调度锁"),
    "figure_snapshot": _l("指标快照"),
    "drug": _l("药品品种"),
    "product": _l("药品规格"),
    "product_price": _l("统一价格记录"),
    "alias": _l("药品别名"),
    "catalog_change": _l("目录变更记录"),
    "drug_class_path": _l("药品品种的其他治疗类别"),
    "drug_group": _l("药品组"),
    "drug_group_member": _l("药品组成员"),
    "catalog_edition_setting": _l("目录现行版本设置"),
    "tracer_product": _l("追踪药品"),
    "facility": _l("机构"),
    "app_user": _l("用户"),
    "api_token": _l("接口令牌"),
    "supplier": _l("供应商"),
    "supplier_product": _l("供应商供货品种"),
    "local_drug": _l("本地药品字典条目"),
    "dictionary_import": _l("本地字典导入"),
    "match_decision": _l("匹配决定"),
    "nhsa_import": _l("医保代码表导入"),
    "nhsa_row": _l("医保代码表行"),
    "lot": _l("批号"),
    "stock_policy": _l("库存上下限"),
    "stock_operation": _l("库存操作"),
    "stock_movement": _l("库存流水"),
    "stock_balance": _l("库存余额"),
    "stock_adjustment_request": _l("库存调整申请"),
    "stock_transfer": _l("调拨单"),
    "stock_transfer_line": _l("调拨明细"),
    "stock_alert": _l("库存预警"),
    "shortage": _l("缺药登记记录"),
    "shortage_event": _l("缺药登记进展"),
    "supply_order": _l("统一订单"),
    "supply_order_line": _l("订单明细"),
    "supply_order_line_shortage": _l("订单明细所含缺药登记"),
    "supply_allocation": _l("配货分配"),
    "supply_shipment": _l("订单发货单"),
    "supply_consignment": _l("货物运送"),
    "supply_consignment_line": _l("运送明细"),
    "supply_consignment_line_shortage": _l("运送明细所含缺药登记"),
    "supply_proof_of_delivery": _l("签收记录"),
    "delivery_route": _l("配送路线"),
    "delivery_route_stop": _l("路线站点"),
    "delivery_run": _l("配送批次"),
    "delivery_stop": _l("配送站点"),
    "delivery_line": _l("配送明细"),
    "delivery_line_shortage": _l("配送明细所含缺药登记"),
    "delivery_shortfall": _l("未能满足的需求"),
    "purchase_order": _l("采购单"),
    "purchase_order_line": _l("采购单明细"),
    "goods_receipt": _l("采购到货"),
    "goods_receipt_line": _l("采购到货明细"),
    "settlement_month": _l("结算月份"),
    "settlement_statement": _l("结算单"),
    "settlement_statement_line": _l("结算单明细"),
    "audit_event": _l("审计记录"),
}

# A column name means the same in every table that has it, unless `TABLE_COLUMNS` says otherwise.
COLUMNS = {
    "id": _l("编号"),
    "created_at": _l("创建时间"),
    "updated_at": _l("更新时间"),
    "created_by_id": _l("创建人"),
    "set_by_id": _l("设置人"),
    "set_at": _l("设置时间"),
    "group_id": _l("药品组"),
    "note": _l("备注"),
    "status": _l("状态"),
    "kind": _l("类型"),
    "source": _l("来源"),
    "reason": _l("原因"),
    "action": _l("操作"),
    "name": _l("名称"),
    "code": _l("编码"),
    "is_active": _l("是否启用"),
    "edition": _l("目录版本"),
    "remarks": _l("备注"),
    "address": _l("地址"),
    "phone": _l("电话"),
    "username": _l("用户名"),
    "facility_id": _l("机构"),
    "product_id": _l("药品规格"),
    "drug_id": _l("药品品种"),
    "lot_id": _l("批号"),
    "user_id": _l("操作人"),
    "supplier_id": _l("供应商"),
    "shortage_id": _l("缺药登记"),
    "consignment_id": _l("货物运送"),
    "transfer_id": _l("调拨单"),
    "order_id": _l("统一订单"),
    "line_id": _l("明细行"),
    "stop_id": _l("配送站点"),
    "run_id": _l("配送批次"),
    "route_id": _l("配送路线"),
    "township_id": _l("乡镇卫生院"),
    "village_id": _l("村卫生室"),
    "purchase_order_id": _l("采购单"),
    "qty_base": _l("数量（基本单位）"),
    "qty_packs": _l("数量（包装）"),
    "qty_base_received": _l("实收数量（基本单位）"),
    "ref_type": _l("关联对象类型"),
    "ref_id": _l("关联对象编号"),
    "received_at": _l("收货时间"),
    "received_by_id": _l("收货人"),
    "unit_price": _l("单价"),
    "unified_price": _l("统一价格"),
    "category": _l("类别"),
    "holder": _l("持有进程"),
    "expires_at": _l("到期时间"),
    "departure_time": _l("计划发车时间"),
    "departure_date": _l("发车日期"),
    "vehicle": _l("车辆"),
    "driver": _l("司机"),
    "position": _l("顺序"),
    "confirmed_by_id": _l("确认人"),
    "confirmed_at": _l("确认时间"),
    "dispatched_by_id": _l("发出人"),
    "dispatched_at": _l("发出时间"),
    "delivered_at": _l("送达时间"),
    "cancel_reason": _l("取消原因"),
    "lot_number": _l("批号"),
    "expiry_date": _l("有效期至"),
    "manufacturer": _l("生产企业"),
    "month": _l("月份"),
    "urgency": _l("紧急程度"),
    "stage": _l("货物进度"),
    "expected_arrival_date": _l("预计到达日期"),
    "difference_note": _l("差异说明"),
    "idempotency_key": _l("防重复提交键"),
    "score": _l("匹配得分"),
    "is_vbp": _l("集采"),
    "on_hand_base": _l("现有库存（基本单位）"),
    "amc_base": _l("月均消耗（基本单位）"),
    "min_base": _l("下限（基本单位）"),
    "max_base": _l("上限（基本单位）"),
    "base_unit": _l("基本单位"),
    "pack_size": _l("包装数量"),
    "pack_unit": _l("包装单位"),
    # scheduler
    "next_run_time": _l("下次运行时间"),
    "job_state": _l("任务状态数据"),
    "job_id": _l("任务"),
    "trigger": _l("触发方式"),
    "outcome": _l("结果"),
    "started_at": _l("开始时间"),
    "finished_at": _l("结束时间"),
    "summary": _l("摘要"),
    "error": _l("错误"),
    "acquired_at": _l("取得时间"),
    "heartbeat_at": _l("心跳时间"),
    # the audit trail itself
    "occurred_at": _l("时间"),
    "actor": _l("请求或命令"),
    "remote_addr": _l("来访地址"),
    "request_id": _l("请求编号"),
    "table_name": _l("数据表"),
    "row_id": _l("记录"),
    "changes": _l("变更内容"),
    # catalog
    "eml_no": _l("基药目录序号"),
    "class_path": _l("药理分类"),
    "generic_name": _l("通用名"),
    "name_en": _l("英文名"),
    "pinyin_initials": _l("拼音首字母"),
    "chronic_tags": _l("慢病标签"),
    "is_essential": _l("基本药物"),
    "dosage_form": _l("剂型"),
    "strength": _l("规格"),
    "lowest_tier": _l("最低使用层级"),
    "vbp_batch": _l("集采批次"),
    "insurance_class": _l("医保类别"),
    "effective_from": _l("生效日期"),
    "withdrawn_at": _l("停用时间"),
    "valid_from": _l("生效时间"),
    "text": _l("别名"),
    "normalized_text": _l("规范化名称"),
    "source_ref": _l("来源说明"),
    "entity": _l("对象"),
    "entity_code": _l("对象编码"),
    "field": _l("字段"),
    "old_value": _l("原值"),
    "new_value": _l("新值"),
    "county_id": _l("县"),
    "added_by_id": _l("添加人"),
    # facilities and people
    "tier": _l("层级"),
    "parent_id": _l("上级机构"),
    "path": _l("机构路径"),
    "population": _l("服务人口"),
    "contact": _l("联系人"),
    "display_name": _l("姓名"),
    "password_hash": _l("密码"),
    "role": _l("角色"),
    "locale": _l("界面语言"),
    "failed_logins": _l("登录失败次数"),
    "locked_until": _l("锁定至"),
    "last_login_at": _l("最近登录时间"),
    "session_token": _l("会话令牌"),
    "token_prefix": _l("令牌前缀"),
    "token_hash": _l("令牌摘要"),
    "scopes": _l("权限范围"),
    "last_used_at": _l("最近使用时间"),
    "revoked_at": _l("撤销时间"),
    "revoked_by_id": _l("撤销人"),
    # matching
    "import_id": _l("导入批次"),
    "row_no": _l("行号"),
    "local_code": _l("本地编码"),
    "local_name": _l("本地名称"),
    "spec": _l("本地规格"),
    "unit": _l("单位"),
    "match_key": _l("匹配键"),
    "parsed_drug": _l("识别出的品种"),
    "parsed_form": _l("识别出的剂型"),
    "parsed_strength": _l("识别出的规格"),
    "parsed_pack": _l("识别出的包装"),
    "candidates": _l("候选药品"),
    "nhsa_code": _l("医保药品代码"),
    "nhsa_generic_code": _l("医保通用名代码"),
    "approval_no": _l("批准文号"),
    "registered_name": _l("注册名称"),
    "trade_name": _l("商品名称"),
    "packaging_material": _l("包装材质"),
    "pack_qty": _l("最小包装数量"),
    "min_unit": _l("最小制剂单位"),
    "candidates_json": _l("候选产品"),
    "issue": _l("问题"),
    "decided_by_id": _l("决定人"),
    "decided_at": _l("决定时间"),
    "filename": _l("文件名"),
    "file_format": _l("文件格式"),
    "encoding": _l("文件编码"),
    "row_count": _l("行数"),
    "problems": _l("问题"),
    "local_drug_id": _l("本地药品字典条目"),
    "old_status": _l("原状态"),
    "new_status": _l("新状态"),
    "old_product_id": _l("原药品规格"),
    "alias_id": _l("药品别名"),
    # stock
    "min_months": _l("下限（月）"),
    "max_months": _l("上限（月）"),
    "min_qty_base": _l("下限（基本单位）"),
    "max_qty_base": _l("上限（基本单位）"),
    "shelf_location": _l("货位"),
    "operation_id": _l("库存操作"),
    "balance_after": _l("操作后结存"),
    "from_facility_id": _l("调出机构"),
    "to_facility_id": _l("调入机构"),
    "sent_by_id": _l("发出人"),
    "sent_at": _l("发出时间"),
    "qty_base_sent": _l("发出数量（基本单位）"),
    "discrepancy_reason": _l("差异原因"),
    "discrepancy_note": _l("差异说明"),
    "months_of_stock": _l("可用月数"),
    "first_seen_at": _l("首次发现时间"),
    "last_seen_at": _l("最近发现时间"),
    "resolved_at": _l("解除时间"),
    # shortages
    "client_id": _l("平板登记编号"),
    "key_scope": _l("幂等键归属"),
    "request_hash": _l("请求指纹"),
    "free_text": _l("手填药品名称"),
    "registered_by_id": _l("登记人"),
    "client_created_at": _l("平板登记时间"),
    "acknowledged_at": _l("确认时间"),
    "from_status": _l("原状态"),
    "to_status": _l("新状态"),
    # orders
    "submitted_by_id": _l("提交人"),
    "submitted_at": _l("提交时间"),
    "approved_by_id": _l("审批人"),
    "approved_at": _l("审批时间"),
    "allocated_at": _l("分配时间"),
    "is_for_villages": _l("为村卫生室订购"),
    "suggested_packs": _l("建议数量（包装）"),
    "shortage_packs": _l("缺药登记数量（包装）"),
    "township_need_packs": _l("乡镇需求（包装）"),
    "village_need_packs": _l("村级需求（包装）"),
    "on_order_packs": _l("已在订单上（包装）"),
    "is_edited": _l("已手工修改"),
    "qty_packs_approved": _l("批准数量（包装）"),
    "approval_reason": _l("审批说明"),
    "qty_packs_allocated": _l("分配数量（包装）"),
    "qty_packs_backordered": _l("欠货数量（包装）"),
    "allocation_rule": _l("分配结果"),
    "qty_base_shipped": _l("发货数量（基本单位）"),
    "shipped_by_id": _l("发货人"),
    "shipped_at": _l("发货时间"),
    "source_facility_id": _l("发货机构"),
    "shipment_id": _l("订单发货单"),
    # supply
    "source_id": _l("发出机构"),
    "destination_id": _l("收货机构"),
    "cancelled_at": _l("取消时间"),
    "final_facility_id": _l("最终收货机构"),
    "difference_reason": _l("差异原因"),
    "transfer_line_id": _l("调拨明细"),
    "signed_by_id": _l("签收人"),
    "signer_name": _l("签收人姓名"),
    "is_proxy": _l("代签"),
    "proxy_reason": _l("代签原因"),
    "signed_at": _l("签收时间"),
    # deliveries
    "weekdays": _l("配送日"),
    "every_n_runs": _l("每几趟停靠一次"),
    "phase": _l("停靠轮次"),
    "sequence": _l("批次序号"),
    "usable_after": _l("效期须晚于"),
    "planned_by_id": _l("计划人"),
    "is_off_turn": _l("非轮次停靠"),
    "planned_qty_base": _l("计划数量（基本单位）"),
    "qty_for_shortages_base": _l("用于缺药登记的数量（基本单位）"),
    "in_transit_base": _l("在途数量（基本单位）"),
    "consignment_line_id": _l("运送明细"),
    # purchasing and settlement
    "backordered_packs": _l("欠货数量（包装）"),
    "qty_packs_received": _l("到货数量（包装）"),
    "receipt_id": _l("采购到货"),
    "purchase_order_line_id": _l("采购单明细"),
    "root_facility_id": _l("结算范围"),
    "closed_by_id": _l("关账人"),
    "closed_at": _l("关账时间"),
    "settlement_month_id": _l("结算月份"),
    "total_amount": _l("合计金额"),
    "statement_id": _l("结算单"),
    "movement_id": _l("库存流水"),
    "product_code": _l("药品编码"),
    "product_name": _l("药品名称"),
    "amount": _l("金额"),
    # reports
    "root_id": _l("统计范围"),
    "point_at": _l("统计时点"),
    "payload": _l("指标数据"),
    "computed_at": _l("计算时间"),
}

# Where one column name means something else in one table.
TABLE_COLUMNS = {
    ("facility", "kind"): _l("机构类型"),
    ("audit_event", "source"): _l("来源"),
    ("stock_movement", "reason"): _l("调整原因"),
    ("stock_adjustment_request", "reason"): _l("调整原因"),
    ("stock_adjustment_request", "qty_delta_base"): _l("调整数量（基本单位）"),
    ("stock_adjustment_request", "requested_by_id"): _l("申请人"),
    ("stock_adjustment_request", "requested_at"): _l("申请时间"),
    ("stock_adjustment_request", "decided_by_id"): _l("审批人"),
    ("stock_adjustment_request", "decided_at"): _l("处理时间"),
    ("stock_adjustment_request", "decision_note"): _l("审批说明"),
    ("stock_adjustment_request", "operation_id"): _l("库存操作"),
    ("stock_movement", "user_id"): _l("操作人"),
    ("catalog_change", "source"): _l("变更途径"),
    ("stock_operation", "kind"): _l("操作类型"),
    ("api_token", "user_id"): _l("令牌所属用户"),
    ("api_token", "name"): _l("令牌名称"),
    ("delivery_line", "source"): _l("需求来源"),
    ("delivery_shortfall", "source"): _l("需求来源"),
    ("supply_order_line", "source"): _l("需求来源"),
    ("supply_allocation", "line_id"): _l("订单明细"),
    ("supply_order_line_shortage", "line_id"): _l("订单明细"),
    ("supply_consignment_line_shortage", "line_id"): _l("运送明细"),
    ("delivery_line_shortage", "line_id"): _l("配送明细"),
}

# Coded columns whose model does not name their vocabulary (by their default) themselves: (table, column) → set.
CODED = {
    ("stock_adjustment_request", "reason"): "adjust_reason",
    ("facility", "tier"): "tier",
    ("facility", "kind"): "facility_kind",
    ("app_user", "role"): "role",
    ("product", "lowest_tier"): "tier",
    ("alias", "source"): "alias_source",
    ("catalog_change", "action"): "catalog_change_action",
    ("local_drug", "status"): "match_status",
    ("nhsa_row", "status"): "nhsa_row_status",
    ("match_decision", "action"): "decision_action",
    ("match_decision", "old_status"): "match_status",
    ("match_decision", "new_status"): "match_status",
    ("shortage", "stage"): "shortage_stage",
    ("shortage_event", "from_status"): "shortage_status",
    ("shortage_event", "to_status"): "shortage_status",
    ("shortage_event", "stage"): "shortage_stage",
    ("stock_alert", "kind"): "alert_kind",
    ("stock_operation", "kind"): "movement_kind",
    ("stock_movement", "kind"): "movement_kind",
    ("stock_movement", "reason"): "adjust_reason",
    ("stock_transfer_line", "discrepancy_reason"): "difference_reason",
    ("supply_consignment", "kind"): "consignment_kind",
    ("supply_consignment_line", "difference_reason"): "difference_reason",
    ("supply_order_line", "urgency"): "urgency",
    ("supply_order_line", "allocation_rule"): "allocation_rule",
    ("delivery_line", "source"): "delivery_line_source",
    ("delivery_shortfall", "reason"): "shortfall_reason",
    ("scheduler_job_run", "trigger"): "job_trigger",
    ("audit_event", "action"): "audit_action",
    ("api_token", "scopes"): "token_scope",  # several codes, space-separated
    ("drug", "chronic_tags"): "chronic_tag",  # several codes, |-separated
}


def table_label(table: str) -> str:
    """The table's name for people; an unknown table shows as stored."""
    if table == BULK_TABLE:
        return _("多个数据表")
    label = TABLES.get(table)
    return str(label) if label is not None else table


def column_label(table: str, column: str) -> str:
    label = TABLE_COLUMNS.get((table, column)) or COLUMNS.get(column)
    return str(label) if label is not None else column


def _term_sets() -> dict[type[Term], str]:
    return {terms: name for name, terms in VOCABULARY.items()}


def column_kinds() -> dict[tuple[str, str], str]:
    """(table, column) → how its values show: a vocabulary set's name, "bool" or "datetime"."""
    sets = _term_sets()
    kinds: dict[tuple[str, str], str] = {}
    for table in db.metadata.sorted_tables:
        for column in table.columns:
            default = column.default.arg if column.default is not None and column.default.is_scalar else None
            if isinstance(default, Term) and type(default) in sets:
                kinds[(table.name, column.name)] = sets[type(default)]
            elif isinstance(column.type, Boolean):
                kinds[(table.name, column.name)] = "bool"
            elif isinstance(column.type, DateTime):
                kinds[(table.name, column.name)] = "datetime"
    kinds.update(CODED)
    return kinds


@functools.cache
def _kinds() -> dict[tuple[str, str], str]:
    return column_kinds()  # the models do not change while the process runs


def _kind_of(table: str, column: str) -> str | None:
    return _kinds().get((table, column))


# Rows that other rows point at, and the columns that name them for people (a user by login name, a facility by
# code and name...). A foreign key to one of these tables shows the row's name beside its id.
NAMED_BY = {
    "app_user": ("username",),
    "facility": ("code", "name"),
    "product": ("code",),
    "drug": ("generic_name",),
    "supplier": ("name",),
    "delivery_route": ("name",),
}


@functools.cache
def referenced_table(table: str, column: str) -> str | None:
    """The named table (`NAMED_BY`) a column points at, from the model's foreign key."""
    found = db.metadata.tables.get(table)
    if found is None or column not in found.columns:
        return None
    targets = {key.column.table.name for key in found.columns[column].foreign_keys}
    target = targets.pop() if len(targets) == 1 else None
    return target if target in NAMED_BY else None


def references(events) -> dict[str, set[int]]:
    """The ids of named rows the events' changes point at, per table (to look their names up at once)."""
    wanted: dict[str, set[int]] = {}
    for event in events:
        if event.action == "bulk":
            continue
        for column, values in json.loads(event.changes or "{}").items():
            target = referenced_table(event.table_name, column)
            if target is None:
                continue
            for value in values if isinstance(values, list) else [values]:
                if isinstance(value, int) and not isinstance(value, bool):
                    wanted.setdefault(target, set()).add(value)
    return wanted


def value_text(table: str, column: str, value, names: dict | None = None) -> str:
    """A stored value as people read it: codes by their vocabulary label, booleans as 是/否, times local, a
    pointer to a named row by that row's name (`names`: {(table, id): name})."""
    if value is None or value == "":
        return "—"
    target = referenced_table(table, column) if names else None
    if target is not None and (target, value) in names:
        return f"{names[(target, value)]}（{value}）"
    kind = _kind_of(table, column)
    if kind == "bool":
        return _("是") if value in (True, 1, "1", "true", "True") else _("否")
    if kind == "datetime" and isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
        return clock.to_local(moment).strftime("%Y-%m-%d %H:%M:%S")
    if kind in VOCABULARY:
        codes = value if isinstance(value, list) else re.split(r"[\s|,]+", str(value).strip())
        return "、".join(VOCABULARY[kind].label_of(code) for code in codes if code != "")
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


@dataclass
class Change:
    column: str
    label: str
    old: str | None  # None: no old value to show (an insert)
    new: str | None  # None: no new value to show (a delete)


@dataclass
class BulkCount:
    table: str
    label: str
    action: str
    count: int
    row_ids: list[str] = field(default_factory=list)


@dataclass
class Entry:
    """One audit event as the page shows it."""

    event: object
    facility: object
    table_label: str
    changes: list[Change] = field(default_factory=list)
    bulk: list[BulkCount] = field(default_factory=list)


_BOOKKEEPING = ("id", "created_at", "updated_at")


def _column_rank(table: str, column: str) -> tuple[int, int]:
    """The order a row's columns are listed in: the table's own, its id and timestamps last."""
    columns = db.metadata.tables[table].columns.keys() if table in db.metadata.tables else []
    position = columns.index(column) if column in columns else len(columns)
    return (column in _BOOKKEEPING, position)


def present(event, facility, names: dict | None = None) -> Entry:
    """An audit event with its table, columns and values in the reader's language (`names`: see `value_text`)."""
    data = json.loads(event.changes or "{}")
    table = event.table_name
    entry = Entry(event, facility, table_label(table))
    if event.action == "bulk":
        for name, counts in data.items():
            for action, ids in counts.items():
                listed = ids if isinstance(ids, list) else []
                entry.bulk.append(BulkCount(name, table_label(name), action,
                                            ids if isinstance(ids, int) else len(listed), [str(i) for i in listed]))
        return entry
    for column, values in sorted(data.items(), key=lambda item: _column_rank(table, item[0])):
        old, new = (values + [None, None])[:2] if isinstance(values, list) else (None, values)
        label = column_label(table, column)
        if event.action == "insert":
            if new is None:
                continue  # an empty column of a new row says nothing
            entry.changes.append(Change(column, label, None, value_text(table, column, new, names)))
        elif event.action == "delete":
            entry.changes.append(Change(column, label, value_text(table, column, old, names), None))
        else:
            entry.changes.append(Change(column, label, value_text(table, column, old, names),
                                        value_text(table, column, new, names)))
    return entry
