"""One vocabulary: every urgency, status and reason code the product stores, with its Chinese and English label.

Each set of codes is a `Term` enum: a member is a `str` (so it compares equal to the code in the database and the
JSON) that also carries `zh`, `en`, an optional `rank` (urgency and tier order) and the `contexts` it is allowed in
(for instance, which difference reasons a receipt offers). Pages, PDFs, XLSX exports, the tablet's script (through
the page) and `GET /api/v1/vocabulary` all read labels from here; no other module keeps a label map for these codes
(`tests/unit/test_vocabulary.py` walks every term and greps the code for stray maps).

This module imports nothing from the domains, so every domain may import it.
"""

from __future__ import annotations

from enum import StrEnum


def current_language() -> str:
    """'en' when the request (or a `force_locale` block) is in English, else 'zh'."""
    try:
        from flask_babel import get_locale

        locale = get_locale()
    except (RuntimeError, KeyError, AttributeError):  # no application or Babel: Chinese, the product's language
        return "zh"
    return "en" if locale is not None and locale.language == "en" else "zh"


class Term(StrEnum):
    """A labelled code. Members are declared as `NAME = code, 中文, English[, rank[, contexts]]`."""

    zh: str
    en: str
    rank: int | None
    contexts: frozenset[str]

    def __new__(cls, code: str, zh: str, en: str, rank: int | None = None, contexts: tuple[str, ...] = ()):
        member = str.__new__(cls, code)
        member._value_ = code
        member.zh = zh
        member.en = en
        member.rank = rank
        member.contexts = frozenset(contexts)
        return member

    @property
    def label(self) -> str:
        return self.label_in(current_language())

    @property
    def lazy_label(self):
        """The label, read in the language of the moment it is shown (for form choices built at import)."""
        from flask_babel import LazyString

        return LazyString(lambda: self.label)

    def label_in(self, language: str) -> str:
        return self.en if language == "en" else self.zh

    def __str__(self) -> str:  # the code, as StrEnum does: f-strings and SQL parameters see the stored value
        return self.value

    @classmethod
    def coerce(cls, code) -> "Term | None":
        try:
            return cls(code)
        except ValueError:
            return None

    @classmethod
    def label_of(cls, code, default: str | None = None) -> str:
        """The label of a stored code; an unknown code shows as itself (or `default`)."""
        member = cls.coerce(code)
        if member is None:
            return default if default is not None else ("" if code is None else str(code))
        return member.label

    @classmethod
    def labels(cls, language: str | None = None) -> dict[str, str]:
        language = language or current_language()
        return {m.value: m.label_in(language) for m in cls}

    @classmethod
    def ranks(cls) -> dict[str, int | None]:
        return {m.value: m.rank for m in cls}

    @classmethod
    def allowed_in(cls, context: str) -> tuple["Term", ...]:
        return tuple(m for m in cls if context in m.contexts)

    @classmethod
    def by_rank(cls) -> tuple["Term", ...]:
        return tuple(sorted(cls, key=lambda m: (m.rank is None, m.rank or 0)))

    @classmethod
    def rank_of(cls, code, default: int | None = None) -> int:
        member = cls.coerce(code)
        if member is None or member.rank is None:
            return default if default is not None else len(cls.__members__)
        return member.rank


# ---- shortages (缺药登记) ----------------------------------------------------------------------------------

class Urgency(Term):
    """Rank 0 is served first."""

    ROUTINE = "routine", "常规", "Routine", 2
    URGENT = "urgent", "紧急", "Urgent", 1
    EMERGENCY = "emergency", "特急", "Emergency", 0


class ShortageStatus(Term):
    REGISTERED = "registered", "已登记", "Registered"
    ACKNOWLEDGED = "acknowledged", "已确认", "Acknowledged"
    ORDERED = "ordered", "已订购", "Ordered"
    DISPATCHED = "dispatched", "已发出", "Dispatched"
    DELIVERED = "delivered", "已送达", "Delivered"
    CANCELLED = "cancelled", "已取消", "Cancelled"


class ShortageReason(Term):
    OUT_OF_STOCK = "out_of_stock", "已断货", "Out of stock"
    RUNNING_LOW = "running_low", "库存不足", "Running low"
    PATIENT_NEED = "patient_need", "患者需要", "Patient need"
    CHRONIC_LONG_RX = "chronic_long_rx", "慢病长处方", "Chronic long prescription"


class ShortageStage(Term):
    """Where a registration's goods are (derived from orders and consignments, see shortages/progress.py)."""

    NONE = "", "尚未安排", "Not yet under way"
    ON_ORDER = "on_order", "已在统一订单上", "On a unified order"
    UPSTREAM_TRANSIT = "upstream_transit", "正运往乡镇", "On its way to the township"
    AT_UPSTREAM = "at_upstream", "已到乡镇，待配送", "At the township, waiting for the run"
    IN_TRANSIT = "in_transit", "正运往本村", "On its way to the clinic"
    DELIVERED = "delivered", "已送达", "Delivered"


# ---- unified orders, allocation, purchasing -----------------------------------------------------------------

class OrderStatus(Term):
    DRAFT = "draft", "草稿", "Draft"
    SUBMITTED = "submitted", "已提交", "Submitted"
    APPROVED = "approved", "已审批", "Approved"
    ALLOCATED = "allocated", "已分配", "Allocated"
    SHIPPED = "shipped", "已发货", "Shipped"
    RECEIVED = "received", "已收货", "Received"
    REJECTED = "rejected", "已驳回", "Rejected"
    CANCELLED = "cancelled", "已取消", "Cancelled"


class OrderLineStatus(Term):
    PENDING = "pending", "待审批", "Pending"
    APPROVED = "approved", "已批准", "Approved"
    REJECTED = "rejected", "已驳回", "Rejected"


class OrderLineSource(Term):
    SHORTAGE = "shortage", "缺药登记", "Shortage registration"
    REPLENISHMENT = "replenishment", "补货", "Replenishment"
    MANUAL = "manual", "手工添加", "Added by hand"
    IMPORT = "import", "导入", "Imported"


class ShipmentStatus(Term):
    IN_TRANSIT = "in_transit", "在途", "In transit"
    RECEIVED = "received", "已签收", "Received"


class AllocationRule(Term):
    FULL = "full", "足额分配", "Filled in full"
    PRO_RATA = "pro_rata", "库存不足，按需求比例分配", "Short: shared in proportion to need"
    PARTIAL = "partial", "库存不足，部分分配", "Short: partly filled"
    NONE = "none", "无可用库存", "No stock available"
    NEAR_EXPIRY = "near_expiry", "仅剩近效期批号，未分配", "Only near-expiry lots left: not allocated"


class PurchaseStatus(Term):
    PROPOSED = "proposed", "待确认", "To confirm"
    CONFIRMED = "confirmed", "已确认", "Confirmed"
    PARTIALLY_RECEIVED = "partially_received", "部分到货", "Partly received"
    RECEIVED = "received", "已到货", "Received"
    CANCELLED = "cancelled", "已取消", "Cancelled"


# ---- moving goods (consignments) and proof of delivery -------------------------------------------------------

class ConsignmentKind(Term):
    SHIPMENT = "shipment", "订单发货", "Order shipment"          # county central pharmacy → township
    DELIVERY = "delivery", "村级配送", "Village delivery"        # township → village, one stop of a run
    TRANSFER = "transfer", "调拨", "Transfer"                    # a manual transfer between two facilities


class ConsignmentStatus(Term):
    PLANNED = "planned", "待发出", "Planned"
    DISPATCHED = "dispatched", "在途", "In transit"
    RECEIVED = "received", "已签收", "Received"
    CANCELLED = "cancelled", "已取消", "Cancelled"


class DifferenceReason(Term):
    """Why what arrived differs from what was sent: one list for every receipt (context "receipt")."""

    SHORT = "short", "短少", "Short", None, ("receipt",)
    MISSING = "missing", "短少", "Short"  # stored by earlier versions; read as SHORT, never offered
    DAMAGED = "damaged", "破损", "Damaged", None, ("receipt",)
    LOST = "lost", "丢失", "Lost", None, ("receipt",)
    WRONG_ITEM = "wrong_item", "错发", "Wrong item", None, ("receipt",)
    EXPIRED = "expired", "过期/近效期", "Expired / near expiry", None, ("receipt",)
    OTHER = "other", "其他", "Other", None, ("receipt",)


class RunStatus(Term):
    PLANNED = "planned", "待审核", "Needs review"
    CONFIRMED = "confirmed", "已确认", "Confirmed"
    DISPATCHED = "dispatched", "已发车", "Dispatched"
    DELIVERED = "delivered", "已签收", "Received"
    CANCELLED = "cancelled", "已取消", "Cancelled"


class StopStatus(Term):
    PENDING = "pending", "待发车", "Waiting to leave"
    DISPATCHED = "dispatched", "在途", "In transit"
    RECEIVED = "received", "已签收", "Received"
    SKIPPED = "skipped", "本次无配送", "Nothing this run"


class DeliveryLineSource(Term):
    SHORTAGE = "shortage", "缺药登记", "Shortage registration"
    REPLENISH = "replenish", "补货", "Replenishment"
    SHORTAGE_AND_REPLENISH = "shortage_replenish", "缺药登记＋补货", "Shortage + replenishment"
    MANUAL = "manual", "手工添加", "Added by hand"


class ShortfallReason(Term):
    """Why a delivery run does not bring (all of) what a village needs."""

    NO_STOCK = "no_stock", "乡镇库存不足", "Not enough township stock"
    TIER_NOT_ALLOWED = "tier_not_allowed", "村级不能配备", "Not allowed at village level"
    INACTIVE = "inactive", "药品已停用", "Product withdrawn"
    NO_PRODUCT = "no_product", "未对应目录药品", "Not matched to a formulary product"
    INBOUND = "inbound", "已在统一订单上，到乡镇后随下次配送", \
        "On a unified order: goes with the next run once it reaches the township"


class AlertKind(Term):
    STOCKOUT = "stockout", "缺货", "Stock-out"
    BELOW_MIN = "below_min", "低于下限", "Below min"
    NEAR_EXPIRY = "near_expiry", "近效期", "Near expiry"
    EXPIRED = "expired", "已过期", "Expired"


# ---- stock ledger -----------------------------------------------------------------------------------------

class MovementKind(Term):
    RECEIPT = "receipt", "入库", "Receipt"
    DISPENSE = "dispense", "发药", "Dispense"
    TRANSFER_OUT = "transfer_out", "调出", "Transfer out"
    TRANSFER_IN = "transfer_in", "调入", "Transfer in"
    ADJUSTMENT = "adjustment", "调整", "Adjustment"
    STOCKTAKE = "stocktake", "盘点", "Stocktake"
    EXPIRY_WRITE_OFF = "expiry_write_off", "过期报损", "Expiry write-off"
    RETURN = "return", "退回", "Return"


class AdjustReason(Term):
    """Reasons for a manual adjustment; context "decrease" or "increase" says which direction may use it."""

    DAMAGED = "damaged", "破损", "Damaged", None, ("decrease",)
    EXPIRED = "expired", "过期", "Expired", None, ("decrease",)
    LOST = "lost", "丢失", "Lost", None, ("decrease",)
    FOUND = "found", "盘盈/找到", "Found", None, ("increase",)
    CORRECTION = "correction", "更正", "Correction", None, ("decrease", "increase")


class AdjustmentRequestStatus(Term):
    """A large adjustment waits for a second person's approval before it is booked."""

    PENDING = "pending", "待审批", "Awaiting approval"
    APPROVED = "approved", "已批准", "Approved"
    REJECTED = "rejected", "已驳回", "Rejected"


class TransferStatus(Term):
    IN_TRANSIT = "in_transit", "在途", "In transit"
    RECEIVED = "received", "已签收", "Received"


class StockStatus(Term):
    STOCK_OUT = "stock_out", "断货", "Stock-out"
    BELOW_MIN = "below_min", "低于下限", "Below min"
    OK = "ok", "正常", "OK"
    ABOVE_MAX = "above_max", "高于上限", "Above max"


# ---- formulary, matching, facilities, people ----------------------------------------------------------------

class ProductStatus(Term):
    ACTIVE = "active", "在用", "Active"
    WITHDRAWN = "withdrawn", "已停用", "Withdrawn"


class CatalogChangeAction(Term):
    CREATE = "create", "新增", "Created"
    UPDATE = "update", "修改", "Changed"
    PRICE = "price", "调价", "Price change"
    WITHDRAW = "withdraw", "停用", "Withdrawn"
    REINSTATE = "reinstate", "恢复", "Reinstated"


class EditionChange(Term):
    """How a drug of the shown edition of the essential medicines list compares with the other edition."""

    ADDED = "added", "新增", "Added"
    REMOVED = "removed", "调出", "Removed"
    STRENGTH_CHANGED = "strength_changed", "规格变化", "Strength changed"


class ChronicTag(Term):
    HYPERTENSION = "hypertension", "高血压", "Hypertension"
    DIABETES = "diabetes", "糖尿病", "Diabetes"
    STROKE = "stroke", "脑卒中", "Stroke"
    CORONARY = "coronary", "冠心病", "Coronary disease"


class AliasSource(Term):
    BRAND = "brand", "商品名", "Trade name"
    COMMON = "common", "俗名", "Common name"
    LOCAL_CONFIRMED = "local_confirmed", "本地确认", "Confirmed locally"
    MANUAL = "manual", "手工添加", "Added by hand"


class MatchStatus(Term):
    AUTO_MATCHED = "auto_matched", "自动匹配", "Auto-matched"
    NEEDS_REVIEW = "needs_review", "待审核", "Needs review"
    CONFIRMED = "confirmed", "已确认", "Confirmed"
    REJECTED = "rejected", "目录外", "Not in formulary"  # reviewed: not in the formulary
    NO_MATCH = "no_match", "未匹配", "No match"


class NhsaRowStatus(Term):
    """A row of an imported 医保药品代码 table (pharmacy/insurance)."""

    ATTACHED = "attached", "已自动对应", "Attached"
    NEEDS_REVIEW = "needs_review", "待审核", "Needs review"
    CONFIRMED = "confirmed", "已确认", "Confirmed"
    REJECTED = "rejected", "不对应", "Not ours"
    NO_MATCH = "no_match", "未找到产品", "No product found"


class DecisionAction(Term):
    CONFIRM = "confirm", "确认", "Confirm"
    BULK_CONFIRM = "bulk_confirm", "批量确认", "Bulk confirm"
    REJECT = "reject", "目录外", "Not in formulary"


class Tier(Term):
    """The level of care a facility is at; rank orders them village < township < county."""

    COUNTY = "county", "县级", "County", 2
    TOWNSHIP = "township", "乡镇级", "Township", 1
    VILLAGE = "village", "村级", "Village", 0


class FacilityKind(Term):
    COUNTY_HOSPITAL = "county_hospital", "县级医院", "County hospital"
    CENTRAL_PHARMACY = "central_pharmacy", "区域中心药房", "Central pharmacy"
    HEALTH_CENTRE = "health_centre", "乡镇卫生院", "Township health centre"
    VILLAGE_POINT = "village_point", "村卫生室", "Village clinic"


class Role(Term):
    VILLAGE_DOCTOR = "village_doctor", "村医", "Village doctor"
    TOWNSHIP_PHARMACIST = "township_pharmacist", "乡镇药师", "Township pharmacist"
    COUNTY_PHARMACIST = "county_pharmacist", "县级药师", "County pharmacist"
    FORMULARY_ADMIN = "formulary_admin", "目录管理员", "Formulary admin"
    VIEWER = "viewer", "只读用户", "Viewer"


class TokenScope(Term):
    """What an API token may do: read (GET) and/or write (every other method); never more than its user's role."""

    READ = "read", "读取", "Read"
    WRITE = "write", "写入", "Write"


class TokenStatus(Term):
    ACTIVE = "active", "有效", "Active"
    EXPIRED = "expired", "已过期", "Expired"
    REVOKED = "revoked", "已撤销", "Revoked"


# ---- audit and scheduled jobs ------------------------------------------------------------------------------

class AuditAction(Term):
    INSERT = "insert", "新增", "Created"
    UPDATE = "update", "修改", "Changed"
    DELETE = "delete", "删除", "Deleted"
    BULK = "bulk", "批量导入", "Bulk load"  # a bulk load summarised in one row (catalog load, demo seed)


class AuditSource(Term):
    WEB = "web", "网页", "Web"
    API = "api", "接口", "API"
    CLI = "cli", "命令行", "Command line"
    JOB = "job", "定时任务", "Scheduled job"
    SYSTEM = "system", "系统", "System"


class RunOutcome(Term):
    RUNNING = "running", "执行中", "Running"
    SUCCEEDED = "succeeded", "成功", "Succeeded"
    FAILED = "failed", "失败", "Failed"


class JobTrigger(Term):
    SCHEDULE = "schedule", "定时", "Scheduled"
    MANUAL = "manual", "手工", "By hand"


# Every set of codes by the name the API, the templates' `label` filter and the tests use.
VOCABULARY: dict[str, type[Term]] = {
    "urgency": Urgency,
    "shortage_status": ShortageStatus,
    "shortage_reason": ShortageReason,
    "shortage_stage": ShortageStage,
    "order_status": OrderStatus,
    "order_line_status": OrderLineStatus,
    "order_line_source": OrderLineSource,
    "shipment_status": ShipmentStatus,
    "allocation_rule": AllocationRule,
    "purchase_status": PurchaseStatus,
    "consignment_kind": ConsignmentKind,
    "consignment_status": ConsignmentStatus,
    "difference_reason": DifferenceReason,
    "run_status": RunStatus,
    "stop_status": StopStatus,
    "delivery_line_source": DeliveryLineSource,
    "shortfall_reason": ShortfallReason,
    "alert_kind": AlertKind,
    "movement_kind": MovementKind,
    "adjust_reason": AdjustReason,
    "adjustment_request_status": AdjustmentRequestStatus,
    "transfer_status": TransferStatus,
    "stock_status": StockStatus,
    "product_status": ProductStatus,
    "catalog_change_action": CatalogChangeAction,
    "edition_change": EditionChange,
    "chronic_tag": ChronicTag,
    "alias_source": AliasSource,
    "match_status": MatchStatus,
    "nhsa_row_status": NhsaRowStatus,
    "decision_action": DecisionAction,
    "tier": Tier,
    "facility_kind": FacilityKind,
    "role": Role,
    "token_scope": TokenScope,
    "token_status": TokenStatus,
    "audit_action": AuditAction,
    "audit_source": AuditSource,
    "run_outcome": RunOutcome,
    "job_trigger": JobTrigger,
}


def label(code, vocabulary: str, default: str | None = None) -> str:
    """The label of `code` in the named set, in the current language (the templates' `label` filter)."""
    return VOCABULARY[vocabulary].label_of(code, default)


def as_document(language: str | None = None) -> dict[str, list[dict]]:
    """Every set with its terms, for `GET /api/v1/vocabulary` and the tablet."""
    return {name: [{"code": m.value, "zh": m.zh, "en": m.en, "label": m.label_in(language or current_language()),
                    "rank": m.rank, "contexts": sorted(m.contexts)} for m in cls]
            for name, cls in VOCABULARY.items()}
