"""The demo hotline's knowledge base: bilingual articles of a provincial telecom operator (written for the demo;
tags are the simulated hotline's business types). ``build()`` gives the JSON-lines records ``kb import`` reads."""

from __future__ import annotations

from typing import Any

# (id, tags, title zh, title en, body zh, body en, phrasings zh, phrasings en)
_ARTICLES: list[tuple[str, list[str], str, str, str, str, list[str], list[str]]] = [
    ("bill-query", ["billing"], "话费余额与账单查询", "Checking balance and bill",
     "1. 发送短信 **CXHF** 到 10086 查询余额。\n2. 登录营业厅 APP →「我的」→「账单」查看近 6 个月账单。\n"
     "3. 月结账单每月 3 日生成。详见 [账单明细说明](kb:bill-detail)。",
     "Text **CXHF** to 10086 for the balance; the app shows six months of bills under Me → Bills. Monthly bills "
     "are ready on the 3rd.",
     ["怎么查话费", "我还剩多少话费", "查一下这个月的账单", "话费余额查询"],
     ["how do I check my balance", "where can I see my bill", "how much credit do I have left"]),
    ("bill-detail", ["billing"], "账单明细与扣费疑问", "Bill details and unexpected charges",
     "核对账单明细：APP「账单」→「明细」。对不明扣费，先查询是否订购了增值业务（发送 **0000** 到 10086），"
     "确认为误订购的可在 72 小时内申请退费。",
     "Bill lines are under Bills → Details. For an unexpected charge, text **0000** to 10086 to list value-added "
     "subscriptions; charges from a mistaken subscription can be refunded within 72 hours.",
     ["为什么多扣了钱", "话费怎么突然变多了", "乱扣费", "扣费不明", "我没订这个业务怎么扣钱了"],
     ["why was I charged more this month", "unknown charge on my bill", "I did not subscribe but was charged"]),
    ("bill-pay", ["billing"], "缴费方式与到账时间", "Ways to pay and when payments arrive",
     "支持 APP、微信、支付宝、银行代扣及营业厅现金缴费。线上缴费一般 5 分钟内到账，银行代扣于每月 10 日扣款。",
     "Pay in the app, WeChat, Alipay, by bank direct debit or in a shop. Online payments arrive within five "
     "minutes; direct debits are taken on the 10th.",
     ["怎么交话费", "交了话费没到账", "银行代扣什么时候扣", "缴费方式有哪些"],
     ["how can I pay my bill", "I paid but the balance did not change", "when is the direct debit taken"]),
    ("invoice", ["billing"], "电子发票开具", "Electronic invoices",
     "APP「账单」→「发票」可开具近 12 个月的电子发票，抬头可选个人或单位，单位需填写税号。",
     "Electronic invoices for the last 12 months are issued under Bills → Invoices; a company invoice needs its "
     "tax number.",
     ["怎么开发票", "电子发票在哪里开", "发票抬头写错了"],
     ["how do I get an invoice", "e-invoice for my company"]),
    ("data-pack", ["data_plan"], "流量包订购与退订", "Buying and cancelling data packs",
     "可订购日包（1GB/3 元）、月包（10GB/30 元）及夜间包。月包次月生效、日包立即生效。退订：发送 **TDLL** 到 10086。",
     "Day packs (1 GB for ¥3), month packs (10 GB for ¥30) and night packs are available. Month packs start next "
     "month, day packs at once. To cancel, text **TDLL** to 10086.",
     ["怎么订流量包", "流量不够用了", "买流量", "流量包怎么退订", "加个流量包"],
     ["how do I buy more data", "add a data pack", "cancel my data pack", "I ran out of data"]),
    ("data-overage", ["data_plan", "billing"], "流量超出套餐的收费", "Charges for data beyond the plan",
     "超出套餐后按 5 元/GB 计费，当月封顶 60 元；达到 100GB 后限速至 1Mbps。可设置超额提醒。",
     "Beyond the plan data costs ¥5 per GB, capped at ¥60 a month; after 100 GB the speed drops to 1 Mbps. "
     "Overage alerts can be switched on.",
     ["流量超了怎么收费", "超流量扣了很多钱", "流量用超了", "网速突然变慢"],
     ["how much is data over my plan", "my internet got slow", "charged for extra data"]),
    ("plan-change", ["data_plan"], "套餐变更规则", "Changing your plan",
     "套餐变更次月 1 日生效，每月限一次；合约期内不可降档。可通过 APP「办理」→「套餐变更」办理。",
     "A plan change takes effect on the 1st of next month, once a month; plans under contract cannot be "
     "downgraded. Change it in the app under Services → Change plan.",
     ["怎么换套餐", "改成便宜点的套餐", "套餐降档", "换套餐什么时候生效"],
     ["how do I change my plan", "switch to a cheaper plan", "when does a plan change start"]),
    ("5g-upgrade", ["upgrade_5g", "data_plan"], "4G 升级 5G 套餐", "Upgrading from 4G to 5G",
     "升级 5G 套餐无需换号；手机需支持 5G 且开启 5G 开关。升级次月生效，原合约优惠保留。"
     "另见 [网络迁移说明](kb:network-migration)。",
     "Upgrading to 5G keeps your number; the phone must support 5G with 5G switched on. The upgrade starts next "
     "month and existing contract discounts stay.",
     ["怎么升级5G", "4G升5G要换卡吗", "5G套餐怎么办理", "升5G要换号吗"],
     ["how do I upgrade to 5G", "do I need a new sim for 5G", "switch from 4G to 5G"]),
    ("network-migration", ["upgrade_5g", "general"], "2G/3G 退网与 4G 迁移", "2G/3G shutdown and moving to 4G",
     "本省 2G/3G 网络分批退网。收到退网短信的用户请在 30 天内更换 4G/5G 手机或 USIM 卡，营业厅可免费换卡，"
     "并可领取 10GB 迁移流量。老人机用户可预约上门服务。",
     "The 2G/3G networks are being switched off area by area. Customers who got the notice should move to a "
     "4G/5G phone or USIM card within 30 days; shops swap the card free and give 10 GB of migration data.",
     ["收到退网短信怎么办", "3G要停了吗", "手机没信号了是不是退网", "换4G卡要钱吗", "老人机还能用吗", "4G迁移"],
     ["my 3G phone stopped working", "network shutdown message", "do I need a new phone for 4G", "4G migration"]),
    ("suspend", ["general"], "停机保号", "Suspending a line and keeping the number",
     "停机保号每月收取 5 元保号费，最长 12 个月。本人携带身份证到营业厅或在 APP「办理」→「停机保号」办理。",
     "Suspending a line keeps the number for ¥5 a month, for up to 12 months. Apply in a shop with an ID card "
     "or in the app under Services → Suspend.",
     ["我要停机", "暂停使用手机号", "出国期间保留号码", "停机保号怎么办理"],
     ["how do I suspend my line", "keep my number while abroad", "pause my phone service"]),
    ("reactivate", ["general", "billing"], "欠费停机与复机", "Reactivation after suspension for arrears",
     "欠费停机后缴清欠款，系统将在 30 分钟内自动复机；主动停机的用户需本人申请复机。",
     "After paying the arrears a line suspended for non-payment comes back within 30 minutes; a line the "
     "customer suspended is reactivated on the customer's request.",
     ["怎么复机", "欠费停机了怎么办", "交了钱还是打不了电话", "手机停机了"],
     ["how do I reactivate my line", "my phone was cut off", "paid but still cannot call"]),
    ("sim-replace", ["general"], "补卡与换卡", "Replacing a SIM card",
     "补卡需本人携带身份证到营业厅办理，5G 卡免费；补卡后原卡立即失效。",
     "A replacement SIM is issued in a shop to the holder with an ID card, free of charge for 5G cards; the old "
     "card stops working at once.",
     ["手机卡丢了", "补办手机卡", "换一张新卡", "卡坏了读不出来"],
     ["I lost my sim card", "replace my sim", "my sim card is broken"]),
    ("real-name", ["general"], "实名认证", "Real-name registration",
     "按规定所有号码须实名登记。可在 APP 上传身份证并人脸识别完成认证，一般 24 小时内审核。",
     "Every number must be registered to a real name. Upload the ID card and pass the face check in the app; "
     "review takes up to 24 hours.",
     ["实名认证怎么弄", "号码没有实名", "实名审核要多久"],
     ["how do I register my real name", "real name verification"]),
    ("port-out", ["general", "complaint"], "携号转网", "Porting your number to another operator",
     "发送 **CXXZ#姓名#证件号** 到 10086 查询是否符合条件，获取授权码后到新运营商办理。合约未到期需先解约。",
     "Text **CXXZ#name#ID** to 10086 to check eligibility and get the authorisation code, then apply with the "
     "new operator. Contracts must be settled first.",
     ["携号转网怎么办", "我要转到别的运营商", "转网授权码"],
     ["how do I port my number", "switch to another operator"]),
    ("broadband-fault", ["broadband"], "宽带故障报修", "Reporting a broadband fault",
     "先重启光猫与路由器并检查光信号灯（LOS 红灯表示线路故障）。仍无法上网请报修，城区 24 小时内上门。",
     "Restart the modem and router and check the light: a red LOS light means a line fault. If it still fails, "
     "report it; a technician visits within 24 hours in town.",
     ["宽带上不了网", "家里网断了", "光猫红灯闪", "宽带报修"],
     ["my broadband is down", "no internet at home", "red light on the modem"]),
    ("broadband-move", ["broadband"], "宽带移机", "Moving broadband to a new address",
     "移机需提前 3 个工作日预约，新地址需在覆盖范围内，移机费 100 元（合约用户免费）。",
     "Book a move three working days ahead; the new address must be covered. A move costs ¥100, free under "
     "contract.",
     ["搬家了宽带怎么办", "宽带移机", "宽带换地址"],
     ["I am moving house, what about broadband", "move my broadband"]),
    ("roaming", ["roaming"], "国际漫游开通与资费", "International roaming",
     "出境前在 APP 开通国际漫游，推荐购买目的地流量日包（港澳台 25 元/天，日韩 30 元/天）。",
     "Switch roaming on in the app before travelling; destination day passes are recommended (¥25 a day for "
     "Hong Kong, Macao and Taiwan, ¥30 for Japan and Korea).",
     ["出国怎么用手机", "开通国际漫游", "漫游费多少钱", "境外流量包"],
     ["how do I use my phone abroad", "turn on roaming", "roaming charges"]),
    ("complaint", ["complaint"], "投诉受理与处理时限", "Complaints and how long they take",
     "投诉将在 24 小时内联系客户、5 个工作日内办结。对处理不满意可申请升级至省级客服。",
     "We contact the customer within 24 hours and close a complaint within five working days; an unsatisfied "
     "customer may escalate to the provincial team.",
     ["我要投诉", "投诉没人处理", "对处理结果不满意", "投诉多久有结果"],
     ["I want to complain", "nobody handled my complaint", "escalate my complaint"]),
    ("vip", ["vip_service"], "VIP 客户专属服务", "VIP customer services",
     "金卡及以上客户享受专席服务、机场贵宾厅与免费补卡。专席号码：10086 按 0。",
     "Gold and higher customers get a dedicated line, airport lounges and free SIM replacement. Dedicated line: "
     "10086, then 0.",
     ["vip有什么权益", "贵宾厅怎么用", "金卡客户服务"],
     ["what do VIP customers get", "airport lounge access"]),
    ("english-service", ["english_service"], "English service line", "English service line",
     "英文服务请拨 10086 后按 9，服务时间 8:00–20:00。",
     "For service in English call 10086 and press 9, 8:00 to 20:00 every day.",
     ["英文服务", "外国人怎么办理"],
     ["do you speak English", "English service", "service for foreigners"]),
    ("promo-2025", ["data_plan"], "2025 春节流量优惠（已结束）", "2025 Spring Festival data offer (ended)",
     "春节期间订购月包享 5 折。活动已于 2025-02-28 结束。",
     "Month packs at half price over the Spring Festival; the offer ended on 2025-02-28.",
     ["春节流量优惠", "流量半价"],
     ["spring festival data offer"]),
]

# Articles whose valid-to is past (shown to authors with a banner, out of customer search) and one draft in review.
EXPIRED = {"promo-2025": "2025-02-28"}
IN_REVIEW = {"english-service"}
OWNERS = {"billing": "li.na", "data_plan": "wang.fang", "upgrade_5g": "wang.fang", "general": "zhao.lei",
          "broadband": "chen.jie", "roaming": "zhao.lei", "complaint": "sun.li", "vip_service": "sun.li",
          "english_service": "zhao.lei"}

SYNONYMS_YAML = """\
# Synonym groups of the demo hotline: any phrase of a group found in a question adds the whole group.
synonyms:
  - [流量包, 流量套餐, 数据包, data pack, data bundle]
  - [停机, 停机保号, 停号, suspend, suspension]
  - [复机, 恢复通话, reactivate, reconnect]
  - [话费, 余额, 话费余额, balance, credit]
  - [退网, 3G退网, 网络迁移, 4G迁移, network shutdown]
  - [宽带, 光纤, 家宽, broadband, fibre]
"""


def build() -> list[dict[str, Any]]:
    """The articles as documented import records (zh title, zh + en body, phrasings in both languages)."""
    out = []
    for key, tags, title_zh, title_en, body_zh, body_en, ph_zh, ph_en in _ARTICLES:
        audiences = ["agent", "customer"] if key not in ("complaint", "vip") else ["agent", "monitor", "manager"]
        out.append({
            "id": key, "title": f"{title_zh} / {title_en}", "body": f"{body_zh}\n\n**English.** {body_en}",
            "phrasings": ph_zh + ph_en, "tags": tags, "audiences": audiences, "language": "mixed",
            "state": "in_review" if key in IN_REVIEW else "published", "confidence": "validated",
            "owner": OWNERS[tags[0]], "verify_every_days": 30 if tags[0] == "billing" else 90,
            "valid_to": EXPIRED.get(key),
        })
    return out
