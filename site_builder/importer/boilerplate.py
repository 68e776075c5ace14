"""Lines that are not the speech: disclaimers, licence footers, editor and source lines, photo
captions, share buttons. Each dropped line is reported with its line number and the reason.

Two kinds of rules: *known* patterns (below, plus ``import_drop_lines`` in pyproject.toml) and,
for a batch, lines repeated in many files of the batch (reported as likely boilerplate, never
dropped on that ground alone: a repeated line may be a salutation).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from ..search.analysis import fold

_CJK_NAME = r"[\u3400-\u9fff·•](?:[ \u3000]?[\u3400-\u9fff·•]){1,4}"


@dataclass(frozen=True)
class Rule:
    reason: str
    pattern: re.Pattern[str]
    max_len: int = 80
    """Longer lines are never dropped by this rule (a sentence mentioning it stays)."""
    edge: int = 0
    """If > 0, only within this many lines of the start or the end of the text."""


RULES: tuple[Rule, ...] = (
    Rule(
        "投稿声明", re.compile(r"本文系作者原创|仅供学习参考|请勿照搬照抄|转载请注明|版权归原作者|未经授权.{0,8}转载")
    ),
    Rule(
        "文库声明",
        re.compile(
            r"本文档由.{0,10}上传|仅供(?:学习)?(?:交流|参考)|请勿.{0,4}(?:照搬|抄袭|直接)|下载本文档|"
            r"如有侵权|侵权请联系|免责声明|更多范文|本站|文档贡献者|积分下载|消耗\d*积分"
        ),
        120,
    ),
    Rule(
        "信息公开",
        re.compile(
            r"^(?:索\s*引\s*号|主题分类|发布机构|成文日期|标\s*题|发文字号|发布日期|有\s*效\s*性|"
            r"发文机关|主\s*题\s*词|公开方式|公开范围)\s*[：:]"
        ),
        200,
        10,
    ),
    Rule("发布时间", re.compile(r"^(?:\d{4}[-./年]\d{1,2}[-./月]\d{1,2}日?\s*\d{1,2}:\d{2}(?::\d{2})?)$"), 30),
    Rule("网站名", re.compile(r"^[\u3400-\u9fff]{2,14}\s*(?:新闻网|网站|门户网站|客户端|频道|在线|网)$"), 18, 6),
    Rule(
        "编辑署名",
        re.compile(
            r"^[【\[（(]?\s*(?:责任编辑|责编|编辑|校对|审核|审校|终审|初审|监制|编审|值班编辑|网络编辑)"
            r"\s*[：:]"
        ),
        60,
    ),
    Rule(
        "来源说明",
        re.compile(
            r"^[【\[（(]?\s*(?:来源|稿件来源|文章来源|信息来源|出处|原标题|发布时间|发布日期|"
            r"字号|浏览次数|点击数|阅读数)\s*[：:]"
        ),
        80,
        6,
    ),
    Rule("结束标记", re.compile(r"^[（(【\[]\s*(?:完|全文完|终)\s*[）)】\]]$")),
    Rule(
        "分享按钮",
        re.compile(
            r"^[【\[]?\s*(?:分享到|分享|扫一扫|打印本页|打印|关闭窗口|关闭|收藏|纠错|返回顶部|"
            r"字体|上一篇|下一篇|相关新闻|相关阅读|推荐阅读|点击进入|扫码)(?:\s*[：:】\]]|$)"
        ),
        60,
    ),
    Rule(
        "导航",
        re.compile(
            r"^(?:当前位置|您现在的位置|您的位置|首页)\s*[：:>»]|^[←→].{0,40}$|^.{0,40}[←→]$|"
            r"姊妹计划|数据项|维基百科|维基文库|^[^>]{0,20}>[^>]{0,20}>"
        ),
        80,
        8,
    ),
    Rule(
        "许可声明",
        re.compile(
            r"(?:属于公有领域|不适用于该法|著作权法》?第五条|public\s*domain|creative\s*commons|知识共享|cc[ -]by|"
            r"^false$|^true$|版权所有|all rights reserved|copyright|©)",
            re.I,
        ),
        200,
        12,
    ),
    Rule(
        "图片说明",
        re.compile(
            rf"(?:(?:记者|通讯员|摄影|摄影记者|图/|图：)\s*{_CJK_NAME}(?:\s*[/／、]\s*{_CJK_NAME})*"
            rf"\s*[/／]?\s*摄[)）]?$|[\s/／]{_CJK_NAME}\s*[/／]\s*摄[)）]?$|^图为)"
        ),
        160,
    ),
)


def configured_rule(patterns: tuple[str, ...]) -> list[Rule]:
    """``import_drop_lines`` from pyproject.toml: lines containing one of these texts."""
    alternatives = "|".join(re.escape(p) for p in patterns if p)
    if not alternatives:
        return []
    # At the start of a line anywhere; inside a line only near the start or the end of the text,
    # so that a sentence of the speech that mentions one of them is never lost.
    return [
        Rule("import_drop_lines", re.compile(f"^(?:{alternatives})"), 120, 0),
        Rule("import_drop_lines", re.compile(alternatives), 120, 5),
    ]


def drop(lines: list, configured: tuple[str, ...] = ()) -> tuple[list, list[tuple[int, str, str]]]:
    """Split ``lines`` (objects with .n and .text) into (kept, dropped (line, text, reason))."""
    rules = list(RULES) + configured_rule(configured)
    kept: list = []
    dropped: list[tuple[int, str, str]] = []
    total = len(lines)
    for i, line in enumerate(lines):
        text = line.text
        folded = fold(text)
        for rule in rules:
            if len(text) > rule.max_len:
                continue
            if rule.edge and rule.edge <= i < total - rule.edge:
                continue
            if rule.pattern.search(folded) or rule.pattern.search(text):
                dropped.append((line.n, text, rule.reason))
                break
        else:
            kept.append(line)
    return kept, dropped


def repeated_lines(texts_by_file: dict[str, list[str]], min_files: int = 3, share: float = 0.3) -> set[str]:
    """Lines found in at least ``min_files`` files and ``share`` of the batch: likely boilerplate.

    Salutations (同志们：) and section numbers repeat for other reasons and are left out.
    """
    if len(texts_by_file) < min_files:
        return set()
    counts: Counter[str] = Counter()
    for lines in texts_by_file.values():
        counts.update({line for line in lines if 4 <= len(line) <= 120})
    need = max(min_files, int(share * len(texts_by_file) + 0.999))
    return {line for line, c in counts.items() if c >= need and not line.endswith(("：", ":"))}
