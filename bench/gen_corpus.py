#!/usr/bin/env python3
"""Generate a deterministic benchmark corpus of Chinese speeches (讲话稿) as Markdown + YAML.

    python bench/gen_corpus.py --n 1000 --out bench/.work/corpus-1000 [--seed 1]

Writes ``OUT/<year>/<title>-<NNNN>.md``. The same ``--n`` and ``--seed`` give the same bytes on every
run (and with or without ``--jobs``). Each speech has about 8,000 CJK characters (6,000-10,000),
a full date, a year-month or only a year between 1995 and 2024, one meeting type, 1-3 themes and
optionally a speaker and an organization.

The text is built from a Zipf-weighted vocabulary of a few thousand words and phrases, sentence
templates, and theme-specific vocabulary (a speech about 安全生产 uses safety words far more often),
with occasional sentences from the real seed speeches in ``tests/fixtures/import/seeds/*.txt`` (kept in the
repository). Rare words really are rare: most terms occur in only some documents, so
search benchmarks see realistic posting lists. Standard library only.
"""

from __future__ import annotations

import argparse
import itertools
import os
import re
import shutil
import sys
import time
from pathlib import Path
from random import Random

YEAR_MIN, YEAR_MAX = 1995, 2024
CN_NUM = "一二三四五六七八九十"

# --------------------------------------------------------------------------------------------
# Vocabulary
# --------------------------------------------------------------------------------------------

# Core nouns, roughly most frequent first (they get the highest Zipf weights).
CORE_NOUNS = """
工作 发展 建设 问题 制度 责任 群众 干部 党员 组织 任务 能力 作风 机制 体系 水平 质量
队伍 基层 改革 政策 措施 目标 成效 要求 部署 精神 思想 理论 实践 领导 管理 服务 监督
考核 保障 环境 效率 纪律 规矩 标准 格局 方向 重点 难点 短板 弱项 风险 挑战 机遇 优势
基础 条件 资源 项目 资金 人才 科技 产业 经济 社会 文化 民生 稳定 法治 治理 党性 宗旨
初心 使命 信念 担当 本领 形势 局面 成绩 经验 不足 差距 意识 观念 方法 举措 路径 载体
抓手 平台 渠道 阵地 堡垒 作用 职能 职责 岗位 单位 部门 系统 行业 领域 区域 城乡 乡镇
街道 社区 村庄 企业 学校 医院 机关 窗口 一线 全局 大局 长远 根本 关键 核心 前提 保证
动力 活力 合力 凝聚力 战斗力 执行力 公信力 满意度 获得感 幸福感 安全感 积极性 主动性
创造性 针对性 实效性 系统性 整体性 协同性 规范化 制度化 常态化 长效化 精细化 信息化
标准化 专业化 现代化 班子 骨干 后备力量 先进典型 薄弱环节 突出问题 矛盾纠纷 历史遗留问题
苗头性倾向性问题 体制机制障碍 工作合力 发展后劲 发展质量 发展环境 主体责任 监督责任
第一责任人 分管领导 职能部门 牵头单位 配合单位 上级精神 会议精神 决策部署 重大部署 重点任务
重点工作 重点项目 重点领域 关键环节 基本盘 压舱石 主心骨 顶层设计 时间表 路线图 任务书
责任状 底线 红线 高压线 生命线 着力点 切入点 突破口 结合点 增长点 出发点 落脚点 主攻方向
工作思路 工作方法 工作作风 工作标准 工作效率 工作质量 工作成效 工作短板 工作机制 工作体系
工作格局 实际行动 具体措施 有效办法 长效机制 规章制度 操作规程 岗位职责 考核办法 实施方案
工作方案 行动计划 专项行动 专项整治 集中整治 督查督办 跟踪问效 调查研究 分析研判 统筹协调
督促检查 监督检查 检查考核
""".split()

# Modifier + head compounds: a long tail of a few thousand phrases.
MODIFIERS = """
党建 组织 干部 人才 作风 纪律 制度 思想 理论 宣传 基层 社会 经济 文化 民生 公共 应急
风险 监督 考核 评价 激励 约束 责任 服务 管理 决策 执行 信息 数据 政务 财政 预算 项目
产业 市场 政策 行政 审批 信用 教育 培训 医疗 就业 社保 住房 交通 水利 能源 农业 城市
乡村 区域 开放 创新 质量 统计 审计 巡察 信访 网格 群团 工会 共青团 妇联 机构 编制
后勤 档案 保密 督查 规划 土地 税收 金融 物流 旅游 商贸 消费
""".split()

HEADS = """
体系 机制 制度 能力 水平 建设 工作 队伍 格局 环境 质量 效能 保障 平台 体制 模式 规划
政策 措施 任务 目标 责任 考核 监管 改革 服务 管理 治理 基础 短板 隐患 成效 成果 品牌
阵地 载体 清单 台账 标准 流程 网络 资源 主体 氛围 合力 规范 底数 试点 示范 配套 指标
方案 举措 难题
""".split()

VERBS = """
加强 推进 落实 完善 健全 强化 提升 提高 深化 推动 抓好 抓实 做好 坚持 贯彻 树立 构建
打造 建立 优化 规范 统筹 夯实 巩固 拓展 扩大 增强 激发 防范 化解 破解 解决 整治 保障
维护 引领 带动 培育 壮大 发挥 凝聚 弘扬 践行 学习 领会 把握 研究 部署 谋划 实施 开展
督促 检查 压实 细化 分解 聚焦 围绕 突出 补齐 守住 筑牢 严格 严肃 加快 促进 支持 鼓励
引导 推广 总结 提炼 改进 整合 盘活 协调 衔接 用好 管好 建强 锤炼 涵养 砥砺 净化
规范提升 全面加强 持续深化 扎实推进 认真落实 着力解决 切实加强 大力推进 深入开展
""".split()

ADVERBS = """
切实 扎实 认真 进一步 全面 持续 不断 坚决 着力 大力 积极 主动 努力 始终 牢牢 深入
稳步 有序 有效 加快 全力 更加 坚定不移地 毫不动摇地 一以贯之地 扎扎实实地 实实在在地
坚持不懈地 旗帜鲜明地 自觉
""".split()

SUBJECTS = """
我们 各级党组织 各级领导干部 广大党员干部 各单位 各部门 各地各部门 班子成员 主要负责同志
党员领导干部 基层党组织 纪检监察机关 全市上下 全县上下 全系统 各乡镇（街道） 每一名党员
在座的各位 各级各部门 职能部门 各牵头单位 领导班子 一把手 分管同志 机关各处室 各直属单位
我们每一位同志
""".split()

ADJS = """
重要 突出 明显 显著 有力 有效 深刻 艰巨 复杂 紧迫 关键 根本 长远 现实 重大 基础性
全局性 战略性 根本性 长期性 决定性 持续性 系统性 前瞻性 紧迫性 必要性
""".split()

BASIS = """
基础 保障 前提 关键 抓手 途径 举措 内容 任务 要求 保证 支撑 引擎 基石 环节 手段 标志
体现 方向
""".split()

RESULTS = """
取得了明显成效|取得了新的进展|迈出了坚实步伐|呈现出良好态势|得到了有效提升|实现了新的突破|得到了群众的广泛认可
|保持了平稳向好的态势|总体上是好的|好于预期|稳中有进|逐步完善|明显改善|不断巩固|有了较大提升|走在了全市前列
|得到了上级的充分肯定|基本完成了年初确定的目标任务""".replace("\n", "").split("|")

ENSURE = """
落到实处|取得实效|见到成效|落地见效|有序推进|善始善终|善作善成|不走过场|经得起检验|让群众满意|按期完成|全面完成
""".replace("\n", "").split("|")

NEGATIVES = """
搞变通、打折扣|掉以轻心|敷衍塞责|等待观望|一阵风|走过场|搞形式|避重就轻|上推下卸|满足于开开会、发发文
|只挂帅不出征|说一套做一套|心存侥幸|推诿扯皮|大而化之|浅尝辄止|层层加码|以会议落实会议|以文件落实文件""".replace(
    "\n", ""
).split("|")

PROBLEMS = """
有的同志思想认识不到位|有的单位责任落实不到位|形式主义、官僚主义问题仍然存在|个别干部担当意识不强
|一些制度执行不够严格|工作推进不平衡|部分基层单位基础还比较薄弱|少数同志存在“等靠要”思想
|有的工作停留在会议上、文件中|监督检查的针对性还不强|统筹协调的力度还不够|基础工作还有不少欠账
|群众反映强烈的问题还没有得到根本解决|抓落实的办法还不多|创新意识和创新能力还不够强
|干部队伍结构还不尽合理|考核评价的导向作用发挥得还不充分|有的部门之间衔接配合不够顺畅""".replace("\n", "").split("|")

IDIOMS = """
如履薄冰 恪尽职守 聚精会神 一丝不苟 兢兢业业 实事求是 与时俱进 求真务实 锲而不舍 久久为功
防微杜渐 未雨绸缪 统筹兼顾 因地制宜 迎难而上 真抓实干 攻坚克难 凝心聚力 持之以恒 脚踏实地
雷厉风行 一抓到底 举一反三 标本兼治 以上率下 同心同德 风清气正 担当作为 善始善终 精益求精
踏石留印 抓铁有痕 见微知著 履职尽责 严于律己 慎终如始 任重道远 时不我待 只争朝夕 知难而进
守土有责 守土尽责 如临深渊
""".split()

SLOGANS = """
两个维护|四个意识|四个自信|放管服|最多跑一次|三会一课|一岗双责|三重一大|中央八项规定|四风|两学一做
|不忘初心、牢记使命|马上就办|一线工作法|四下基层|两个责任|三严三实|干部敢为、地方敢闯、企业敢干、群众敢首创
|有权必有责、用权受监督|打铁必须自身硬|功成不必在我|一张蓝图绘到底|绿水青山就是金山银山|人民至上""".replace(
    "\n", ""
).split("|")

# (text, first year it is plausible, last year)
TIMES = [
    ("近年来", 0, 9999),
    ("过去一年", 0, 9999),
    ("今年以来", 0, 9999),
    ("去年以来", 0, 9999),
    ("当前", 0, 9999),
    ("下一步", 0, 9999),
    ("新形势下", 0, 9999),
    ("长期以来", 0, 9999),
    ("多年来", 0, 9999),
    ("在上级党委的正确领导下", 0, 9999),
    ("从目前情况看", 0, 9999),
    ("从这次检查的情况看", 0, 9999),
    ("从近期调研的情况看", 0, 9999),
    ("总体来看", 0, 9999),
    ("进入新时代以来", 2017, 9999),
    ("党的十八大以来", 2013, 9999),
    ("党的十九大以来", 2018, 9999),
    ("党的二十大以来", 2023, 9999),
    ("“十三五”以来", 2016, 2020),
    ("“十四五”开局以来", 2021, 2024),
    ("“十二五”以来", 2011, 2015),
    ("“十一五”以来", 2006, 2010),
    ("“十五”期间", 2001, 2006),
    ("“九五”期间", 1996, 2001),
    ("进入新世纪以来", 2001, 2010),
    ("加入世贸组织以来", 2002, 2008),
]

# Themes: name -> (weight, first year, last year, vocabulary). Vocabulary words are mostly
# specific to the theme, so they are frequent in speeches on that theme and rare elsewhere.
THEMES: dict[str, tuple[float, int, int, str]] = {
    "党风廉政建设": (
        6,
        1995,
        2024,
        """廉洁自律 廉政风险 反腐败斗争 纪律审查 违纪违法 监督执纪 廉政教育 警示教育 廉政谈话
        谈心谈话 八项规定精神 四风问题 权力运行 廉洁从政 利益冲突 吃拿卡要 公款吃喝 违规收送礼品礼金 问责追责
        纪律处分 廉政档案 述职述廉 诫勉谈话 廉洁文化 不敢腐 不能腐 不想腐 权力清单 小微权力 一案双查 以案促改
        红包礼金 廉政承诺 家风建设 领导干部插手工程 利用职权谋取私利""",
    ),
    "队伍建设": (
        5,
        1995,
        2024,
        """队伍素质 业务培训 岗位练兵 年轻干部 梯队建设 干部交流 轮岗交流 选人用人 用人导向
        干部考察 实绩考核 容错纠错 关心关爱 待遇保障 职业荣誉感 专业能力 能力短板 本领恐慌 传帮带 导师制
        后备干部库 干部档案 职级晋升 编制管理 人岗相适 能上能下 谈心制度 政治素质 履职能力 纪律作风""",
    ),
    "基层党建": (
        6,
        1995,
        2024,
        """支部建设 党支部 组织生活 主题党日 发展党员 党员教育管理 流动党员 软弱涣散党组织
        支部书记 党建阵地 党群服务中心 党员活动室 组织生活会 党费收缴 标准化规范化建设 党建引领 两新组织
        党建联建 红色物业 网格党支部 星级评定 党员先锋岗 党员示范岗 政治功能 组织力 党组织覆盖 换届选举""",
    ),
    "乡村振兴": (
        5,
        2017,
        2024,
        """产业振兴 人才振兴 文化振兴 生态振兴 组织振兴 农村人居环境 厕所革命 高标准农田
        农业产业化 村集体经济 宅基地 土地流转 新型农业经营主体 家庭农场 农民专业合作社 乡村旅游 农产品品牌
        美丽乡村 移风易俗 村规民约 驻村第一书记 农村电商 冷链物流 粮食安全 种业 耕地保护 农民增收 一村一品""",
    ),
    "营商环境": (
        4,
        2010,
        2024,
        """市场主体 政务服务 一网通办 一窗受理 审批时限 减税降费 惠企政策 涉企收费
        企业开办 工程建设项目审批 不动产登记 证照分离 告知承诺制 信用监管 双随机一公开 亲清政商关系 中小微企业
        融资难 融资贵 办事效率 容缺受理 帮办代办 营商环境评价 包容审慎监管 市场准入 公平竞争 政商沟通""",
    ),
    "安全生产": (
        5,
        1995,
        2024,
        """安全隐患 隐患排查 事故防范 重大危险源 危险化学品 道路交通安全 消防安全
        建筑施工安全 矿山安全 特种设备 安全生产责任制 三管三必须 安全检查 应急预案 应急演练 应急救援 执法检查
        安全培训 安全投入 安全红线 生产安全事故 较大事故 重特大事故 双重预防机制 风险分级管控 安全生产月
        打非治违 停产整顿 安全监管 企业主体责任 烟花爆竹 燃气安全 自建房安全 有限空间作业""",
    ),
    "生态环境保护": (
        4,
        1998,
        2024,
        """大气污染防治 水污染防治 土壤污染防治 蓝天保卫战 碧水保卫战 净土保卫战 河长制
        湖长制 林长制 污染物排放 环保督察 中央环保督察 黑臭水体 秸秆禁烧 扬尘治理 污水处理 垃圾分类 节能减排
        碳达峰 碳中和 生态修复 植树造林 水源地保护 排污许可 环境质量 PM2.5 空气优良天数 生物多样性 绿色发展""",
    ),
    "科技创新": (
        3,
        1995,
        2024,
        """研发投入 高新技术企业 科技型中小企业 科技成果转化 产学研合作 创新平台 重点实验室
        工程技术研究中心 孵化器 众创空间 关键核心技术 知识产权 专利 数字经济 人工智能 大数据 云计算 物联网 5G
        工业互联网 智能制造 创新生态 科技人才 揭榜挂帅 首台套 新质生产力 创新驱动 技术改造 科技金融""",
    ),
    "意识形态": (
        3,
        2013,
        2024,
        """意识形态工作责任制 舆论引导 网络舆情 新闻宣传 理论学习中心组 宣传思想工作
        网络安全 舆情处置 正面宣传 主旋律 正能量 社会主义核心价值观 思想阵地 讲台 论坛 新媒体 融媒体中心
        错误思潮 政治谣言 价值引领 文化阵地 意识形态风险""",
    ),
    "作风建设": (
        5,
        1995,
        2024,
        """形式主义 官僚主义 文山会海 督查检查考核 调查研究 为基层减负 工作作风 服务意识
        首问负责制 限时办结制 一次性告知 庸懒散拖 慢作为 不作为 乱作为 机关效能 作风纪律 明察暗访 群众路线
        走访群众 为民服务 解决群众急难愁盼 担当精神 钉钉子精神 马上就办 效能建设""",
    ),
    "脱贫攻坚": (
        4,
        2013,
        2021,
        """精准扶贫 精准脱贫 建档立卡 贫困户 贫困村 两不愁三保障 易地扶贫搬迁 产业扶贫
        就业扶贫 教育扶贫 健康扶贫 危房改造 兜底保障 驻村工作队 结对帮扶 东西部协作 扶贫资金 脱贫摘帽 返贫监测
        防止返贫 扶志扶智 消费扶贫 扶贫车间 小额信贷 脱贫成果 退出验收""",
    ),
    "城市管理": (
        3,
        1995,
        2024,
        """城市更新 老旧小区改造 市容市貌 违法建设 占道经营 渣土运输 停车管理 城管执法
        物业管理 垃圾清运 环卫保洁 城市绿化 市政设施 背街小巷 智慧城管 城市精细化管理 文明城市创建 交通拥堵
        海绵城市 地下管网 棚户区改造 城中村改造""",
    ),
    "招商引资": (
        4,
        1995,
        2024,
        """招商项目 签约项目 项目落地 产业链招商 以商招商 驻点招商 招商推介会 投资强度
        亩均效益 开发区 产业园区 标准厂房 要素保障 项目用地 外资 内资 总部经济 龙头企业 产业集群 招商队伍
        项目储备 开工率 投产率 招商引资考核""",
    ),
    "教育工作": (
        3,
        1995,
        2024,
        """义务教育 学前教育 职业教育 高中教育 教师队伍 师德师风 教育均衡 校舍建设
        素质教育 立德树人 双减 课后服务 学生资助 控辍保学 校园安全 教育质量 中考 高考 教育信息化 乡村教师
        集团化办学 学位供给 家校共育""",
    ),
    "医疗卫生": (
        3,
        1995,
        2024,
        """公立医院改革 分级诊疗 家庭医生签约 基层医疗卫生机构 医保基金 医疗服务能力 公共卫生
        健康中国 重大疾病防控 医联体 医共体 卫生院 村卫生室 医务人员 医疗纠纷 药品集中采购 新农合 城乡居民医保
        健康扶贫 爱国卫生运动 慢病管理 妇幼保健""",
    ),
    "民生保障": (
        4,
        1995,
        2024,
        """民生实事 社会保障 养老保险 医疗保险 最低生活保障 特困供养 临时救助 残疾人
        养老服务 居家养老 托育服务 保障性住房 稳就业 高校毕业生就业 农民工工资 劳动保障监察 创业担保贷款
        民生投入 困难群众 低收入人口 社会救助""",
    ),
    "社会治理": (
        4,
        2003,
        2024,
        """网格化管理 矛盾纠纷排查化解 枫桥经验 平安建设 扫黑除恶 社会治安防控体系 群防群治
        综治中心 人民调解 基层治理 自治法治德治 社区治理 社会组织 志愿服务 公共安全 反诈 电信网络诈骗
        重点人员 治安隐患 诉源治理 市域社会治理""",
    ),
    "疫情防控": (
        3,
        2003,
        2023,
        """疫情防控 外防输入 内防反弹 核酸检测 流调溯源 隔离管控 疫苗接种 联防联控
        群防群控 发热门诊 防控物资 常态化防控 应急处置 重点人群 健康码 复工复产 疫情监测 非典 卫生防疫
        防控指挥部 应急响应""",
    ),
    "防汛抗旱": (
        2,
        1995,
        2024,
        """防汛 抗旱 汛期 主汛期 强降雨 山洪灾害 地质灾害 水库安全 堤防 河道清障 防汛物资
        防汛值班 转移避险 抢险救灾 气象预警 水文监测 抗旱保苗 人工增雨 灾后重建 防汛责任人 防汛演练 安全度汛""",
    ),
    "人才工作": (
        3,
        2000,
        2024,
        """人才引进 人才政策 高层次人才 领军人才 青年人才 人才公寓 人才服务 人才工作站
        柔性引才 招才引智 技能人才 工匠精神 人才评价 人才发展环境 人才项目 博士后工作站 人才新政 以才引才
        留才用才""",
    ),
    "文化建设": (
        3,
        1995,
        2024,
        """公共文化服务 文化惠民 文化产业 文化遗产 非物质文化遗产 文物保护 图书馆 文化馆
        农家书屋 全民阅读 文艺精品 文明实践 新时代文明实践中心 精神文明建设 道德模范 文化旅游融合 历史文化
        红色文化 文化市场""",
    ),
    "法治建设": (
        3,
        1998,
        2024,
        """依法行政 法治政府 普法 七五普法 八五普法 法律顾问 合法性审查 行政执法 执法规范化
        行政复议 行政诉讼 公正司法 法治宣传 法治思维 法治方式 法律援助 规范性文件 权责清单 执法监督 尊法学法守法用法""",
    ),
    "国企改革": (
        2,
        1997,
        2024,
        """国有企业 国有资产 国有资本 混合所有制改革 现代企业制度 法人治理结构 董事会建设
        三项制度改革 经理层任期制 契约化管理 瘦身健体 亏损企业治理 僵尸企业 主责主业 国资监管 保值增值 企业党建
        两个一以贯之 市场化经营机制""",
    ),
    "数字政府": (
        2,
        2015,
        2024,
        """数字政府 政务数据 数据共享 数据壁垒 一网统管 政务云 电子证照 掌上办 不见面审批
        数字化转型 智慧城市 信息系统整合 政务服务平台 数据安全 网络安全等级保护 大数据中心 数字乡村 城市大脑""",
    ),
    "信访维稳": (
        3,
        1995,
        2024,
        """信访工作 信访积案 初信初访 重复信访 越级上访 领导干部接访 包案化解 信访秩序
        维稳工作 重点时段 敏感节点 社会稳定风险评估 群体性事件 稳控 源头治理 信访责任制 阳光信访 网上信访""",
    ),
}

MEETING_TYPES = [
    # name, weight
    ("工作会议", 10),
    ("座谈会", 7),
    ("党建工作会议", 5),
    ("推进会", 5),
    ("专题研讨会", 3),
    ("动员大会", 4),
    ("表彰大会", 3),
    ("总结大会", 3),
    ("民主生活会", 3),
    ("培训班开班式", 4),
]

SCOPES = """
全市 全县 全区 全省 市局 全系统 全局 县委 全市系统 市直机关 X局 XX市
""".split()

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟刚勇毅俊峰强军平保东文辉力明永健世广志义兴良海山仁波宁贵福生龙元全国胜学祥才发武新利清飞彬富顺信子杰涛昌成康星光天达安岩中茂进林有坚和彪博诚先敬震振壮会思群豪心邦承乐绍功松善厚庆磊民友裕河哲江超浩亮政谦亨奇固之轮翰朗伯宏言若鸣朋斌梁栋维启克伦翔旭鹏泽晨辰士以建家致树炎德行时泰盛红华丽霞敏燕秀娟英慧巧美娜静淑惠珠翠雅芝玉萍"
ORG_PLACES = ["XX市", "XX县", "XX区", "X市", "X县", "XX省"]
ORG_BODIES = """
委 人民政府 纪委监委 委组织部 委宣传部 应急管理局 发展和改革委员会 生态环境局 农业农村局
教育局 卫生健康委员会 公安局 市场监督管理局 住房和城乡建设局 商务局 科学技术局
人力资源和社会保障局 民政局 司法局 国有资产监督管理委员会 政务服务管理局 信访局 水利局
文化和旅游局 城市管理局 税务局 委政法委 委统战部 直属机关工委
""".split()

# --------------------------------------------------------------------------------------------
# Templates: {S} subject, {A} adverb, {V} verb, {N} noun (theme-biased), {G} general noun,
# {ADJ} adjective, {B} "basis" noun, {T} time phrase, {R} result, {E} ensure, {NEG} negative,
# {P} problem, {I} idiom, {Q} slogan, {TH} the speech's theme name, {Y} year, {PCT} percentage,
# {NUM} amount, {CNT} count, {YPLAN} year in future.
# --------------------------------------------------------------------------------------------

SENTENCES = [
    (10, "{S}要{A}{V}{N}，{V}{N}，{V}{N}。"),
    (8, "{T}，{S}{A}{V}{N}，{N}{R}。"),
    (8, "{N}是{V}{N}的{ADJ}{B}。"),
    (5, "要坚持{N}和{N}相结合，{A}{V}{N}，{A}{V}{N}。"),
    (5, "一是{V}{N}；二是{V}{N}；三是{V}{N}。"),
    (6, "{A}{V}{N}，{A}{V}{N}，{A}{V}{N}，确保{N}{E}。"),
    (3, "必须清醒地看到，{N}方面还存在一些问题，主要表现在：{P}；{P}；{P}。"),
    (5, "{S}要把{N}作为{ADJ}{B}，{A}{V}{N}，{V}{N}。"),
    (4, "对{N}中的问题，要{A}{V}，决不能{NEG}。"),
    (1, "{S}要以{I}的态度{V}{N}，做到{I}、{I}。"),
    (1, "要{I}，{A}{V}{N}，推动{N}{E}。"),
    (4, "要进一步{V}{N}，{V}{N}，切实把{N}{V}好、{V}好。"),
    (4, "在{V}{N}上，要{A}{V}{N}，{V}{N}，不断提升{N}。"),
    (3, "实践证明，只有{A}{V}{N}，才能{V}{N}，{V}{N}。"),
    (3, "这既是{V}{N}的{ADJ}{B}，也是{V}{N}的{ADJ}{B}。"),
    (3, "{S}要牢固树立“{Q}”的理念，{A}{V}{N}。"),
    (2, "要认真落实“{Q}”要求，{A}{V}{N}，坚决防止{NEG}。"),
    (3, "{T}，{TH}工作{R}，但{P}。"),
    (2, "抓{TH}，关键在{N}，重点在{N}，难点在{N}。"),
    (3, "要坚持问题导向，聚焦{N}，{A}{V}{N}，着力解决{N}问题。"),
    (3, "要建立健全{N}，明确{N}，压实{N}，形成{G}。"),
    (2, "要加强对{N}的{V}，对{N}的{V}，对发现的问题要{A}{V}。"),
    (2, "凡是{V}{N}不力的，都要严肃追究责任，决不能{NEG}。"),
    (3, "各单位要结合实际，研究制定{N}，细化{N}，明确时间节点和责任人。"),
    (2, "{T}，{S}{V}了一批{N}，{V}了一批{N}，{N}{R}。"),
    (2, "{Y}年，全市{N}完成投资{NUM}亿元，同比增长{PCT}%，{N}{R}。"),
    (1, "全年共{V}{N}{CNT}个，涉及{N}{CNT}项，{N}{R}。"),
    (1, "到{YPLAN}年，要基本形成{N}，{N}明显提升。"),
    (2, "这些问题，有的是{N}方面的原因，有的是{N}方面的原因，但归根到底是{N}的问题。"),
    (1, "{S}一定要保持{I}的清醒，{A}{V}{N}。"),
    (2, "我们讲{N}，不是一句空话，而是要{A}{V}{N}、{V}{N}。"),
    (2, "要把{V}{N}同{V}{N}结合起来，同{V}{N}结合起来，做到两手抓、两促进。"),
    (2, "要通过{V}{N}，{V}{N}，使{N}真正成为{G}的{B}。"),
    (1, "要统筹抓好{TH}和{OTH}等工作，{A}{V}{N}。"),
]

# Year-restricted sentences (appear only in speeches of those years).
DATED_SENTENCES = [
    (2017, 9999, 0.5, "到2035年，要基本实现{N}现代化，{N}达到新的水平。"),
    (2019, 9999, 0.3, "全年新建5G基站{CNT}个，{N}{R}。"),
    (2000, 9999, 0.15, "全年实现GDP{NUM}亿元，同比增长{PCT}%。"),
    (2021, 9999, 0.4, "要锚定“十四五”目标任务，{A}{V}{N}。"),
    (2016, 2020, 0.4, "要对标“十三五”规划目标，{A}{V}{N}。"),
    (2011, 2015, 0.4, "要围绕“十二五”规划目标，{A}{V}{N}。"),
    (2006, 2010, 0.4, "要围绕“十一五”规划目标，{A}{V}{N}。"),
    (1996, 2000, 0.4, "要围绕“九五”计划目标和2010年远景目标，{A}{V}{N}。"),
    (2012, 9999, 0.4, "要深入推进“互联网+{G}”，{A}{V}{N}。"),
]

SECTION_HEADINGS = [
    (5, "充分认识{TH}工作的重要意义"),
    (3, "提高政治站位，深刻认识做好{TH}工作的{ADJ}"),
    (3, "统一思想，切实增强{V}{N}的责任感和紧迫感"),
    (6, "突出工作重点，{A}{V}{N}"),
    (6, "{V}{N}，{V}{N}"),
    (4, "坚持{N}，{A}{V}{N}"),
    (3, "聚焦{N}，推动{TH}工作再上新台阶"),
    (3, "以{N}为抓手，{A}{V}{N}"),
]
CLOSING_HEADINGS = [
    "加强组织领导，确保各项任务落到实处",
    "强化责任担当，推动工作落地见效",
    "加强作风建设，确保各项工作取得实效",
    "严明工作纪律，确保各项部署落地落实",
]
REVIEW_HEADINGS = [
    "{Y0}年工作回顾",
    "客观分析形势，正确看待{TH}工作取得的成绩和存在的问题",
    "肯定成绩，正视问题，进一步增强做好{TH}工作的信心和决心",
]
SUB_HEADINGS = [
    (6, "{A}{V}{N}"),
    (6, "坚持{N}，{A}{V}{N}"),
    (5, "在{V}{N}上下功夫"),
    (4, "以{N}为抓手，{V}{N}"),
    (4, "{V}{N}，{V}{N}"),
    (3, "{N}是{V}{N}的{ADJ}{B}"),
    (2, "突出{N}，着力{V}{N}"),
]


# --------------------------------------------------------------------------------------------


def zipf_cum(n: int, s: float = 1.0, offset: float = 2.7) -> list[float]:
    acc = 0.0
    out = []
    for r in range(n):
        acc += 1.0 / (r + offset) ** s
        out.append(acc)
    return out


def cum(weights) -> list[float]:
    return list(itertools.accumulate(weights))


def parse_template(t: str) -> tuple:
    parts = re.split(r"\{(\w+)\}", t)
    return tuple(parts)


class Vocab:
    """All vocabulary, built once per corpus (depends only on the seed)."""

    def __init__(self, seed: int, seed_sentences: list[str]):
        rng = Random(f"vocab:{seed}")
        theme_names = set(THEMES)
        core = list(dict.fromkeys(CORE_NOUNS))
        seen = set(core) | theme_names
        # The long tail: modifier + head compounds. A compound's weight is the product of its
        # modifier's Zipf weight and its head's Zipf weight within that modifier, so rare
        # modifiers (信访, 巡察 ...) stay rare as substrings too, not only as whole words.
        mods = list(dict.fromkeys(MODIFIERS))
        rng.shuffle(mods)
        compounds: list[str] = []
        cweights: list[float] = []
        for mi, m in enumerate(mods):
            heads = rng.sample(HEADS, 24)
            for hi, h in enumerate(heads):
                w = m + h
                if w not in seen and m != h:
                    seen.add(w)
                    compounds.append(w)
                    cweights.append(1.0 / (mi + 2) ** 1.1 / (hi + 1.5) ** 1.0)
        core_w = [1.0 / (r + 2.7) ** 1.05 for r in range(len(core))]
        ks, kc = 0.62 / sum(core_w), 0.38 / sum(cweights)
        self.nouns = core + compounds
        self.nouns_cw = cum([w * ks for w in core_w] + [w * kc for w in cweights])
        self.verbs = list(VERBS)
        self.verbs_cw = zipf_cum(len(self.verbs), 0.8)
        self.advs = list(ADVERBS)
        self.advs_cw = zipf_cum(len(self.advs), 0.7)
        self.idioms = list(IDIOMS)
        rng.shuffle(self.idioms)
        self.idioms_cw = zipf_cum(len(self.idioms), 1.0)
        self.themes = {}
        for name, (w, y0, y1, words) in THEMES.items():
            ws = list(dict.fromkeys(words.split()))
            rng.shuffle(ws)
            self.themes[name] = (w, y0, y1, ws, zipf_cum(len(ws), 0.9, 1.5))
        self.sentences = [(w, parse_template(t)) for w, t in SENTENCES]
        self.sent_cw = cum(w for w, _ in self.sentences)
        self.dated = [(y0, y1, w, parse_template(t)) for y0, y1, w, t in DATED_SENTENCES]
        self.sec_heads = [parse_template(t) for _, t in SECTION_HEADINGS]
        self.sec_cw = cum(w for w, _ in SECTION_HEADINGS)
        self.sub_heads = [parse_template(t) for _, t in SUB_HEADINGS]
        self.sub_cw = cum(w for w, _ in SUB_HEADINGS)
        self.seed_sentences = seed_sentences
        self.mt_names = [m for m, _ in MEETING_TYPES]
        self.mt_cw = cum(w for _, w in MEETING_TYPES)
        self.n_words = (
            len(self.nouns)
            + len(self.verbs)
            + len(self.advs)
            + len(self.idioms)
            + sum(len(v[3]) for v in self.themes.values())
        )


def load_seed_sentences(seed_dir: Path | None) -> list[str]:
    if seed_dir is None or not seed_dir.is_dir():
        return []
    out: list[str] = []
    for p in sorted(seed_dir.glob("*.txt")):
        text = p.read_text(encoding="utf-8", errors="replace")
        for line in text.splitlines():
            line = line.strip()
            if not line or "仅供学习参考" in line or line.endswith("讲话") or line == "同志们：":
                continue
            for s in re.findall(r"[^。！？]+[。！？]", line):
                s = s.strip()
                # drop heading-like fragments ("一、…") and very short/very long sentences
                if re.match(r"^[一二三四五六七八九十]+、|^（[一二三四五六七八九十]+）", s):
                    s = re.sub(r"^[一二三四五六七八九十]+、|^（[一二三四五六七八九十]+）", "", s)
                if re.search(r"下面|同志们|点意见|方面的问题|这次会议|今天", s):
                    continue  # sentences that only make sense at the start of a speech
                if 12 <= len(s) <= 160 and s.count("“") == s.count("”"):
                    out.append(s)
    return out


CJK_RUNS = re.compile(r"[\u4e00-\u9fff]+")


def cjk_len(s: str) -> int:
    """Number of CJK unified ideographs in s."""
    return len(s) - len(CJK_RUNS.sub("", s))


class Doc:
    """Generates one speech; everything is drawn from a per-document RNG."""

    POOL = 600

    def __init__(self, v: Vocab, rng: Random, year: int, themes: list[str], mt: str, title: str):
        self.v = v
        self.rng = rng
        self.year = year
        self.themes = themes
        self.mt = mt
        r = rng
        # Pre-drawn pools (much faster than one draw per slot).
        general = r.choices(v.nouns, cum_weights=v.nouns_cw, k=self.POOL * 2)
        theme_words: list[str] = []
        for i, th in enumerate(themes):
            _, _, _, ws, cw = v.themes[th]
            share = 1.0 if i == 0 else 0.5
            theme_words += r.choices(ws, cum_weights=cw, k=int(self.POOL * 0.8 * share))
        # a trickle of words from other themes (cross-topic mentions)
        others = [t for t in v.themes if t not in themes]
        for t in r.sample(others, 3):
            _, _, _, ws, cw = v.themes[t]
            theme_words += r.choices(ws, cum_weights=cw, k=r.randint(1, 12))
        nouns = general + theme_words
        r.shuffle(nouns)
        self.pools = {
            "N": itertools.cycle(nouns),
            "G": itertools.cycle(general[: self.POOL]),
            "V": itertools.cycle(r.choices(v.verbs, cum_weights=v.verbs_cw, k=self.POOL)),
            "A": itertools.cycle(r.choices(v.advs, cum_weights=v.advs_cw, k=self.POOL // 2)),
            "S": itertools.cycle(r.choices(SUBJECTS, k=97)),
            "ADJ": itertools.cycle(r.choices(ADJS, k=89)),
            "B": itertools.cycle(r.choices(BASIS, k=83)),
            "T": itertools.cycle(r.choices([t for t, a, b in TIMES if a <= year <= b], k=79)),
            "R": itertools.cycle(r.choices(RESULTS, k=73)),
            "E": itertools.cycle(r.choices(ENSURE, k=71)),
            "NEG": itertools.cycle(r.choices(NEGATIVES, k=67)),
            "P": itertools.cycle(r.choices(PROBLEMS, k=61)),
            "I": itertools.cycle(r.choices(v.idioms[: r.randint(8, len(v.idioms))], k=59)),
            "Q": itertools.cycle(r.choices(SLOGANS, k=31)),
            "TH": itertools.cycle(r.choices(themes, weights=[3, 1, 1][: len(themes)], k=29)),
            "OTH": itertools.cycle(
                r.sample([t for t, (_, a, b, _) in THEMES.items() if a <= year <= b and t not in themes], 2)
            ),
            "Y": itertools.cycle([str(year - 1), str(year)]),
            "Y0": itertools.cycle([str(year - 1)]),
            "PCT": itertools.cycle([f"{r.uniform(1.5, 15):.1f}" for _ in range(23)]),
            "NUM": itertools.cycle([f"{r.uniform(3, 900):.{r.randint(1, 2)}f}" for _ in range(19)]),
            "CNT": itertools.cycle([str(int(r.paretovariate(1.3) * 12)) for _ in range(17)]),
            "YPLAN": itertools.cycle([str(year + r.randint(2, 12)) for _ in range(7)]),
        }
        dated = [(w, t) for y0, y1, w, t in v.dated if y0 <= year <= y1]
        self.sentences = v.sentences + dated
        self.sent_cw = cum(w for w, _ in self.sentences)
        self.templates = itertools.cycle([p for _, p in r.choices(self.sentences, cum_weights=self.sent_cw, k=997)])
        self.p_seed = 0.012 if v.seed_sentences else 0.0
        self.p_bold = 0.08

    def fill(self, parts: tuple) -> str:
        pools = self.pools
        return "".join([next(pools[p]) if i & 1 else p for i, p in enumerate(parts)])

    def sentence(self) -> str:
        if self.rng.random() < self.p_seed:
            return self.rng.choice(self.v.seed_sentences)
        return self.fill(next(self.templates))

    def paragraph(self, lead: str = "") -> str:
        r = self.rng
        n = r.randint(3, 8)
        sents = [self.sentence() for _ in range(n)]
        if lead:
            if r.random() < self.p_bold:
                lead = f"**{lead}**"
            sents.insert(0, lead)
        return "".join(sents)

    def heading(self, tmpls, cw) -> str:
        (parts,) = self.rng.choices(tmpls, cum_weights=cw)
        return self.fill(parts)

    def opening(self) -> list[str]:
        r = self.rng
        th = self.themes[0]
        mt = self.mt
        y = self.year
        first = {
            "表彰大会": f"今天，我们在这里隆重召开大会，表彰在{th}工作中涌现出来的先进集体和先进个人。首先，我代表领导班子，向受到表彰的先进集体和先进个人表示热烈的祝贺！向奋战在一线的广大干部职工表示衷心的感谢！",
            "民主生活会": f"按照上级关于召开{y}年度领导班子民主生活会的通知要求，会前，我们认真开展学习研讨，广泛征求意见建议，深入开展谈心谈话，认真撰写对照检查材料。下面，我代表领导班子作对照检查，请同志们批评指正。",
            "培训班开班式": f"今天，我们举办{th}专题培训班，主要目的是帮助大家进一步提高认识、更新观念、增强本领。首先，我代表领导班子，对各位学员参加这次培训表示热烈的欢迎！",
            "动员大会": f"今天召开这次动员大会，主要任务是动员全系统上下迅速行动起来，全力以赴打好{th}这场硬仗。",
            "座谈会": f"今天，我们召开这次座谈会，主要是听听大家对{th}工作的意见和建议。刚才，几位同志作了很好的发言，讲得很实在，也很有见地，我都赞成。",
            "总结大会": f"经过一段时间的努力，{th}工作已经基本完成了预定目标任务。今天召开总结大会，主要是总结经验、表彰先进、查找不足，部署下一阶段工作。",
            "推进会": f"今天召开{th}工作推进会，主要是通报前一阶段工作进展情况，分析存在的问题，对下一步工作再动员、再部署、再推进。",
            "专题研讨会": f"这次专题研讨会，主题是{th}。刚才，大家结合各自工作实际，围绕主题作了交流发言，讲得都很好，有思考、有深度，对我很有启发。",
        }.get(
            mt,
            f"这次会议是经研究决定召开的，主要任务是深入贯彻落实上级会议精神，总结{y - 1}年{th}工作，安排部署{y}年工作任务。",
        )
        paras = [first + "".join(self.sentence() for _ in range(r.randint(1, 3)))]
        if r.random() < 0.5:
            paras.append(self.paragraph())
        return paras

    def body(self, target: int) -> str:
        r = self.rng
        n_sec = r.choices([3, 4, 5], weights=[4, 4, 2])[0]
        out = ["同志们："]
        out += self.opening()
        out[-1] += f"下面，我讲{CN_NUM[n_sec - 1]}点意见。"
        subs = [r.randint(2, 4) for _ in range(n_sec)]
        opening_len = sum(cjk_len(p) for p in out)
        per_sub = max(200, (target - opening_len - 400) / sum(subs))
        review = self.mt in ("工作会议", "总结大会", "党建工作会议") and r.random() < 0.6
        for si in range(n_sec):
            if si == 0 and review:
                head = self.fill(parse_template(r.choice(REVIEW_HEADINGS)))
            elif si == n_sec - 1 and r.random() < 0.6:
                head = r.choice(CLOSING_HEADINGS)
            else:
                head = self.heading(self.v.sec_heads, self.v.sec_cw)
            out.append(f"## {CN_NUM[si]}、{head}")
            for ji in range(subs[si]):
                sub = self.heading(self.v.sub_heads, self.v.sub_cw)
                out.append(f"### （{CN_NUM[ji]}）{sub}")
                got = 0
                enumerate_style = r.random() < 0.25
                k = 0
                while got < per_sub - 60:
                    lead = ""
                    if enumerate_style and k < 4:
                        lead = f"{CN_NUM[k]}是要{self.fill(parse_template('{V}{N}'))}。"
                        k += 1
                    p = self.paragraph(lead)
                    got += cjk_len(p)
                    out.append(p)
        th = self.themes[0]
        closing = (
            f"同志们，做好{self.year}年{th}工作，任务艰巨、责任重大。让我们{r.choice(['紧密团结', '团结一心', '振奋精神', '坚定信心'])}，"
            f"{r.choice(['开拓进取', '真抓实干', '攻坚克难', '锐意进取'])}，{self.fill(parse_template('{A}{V}{N}'))}，"
            f"为{r.choice(['推动经济社会高质量发展', '全面完成全年目标任务', '开创各项工作新局面', '建设更高水平的平安和谐社会'])}作出新的更大贡献！"
        )
        out.append(closing)
        return "\n\n".join(out)


def yaml_scalar(s: str) -> str:
    if re.search(r"[:#\[\]{},&*!|>'\"%@`]|^[-?\s]|\s$", s) or s in ("yes", "no", "true", "false", "null", "~"):
        return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return s


def make_title(rng: Random, year: int, mt: str, theme: str) -> str:
    scope = rng.choice(SCOPES)
    yr = ""
    x = rng.random()
    if x < 0.25:
        yr = f"{year}年"
    elif x < 0.35:
        yr = f"{year}年度"
    core = {
        "工作会议": f"{theme}工作会议",
        "座谈会": f"{theme}座谈会",
        "党建工作会议": "党建工作会议" if rng.random() < 0.7 else f"党建暨{theme}工作会议",
        "推进会": f"{theme}工作推进会",
        "专题研讨会": f"{theme}专题研讨会",
        "动员大会": f"{theme}动员大会",
        "表彰大会": f"{theme}先进集体和先进个人表彰大会",
        "总结大会": f"{theme}总结大会",
        "民主生活会": "领导班子民主生活会",
        "培训班开班式": f"{theme}专题培训班开班式",
    }[mt]
    if mt == "民主生活会":
        suffix = rng.choice(["上的对照检查发言", "上的讲话", "上的发言"])
    elif mt in ("座谈会", "专题研讨会"):
        suffix = rng.choice(["上的讲话", "上的发言", "上的讲话"])
    elif mt == "动员大会":
        suffix = rng.choice(["上的讲话", "上的动员讲话"])
    elif mt == "总结大会":
        suffix = rng.choice(["上的讲话", "上的总结讲话"])
    else:
        suffix = "上的讲话"
    return f"在{scope}{yr}{core}{suffix}"


def safe_filename(s: str) -> str:
    return re.sub(r'[\\/:*?"<>|\s]', "", s)


def gen_one(v: Vocab, seed: int, n: int, i: int, people: list[tuple[str, str]]) -> tuple[str, str, int]:
    """Return (relative path, file text, CJK chars of body) for speech i of n."""
    rng = Random(f"doc:{seed}:{n}:{i}")
    year = rng.randint(YEAR_MIN, YEAR_MAX)
    # themes allowed in that year, weighted
    allowed = [(t, w) for t, (w, y0, y1, _) in THEMES.items() if y0 <= year <= y1]
    k = rng.choices([1, 2, 3], weights=[3, 4, 2])[0]
    themes: list[str] = []
    names = [t for t, _ in allowed]
    ws = [w for _, w in allowed]
    while len(themes) < k:
        t = rng.choices(names, weights=ws)[0]
        if t not in themes:
            themes.append(t)
    (mt,) = rng.choices(v.mt_names, cum_weights=v.mt_cw)
    title = make_title(rng, year, mt, themes[0]).replace("工作工作", "工作")
    x = rng.random()
    if x < 0.85:
        month = rng.randint(1, 12)
        day = rng.randint(1, [31, 29 if year % 4 == 0 else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1])
        date = f"{year:04d}-{month:02d}-{day:02d}"
    elif x < 0.95:
        date = f"{year:04d}-{rng.randint(1, 12):02d}"
    else:
        date = f"{year:04d}"
    speaker = org = None
    if rng.random() < 0.75:
        speaker, org = rng.choice(people)
        if rng.random() < 0.3:
            org = None
    elif rng.random() < 0.4:
        org = rng.choice(people)[1]
    target = int(rng.triangular(6150, 9850, 8000))
    doc = Doc(v, rng, year, themes, mt, title)
    body = doc.body(target)
    fm = ["---", f"title: {yaml_scalar(title)}", f"date: {date}", f"meeting_type: {mt}", "themes:"]
    fm += [f"  - {t}" for t in themes]
    if speaker:
        fm.append(f"speaker: {speaker}")
    if org:
        fm.append(f"organization: {yaml_scalar(org)}")
    fm.append("---")
    text = "\n".join(fm) + "\n\n" + body + "\n"
    text = text.replace("工作工作", "工作")  # themes such as 教育工作 inside "{theme}工作"
    width = max(4, len(str(n - 1)))
    rel = f"{year:04d}/{safe_filename(title)}-{i:0{width}d}.md"
    return rel, text, cjk_len(body)


def make_people(seed: int, n: int) -> list[tuple[str, str]]:
    rng = Random(f"people:{seed}:{n}")
    count = max(10, n // 25)
    people = []
    seen = set()
    while len(people) < count:
        name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice([1, 2, 2])))
        if name in seen:
            continue
        seen.add(name)
        org = rng.choice(ORG_PLACES) + rng.choice(ORG_BODIES)
        people.append((name, org))
    return people


def default_seed_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "import" / "seeds"


def _worker(args):
    seed, n, lo, hi, seed_dir, people = args
    v = Vocab(seed, load_seed_sentences(Path(seed_dir) if seed_dir else None))
    return [gen_one(v, seed, n, i, people) for i in range(lo, hi)]


def is_corpus_dir(d: Path) -> bool:
    """True if d contains only year folders of .md files (safe to delete with --clean)."""
    for p in d.iterdir():
        if not (p.is_dir() and re.fullmatch(r"\d{4}", p.name)):
            return False
        for q in p.iterdir():
            if not (q.is_file() and q.suffix == ".md"):
                return False
    return True


def generate(
    n: int,
    out: Path,
    seed: int = 1,
    jobs: int = 1,
    seed_dir: Path | None = None,
    clean: bool = False,
    quiet: bool = False,
) -> dict:
    t0 = time.perf_counter()
    if seed_dir is None:
        seed_dir = default_seed_dir()
    if out.exists() and any(out.iterdir()):
        if not clean:
            raise SystemExit(f"{out} is not empty (use --clean to replace a generated corpus)")
        if not is_corpus_dir(out):
            raise SystemExit(f"{out} holds files that gen_corpus.py did not write; refusing to delete it")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    seeds = load_seed_sentences(seed_dir)
    people = make_people(seed, n)
    if jobs <= 1 or n < 200:
        v = Vocab(seed, seeds)
        results = (gen_one(v, seed, n, i, people) for i in range(n))
        chunks = [results]
    else:
        import multiprocessing as mp

        step = max(1, -(-n // (jobs * 4)))
        tasks = [(seed, n, lo, min(n, lo + step), str(seed_dir) if seeds else None, people) for lo in range(0, n, step)]
        pool = mp.Pool(jobs)
        chunks = pool.imap(_worker, tasks)
    count = chars = cjk = nbytes = 0
    made_dirs: set[str] = set()
    for chunk in chunks:
        for rel, text, body_cjk in chunk:
            d = rel.split("/", 1)[0]
            if d not in made_dirs:
                (out / d).mkdir(exist_ok=True)
                made_dirs.add(d)
            data = text.encode("utf-8")
            p = out / rel
            if p.exists():
                raise RuntimeError(f"duplicate file name {rel}")
            with open(p, "wb") as f:
                f.write(data)
            count += 1
            chars += len(text)
            cjk += body_cjk
            nbytes += len(data)
    if jobs > 1 and n >= 200:
        pool.close()
        pool.join()
    secs = time.perf_counter() - t0
    info = {
        "count": count,
        "chars": chars,
        "cjk_chars": cjk,
        "bytes": nbytes,
        "seconds": round(secs, 2),
        "seed_sentences": len(seeds),
        "out": str(out),
    }
    if not quiet:
        print(
            f"wrote {count} speeches to {out}: {chars:,} characters ({cjk:,} CJK in bodies, "
            f"mean {cjk // max(1, count):,}), {nbytes / 1e6:.1f} MB, {len(made_dirs)} year folders, "
            f"{len(seeds)} seed sentences, in {secs:.1f} s"
        )
    return info


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=1000, help="number of speeches (default 1000)")
    ap.add_argument("--out", type=Path, required=True, help="output folder (must be empty or absent)")
    ap.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    ap.add_argument(
        "--jobs",
        type=int,
        default=min(4, os.cpu_count() or 1),
        help="worker processes (default: number of CPUs, at most 4); output is identical for any value",
    )
    ap.add_argument(
        "--seeds-dir",
        type=Path,
        default=None,
        help="folder of real seed speeches (*.txt); default tests/fixtures/import/seeds",
    )
    ap.add_argument("--clean", action="store_true", help="replace OUT if it holds a previously generated corpus")
    a = ap.parse_args(argv)
    if a.n < 1:
        ap.error("--n must be >= 1")
    generate(a.n, a.out, a.seed, a.jobs, a.seeds_dir, a.clean)
    return 0


if __name__ == "__main__":
    sys.exit(main())
