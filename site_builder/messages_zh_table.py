"""The table of messages_zh: each English message (a pattern matched against the whole message)
and its Chinese (a template: ``{1}`` is the first group as written, ``{1*}`` the same group
translated when the table knows it; or a function of the match). Tried in order: the more specific
entries first. tests/test_messages_zh.py checks that every message of the package has an entry."""

from __future__ import annotations

import re
from collections.abc import Callable

#: Labels that are not front-matter keys (those — title, date, meeting_type … — stay as written).
FIELDS_ZH = {"front matter": "文件头", "encoding": "编码", "markdown": "Markdown 正文"}

_BUG = "这是 site-builder 的程序错误"
_DEBUG = "请设置 SITE_BUILDER_DEBUG=1 再运行一次"
_SAME = r"the same text|nearly the same text \(.+? of sentences\)"


def _same(reason: str) -> str:
    """``the same text`` or ``nearly the same text (95% of sentences)`` in Chinese."""
    if reason == "the same text":
        return "相同"
    return f"几乎相同（{reason.removeprefix('nearly the same text (').removesuffix(' of sentences)')} 的句子相同）"


_CASE = "在不区分大小写的磁盘上（Windows、macOS、U 盘）它们会是同一个文件"

TABLE: list[tuple[str, str | Callable[[re.Match], str]]] = [
    # ---- front-matter fields (schema.py) ----
    (r"missing \(required\)", "缺少此项（必填）"),
    (r"empty \(required\)", "此项为空（必填）"),
    (r"missing \(required, at least one\)", "缺少此项（必填，至少一项）"),
    (r"expected text, got (\w+): (.*)", "应为文字，实际是 {1}：{2}"),
    (r"each entry must be non-empty text, got (.*)", "每一项都必须是非空的文字，实际是 {1}"),
    (r"unknown value (.*) \(the site allows only the configured list\)", "未知的值 {1}（本站只允许配置中列出的值）"),
    (r"unknown field, ignored", "未知的字段，已忽略"),
    (r"unknown setting, ignored", "未知的设置项，已忽略"),
    (r"unknown page kind", "未知的页面类型"),
    (r"did you mean (.*)\? known: (.*)", "是不是想写 {1}？可用的值：{2}"),
    (r"did you mean (.*)\?", "是不是想写 {1}？"),
    (r"known: (.*)", "可用的值：{1}"),
    (r"known fields: (.*)", "可用的字段：{1}"),
    (r"expected true or false, got (.*)", "应为 true 或 false，实际是 {1}"),
    (r"expected a path ending in \.html, got (.*)", "应为以 .html 结尾的路径，实际是 {1}"),
    (r"expected (.*), got (.*)", "应为 {1*}，实际是 {2}"),
    (r"a folder path", "文件夹路径"),
    (r"a list of non-empty strings", "非空文字的列表"),
    (r"a whole number ≥ 1", "不小于 1 的整数"),
    (r"true or false", "true 或 false"),
    (r"a string", "文字"),
    (r"a table of theme = \[keywords\]", "“主题 = [关键词]”的表"),
    (r"a table of page kind = pattern", "“页面类型 = 路径模式”的表"),
    (r"(.*) is not a field name", "{1} 不是字段名"),
    (
        r"list the fields still to confirm, e\.g\. review: \[meeting_type, themes\]; "
        r"remove the line once they are confirmed",
        "列出还要核对的字段，例如 review: [meeting_type, themes]；核对完后删去这一行",
    ),
    (
        r"use letters, digits, Chinese characters and '-' only, e\.g\. slug: (.*)",
        "只用字母、数字、汉字和“-”，例如 slug: {1}",
    ),
    (
        r"e\.g\. date: 2020-03-05 \(or 2020-03, or 2020 when only the year is known\)",
        "例如 date: 2020-03-05（也可以写 2020-03；只知道年份时写 2020）",
    ),
    (r"e\.g\. (\w+): (.*)", "例如 {1}: {2}"),
    (r"the slug is empty or has surrounding spaces", "slug 为空，或前后有空格"),
    (
        r"the slug (.*) has characters that do not work in a URL or file name",
        "slug {1} 含有不能用在网址或文件名中的字符",
    ),
    (
        r"the slug (.*) is not in Unicode normal form NFC \(NFC changes (.*)\): write it as (.*)",
        "slug {1} 不是 Unicode 规范形式 NFC（NFC 会改变 {2}）：请写成 {3}",
    ),
    (r"the slug is longer than (\d+) characters", "slug 超过 {1} 个字符"),
    (r"the slug is longer than (\d+) bytes \(about (\d+) Chinese characters\)", "slug 超过 {1} 字节（约 {2} 个汉字）"),
    # ---- dates (dates.py, schema.py) ----
    (r"(.*) is a number to YAML \((.*)\), not a month", "{1} 在 YAML 中是数字（{2}），不是月份"),
    (r"(.*) is a number to YAML, not a date", "{1} 在 YAML 中是数字，不是日期"),
    (r"write (\S+) \(or (.*)\)", "请写成 {1}（或 {2}）"),
    (r"not a date: (.*)", "不是日期：{1}"),
    (r"cannot read (.*) as a date", "无法把 {1} 读作日期"),
    (r"year (.*) is out of range", "年份 {1} 超出范围"),
    (r"(.*) has month (.*), which does not exist", "{1} 中的月份 {2} 不存在"),
    (r"(.*) is not a real day \((.*) has no (.*)\)", "{1} 不是真实存在的日期（{2}没有{3}）"),
    (
        r"write it as 2020-03-05, 2020-03, 2020 or 2020年3月5日",
        "请写成 2020-03-05、2020-03、2020 或 2020年3月5日 这样的形式",
    ),
    # ---- front matter (frontmatter.py) ----
    (r"empty file", "文件是空的"),
    (
        r"a speech needs a front matter block \(---, title: …, ---\) and its text",
        "一篇讲话需要文件头（---、title: …、---）和正文",
    ),
    (r"missing front matter: the file must start with a line '---'", "缺少文件头：文件的第一行必须是 '---'"),
    (r"add at the top:(\n.*)", "在文件开头加上：{1}"),
    (r"unclosed front matter: no closing '---' line", "文件头没有结束：缺少结尾的 '---' 行"),
    (r"did you forget the '---' line after the last field\?", "是不是忘了在最后一个字段后面加一行 '---'？"),
    (r"the front matter is empty", "文件头是空的"),
    (r"add the fields title, date, meeting_type and themes", "请填写字段 title、date、meeting_type 和 themes"),
    (r"the front matter must be key: value lines, not (.*)", "文件头必须是“字段: 值”这样的行，而不是{1*}"),
    (r"a list", "一个列表"),
    (r"a line of text", "一行文字"),
    (r"write one field per line, e\.g\. title: …", "每行写一个字段，例如 title: …"),
    (r"YAML error: (.*)", "YAML 格式错误：{1*}"),
    (r"a value refers to itself \(through an alias\)", "某个值通过别名引用了它自己"),
    (r"the front matter holds more than (\d+) values", "文件头中的值超过 {1} 个"),
    (r"the values are nested too deeply", "值嵌套得太深"),
    (r"cannot read a value with its !!tag", "无法读取带 !!标记的值"),
    (r"cannot read a value: (.*)", "无法读取一个值：{1}"),
    (r"mapping values are not allowed (?:here|in this context)", "这里不能出现“: ”（冒号后跟空格）"),
    (r"found character '\\t' that cannot start any token", "这里有制表符（Tab），YAML 不允许"),
    (r"could not find expected ':'", "找不到应有的冒号“:”"),
    (r"found undefined alias (.*)", "找不到别名 {1}"),
    (r"expected <block end>, but found '(.*)'", "缩进不一致：这里不应出现 '{1}'"),
    (r"found unexpected end of stream", "文件头在引号或括号闭合之前就结束了"),
    (r"found unknown escape character (.*)", "未知的转义字符 {1}"),
    (
        r"put the value in quotes when it contains a colon, e\.g\. title: \"…：…\"",
        '值中含有冒号时，请给值加上引号，例如 title: "…：…"',
    ),
    (r"indent with spaces, not tabs", "请用空格缩进，不要用制表符（Tab）"),
    (
        r"each line is key: value; a value that goes on must be indented or quoted",
        "每行写成“字段: 值”；值要换行接着写时，必须缩进或加引号",
    ),
    (r"a value starting with \* must be quoted", "以 * 开头的值必须加引号"),
    (r"a list under a key must be indented the same way on every line", "字段下面的列表，每一行的缩进必须相同"),
    (
        r"check the quoting and indentation on that line; quote values with : # \[ \] \{ \} "
        r"or a leading \* & ! %",
        "检查这一行的引号和缩进；含有 : # [ ] { } 或以 * & ! % 开头的值要加引号",
    ),
    (
        r"front-matter values are text or lists of text; do not use YAML anchors \(&\) and aliases \(\*\)",
        "文件头中的值只能是文字或文字列表；不要使用 YAML 的锚点（&）和别名（*）",
    ),
    (r"front-matter values are text or lists of text", "文件头中的值只能是文字或文字列表"),
    (r"remove the !!tag before the value, or quote the value", "删去值前面的 !!标记，或给值加上引号"),
    # ---- encoding (textio.py) ----
    (r"not UTF-8 \(looks like (.*)\)", "不是 UTF-8 编码（看起来是 {1}）"),
    (r"not UTF-8 \(unknown encoding\)", "不是 UTF-8 编码（无法判断是什么编码）"),
    (r"convert it with: (.*)", "可以用这条命令转换：{1}"),
    # ---- reading files (loader.py, scan.py) ----
    (r"file too large \((.*) MB; the limit is (.*) MB\): not read", "文件太大（{1} MB，上限 {2} MB），没有读取"),
    (r"split it: one speech per file", "请拆分：每个文件一篇讲话"),
    (r"very large speech \((.*) MB\)", "这篇讲话很大（{1} MB）"),
    (r"check that the file holds one speech only", "请确认这个文件里只有一篇讲话"),
    (r"no text after the front matter", "文件头之后没有正文"),
    (r"write the speech below the closing ---", "请把讲话正文写在结尾的 --- 下面"),
    (
        r"took more than (.*) s of CPU time to read \(the limit per file\)",
        "读取耗用 CPU 时间超过 {1} 秒（每个文件的上限）",
    ),
    (
        r"simplify its Markdown \(very long paragraphs, deep nesting, many \[ < \* _\) or split the file",
        "请简化其中的 Markdown（很长的段落、很深的嵌套、大量 [ < * _），或拆分文件",
    ),
    (r"nested too deeply for the Markdown parser", "嵌套太深，Markdown 解析器无法处理"),
    (r"flatten the nesting of lists, quotes or HTML", "请减少列表、引用或 HTML 的嵌套层数"),
    (r"not enough memory to read this file", "内存不足，无法读取这个文件"),
    (r"split it, or simplify its Markdown", "请拆分文件，或简化其中的 Markdown"),
    (r"could not be read: (.*)", "无法读取：{1}"),
    (
        r"this is a bug in site-builder \(the other (speeches|pages) were built\)[;:] run again with "
        r"SITE_BUILDER_DEBUG=1 (?:for the details )?and report (?:them|it) with this file",
        lambda m: (
            f"{_BUG}（其他{'讲话' if m[1] == 'speeches' else '页面'}已生成）；{_DEBUG}查看详情，并连同这个文件一起报告"
        ),
    ),
    (r"cannot read this file: (.*)", "无法读取这个文件：{1}"),
    (r"check its permissions", "请检查文件权限"),
    (
        r"the process reading this file died \(out of memory, or a crash\)",
        "读取这个文件的进程意外终止（内存不足或崩溃）",
    ),
    (
        r"simplify or split the file; if it is an ordinary speech, report it as a bug",
        "请简化或拆分这个文件；如果它只是一篇普通的讲话，请作为程序错误报告",
    ),
    (
        r"(file|folder) name is not UTF-8(?: \(as GBK it reads (.*), as unzip leaves the names of a zip "
        r"made on Windows\))?: not read",
        lambda m: (
            ("文件" if m[1] == "file" else "文件夹")
            + "名不是 UTF-8 编码"
            + (f"（按 GBK 读是 {m[2]}，Windows 上做的 zip 用 unzip 解压后常会这样）" if m[2] else "")
            + "，没有读取"
        ),
    ),
    (
        r"rename it, e\.g\. convmv -f GBK -t UTF-8 --notest -r <folder>, or unzip with -O GBK",
        "请改名，例如 convmv -f GBK -t UTF-8 --notest -r <文件夹>，或用 unzip -O GBK 重新解压",
    ),
    (r"cannot read this folder: (.*)", "无法读取这个文件夹：{1}"),
    (r"check its permissions \(the pages of its speeches were kept\)", "请检查权限（其中讲话的页面已保留）"),
    (r"content folder not found", "找不到内容文件夹"),
    (
        r"create it, or point --content at the folder holding the speeches",
        "请创建它，或用 --content 指向存放讲话的文件夹",
    ),
    (r"symbolic link loop: this folder was already read", "符号链接构成循环：这个文件夹已经读过"),
    (r"remove the link", "请删除这个链接"),
    (r"not a regular file \(a pipe, device or socket\): not read", "不是普通文件（管道、设备或套接字），没有读取"),
    (r"remove it, or put the speech's text in an ordinary file", "请删除它，或把讲话正文放进普通文件"),
    (r"a broken symbolic link\? fix or remove it", "是不是损坏的符号链接？请修复或删除"),
    # ---- Markdown limits (markup.py) ----
    (r"line of ([\d,]+) characters \(the limit is ([\d,]+)\)", "一行有 {1} 个字符（上限 {2}）"),
    (r"break it into paragraphs \(a blank line between them\)", "请分成几段（段与段之间空一行）"),
    (
        r"more than ([\d,]+) lines in the paragraph starting at line (\d+)",
        "从第 {2} 行开始的段落超过 {1} 行",
    ),
    (r"put blank lines between its parts", "请在各部分之间加空行"),
    (
        r"lists, quotes or definitions nested (\d+) levels deep \(the limit is (\d+)\)",
        "列表、引用或定义嵌套了 {1} 层（上限 {2} 层）",
    ),
    (
        r"more than ([\d,]+) levels of nested lists, quotes or definitions in the speech",
        "全文中列表、引用或定义的嵌套超过 {1} 层",
    ),
    (r"flatten the nesting: a speech needs a few levels at most", "请减少嵌套：一篇讲话最多需要几层"),
    (r"HTML elements nested more than (\d+) levels deep", "HTML 元素嵌套超过 {1} 层"),
    (r"close the HTML elements you open, or remove the raw HTML", "请把打开的 HTML 元素闭合，或删去 HTML 代码"),
    (
        r"they would be one file on a case-insensitive disk \(Windows, macOS, a USB stick\)",
        _CASE,
    ),
    (r"more than ([\d,]+) headings", "标题超过 {1} 个"),
    (r"more than ([\d,]+) (.*) in the speech", "全文中{2*}超过 {1} 个"),
    (r"split the file: one speech per file", "请拆分文件：每个文件一篇讲话"),
    (r"more than (\d+) abbreviation definitions \(\*\[…\]: …\)", "缩写定义（*[…]: …）超过 {1} 个"),
    (r"keep the few that matter, or put a backslash before the \*", "只保留必要的几个，或在 * 前加反斜杠"),
    (
        r"more than ([\d,]+) (.*) in the paragraph starting at line (\d+)",
        "从第 {3} 行开始的段落中{2*}超过 {1} 个",
    ),
    (r"'\['", "“[”"),
    (r"'<'", "“<”"),
    (r"'<' not closed on its line", "未在本行闭合的“<”"),
    (r"of the marks \\ ` \* _ & !", "\\ ` * _ & ! 这些符号"),
    (r"'\|' \(table cells\)", "“|”（表格单元格）"),
    (
        r"write 【】 for brackets in the text, or put a backslash before each \[",
        "正文中的方括号请写成【】，或在每个 [ 前加反斜杠",
    ),
    (
        r"write 《》 or ＜ for angle brackets in the text, or remove raw HTML",
        "正文中的尖括号请写成《》或＜，或删去 HTML 代码",
    ),
    (
        r"write 《》 or ＜ for angle brackets in the text, or close the HTML tags",
        "正文中的尖括号请写成《》或＜，或把 HTML 标签闭合",
    ),
    (r"remove the marks, or split the paragraph", "请删去这些符号，或拆分段落"),
    (r"split the table, or write ｜", "请拆分表格，或写成全角的“｜”"),
    # ---- the build (build.py, build_support.py, model.py) ----
    (
        r"no speech to publish \((\d+) drafts; --drafts includes them\): the site is built empty",
        "没有可发布的讲话（{1} 篇草稿；加 --drafts 可包括草稿）：生成的网站是空的",
    ),
    (r"no speech to publish: the site is built empty", "没有可发布的讲话：生成的网站是空的"),
    (
        r"add speeches with site-builder new or site-builder import",
        "请用 site-builder new 或 site-builder import 添加讲话",
    ),
    (
        r"content folder (.*) (not found|is not a folder): create it, or point --content "
        r"\(or content_dir in pyproject\.toml\) at the folder holding the speeches",
        lambda m: (
            f"内容文件夹 {m[1]} {'不存在' if m[2] == 'not found' else '不是文件夹'}："
            "请创建它，或用 --content（或 pyproject.toml 中的 content_dir）指向存放讲话的文件夹"
        ),
    ),
    (
        r"(.*): the build cache cannot be written \((.*)\); free some space \(or delete (.*): it is only a "
        r"cache\) and build again",
        "{1}：无法写入生成缓存（{2}）；请腾出磁盘空间（或删除 {3}：它只是缓存）后重新生成",
    ),
    (r"could not be indexed for search: (.*)", "无法加入检索索引：{1}"),
    (
        r"the page was built but search does not find it; this is a bug in site-builder: run again with "
        r"SITE_BUILDER_DEBUG=1 and report it with this file",
        f"页面已生成，但检索找不到它；{_BUG}：{_DEBUG}，并连同这个文件一起报告",
    ),
    (r"its page could not be rendered: (.*)", "无法生成它的页面：{1}"),
    (
        rf"({_SAME})(?:, and ({_SAME}),)? as (.*)",
        lambda m: f"与 {m[3]} 的正文{_same(m[1])}" + (f"，也{_same(m[2])}" if m[2] else ""),
    ),
    (
        r"the same speech saved twice\? keep one, or mark the other draft: true",
        "同一篇讲话存了两次？请只保留一篇，或把另一篇标为 draft: true",
    ),
    (
        r"another build of this output folder is still running \(waited (.*) s\); try again when it has finished",
        "另一个生成过程正在使用这个输出文件夹（已等待 {1} 秒）；请等它结束后再试",
    ),
    (
        r"template (.*?): (.*?)(?: \(while rendering (.*)\))?; fix the template and build again",
        lambda m: f"模板 {m[1]}：{m[2]}" + (f"（生成 {m[3]} 时）" if m[3] else "") + "；请修复模板后重新生成",
    ),
    (
        r"this speech and (.*) would both be written to (\S+)(; (.*) published it first and keeps it)?",
        lambda m: f"这篇讲话和 {m[1]} 会写到同一个页面 {m[2]}" + (f"；{m[4]} 先发布，由它保留" if m[3] else ""),
    ),
    (r"give one of them a different file name or a 'slug:' field", "请给其中一篇换个文件名，或加上 slug: 字段"),
    (
        r"this speech's page (\S+) and the page of (.*) \((\S+)\) differ only in upper/lower case: "
        r"they would be one file on a case-insensitive disk \(Windows, macOS, a USB stick\)"
        r"(; (.*) published it first and keeps it)?",
        lambda m: (
            f"这篇讲话的页面 {m[1]} 和 {m[2]} 的页面（{m[3]}）只有大小写不同：{_CASE}"
            + (f"；{m[5]} 先发布，由它保留" if m[4] else "")
        ),
    ),
    (
        r"('.*') and ('.*') would both be written to the same URL \((.*?)\)(; (.*) is used in (.*))?",
        lambda m: f"{m[1]} 和 {m[2]} 会写到同一个网址（{m[3]}）" + (f"；{m[5]} 用在 {m[6]}" if m[4] else ""),
    ),
    (
        r"('.*') and ('.*') differ only in upper/lower case \((.*) and (.*?)\): they would be one file on a "
        r"case-insensitive disk \(Windows, macOS, a USB stick\)(; (.*) is used in (.*))?",
        lambda m: (
            f"{m[1]} 和 {m[2]} 只有大小写不同（{m[3]} 和 {m[4]}）：{_CASE}" + (f"；{m[6]} 用在 {m[7]}" if m[5] else "")
        ),
    ),
    (
        r"rename one of them so they differ by more than punctuation or spaces",
        "请改其中一个的名字，使它们不只是标点或空格不同",
    ),
    (r"write them the same way, or rename one of them", "请写成一样的，或改其中一个的名字"),
    # ---- configuration, compare (config.py, compare/) ----
    (r"invalid configuration:\n(.*)", "配置有误：\n{1}"),
    (r"(.*): \[tool\.site_builder\] must be a table", "{1}：[tool.site_builder] 必须是一个表（table）"),
    (r"(.*): cannot read the configuration: (.*)", "{1}：无法读取配置：{2}"),
    (r"(.*) has errors; fix them first \(site-builder check\)", "{1} 有错误；请先改正（site-builder check）"),
    (r"(.*): larger than (\d+) MB; not a speech page", "{1}：大于 {2} MB，不是讲话页面"),
    (r"(.*): cannot read it: (.*)", "{1}：无法读取：{2}"),
    (r"(.*): cannot fetch it: (.*)", "{1}：无法下载：{2}"),
    (
        r"(.*): no such file \(give a speech's \.md file, a page under the output folder, or its URL\)",
        "{1}：没有这个文件（请给出讲话的 .md 文件、输出文件夹中的页面或它的网址）",
    ),
    (r"(.*): is a folder; give a speech's \.md file or page", "{1}：这是文件夹；请给出讲话的 .md 文件或页面"),
    (
        r"content folder (.*) not found: point --content .*",
        "内容文件夹 {1} 不存在：请用 --content（或 pyproject.toml 中的 content_dir）指向存放讲话的文件夹",
    ),
    (
        r"(.*):(\d+): date: (.*); write it as 2020-03-05, 2020-03, 2020 or 2020年3月5日",
        "{1}:{2}: date：{3*}；请写成 2020-03-05、2020-03、2020 或 2020年3月5日",
    ),
    (r"(.*):(\d+): slug: (.*)", "{1}:{2}: slug：{3*}"),
    # ---- the command line ----
    (
        r"No such option '(.*?)'\.(?: Did you mean '(.*)'\?)?",
        lambda m: f"没有选项 {m[1]}" + (f"；是不是想写 {m[2]}？" if m[2] else ""),
    ),
    (r"No such command '(.*)'\.", "没有命令 {1}"),
    (r"Missing argument '(.*)'\.", "缺少参数 {1}"),
    (r"Missing option '(.*)'\.", "缺少选项 {1}"),
    (r"Got unexpected extra arguments? \((.*)\)", "多余的参数（{1}）"),
    (r"Option '(.*)' requires an argument\.", "选项 {1} 需要一个值"),
    (r"Invalid value for (.*?): (.*)", "{1} 的值无效：{2*}"),
    (
        r"(.*) is not in the configured list; did you mean (.*)\? \(known: (.*)\)",
        "{1} 不在配置的列表中；是不是想写 {2}？（可用的值：{3}）",
    ),
    (r"(.*) is not in the configured list \(known: (.*)\)", "{1} 不在配置的列表中（可用的值：{2}）"),
    (
        r"(.*); write it as 2020-03-05, 2020-03, 2020 or 2020年3月5日",
        "{1*}；请写成 2020-03-05、2020-03、2020 或 2020年3月5日",
    ),
    (
        r"--title and --slug apply to one file; for many files give a --metadata sheet",
        "--title 和 --slug 只用于单个文件；多个文件请用 --metadata 元数据表",
    ),
    (
        r"--date (.*) and --force-year (.*) disagree; give one of them",
        "--date {1} 与 --force-year {2} 不一致；请只给其中一个",
    ),
    (r"cannot write (.*?): (.*)", "无法写入 {1}：{2}"),
    (
        r"port (.*) on (.*) is in use; try --port (.*) \(or --port 0\)",
        "{2} 上的端口 {1} 已被占用；请试试 --port {3}（或 --port 0）",
    ),
    (r"cannot listen on (.*?:\S*): (.*)", "无法在 {1} 上监听：{2}"),
    (
        r"--title required when not prompting \(--no-input, or input is not a terminal\)",
        "不提问时（--no-input，或输入不是终端）必须给出 --title",
    ),
    (
        r"--date required when not prompting and the title names no year \(e\.g\. --date 2021-03-05, or "
        r"--date 2021 when only the year is known\)",
        "不提问且标题中没有年份时，必须给出 --date（例如 --date 2021-03-05；只知道年份时写 --date 2021）",
    ),
    (r"The pages of speeches with errors were left as they were\.", "有错误的讲话，其页面保持原样。"),
    (
        r"another build of this output folder is running; waiting for it to finish …",
        "另一个生成过程正在使用这个输出文件夹；正在等它结束……",
    ),
    (r"similarity (.*); wrote (.*)", "相似度 {1}；已写入 {2}"),
    (r"export: 1 speech with errors was left out: (.*)", "export：1 篇有错误的讲话没有导出：{1}"),
    (r"export: (\d+) speeches with errors were left out: (.*)", "export：{1} 篇有错误的讲话没有导出：{2}"),
    (r"export: (\d+) speeches written to (.*)", "export：已把 {1} 篇讲话写入 {2}"),
    (
        r"(.*) already exists \(new never overwrites\); choose another name with --slug",
        "{1} 已经存在（new 从不覆盖文件）；请用 --slug 另取一个名字",
    ),
    (r"(\w+): (.*) \(from the title; check it\)", "{1}: {2}（从标题中读出，请核对）"),
    (r"fill in: (.*) in (.*), then run site-builder check", "请在 {2} 中填写 {1}，然后运行 site-builder check"),
    (
        r"note: new meeting type (.*); did you mean the existing (.*)\?",
        "注意：新的会议类型 {1}；是不是想用已有的 {2}？",
    ),
    (r"note: new theme (.*); did you mean the existing (.*)\?", "注意：新的主题 {1}；是不是想用已有的 {2}？"),
    (r"Aborted\.", "已中止。"),
    (r"Interrupted\.", "已中断。"),
]
