"""Problem details in the reader's language: Chinese for an `Accept-Language` that prefers
`zh` (any region or script, q-values honoured), English otherwise.

One catalogue, by problem code: a Chinese title and a sentence saying what went wrong
and what to do. The refusal's own wording (which field, which group, which state) is
kept after the sentence, in parentheses, so nothing specific is lost in translation.
The `type` URI and every extension member stay the same in both languages.
"""

from werkzeug.datastructures import LanguageAccept

CHINESE = "zh"
ENGLISH = "en"

# code -> (title, what happened and what to do)
ZH: dict[str, tuple[str, str]] = {
    # the body itself (wire limits, DESIGN §3)
    "invalid-json": ("请求不是有效的 JSON", "请求体无法按 JSON 解析，请检查格式和编码（UTF-8）"),
    "wire-limit": ("超出报文限制", "请求中的某个值超出了接口允许的范围"),
    "duplicate-key": ("键名重复", "同一个对象中出现了两个相同的键名，请删去重复的一个"),
    "nesting-too-deep": ("嵌套过深", "对象或数组嵌套层数超过上限"),
    "integer-out-of-range": ("整数超出范围", "整数超出了 ±2^53 的允许范围"),
    "float-not-allowed": ("不接受浮点数", '数值请用整数，或用字符串表示的小数（如 "0.15"）'),
    "decimal-out-of-range": ("小数位数超限", "小数的整数位或小数位过多"),
    "control-character": ("含有控制字符", "文本中含有不允许的控制字符；单行字段不能含换行或制表符"),
    "lone-surrogate": ("字符编码不完整", "文本中含有不成对的代理字符，请检查输入法或复制来源"),
    "string-too-long": ("文本过长", "某个文本字段超过了长度上限"),
    "invalid-date": ("日期或时间无效", "日期或时间格式不对，或该日期并不存在"),
    # signed commands
    "malformed-command": ("指令格式有误", "指令缺少必填字段，或字段的类型、取值不对"),
    "bad-signature": ("签名无效", "签名与指令内容不符：指令在签名后被改动，或用错了密钥"),
    "unknown-key": ("密钥未登记", "签名所用的密钥不在登记册中，或是未发放的测评凭证"),
    "revoked-key": ("密钥已注销", "签名所用的密钥已被注销，请使用新的密钥"),
    "wrong-role": ("无此权限", "签名人的角色不能执行这项操作"),
    "stale-command": (
        "签发时间不符",
        "指令的签发时间超出了允许的时间窗口（匿名测评票须按会议开始时间 expected 签发），"
        "请重新签发",
    ),
    "duplicate-command": ("指令重复", "同一个指令编号已用于另一条内容不同的指令"),
    "conflict": ("记录冲突", "该记录已经存在，或已被另一条指令改变"),
    "not-found": ("未找到", "所指的记录不存在"),
    "wrong-state": ("当前状态下不能操作", "该事项当前所处的阶段不允许这项操作"),
    "rules-invalid": ("评议规则有误", "评议规则文件不符合规则格式，请按 docs/RULES.md 修改"),
    "rule-violation": ("不符合评议规则", "这项操作违反了本次评议的规则"),
    # sessions and reads
    "unauthorized": ("需要登录", "请先登录（持密钥完成签名验证）后再访问"),
    "invalid-token": ("登录凭据无效", "登录凭据无效或已过期，请重新登录"),
    "invalid-challenge": ("登录验证失败", "登录挑战码无效、已用过或已过期，请重新获取"),
    "forbidden": ("无权访问", "您的角色不能查看这项内容"),
    "position-ahead": ("位置超前", "所要求的台账位置尚未写入"),
    "proof-unavailable": ("无法提供证明", "所要求的证明无法从当前台账生成"),
    "projection-behind": ("数据尚在更新", "查询数据还没有追上最新写入，请稍后重试"),
    # HTTP itself
    "bad-request": ("请求有误", "请求无法处理"),
    "validation-failed": ("参数校验未通过", "请求参数不符合接口说明，详见 errors"),
    "method-not-allowed": ("不支持的请求方法", "该地址不支持这种请求方法"),
    "not-acceptable": ("无法提供所需格式", "无法按请求的格式返回结果"),
    "payload-too-large": ("请求过大", "请求体超过了大小上限"),
    "uri-too-long": ("地址过长", "请求地址超过了长度上限"),
    "unsupported-media-type": ("内容类型不支持", "请以 application/json 提交"),
    "too-many-requests": ("请求过于频繁", "请稍后再试"),
    # the server's side
    "not-initialised": ("系统尚未初始化", "请先运行 appraisal init"),
    "not-ready": ("服务尚未就绪", "服务正在启动或恢复，请稍后重试"),
    "store-unavailable": ("数据库暂不可用", "数据库暂时无法连接，请稍后重试"),
    "witness-unavailable": (
        "见证方暂不可用",
        "未能取得足够见证方的联署，本次操作未写入，请稍后重试",
    ),
    "service-unavailable": ("服务暂不可用", "请稍后重试"),
    "ledger-corrupt": ("台账校验失败", "台账记录与其哈希树不一致，请立即通知审计和纪检人员"),
    # the offline tools and the witness, which share the codes
    "audit-error": ("审计未能完成", "审计包无法读取或核验"),
    "not-an-audit-bundle": ("不是审计包", "该文件不是本系统导出的审计包"),
    "receipt-invalid": ("回执无效", "回执内容与台账或其签名不符"),
    "witness-refusal": ("见证方拒绝", "见证方拒绝联署该检查点"),
    "witness-bad-request": ("见证请求有误", "提交给见证方的请求格式不对"),
    "witness-unsigned": ("检查点未签名", "检查点没有所见证台账的有效签名"),
    "witness-unknown-log": ("台账未登记", "见证方不认识这个台账"),
    "witness-old-size": ("台账长度不符", "见证方记录的台账长度与请求所称不同"),
    "witness-inconsistent": ("台账不一致", "新检查点与见证方已联署的检查点不一致（可能被改写）"),
    "internal-error": ("服务器内部错误", "服务器处理请求时出错，请把 request_id 告知管理员"),
}


def language_of(accept: LanguageAccept) -> str:
    """Chinese when the client ranks some `zh` tag above every English one."""
    return CHINESE if accept.best_match([ENGLISH, CHINESE], default=ENGLISH) == CHINESE else ENGLISH


def translated(code: str, title: str, detail: str, language: str) -> tuple[str, str]:
    """The title and detail of a problem in `language`; English is the original."""
    if language != CHINESE or code not in ZH:
        return title, detail
    zh_title, sentence = ZH[code]
    return zh_title, f"{sentence}（{detail}）"
