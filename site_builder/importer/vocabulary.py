"""Meeting types and themes: the archive's own vocabulary first, then built-in knowledge.

* Meeting type — the meeting phrase of a title or subtitle (在<meeting>上的讲话, ——在<meeting>上)
  is matched against the types already used in content/ (or the configured closed list), then
  against a built-in list of common Chinese meeting kinds.
* Themes — the archive's themes (and ``theme_keywords`` from pyproject.toml) that the text names
  often enough; else the text's strongest key term, as a suggestion awaiting review. Never a
  piece cut out of the title, and never a guess made for another file of the same batch.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

from .. import frontmatter, schema
from ..config import SiteConfig
from ..search.analysis import fold
from ..textio import EncodingProblem, decode_utf8

#: Meeting kinds recognised at the end of a meeting phrase even when no speech uses them yet.
#: The longest match wins (党建工作会议 over 工作会议).
KNOWN_MEETING_TYPES: tuple[str, ...] = (
    "座谈会",
    "座谈交流会",
    "工作会议",
    "党建工作会议",
    "党风廉政建设工作会议",
    "全面从严治党工作会议",
    "廉政工作会议",
    "工作部署会",
    "部署会",
    "动员大会",
    "动员会",
    "誓师大会",
    "表彰大会",
    "表彰会",
    "总结表彰大会",
    "总结大会",
    "总结会",
    "推进会",
    "工作推进会",
    "现场推进会",
    "现场会",
    "调度会",
    "研讨会",
    "交流会",
    "经验交流会",
    "培训班",
    "开班式",
    "结业式",
    "毕业典礼",
    "开学典礼",
    "读书班",
    "民主生活会",
    "组织生活会",
    "学习会",
    "中心组学习会",
    "理论学习中心组学习会",
    "警示教育大会",
    "警示教育会",
    "报告会",
    "宣讲会",
    "汇报会",
    "务虚会",
    "分析会",
    "讲评会",
    "述职评议会",
    "全体会议",
    "全会",
    "代表大会",
    "党代会",
    "职代会",
    "年会",
    "常委会",
    "常务会议",
    "党组会议",
    "党委会议",
    "专题会议",
    "联席会议",
    "电视电话会议",
    "视频会议",
    "启动仪式",
    "开幕式",
    "闭幕式",
    "开幕会",
    "闭幕会",
    "成立大会",
    "揭牌仪式",
    "论坛",
    "峰会",
    "博览会",
    "招待会",
    "茶话会",
    "团拜会",
    "迎新会",
    "欢送会",
    "新春座谈会",
    "主题教育动员会",
    "主题党日",
    "纪念大会",
    "庆祝大会",
    "追悼大会",
    "授勋仪式",
    "颁奖典礼",
    "大会",
    "会议",
)

#: Meeting phrases named by their institution rather than their last word: (pattern, type).
_INSTITUTIONS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"人民代表大会.{0,24}(?:会议|大会)|人大.{0,24}会议|人民代表大会$"), "人民代表大会会议"),
    (re.compile(r"政治协商会议.{0,24}会议|政协.{0,24}会议"), "政协会议"),
    (
        re.compile(
            r"委员会第.{1,3}次全体会议|委.{0,3}[一二三四五六七八九十\d]{1,3}届[一二三四五六七八九十\d]{1,3}次全体会议|全会$"
        ),
        "全会",
    ),
    (
        re.compile(
            r"全国代表大会|党代会|党代表大会|党的第.{1,3}次代表大会|第.{1,3}次党代会|共产党.{0,12}第.{1,3}次代表大会"
        ),
        "党代会",
    ),
    (re.compile(r"^纪念.{2,30}大会$"), "纪念大会"),
    (re.compile(r"培训班|研讨班|读书班|进修班"), "培训班"),
    (re.compile(r"民主生活会"), "民主生活会"),
    (re.compile(r"组织生活会"), "组织生活会"),
    (re.compile(r"^庆祝.{2,30}大会$"), "庆祝大会"),
    (re.compile(r"国务院常务会议|常务会议"), "常务会议"),
)

_SPEECH_WORDS = (
    "讲话稿|讲话提纲|总结讲话|主旨讲话|主旨演讲|动员讲话|讲话|发言稿|发言|致辞|贺词|讲稿|主持词|"
    "工作报告|报告|党课讲稿|党课|演讲|说明|辅导报告|专题报告"
)
_MEETING_PHRASE = re.compile(
    rf"在(?P<meeting>.+?)(?:上|中|时|期间|之际)?(?:的|所作的|作的)?"
    rf"(?:{_SPEECH_WORDS})(?:[（(][^（）()]{{1,20}}[）)])?$"
)
_SUBTITLE_MEETING = re.compile(r"在(?P<meeting>.+?)(?:上|中|时)?(?:的.*)?$")


def meeting_phrase(text: str) -> str | None:
    """The meeting a title or subtitle names: 在<meeting>上的讲话 → <meeting>."""
    norm = fold(text)
    m = _MEETING_PHRASE.search(norm) or (_SUBTITLE_MEETING.search(norm) if "在" in norm else None)
    if not m:
        return None
    start, end = m.span("meeting")
    return text[start:end] if len(norm) == len(text) else m.group("meeting")


@dataclass(frozen=True)
class Vocabulary:
    """Meeting types and themes to prefer, most used first; closed when the site configures a list."""

    meeting_types: tuple[str, ...] = ()
    themes: tuple[str, ...] = ()
    closed_meeting_types: bool = False
    closed_themes: bool = False
    theme_keywords: tuple[tuple[str, tuple[str, ...]], ...] = ()


def scan_vocabulary(content_dir: Path, config: SiteConfig | None = None, paths: list[Path] | None = None) -> Vocabulary:
    """Meeting types and themes used in the speeches of ``content_dir`` (``paths``: the loader's
    list of its Markdown files, when known). A configured closed list replaces what is found."""
    mts: Counter[str] = Counter()
    ths: Counter[str] = Counter()
    if paths is None:
        from ..loader import scan  # the one way the content folder is scanned (FIFOs and loops are skipped)

        paths = [Path(f.path) for f in scan(content_dir)[0]] if content_dir.is_dir() else []
    for path in paths:
        try:
            fm = frontmatter.split(decode_utf8(path.read_bytes()))
        except (OSError, EncodingProblem, frontmatter.FrontMatterError):
            continue
        value = fm.data.get("meeting_type")
        if isinstance(value, str) and value.strip():
            mts[schema.clean_text(value)] += 1
        value = fm.data.get("themes")
        for theme in value if isinstance(value, list) else [value]:
            if isinstance(theme, str) and theme.strip():
                ths[schema.clean_text(theme)] += 1
    vocab = Vocabulary(tuple(k for k, _ in mts.most_common()), tuple(k for k, _ in ths.most_common()))
    if config is not None:
        if config.meeting_types is not None:
            vocab = replace(vocab, meeting_types=tuple(config.meeting_types), closed_meeting_types=True)
        if config.themes is not None:
            vocab = replace(vocab, themes=tuple(config.themes), closed_themes=True)
        if config.theme_keywords:
            vocab = replace(vocab, theme_keywords=tuple((k, tuple(v)) for k, v in config.theme_keywords.items()))
            extra = tuple(k for k in config.theme_keywords if k not in vocab.themes and not vocab.closed_themes)
            vocab = replace(vocab, themes=vocab.themes + extra)
    return vocab


def meeting_type(phrase: str, vocab: Vocabulary) -> tuple[str | None, str]:
    """(meeting type, how it was found) for a meeting phrase."""
    norm = schema.clean_text(fold(phrase))
    used = [t for t in vocab.meeting_types if t and fold(t) in norm]
    if used:
        ends = [t for t in used if norm.endswith(fold(t))]
        best = max(ends or used, key=len)
        where = "the configured meeting types" if vocab.closed_meeting_types else "the meeting types used in content/"
        return best, f"{best} is one of {where}"
    if vocab.closed_meeting_types:
        return None, ""
    for rx, kind in _INSTITUTIONS:
        if rx.search(norm):
            return kind, f"the meeting {phrase} is a {kind}"
    known = [t for t in KNOWN_MEETING_TYPES if norm.endswith(t)]
    if known:
        best = max(known, key=len)
        return best, f"the meeting {phrase} ends with {best}"
    inside = [t for t in KNOWN_MEETING_TYPES if t in norm and len(t) > 2]
    if inside:
        best = max(inside, key=len)
        return best, f"the meeting {phrase} names {best}"
    return None, ""


_STOP_WORDS = set(
    """
我们 你们 他们 大家 同志 同志们 自己 一个 一些 一种 这个 那个 这些 那些 这样 那样
这种 这里 那里 就是 还是 也是 都是 不是 没有 要求 必须 进一步 各级 以及 因此 所以
但是 而且 并且 如果 只要 只有 还有 通过 对于 关于 之间 其中 方面 问题 情况 时候 现在
目前 当前 今后 已经 不能 不会 可能 能够 需要 成为 进行 开展 做到 做好 抓好 加强 坚持
推动 提高 切实 认真 全面 深入 积极 不断 更加 非常 特别 一定 一是 二是 三是 四是 五是
一要 二要 三要 首先 其次 第三 第四 同时 工作 我们的 什么 怎么 为了 由于 之后 以后
以来 以上 以下 一起 一样 作为 起来 出来 下来 上来 方式 有关 相关 发展 建设 今年 去年
明年 全市 全省 全县 全区 全国 会议 讲话 同志们 重要 主要 实现 提升 落实 完善 增强
努力 继续 取得 人民 国家 社会 我国 地方 部门 单位 领导 干部 群众 时间 年度 今天 这次
""".split()
)
_CJK = re.compile(r"^[\u3400-\u9fff]+$")


def key_terms(text: str, n: int = 8) -> list[str]:
    """The text's strongest content words (rjieba), most frequent first."""
    import rjieba

    counts: Counter[str] = Counter()
    for word in rjieba.cut(text):
        if 2 <= len(word) <= 6 and word not in _STOP_WORDS and _CJK.match(word):
            counts[word] += 1
    return [w for w, c in counts.most_common(n) if c >= 2]


def phrases(text: str, n: int = 6) -> list[str]:
    """Recurring two-word phrases (基层+党建 → 基层党建): theme-sized terms."""
    import rjieba

    words = rjieba.cut(text)
    counts: Counter[str] = Counter()
    for a, b in itertools.pairwise(words):
        if (
            a != b
            and len(a) >= 2
            and len(b) >= 2
            and len(a) + len(b) <= 8
            and a not in _STOP_WORDS
            and b not in _STOP_WORDS
            and _CJK.match(a)
            and _CJK.match(b)
        ):
            counts[a + b] += 1
    return [p for p, c in counts.most_common(n) if c >= 3]


#: Common themes of Chinese speeches and reports, with words that suggest them: the suggestion
#: used when none of the archive's own themes fits (always marked for review).
BUILTIN_THEMES: dict[str, tuple[str, ...]] = {
    "党风廉政建设": ("廉政", "反腐败", "腐败", "纪律", "八项规定", "廉洁", "清廉", "纪检", "监察"),
    "全面从严治党": ("从严治党", "管党治党", "党内政治生活", "党内监督"),
    "基层党建": ("基层党建", "基层党组织", "党支部", "支部", "三会一课", "党员教育"),
    "党员队伍建设": ("党员队伍", "党员管理", "发展党员", "党员教育管理"),
    "干部队伍建设": ("干部队伍", "领导班子", "选人用人", "干部培养", "年轻干部"),
    "作风建设": ("作风", "形式主义", "官僚主义", "调查研究"),
    "思想政治建设": ("理论武装", "思想政治", "主题教育", "学习教育", "政治建设"),
    "经济发展": ("经济增长", "国内生产总值", "GDP", "经济运行", "扩大内需", "消费", "投资", "经济工作"),
    "高质量发展": ("高质量发展", "新发展理念", "新质生产力", "转型升级"),
    "改革开放": ("改革开放", "深化改革", "体制改革", "对外开放", "自由贸易"),
    "科技创新": ("科技创新", "创新驱动", "科技自立自强", "研发", "关键核心技术", "人工智能"),
    "教育": ("教育", "学校", "教师", "学生", "高校", "人才培养"),
    "文化建设": ("文化", "文艺", "文化自信", "文明", "非遗", "文化事业"),
    "民生": ("民生", "就业", "社会保障", "养老", "医疗", "住房", "收入"),
    "乡村振兴": ("乡村振兴", "农村", "农业", "农民", "三农", "粮食"),
    "脱贫攻坚": ("脱贫", "扶贫", "贫困", "小康"),
    "生态环境保护": ("生态", "环境保护", "污染", "绿色发展", "碳达峰", "碳中和", "节能"),
    "安全生产": ("安全生产", "安全隐患", "事故", "隐患排查", "应急管理"),
    "社会治理": ("社会治理", "平安建设", "基层治理", "信访", "矛盾纠纷"),
    "法治建设": ("法治", "依法治国", "司法", "立法", "执法", "宪法"),
    "国防和军队建设": ("国防", "军队", "强军", "部队", "国防建设"),
    "外交": ("外交", "国际合作", "一带一路", "多边", "各国", "国际社会", "人类命运共同体"),
    "统一战线": ("统一战线", "统战", "民主党派", "港澳", "台湾", "侨务", "民族团结", "宗教"),
    "意识形态": ("意识形态", "宣传思想", "舆论", "网络安全"),
    "疫情防控": ("疫情", "防控", "新冠", "核酸"),
    "人才工作": ("人才", "引才", "育才"),
    "城市建设": ("城市建设", "城市更新", "城镇化", "基础设施", "交通"),
    "营商环境": ("营商环境", "民营经济", "企业", "放管服"),
    "政府工作": ("政府工作", "政府建设", "依法行政", "政务"),
    "青年工作": ("青年", "共青团", "青少年"),
    "卫生健康": ("卫生", "健康", "医院", "医疗卫生", "公共卫生"),
}


@dataclass(frozen=True)
class ThemeGuess:
    themes: tuple[str, ...]
    how: str
    confident: bool
    """True when the themes are the archive's own and the text names them clearly."""
    ideas: tuple[str, ...] = ()


def themes_for(title: str, body: str, vocab: Vocabulary, limit: int = 3) -> ThemeGuess:
    """The archive's themes the text names (by name or keyword), else the best key term."""
    text, head = fold(body), fold(title)
    keywords = dict(vocab.theme_keywords)
    scored: list[tuple[int, str, str]] = []
    for theme in vocab.themes:
        words = (theme,) + tuple(keywords.get(theme, ()))
        count = sum(text.count(fold(w)) for w in words)
        in_title = any(fold(w) in head for w in words)
        score = count + (3 if in_title else 0)
        if score >= 2:
            why = "the title names it" if in_title else f"the text names it or its keywords {count} times"
            scored.append((-score, theme, why))
    scored.sort()
    if scored:
        chosen = scored[:limit]
        confident = any(-s >= 3 for s, _, _ in chosen)
        how = "; ".join(f"{t}: an archive theme, {why}" for _, t, why in chosen)
        return ThemeGuess(tuple(t for _, t, _ in chosen), how, confident)
    if vocab.closed_themes:
        return ThemeGuess((), "", False, tuple(vocab.themes[:8]))
    builtin: list[tuple[float, str]] = []
    size = max(len(text), 1)
    for theme, words in BUILTIN_THEMES.items():
        count = sum(text.count(fold(w)) for w in (theme,) + words)
        in_title = any(fold(w) in head for w in (theme,) + words)
        weight = count * 1000 / size + (5 if in_title else 0)
        if count >= 3 or in_title:
            builtin.append((-weight, theme))
    builtin.sort()
    ideas = [t for _, t in builtin] + list(dict.fromkeys(phrases(body) + key_terms(body)))
    if not ideas:
        return ThemeGuess((), "", False)
    why = "the text names it and its keywords most" if builtin else "the text's strongest key term"
    return ThemeGuess((ideas[0],), f"{ideas[0]}: {why} (no archive theme matches)", False, tuple(ideas[1:8]))
