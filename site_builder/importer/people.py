"""Speakers and organisations from bylines: ``市委书记　王　强``, ``某某市人民政府市长　李　明``,
``王强``, ``王强　2023年6月2日``, ``国务院总理　李　强``; and from titles (``王强：在……上的讲话``,
``王强同志在……上的讲话``). Names spaced out to two or three characters' width lose their spaces."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..search.analysis import fold

#: Common Chinese surnames (single and compound): a name must start with one.
SURNAMES = set(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾"
    "夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹"
    "申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司"
    "卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查"
    "麻苑迟邝官封谈匡鞠惠荆乐冀郁胥南班储原栗燕楚鄢劳谌奚皮粟冼蔺楼盘满闻位厉伊仝区郜海阚花权强帅屠豆朴盖练廉禹井祖漆巴丰支卿国狄"
    "平计索宣晋相初门云容敬来扈晁芮都普阙浦戈伏鹿薄邸雍辜羊阿乌母裘亓修邰赫杭况那宿鲜印逯隆茹诸战慕危玉银亢嵇公哈湛宾戎勾茅利於呼"
    "居揭干但尉冶斯元束檀衣信展阴昝智幸奉植衡富尧闭由习荀逄芈昌禄乜"
)
COMPOUND_SURNAMES = (
    "欧阳",
    "司马",
    "诸葛",
    "上官",
    "东方",
    "皇甫",
    "尉迟",
    "公孙",
    "慕容",
    "令狐",
    "夏侯",
    "长孙",
    "宇文",
    "司徒",
    "西门",
    "端木",
    "独孤",
    "南宫",
    "万俟",
    "闻人",
    "轩辕",
    "呼延",
    "澹台",
    "公冶",
)

#: Offices a byline names before the name (longest first when matching).
ROLES = sorted(
    (
        "总书记",
        "书记",
        "副书记",
        "市长",
        "副市长",
        "省长",
        "副省长",
        "县长",
        "副县长",
        "区长",
        "副区长",
        "镇长",
        "乡长",
        "州长",
        "总理",
        "副总理",
        "主席",
        "副主席",
        "部长",
        "副部长",
        "局长",
        "副局长",
        "厅长",
        "副厅长",
        "处长",
        "院长",
        "副院长",
        "校长",
        "副校长",
        "主任",
        "副主任",
        "委员",
        "理事长",
        "会长",
        "董事长",
        "总经理",
        "副总经理",
        "行长",
        "秘书长",
        "司令员",
        "政委",
        "政治委员",
        "常委",
        "组长",
        "队长",
        "检察长",
        "所长",
        "社长",
        "总编辑",
        "总裁",
        "大使",
        "总统",
        "首相",
        "议长",
        "党组书记",
        "党委书记",
        "纪委书记",
        "监委主任",
        "主持人",
        "特首",
        "行政长官",
        "总指挥",
        "指挥长",
        "指挥",
        "负责人",
        "主任委员",
        "党组成员",
        "司长",
        "署长",
        "关长",
        "巡视员",
        "调研员",
        "总监",
    ),
    key=len,
    reverse=True,
)
_ROLE = "|".join(ROLES)
_CJK = r"[\u3400-\u9fff]"
_SP = r"[\s\u3000]*"
#: A name of 2–4 characters, or of 2–3 spaced out to a fixed width (王　强, 韩　振　东).
NAME = rf"(?:{_CJK}{{2,4}}|{_CJK}(?:[\s\u3000]{{1,3}}{_CJK}){{1,2}})"
_BYLINE = re.compile(
    rf"^(?:(?:作者|主讲人|讲话人|报告人|发言人|主讲|署名)\s*[：:]\s*)?(?P<office>[^\s\u3000]{{0,24}}?(?:{_ROLE}))?{_SP}(?P<name>{NAME})"
    rf"(?:{_SP}(?P<rest>(?:\d{{4}}|[〇零○一二三四五六七八九]{{4}})\s*年\s*[\d一二三四五六七八九十]{{1,2}}\s*月"
    rf"(?:\s*[\d一二三四五六七八九十]{{1,3}}\s*[日号])?))?$"
)
#: Words that look like names but are not (salutations, common openings).
NOT_NAMES = {
    "同志们",
    "同志",
    "大家",
    "各位",
    "朋友们",
    "女士们",
    "先生们",
    "代表们",
    "来宾们",
    "谢谢",
    "谢谢大家",
    "附件",
    "目录",
    "前言",
    "引言",
    "结语",
    "后记",
    "序言",
    "说明",
    "注释",
    "摘要",
    "全文",
    "完",
    "同学们",
    "老师们",
}
_GENERIC_ORGS = {"市委", "省委", "县委", "区委", "党委", "党组", "中共", "中央", "国家", "全国", "我市", "本市", "本局"}


def squeeze(name: str) -> str:
    """王　强 → 王强 (spaces inside a name removed)."""
    return re.sub(r"[\s\u3000]+", "", name)


def is_name(candidate: str) -> bool:
    """Whether ``candidate`` (no spaces) looks like a Chinese personal name."""
    folded = fold(candidate)
    if not 2 <= len(folded) <= 4 or candidate in NOT_NAMES or folded in NOT_NAMES:
        return False
    if not re.fullmatch(rf"{_CJK}+", folded):
        return False
    if folded[:2] in COMPOUND_SURNAMES:
        return len(folded) >= 3
    return folded[0] in SURNAMES and not folded.endswith(("们", "的", "是", "在", "和", "要", "讲话", "会议", "同志"))


@dataclass(frozen=True)
class Byline:
    speaker: str
    organization: str | None = None
    office: str | None = None
    date_text: str | None = None


def byline(text: str) -> Byline | None:
    """Read a line that is only a byline: [office] name [date]."""
    text = text.strip()
    if len(squeeze(text)) > 36 or re.match(r"^(?:尊敬的|亲爱的|各位|女士们|先生们)", text) or "，" in text:
        return None
    folded = fold(text)
    m = _BYLINE.match(folded)
    if not m:
        return None
    if len(folded) == len(text):  # report the text as written (traditional script stays so)
        name = squeeze(text[m.start("name") : m.end("name")])
        office = text[m.start("office") : m.end("office")] if m.group("office") else None
    else:
        name, office = squeeze(m.group("name")), m.group("office")
    if not is_name(name) or any(role in fold(name) for role in ROLES if len(role) >= 2):
        return None
    spaced = bool(re.search(r"[\s\u3000]", m.group("name")))
    if office is None and m.group("rest") is None and not spaced and len(name) > 3:
        return None
    org = _organization(office) if office else None
    return Byline(name, org, office, m.group("rest"))


_GOVERNMENT_HEADS = ("省长", "市长", "县长", "区长", "州长", "镇长", "乡长", "副省长", "副市长", "副县长", "副区长")


def _organization(office: str) -> str | None:
    """The body an office names: 某某市人民政府市长 → 某某市人民政府; 东陵市市长 → 东陵市人民政府."""
    role = next(r for r in ROLES if fold(office).endswith(r))
    org = office[: -len(role)].rstrip("、，, ")
    if (
        not org
        or len(org) < 2
        or org in _GENERIC_ORGS
        or re.search(r"[、，,]|书记|[省市县区]长|主任|部长|局长|总理", fold(org))
    ):
        return None
    if role in _GOVERNMENT_HEADS and re.search(r"[省市县区州镇乡]$", org):
        return org + "人民政府"
    return org


_PREFIX = re.compile(rf"^(?P<name>{NAME}){_SP}[：:]{_SP}(?P<title>.+)$")
_COMRADE = re.compile(rf"(?:^|[\s\u3000，,])(?P<name>{_CJK}{{2,4}}?)(?:同志)?在")


def name_prefix(text: str) -> tuple[str, str] | None:
    """``王强：在……上的讲话`` → (王强, 在……上的讲话)."""
    m = _PREFIX.match(text.strip())
    if not m:
        return None
    name = squeeze(m.group("name"))
    return (name, m.group("title")) if is_name(name) else None


def speaker_in_title(title: str) -> str | None:
    """``王强同志在……上的讲话`` / ``王强在……上的讲话`` → 王强."""
    folded = fold(title)
    for rx in (
        rf"^(?:.{{0,20}}?(?:{_ROLE}))?(?P<name>{_CJK}{{2,4}}?)同志在",
        rf"^(?:.{{0,20}}?(?:{_ROLE}))?(?P<name>{_CJK}{{2,3}})在",
    ):
        m = re.match(rx, folded)
        if m and is_name(m.group("name")) and not any(r in m.group("name") for r in ROLES if len(r) >= 2):
            return title[m.start("name") : m.end("name")] if len(folded) == len(title) else m.group("name")
    return None
