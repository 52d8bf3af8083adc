// The console's words in English and Simplified Chinese: one message table
// per language, data rather than branches. t(key, vars, fallback) picks the
// page's language, then English, then the fallback (names from the API such
// as an unknown equipment type), then the key.
"use strict";

const LANG_KEY = "facilityd-lang";

const MESSAGES = {
  "en": {
    "nav.overview": "Overview", "nav.alerts": "Alerts", "nav.tickets": "Tickets",
    "token.label": "API token", "token.placeholder": "paste a bearer token", "token.use": "Use", "token.forget": "Forget",
    "token.of": "token of {who}", "token.set": "token set for this tab", "token.none": "no token",
    "token.needed": "token needed", "token.notAccepted": "token not accepted", "token.notKept": "not accepted, not kept",
    "token.inUse": "token of {who} in use for this tab",
    "token.rejected": "the API token was not accepted: paste a valid one at the top right",
    "token.needed.long": "this dashboard needs an API token: paste it at the top right",
    "needsToken": "needs an API token", "done": "done", "none": "none", "all": "all", "filter": "Show",
    "notUpdated": "not updated: {why}",
    "status": "status: {state} · {n} devices · updated {time}",
    "live.on": "● live", "live.off": "○ reconnecting…",
    "age.s": "{n} s", "age.min": "{n} min", "age.h": "{n} h", "age.d": "{n} d",
    "state.alarm": "alarm", "state.offline": "offline", "state.degraded": "degraded", "state.overdue": "inspection overdue",
    "state.ok": "ok", "state.unknown": "unknown",
    "sev.critical": "critical", "sev.major": "major", "sev.minor": "minor", "sev.warning": "warning", "sev.info": "info",
    "sla.breached": "breached", "sla.due_soon": "due within 1 h", "sla.ok": "on time", "sla.paused": "paused (on hold)",
    "sla.respond": "respond", "sla.resolve": "resolve", "sla.follow_up": "follow up",
    "sla.left": "in {d}", "sla.late": "{d} late",
    "ins.overdue": "overdue", "ins.due": "due", "ins.due_soon": "due soon",
    "ov.alerts": "Active alerts", "ov.pending": "pending", "ov.tickets": "Open tickets", "ov.inspections": "Inspections",
    "ov.building": "Building {b}", "ov.noBuilding": "No building", "ov.floor": "Floor {f}", "ov.noFloor": "Whole building",
    "ov.overdue": "inspection overdue: {plan}",
    "type.pump": "Pump", "type.energy_meter": "Energy meter", "type.elevator": "Elevator", "type.fire_panel": "Fire alarm panel",
    "type.water_meter": "Water meter", "type.gas_meter": "Gas meter",
    "system.domestic_water": "Domestic water", "system.vertical_transport": "Lifts", "system.fire": "Fire protection",
    "system.electricity": "Electricity", "system.water": "Water", "system.gas": "Gas", "system.hvac": "HVAC",
    "dev.points": "Points", "dev.point": "Point", "dev.value": "Value", "dev.unit": "Unit", "dev.quality": "Quality", "dev.age": "Age",
    "dev.noData": "no data yet", "dev.zones": "Fire zones", "dev.trend": "Trend", "dev.health": "Poll health (latency, errors)",
    "dev.latency": "Latency", "dev.errorsLabel": "Errors", "dev.errors": "{n} errors", "dev.skipped": "{n} skipped",
    "dev.alertHistory": "Alert history (30 days)", "dev.tickets": "Tickets",
    "q.good": "good", "q.uncertain": "uncertain", "q.bad": "bad",
    "zone.n": "Zone {n}", "zone.alarm": "fire alarm", "zone.fault": "fault", "zone.disabled": "disabled", "zone.normal": "normal",
    "range.1h": "1 h", "range.6h": "6 h", "range.24h": "24 h", "range.7d": "7 d", "range.30d": "30 d", "range.1y": "1 y",
    "chart.reset": "Reset zoom", "chart.info": "{n} points, {step} s each · drag to zoom",
    "al.active": "Active alerts", "al.history": "Alert history", "al.summary": "{firing} firing, {pending} pending",
    "al.severity": "Severity", "al.rule": "Rule", "al.device": "Device", "al.value": "Value", "al.state": "State", "al.since": "Since",
    "al.ticket": "Ticket", "al.muted": "Muted by", "al.silence": "Silence…", "al.time": "Time", "al.range": "Range",
    "alstate.firing": "firing", "alstate.pending": "pending", "alstate.resolved": "resolved", "alstate.inactive": "inactive",
    "si.title": "Silence alerts", "si.active": "Active silences", "si.matchers": "Matchers", "si.for": "For", "si.1h": "1 hour",
    "si.4h": "4 hours", "si.until": "until…", "si.untilLabel": "Until", "si.comment": "Comment", "si.commentPh": "pump under repair",
    "si.submit": "Silence", "si.chooseEnd": "silence: choose when it ends", "si.ends": "Ends", "si.by": "By", "si.expire": "Expire",
    "tk.queue": "Ticket queue", "tk.status": "Status", "tk.prio": "Priority", "tk.title": "Title", "tk.occ": "Occ.", "tk.due": "SLA",
    "tk.assignee": "Assignee", "tk.category": "Category", "tk.created": "Opened", "tk.search": "Search", "tk.searchPh": "title, device, place…",
    "tk.openAll": "open (any)", "tk.anyone": "anyone", "tk.any": "any", "tk.source": "Source",
    "status.open": "open", "status.acknowledged": "acknowledged", "status.in_progress": "in progress", "status.on_hold": "on hold",
    "status.resolved": "resolved", "status.closed": "closed", "status.cancelled": "cancelled",
    "src.rule": "alert rule", "src.manual": "reported", "src.inspection": "inspection", "src.energy": "energy",
    "pg.prev": "‹ Previous", "pg.next": "Next ›", "pg.info": "page {page} of {pages} · {n} tickets",
    "act.ack": "Acknowledge", "act.start": "Start", "act.resume": "Resume", "act.hold": "Hold", "act.resolve": "Resolve",
    "act.close": "Close", "act.cancel": "Cancel ticket", "act.followOK": "Follow-up OK", "act.followFailed": "Follow-up failed",
    "act.resolveNeedsComment": "write what was done in the comment field", "act.cancelNeedsComment": "say why in the comment field",
    "rp.heading": "Report a repair", "rp.title": "Title", "rp.titlePh": "Leaking tap, 2nd floor kitchen", "rp.location": "Location",
    "rp.locationPh": "Tower A, floor 2", "rp.submit": "Open ticket",
    "rp.P1": "P1 urgent (on site within 30 min)", "rp.P2": "P2 high", "rp.P3": "P3 normal", "rp.P4": "P4 low",
    "tp.assign": "Assign", "tp.assigneePh": "name (empty: unassign)", "tp.comment": "Comment", "tp.addComment": "Add comment",
    "tp.commentPh": "comment with the change", "tp.commentTextPh": "what you found or did", "tp.history": "History",
    "tp.actor": "By", "tp.what": "What", "tp.note": "Detail",
    "ev.created": "created", "ev.occurrence": "occurred again", "ev.alert_resolved": "alert resolved", "ev.transition": "status changed",
    "ev.reopened": "reopened", "ev.assigned": "assigned", "ev.comment": "comment", "ev.follow_up": "follow-up",
    "ev.sla_breach": "SLA breached", "ev.sla_paused": "SLA paused",
  },
  "zh-CN": {
    "nav.overview": "总览", "nav.alerts": "告警", "nav.tickets": "工单",
    "token.label": "API 令牌", "token.placeholder": "粘贴 Bearer 令牌", "token.use": "使用", "token.forget": "清除",
    "token.of": "{who} 的令牌", "token.set": "本标签页已设置令牌", "token.none": "未设置令牌",
    "token.needed": "需要令牌", "token.notAccepted": "令牌未被接受", "token.notKept": "未被接受，未保存",
    "token.inUse": "本标签页正在使用 {who} 的令牌",
    "token.rejected": "API 令牌未被接受：请在右上角粘贴有效的令牌",
    "token.needed.long": "此控制台需要 API 令牌：请在右上角粘贴",
    "needsToken": "需要 API 令牌", "done": "完成", "none": "无", "all": "全部", "filter": "查询",
    "notUpdated": "未更新：{why}",
    "status": "状态：{state} · {n} 台设备 · 更新于 {time}",
    "live.on": "● 实时", "live.off": "○ 正在重连…",
    "age.s": "{n} 秒", "age.min": "{n} 分钟", "age.h": "{n} 小时", "age.d": "{n} 天",
    "state.alarm": "报警", "state.offline": "离线", "state.degraded": "降级", "state.overdue": "巡检逾期",
    "state.ok": "正常", "state.unknown": "未知",
    "sev.critical": "紧急", "sev.major": "重要", "sev.minor": "次要", "sev.warning": "警告", "sev.info": "提示",
    "sla.breached": "已超时", "sla.due_soon": "1 小时内到期", "sla.ok": "按时", "sla.paused": "已暂停（挂起）",
    "sla.respond": "响应", "sla.resolve": "解决", "sla.follow_up": "回访",
    "sla.left": "剩余 {d}", "sla.late": "超时 {d}",
    "ins.overdue": "逾期", "ins.due": "到期", "ins.due_soon": "即将到期",
    "ov.alerts": "活动告警", "ov.pending": "待定", "ov.tickets": "未结工单", "ov.inspections": "巡检",
    "ov.building": "{b} 栋", "ov.noBuilding": "未指定楼栋", "ov.floor": "{f} 层", "ov.noFloor": "整栋",
    "ov.overdue": "巡检逾期：{plan}",
    "type.pump": "水泵", "type.energy_meter": "电能表", "type.elevator": "电梯", "type.fire_panel": "火灾报警控制器",
    "type.water_meter": "水表", "type.gas_meter": "燃气表",
    "system.domestic_water": "生活给水", "system.vertical_transport": "电梯", "system.fire": "消防",
    "system.electricity": "电力", "system.water": "给水", "system.gas": "燃气", "system.hvac": "暖通空调",
    "dev.points": "测点", "dev.point": "测点", "dev.value": "数值", "dev.unit": "单位", "dev.quality": "质量", "dev.age": "时长",
    "dev.noData": "尚无数据", "dev.zones": "防火分区", "dev.trend": "趋势", "dev.health": "通信状况（延迟、错误）",
    "dev.latency": "延迟", "dev.errorsLabel": "错误", "dev.errors": "{n} 个错误", "dev.skipped": "{n} 个跳过",
    "dev.alertHistory": "告警历史（30 天）", "dev.tickets": "工单",
    "q.good": "良好", "q.uncertain": "不确定", "q.bad": "无效",
    "zone.n": "{n} 区", "zone.alarm": "火警", "zone.fault": "故障", "zone.disabled": "屏蔽", "zone.normal": "正常",
    "range.1h": "1 小时", "range.6h": "6 小时", "range.24h": "24 小时", "range.7d": "7 天", "range.30d": "30 天", "range.1y": "1 年",
    "chart.reset": "重置缩放", "chart.info": "{n} 个点，每点 {step} 秒 · 拖动可缩放",
    "al.active": "活动告警", "al.history": "告警历史", "al.summary": "{firing} 条触发中，{pending} 条待定",
    "al.severity": "级别", "al.rule": "规则", "al.device": "设备", "al.value": "数值", "al.state": "状态", "al.since": "持续",
    "al.ticket": "工单", "al.muted": "屏蔽来源", "al.silence": "静默…", "al.time": "时间", "al.range": "时间范围",
    "alstate.firing": "触发中", "alstate.pending": "待定", "alstate.resolved": "已恢复", "alstate.inactive": "未激活",
    "si.title": "静默告警", "si.active": "生效的静默", "si.matchers": "匹配条件", "si.for": "时长", "si.1h": "1 小时",
    "si.4h": "4 小时", "si.until": "直到…", "si.untilLabel": "结束时间", "si.comment": "说明", "si.commentPh": "水泵维修中",
    "si.submit": "静默", "si.chooseEnd": "静默：请选择结束时间", "si.ends": "结束", "si.by": "设置人", "si.expire": "取消静默",
    "tk.queue": "工单队列", "tk.status": "状态", "tk.prio": "优先级", "tk.title": "标题", "tk.occ": "次数", "tk.due": "时限",
    "tk.assignee": "处理人", "tk.category": "类别", "tk.created": "创建时间", "tk.search": "搜索", "tk.searchPh": "标题、设备、位置…",
    "tk.openAll": "未结（全部）", "tk.anyone": "任何人", "tk.any": "任意", "tk.source": "来源",
    "status.open": "新建", "status.acknowledged": "已确认", "status.in_progress": "处理中", "status.on_hold": "挂起",
    "status.resolved": "已解决", "status.closed": "已关闭", "status.cancelled": "已取消",
    "src.rule": "告警规则", "src.manual": "报修", "src.inspection": "巡检", "src.energy": "能耗",
    "pg.prev": "‹ 上一页", "pg.next": "下一页 ›", "pg.info": "第 {page}/{pages} 页 · 共 {n} 个工单",
    "act.ack": "确认", "act.start": "开始处理", "act.resume": "恢复处理", "act.hold": "挂起", "act.resolve": "解决",
    "act.close": "关闭", "act.cancel": "取消工单", "act.followOK": "回访满意", "act.followFailed": "回访不满意",
    "act.resolveNeedsComment": "请在备注栏写明处理内容", "act.cancelNeedsComment": "请在备注栏写明取消原因",
    "rp.heading": "报修", "rp.title": "标题", "rp.titlePh": "二楼茶水间水龙头漏水", "rp.location": "位置",
    "rp.locationPh": "A 座 2 层", "rp.submit": "创建工单",
    "rp.P1": "P1 紧急（30 分钟内到场）", "rp.P2": "P2 高", "rp.P3": "P3 普通", "rp.P4": "P4 低",
    "tp.assign": "指派", "tp.assigneePh": "姓名（留空为取消指派）", "tp.comment": "备注", "tp.addComment": "添加备注",
    "tp.commentPh": "随操作附上的备注", "tp.commentTextPh": "发现或处理的情况", "tp.history": "历史",
    "tp.actor": "操作人", "tp.what": "内容", "tp.note": "详情",
    "ev.created": "创建", "ev.occurrence": "再次发生", "ev.alert_resolved": "告警已恢复", "ev.transition": "状态变更",
    "ev.reopened": "重新打开", "ev.assigned": "指派", "ev.comment": "备注", "ev.follow_up": "回访",
    "ev.sla_breach": "超出时限", "ev.sla_paused": "时限暂停",
  },
};

// lang is the page's language: the one chosen, else the browser's if it
// is Chinese, else English.
function lang() {
  const saved = localStorage.getItem(LANG_KEY);
  if (saved && MESSAGES[saved]) return saved;
  return (navigator.language || "").toLowerCase().startsWith("zh") ? "zh-CN" : "en";
}

function setLang(l) {
  localStorage.setItem(LANG_KEY, l);
  document.documentElement.lang = l;
}

// t returns the message of key with {name} replaced from vars.
function t(key, vars, fallback) {
  let s = MESSAGES[lang()][key];
  if (s === undefined) s = MESSAGES.en[key];
  if (s === undefined) s = fallback !== undefined ? fallback : key;
  return s.replace(/\{(\w+)\}/g, (m, k) => (vars && k in vars ? String(vars[k]) : m));
}

// applyI18n sets the texts of the static page: data-i18n is an element's
// text, data-i18n-placeholder its placeholder.
function applyI18n(root) {
  document.documentElement.lang = lang();
  root.querySelectorAll("[data-i18n]").forEach(n => { n.textContent = t(n.dataset.i18n); });
  root.querySelectorAll("[data-i18n-placeholder]").forEach(n => { n.placeholder = t(n.dataset.i18nPlaceholder); });
}
