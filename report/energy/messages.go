package energy

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Languages are the languages a report is written in.
var Languages = []string{"en", "zh-CN"}

// ParseLang reads en or zh-CN (zh, zh-Hans and any case too); "" is en.
func ParseLang(s string) (string, error) {
	switch strings.ToLower(s) {
	case "", "en", "en-us", "en-gb":
		return "en", nil
	case "zh-cn", "zh", "zh-hans", "zh_cn":
		return "zh-CN", nil
	}
	return "", fmt.Errorf("language %q: write en or zh-CN", s)
}

// messages are the labels of each language, by key. A key missing in a
// language falls back to English; a test checks both tables hold the same keys.
var messages = map[string]map[string]string{
	"en": {
		"title":                  "Energy report",
		"site":                   "Site",
		"building":               "Building",
		"all_buildings":          "all buildings",
		"all_sites":              "all sites",
		"sites":                  "Sites",
		"category":               "Category",
		"period":                 "Period",
		"generated":              "Generated",
		"partial":                "Partial period: data up to %s, not extrapolated",
		"currency":               "Currency",
		"summary":                "Summary",
		"consumption":            "Consumption",
		"quantity":               "Quantity",
		"unit":                   "Unit",
		"cost":                   "Cost",
		"energy_cost":            "Energy cost",
		"fixed_cost":             "Fixed charges",
		"demand_cost":            "Demand charge",
		"total":                  "Total",
		"meters":                 "Meters",
		"meter":                  "Meter",
		"device":                 "Device",
		"sub_item":               "Sub-item",
		"sub_items":              "Electricity by sub-item",
		"share":                  "Share",
		"billed":                 "Billed",
		"sub_meter":              "sub-meter of %s",
		"bands":                  "Time-of-use bands",
		"band":                   "Band",
		"days":                   "Daily consumption",
		"date":                   "Date",
		"comparison":             "Comparison",
		"current":                "This period",
		"previous":               "Previous period",
		"last_year":              "Same period last year",
		"change_raw":             "Change",
		"change_norm":            "Weather-normalized change",
		"baseline":               "Baseline vs actual",
		"model":                  "Model",
		"fit":                    "Fit (CV(RMSE) / NMBE)",
		"fit_ok":                 "fit for alarms",
		"fit_not":                "not fit for alarms",
		"actual":                 "Actual",
		"predicted":              "Baseline",
		"savings":                "Savings (+) / loss (−)",
		"cusum":                  "CUSUM of actual − baseline",
		"demand":                 "Peak demand and base load",
		"peak_kw":                "Peak 15-min demand",
		"peak_at":                "At",
		"base_load":              "Base load (night minimum)",
		"month":                  "Month",
		"profile":                "Load profile (typical day)",
		"weekday":                "Weekday",
		"weekend":                "Weekend",
		"hour":                   "Hour",
		"enpis":                  "Energy performance indicators",
		"enpi":                   "Indicator",
		"value":                  "Value",
		"enpi_kwh_m2":            "Electricity per floor area",
		"enpi_gas_m2":            "Gas per floor area",
		"enpi_kwh_occupied_hour": "Electricity per occupied hour",
		"enpi_water_dwelling":    "Water per dwelling",
		"carbon":                 "Carbon and standard coal",
		"kgco2e":                 "Carbon (kgCO₂e)",
		"kgce":                   "Standard coal (kgce)",
		"anomalies":              "Top anomalies",
		"kind":                   "Kind",
		"start":                  "Start",
		"end":                    "End",
		"excess":                 "Excess",
		"open":                   "ongoing",
		"tickets":                "Energy tickets",
		"ticket":                 "Ticket",
		"title_col":              "Title",
		"status":                 "Status",
		"priority":               "Priority",
		"created":                "Created",
		"resolved":               "Resolved",
		"quality":                "Data quality",
		"coverage":               "Coverage",
		"hours_read":             "Hours read",
		"status_open":            "open", "status_acknowledged": "acknowledged", "status_in_progress": "in progress", "status_on_hold": "on hold",
		"status_resolved": "resolved", "status_closed": "closed", "status_cancelled": "cancelled",
		"gaps":             "Gaps",
		"longest_gap":      "Longest gap",
		"resets":           "Resets",
		"rollovers":        "Rollovers",
		"swaps":            "Swaps",
		"first_data":       "First reading",
		"last_data":        "Last reading",
		"warnings":         "Warnings",
		"none":             "None",
		"na":               "n/a",
		"footer":           "%s · page %s of %s",
		"prev_short":       "Previous",
		"norm_note":        "Normalized: the change of actual over what the baseline predicts for each period's own weather, the part of the change the weather does not explain.",
		"ly_short":         "Last year",
		"norm_short":       "Normalized",
		"electricity":      "Electricity",
		"water":            "Water",
		"gas":              "Gas",
		"lighting_sockets": "Lighting and sockets",
		"hvac":             "Air conditioning",
		"power":            "Power (lifts, pumps, fans)",
		"special":          "Special",
		"unassigned":       "Unassigned",
		"sharp":            "Sharp peak",
		"peak":             "Peak",
		"flat":             "Flat",
		"valley":           "Valley",
		"all":              "All hours",
		"cusum_high":       "Drift above baseline (CUSUM)",
		"cusum_low":        "Drift below baseline (CUSUM)",
		"residual_high":    "Day above baseline",
		"residual_low":     "Day below baseline",
		"water_leak":       "Water leak (no still hour in 24 h)",
		"water_burst":      "Water burst",
		"warn_unpriced":    "No %s tariff in force for part of the period: that consumption is not priced",
		"warn_no_baseline": "Meter %s: no baseline (not enough history before the period)",
		"warn_no_facts":    "Building %s: no floor area or occupancy configured, so no EnPIs",
		"kw":               "kW",
	},
	"zh-CN": {
		"title":                  "能耗报告",
		"site":                   "项目",
		"building":               "建筑",
		"all_buildings":          "全部建筑",
		"all_sites":              "全部项目",
		"sites":                  "各项目",
		"category":               "能源类型",
		"period":                 "统计期",
		"generated":              "生成时间",
		"partial":                "统计期未结束：数据截至 %s，未外推",
		"currency":               "币种",
		"summary":                "概要",
		"consumption":            "用量",
		"quantity":               "用量",
		"unit":                   "单位",
		"cost":                   "费用",
		"energy_cost":            "电度/用量费",
		"fixed_cost":             "固定费用",
		"demand_cost":            "需量电费",
		"total":                  "合计",
		"meters":                 "计量表",
		"meter":                  "表计",
		"device":                 "设备",
		"sub_item":               "分项",
		"sub_items":              "电耗分项",
		"share":                  "占比",
		"billed":                 "结算表",
		"sub_meter":              "%s 的子表",
		"bands":                  "分时段用电",
		"band":                   "时段",
		"days":                   "逐日用量",
		"date":                   "日期",
		"comparison":             "同比与环比",
		"current":                "本期",
		"previous":               "上期",
		"last_year":              "去年同期",
		"change_raw":             "变化",
		"change_norm":            "气候修正后变化",
		"baseline":               "基准线与实际",
		"model":                  "模型",
		"fit":                    "拟合度 (CV(RMSE) / NMBE)",
		"fit_ok":                 "可用于报警",
		"fit_not":                "不可用于报警",
		"actual":                 "实际",
		"predicted":              "基准",
		"savings":                "节约 (+) / 超耗 (−)",
		"cusum":                  "累积偏差 CUSUM（实际 − 基准）",
		"demand":                 "最大需量与基础负荷",
		"peak_kw":                "15 分钟最大需量",
		"peak_at":                "出现时间",
		"base_load":              "基础负荷（夜间最低）",
		"month":                  "月份",
		"profile":                "典型日负荷曲线",
		"weekday":                "工作日",
		"weekend":                "周末",
		"hour":                   "时",
		"enpis":                  "能效指标",
		"enpi":                   "指标",
		"value":                  "数值",
		"enpi_kwh_m2":            "单位面积电耗",
		"enpi_gas_m2":            "单位面积燃气",
		"enpi_kwh_occupied_hour": "每使用小时电耗",
		"enpi_water_dwelling":    "户均用水",
		"carbon":                 "碳排放与标准煤",
		"kgco2e":                 "碳排放 (kgCO₂e)",
		"kgce":                   "标准煤 (kgce)",
		"anomalies":              "主要异常",
		"kind":                   "类型",
		"start":                  "开始",
		"end":                    "结束",
		"excess":                 "超出量",
		"open":                   "持续中",
		"tickets":                "能耗工单",
		"ticket":                 "工单",
		"title_col":              "标题",
		"status":                 "状态",
		"priority":               "优先级",
		"created":                "创建",
		"resolved":               "解决",
		"quality":                "数据质量",
		"coverage":               "完整率",
		"hours_read":             "有读数小时",
		"status_open":            "待处理", "status_acknowledged": "已确认", "status_in_progress": "处理中", "status_on_hold": "挂起",
		"status_resolved": "已解决", "status_closed": "已关闭", "status_cancelled": "已取消",
		"gaps":             "中断",
		"longest_gap":      "最长中断",
		"resets":           "清零",
		"rollovers":        "翻转",
		"swaps":            "换表",
		"first_data":       "首个读数",
		"last_data":        "末个读数",
		"warnings":         "提示",
		"none":             "无",
		"na":               "—",
		"footer":           "%s · 第 %s 页，共 %s 页",
		"prev_short":       "上期",
		"norm_note":        "气候修正：各期实际用量与基准线按该期实际天气预测值之比的变化，即天气不能解释的那部分变化。",
		"ly_short":         "去年同期",
		"norm_short":       "气候修正",
		"electricity":      "电",
		"water":            "水",
		"gas":              "燃气",
		"lighting_sockets": "照明插座",
		"hvac":             "空调",
		"power":            "动力",
		"special":          "特殊用电",
		"unassigned":       "未分项",
		"sharp":            "尖峰",
		"peak":             "峰",
		"flat":             "平",
		"valley":           "谷",
		"all":              "全时段",
		"cusum_high":       "持续高于基准（CUSUM）",
		"cusum_low":        "持续低于基准（CUSUM）",
		"residual_high":    "单日高于基准",
		"residual_low":     "单日低于基准",
		"water_leak":       "漏水（24 小时无零流量）",
		"water_burst":      "爆管",
		"warn_unpriced":    "统计期内部分时间没有适用的%s单价，该部分用量未计费",
		"warn_no_baseline": "表计 %s：统计期前历史数据不足，无基准线",
		"warn_no_facts":    "建筑 %s：未配置面积或使用时间，无能效指标",
		"kw":               "kW",
	},
}

// T returns the label of key in the report's language.
func (r *Report) T(key string) string {
	if s, ok := messages[r.Lang][key]; ok {
		return s
	}
	if s, ok := messages["en"][key]; ok {
		return s
	}
	return key
}

// Status names a ticket status in the report's language (as it is when
// unknown).
func (r *Report) Status(s string) string {
	if _, ok := messages["en"]["status_"+s]; ok {
		return r.T("status_" + s)
	}
	return s
}

// Tf formats the label of key with args.
func (r *Report) Tf(key string, args ...any) string { return fmt.Sprintf(r.T(key), args...) }

// WarningText turns a warning code (unpriced:gas, no_baseline:m1, …) into
// a sentence; other warnings (the consumption engine's) pass as they are.
func (r *Report) WarningText(w string) string {
	k, v, ok := strings.Cut(w, ":")
	switch {
	case ok && k == "unpriced":
		return r.Tf("warn_unpriced", r.T(v))
	case ok && k == "no_baseline":
		return r.Tf("warn_no_baseline", v)
	case ok && k == "no_facts":
		return r.Tf("warn_no_facts", v)
	}
	return w
}

// Num formats v with digits decimals and thousands separators (the same
// in both languages); NaN is n/a.
func (r *Report) Num(v float64, digits int) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return r.T("na")
	}
	s := strconv.FormatFloat(math.Abs(v), 'f', digits, 64)
	intPart, frac, _ := strings.Cut(s, ".")
	var b strings.Builder
	if v < 0 && strings.Trim(s, "0.") != "" {
		b.WriteString("−")
	}
	for i, c := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if frac != "" {
		b.WriteString("." + frac)
	}
	return b.String()
}

// Pct formats a change in % with its sign.
func (r *Report) Pct(v float64) string {
	if math.IsNaN(v) {
		return r.T("na")
	}
	s := r.Num(v, 1) + " %"
	if v > 0 {
		s = "+" + s
	}
	return s
}

// Stamp formats t as date and time in the report's zone.
func (r *Report) Stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(r.Zone).Format("2006-01-02 15:04")
}

// Day formats t as a date in the report's zone.
func (r *Report) Day(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(r.Zone).Format(time.DateOnly)
}

// Unit writes a unit as readers expect it (m³ for m3).
func Unit(u string) string {
	if u == "m3" {
		return "m³"
	}
	return u
}
