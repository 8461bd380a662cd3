"""Every string the UI shows, in English and Simplified Chinese, and how times are written.

Keeping the words in one dictionary per language means a missing translation is a
failing test rather than a half-English screen; formatting times and durations here
keeps the wall and the explorer consistent.
"""

from __future__ import annotations

import pandas as pd

LANGUAGES = ("en", "zh")
LANGUAGE_NAMES = {"en": "English", "zh": "简体中文"}
LANG_STATE_KEY = "vigil_lang"
"""Where the chosen language lives in the UI session (set by ``app.py``, read by pages)."""

EN: dict[str, str] = {
    "app.title": "Vigil",
    "nav.wall": "Wall",
    "nav.explore": "Explore",
    "nav.jobs": "Jobs & sources",
    "sidebar.language": "Language",
    "engine.starting": "Vigil is starting",
    "engine.phase.starting": "Starting the engine",
    "engine.phase.backfilling": "Loading history",
    "engine.phase.fitting": "Learning what normal looks like",
    "engine.phase.evaluating": "Evaluating rules over history",
    "engine.phase.running": "Running",
    "engine.phase.stopped": "Stopped",
    "engine.phase.failed": "Start-up failed",
    "engine.failed": "The engine failed to start",
    "wall.title": "Estate health",
    "wall.no_data": "No data yet: waiting for the first samples.",
    "wall.no_services": "No services known yet.",
    "wall.stale": "STALE DATA",
    "wall.stale_detail": "newest sample {age} ago ({time})",
    "wall.stale_none": "no samples received",
    "wall.updated": "Updated {time}",
    "wall.newest": "Newest sample {time}",
    "wall.firing": "Firing alerts",
    "wall.pending": "pending",
    "wall.no_alerts": "No alerts firing",
    "wall.more_alerts": "and {n} more",
    "wall.anomalies": "Top anomalies (last hour)",
    "wall.no_anomalies": "No scored series yet.",
    "wall.timeline": "Last 24 hours: alerts and incidents",
    "wall.no_timeline": "No alerts or incidents in the last 24 hours.",
    "wall.series": "series",
    "wall.score": "score",
    "status.ok": "OK",
    "status.warning": "WARNING",
    "status.critical": "CRITICAL",
    "severity.critical": "critical",
    "severity.warning": "warning",
    "severity.info": "info",
    "col.severity": "Severity",
    "col.service": "Service",
    "col.summary": "Summary",
    "col.since": "Since",
    "col.state": "State",
    "state.firing": "firing",
    "state.pending": "pending",
    "explore.title": "Explore",
    "explore.metric": "Metric",
    "explore.filters": "Label filters",
    "explore.range": "Time range",
    "explore.range.1h": "Last 1 hour",
    "explore.range.6h": "Last 6 hours",
    "explore.range.24h": "Last 24 hours",
    "explore.range.7d": "Last 7 days",
    "explore.range.14d": "Last 14 days",
    "explore.range.custom": "Custom",
    "explore.from": "From (UTC)",
    "explore.to": "To (UTC)",
    "explore.series": "Series (up to {n})",
    "explore.matching": "{n} matching series",
    "explore.no_series": "No series yet.",
    "explore.no_match": "No series match these filters.",
    "explore.no_points": "No samples in this range.",
    "explore.resolution.raw": "Every sample shown.",
    "explore.resolution.5m": "Long range: 5-minute means (min–max kept per bucket).",
    "explore.download": "Download CSV",
    "explore.incidents": "Incidents in range",
    "nav.models": "Models",
    "models.title": "Models",
    "models.summary": (
        "{ok} series with a current model · {failed} whose last fit failed · {none} not fitted yet"
    ),
    "models.refit": "Refit every series now",
    "models.refit_progress": "Fitting {done}/{total} series",
    "models.refit_done": (
        "Refit done: {fitted} fitted, {failed} failed, {skipped} with too little history."
    ),
    "models.busy": "A refit is already running; its models will be used when it ends.",
    "models.quality": "Model quality",
    "models.quality_help": (
        "Each point is a series: its residual noise against how often its model would "
        "have alerted on its own training history. Look at the high ones first."
    ),
    "models.axis.sigma": "Residual robust sigma (log)",
    "models.axis.alert_share": "Training history that would alert (%)",
    "models.list": "Series and their current model",
    "models.none": "No series yet: nothing has been pulled or imported.",
    "models.history": "Fits of one series",
    "models.pick": "Series",
    "models.in_use": "in use",
    "models.state.ok": "current",
    "models.state.failed": "last fit failed",
    "models.state.none": "not fitted",
    "models.col.series": "Series",
    "models.col.service": "Service",
    "models.col.state": "State",
    "models.col.version": "Version in use",
    "models.col.fit_version": "Version",
    "models.col.trained": "Trained",
    "models.col.window": "Training window",
    "models.col.period": "Cycle (min)",
    "models.col.sigma": "Residual σ",
    "models.col.share": "Would alert (%)",
    "models.col.error": "Last error",
    "models.col.status": "Status",
    "models.col.params": "Parameters",
    "models.col.quality": "Quality",
    "jobs.title": "Jobs & sources",
    "jobs.engine": "Engine: {phase}",
    "jobs.sources": "Sources",
    "jobs.no_sources": "No sources yet: nothing has been pulled or imported.",
    "jobs.last_success": "Last success",
    "jobs.last_error": "Last error",
    "jobs.lag": "Lag",
    "jobs.series": "Series",
    "jobs.never": "never",
    "jobs.ago": "{age} ago",
    "jobs.summary": "Jobs, last 24 hours",
    "jobs.timeline": "Job runs, last 24 hours",
    "jobs.no_runs": "No job runs recorded yet.",
    "jobs.no_runs_window": "No job runs in the last 24 hours.",
    "jobs.recent": "Last {n} runs",
    "jobs.no_match": "No runs match these filters.",
    "jobs.status.ok": "ok",
    "jobs.status.running": "running",
    "jobs.status.failed": "failed",
    "jobs.col.job": "Job",
    "jobs.col.status": "Status",
    "jobs.col.started": "Started (UTC)",
    "jobs.col.ended": "Ended (UTC)",
    "jobs.col.duration": "Duration (s)",
    "jobs.col.rows": "Rows",
    "jobs.col.error": "Error",
    "jobs.col.runs": "Runs",
    "jobs.col.failures": "Failures",
    "jobs.col.mean": "Mean (s)",
    "jobs.col.p95": "p95 (s)",
    "jobs.col.last_run": "Last run (UTC)",
    "jobs.col.last_status": "Last status",
    "source.status.ok": "OK",
    "source.status.lagging": "LAGGING",
    "source.status.down": "DOWN",
    "source.status.idle": "NOT PULLED",
    "chart.value": "value",
    "chart.expected": "expected",
    "chart.band": "normal band",
    "chart.anomaly": "anomaly",
    "chart.alert": "alert",
    "chart.incident": "incident",
    "time.utc": "UTC",
    "duration.s": "{n}s",
    "duration.m": "{n} min",
    "duration.h": "{h} h {m} min",
    "duration.d": "{d} d {h} h",
}

ZH: dict[str, str] = {
    "app.title": "Vigil",
    "nav.wall": "大屏",
    "nav.explore": "探索",
    "nav.jobs": "任务与数据源",
    "sidebar.language": "语言",
    "engine.starting": "Vigil 正在启动",
    "engine.phase.starting": "正在启动引擎",
    "engine.phase.backfilling": "正在加载历史数据",
    "engine.phase.fitting": "正在学习正常基线",
    "engine.phase.evaluating": "正在对历史数据评估规则",
    "engine.phase.running": "运行中",
    "engine.phase.stopped": "已停止",
    "engine.phase.failed": "启动失败",
    "engine.failed": "引擎启动失败",
    "wall.title": "系统健康状况",
    "wall.no_data": "暂无数据：正在等待第一批采样。",
    "wall.no_services": "尚无已知服务。",
    "wall.stale": "数据已过期",
    "wall.stale_detail": "最新采样于 {age} 前（{time}）",
    "wall.stale_none": "尚未收到任何采样",
    "wall.updated": "更新于 {time}",
    "wall.newest": "最新采样 {time}",
    "wall.firing": "正在触发的告警",
    "wall.pending": "待定",
    "wall.no_alerts": "当前无告警",
    "wall.more_alerts": "另有 {n} 条",
    "wall.anomalies": "异常排行（最近一小时）",
    "wall.no_anomalies": "尚无已评分的序列。",
    "wall.timeline": "最近 24 小时：告警与事件",
    "wall.no_timeline": "最近 24 小时没有告警或事件。",
    "wall.series": "条序列",
    "wall.score": "异常分",
    "status.ok": "正常",
    "status.warning": "警告",
    "status.critical": "严重",
    "severity.critical": "严重",
    "severity.warning": "警告",
    "severity.info": "提示",
    "col.severity": "级别",
    "col.service": "服务",
    "col.summary": "摘要",
    "col.since": "持续",
    "col.state": "状态",
    "state.firing": "触发中",
    "state.pending": "待定",
    "explore.title": "探索",
    "explore.metric": "指标",
    "explore.filters": "标签筛选",
    "explore.range": "时间范围",
    "explore.range.1h": "最近 1 小时",
    "explore.range.6h": "最近 6 小时",
    "explore.range.24h": "最近 24 小时",
    "explore.range.7d": "最近 7 天",
    "explore.range.14d": "最近 14 天",
    "explore.range.custom": "自定义",
    "explore.from": "开始（UTC）",
    "explore.to": "结束（UTC）",
    "explore.series": "序列（最多 {n} 条）",
    "explore.matching": "匹配 {n} 条序列",
    "explore.no_series": "暂无序列。",
    "explore.resolution.raw": "显示全部采样点。",
    "explore.resolution.5m": "长时间范围：按 5 分钟取均值（保留每段的最小值和最大值）。",
    "explore.no_match": "没有符合筛选条件的序列。",
    "explore.no_points": "该时间范围内没有采样。",
    "explore.download": "下载 CSV",
    "explore.incidents": "范围内的故障",
    "nav.models": "模型",
    "models.title": "模型",
    "models.summary": "{ok} 条序列有当前模型 · {failed} 条最近一次拟合失败 · {none} 条尚未拟合",
    "models.refit": "立即重新拟合全部序列",
    "models.refit_progress": "正在拟合 {done}/{total} 条序列",
    "models.refit_done": "重新拟合完成：成功 {fitted}，失败 {failed}，历史不足 {skipped}。",
    "models.busy": "已有重新拟合在运行，结束后将使用其模型。",
    "models.quality": "模型质量",
    "models.quality_help": (
        "每个点是一条序列：残差噪声与其模型在自身训练历史上会告警的比例。先看位置高的。"
    ),
    "models.axis.sigma": "残差稳健标准差（对数）",
    "models.axis.alert_share": "训练历史中会告警的比例（%）",
    "models.list": "序列及其当前模型",
    "models.none": "还没有序列：尚未拉取或导入任何数据。",
    "models.history": "单条序列的拟合记录",
    "models.pick": "序列",
    "models.in_use": "使用中",
    "models.state.ok": "当前",
    "models.state.failed": "最近拟合失败",
    "models.state.none": "未拟合",
    "models.col.series": "序列",
    "models.col.service": "服务",
    "models.col.state": "状态",
    "models.col.version": "使用中的版本",
    "models.col.fit_version": "版本",
    "models.col.trained": "训练时间",
    "models.col.window": "训练窗口",
    "models.col.period": "周期（分钟）",
    "models.col.sigma": "残差 σ",
    "models.col.share": "会告警（%）",
    "models.col.error": "最近错误",
    "models.col.status": "状态",
    "models.col.params": "参数",
    "models.col.quality": "质量",
    "jobs.title": "任务与数据源",
    "jobs.engine": "引擎：{phase}",
    "jobs.sources": "数据源",
    "jobs.no_sources": "暂无数据源：尚未拉取或导入任何数据。",
    "jobs.last_success": "最近成功",
    "jobs.last_error": "最近错误",
    "jobs.lag": "延迟",
    "jobs.series": "序列数",
    "jobs.never": "从未",
    "jobs.ago": "{age}前",
    "jobs.summary": "任务（最近 24 小时）",
    "jobs.timeline": "最近 24 小时的任务运行",
    "jobs.no_runs": "尚无任务运行记录。",
    "jobs.no_runs_window": "最近 24 小时没有任务运行。",
    "jobs.recent": "最近 {n} 次运行",
    "jobs.no_match": "没有符合筛选条件的运行。",
    "jobs.status.ok": "成功",
    "jobs.status.running": "运行中",
    "jobs.status.failed": "失败",
    "jobs.col.job": "任务",
    "jobs.col.status": "状态",
    "jobs.col.started": "开始（UTC）",
    "jobs.col.ended": "结束（UTC）",
    "jobs.col.duration": "耗时（秒）",
    "jobs.col.rows": "行数",
    "jobs.col.error": "错误",
    "jobs.col.runs": "运行次数",
    "jobs.col.failures": "失败次数",
    "jobs.col.mean": "平均（秒）",
    "jobs.col.p95": "p95（秒）",
    "jobs.col.last_run": "最近运行（UTC）",
    "jobs.col.last_status": "最近状态",
    "source.status.ok": "正常",
    "source.status.lagging": "滞后",
    "source.status.down": "中断",
    "source.status.idle": "未拉取",
    "chart.value": "数值",
    "chart.expected": "期望值",
    "chart.band": "正常区间",
    "chart.anomaly": "异常",
    "chart.alert": "告警",
    "chart.incident": "故障",
    "time.utc": "UTC",
    "duration.s": "{n} 秒",
    "duration.m": "{n} 分钟",
    "duration.h": "{h} 小时 {m} 分钟",
    "duration.d": "{d} 天 {h} 小时",
}

_DICTIONARIES = {"en": EN, "zh": ZH}


def normalise_language(lang: str | None, default: str = "en") -> str:
    """A supported language code; anything else (``zh-CN``, typos) falls back sensibly."""
    code = (lang or "").strip().lower()[:2]
    return code if code in LANGUAGES else default


def t(key: str, lang: str, **values: object) -> str:
    """The text for ``key`` in ``lang``; an unknown key shows itself so it gets noticed."""
    text = _DICTIONARIES.get(lang, EN).get(key) or EN.get(key) or key
    return text.format(**values) if values else text


def format_time(ts: pd.Timestamp | None, with_date: bool = False) -> str:
    """A stored UTC time as people read it on the wall: ``14:03:22 UTC``."""
    if ts is None or pd.isna(ts):
        return "—"
    pattern = "%Y-%m-%d %H:%M:%S" if with_date else "%H:%M:%S"
    return f"{pd.Timestamp(ts).strftime(pattern)} UTC"


def format_duration(delta: pd.Timedelta, lang: str) -> str:
    """A coarse, human duration (``3 min``, ``2 h 5 min``) for "since" and staleness."""
    seconds = max(int(pd.Timedelta(delta).total_seconds()), 0)
    if seconds < 60:
        return t("duration.s", lang, n=seconds)
    minutes = seconds // 60
    if minutes < 60:
        return t("duration.m", lang, n=minutes)
    hours = minutes // 60
    if hours < 24:
        return t("duration.h", lang, h=hours, m=minutes % 60)
    return t("duration.d", lang, d=hours // 24, h=hours % 24)


def format_number(value: float | None, digits: int = 3) -> str:
    """A value with a sensible number of significant digits; missing values show a dash."""
    if value is None or pd.isna(value):
        return "—"
    return f"{float(value):.{digits}g}"
