"""The job table: every scheduled job with its stable id, trigger and function. This list is the only place a job
is declared; `flask scheduler run` makes the persistent job store match it at start."""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class JobDefinition:
    id: str
    label: str  # Chinese message id, shown on the admin page
    function: str  # "module:function"; called with no arguments inside an app context, returns a summary dict
    trigger: str  # "cron" or "interval"
    trigger_args: dict = field(default_factory=dict)


def job_definitions(config) -> list[JobDefinition]:
    """The jobs of this deployment; their ids never change, so runs and the job store keep matching."""
    return [
        JobDefinition("deliveries.plan_due_runs", "规划即将出发的配送单",
                      "pharmacy.deliveries.services:plan_due_runs",
                      "interval", {"minutes": config["DELIVERY_PLAN_INTERVAL_MINUTES"]}),
        JobDefinition("stock.recompute_status", "重算月均消耗与库存状态（缺货、低于下限）",
                      "pharmacy.deliveries.monitoring:recompute_stock_status",
                      "cron", {"hour": 1, "minute": 0}),
        JobDefinition("stock.flag_expiry", "标记近效期与过期批号",
                      "pharmacy.deliveries.monitoring:flag_expiring_lots",
                      "cron", {"hour": 1, "minute": 30}),
        JobDefinition("reports.keep_past_weeks", "保存驾驶舱各周指标",
                      "pharmacy.reports.services:keep_past_weeks",
                      "cron", {"hour": 0, "minute": 20}),
    ]


def definition_by_id(config, job_id: str) -> JobDefinition | None:
    return next((d for d in job_definitions(config) if d.id == job_id), None)
