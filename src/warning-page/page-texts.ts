// The words of the warning page, in English and Simplified Chinese. Written for the person who was
// about to open a fraud site (often while someone on the phone tells them to), not for an engineer:
// short sentences, what the site does in plain words, what to do right now. An operator can
// replace any of them with a template file (page-template.ts).

export const PAGE_LANGUAGES = ['en', 'zh'] as const;
export type PageLanguage = (typeof PAGE_LANGUAGES)[number];

/** Placeholders a text may use; each is filled with an HTML-escaped value. */
export const PAGE_PLACEHOLDERS = ['name', 'list', 'category', 'hotline', 'operator'] as const;

export interface PageTexts {
  /** The html lang attribute and Content-Language. */
  readonly htmlLang: string;
  readonly title: string;
  readonly heading: string;
  /** First paragraph when the blocked name is known: uses {name}. */
  readonly namedIntro: string;
  /** First paragraph when it is not (any other Host). */
  readonly genericIntro: string;
  /** Uses {list} and {category} (the category's description below, or unknownCategory). */
  readonly listLine: string;
  readonly whatNowHeading: string;
  readonly steps: readonly string[];
  /** Uses {hotline}; left out when no --hotline is set. */
  readonly hotlineLine: string;
  /** Uses {operator}; left out when no --operator is set. */
  readonly operatorLine: string;
  readonly reportHeading: string;
  readonly reportText: string;
  /** What a site of each category does, by category name (see categoryKey for the aliases). */
  readonly categories: Readonly<Record<string, string>>;
  /** For a category with no description: uses {category} (the category name). */
  readonly unknownCategory: string;
}

/** Category names lists use for the same thing, mapped to the one the texts describe. */
const CATEGORY_ALIASES: Readonly<Record<string, string>> = {
  scam: 'fraud',
  loan: 'fake-loan',
  'loan-fraud': 'fake-loan',
  job: 'fake-job',
  'job-scam': 'fake-job',
  'task-scam': 'fake-job',
  'fake-part-time': 'fake-job',
  'fake-investment': 'investment',
  'investment-fraud': 'investment',
  'crypto-scam': 'investment',
  'pig-butchering': 'romance',
  'romance-scam': 'romance',
  'fake-customer-service': 'impersonation',
  casino: 'gambling',
};

export function categoryKey(category: string): string {
  return CATEGORY_ALIASES[category] ?? category;
}

export const BUILT_IN_TEXTS: Readonly<Record<PageLanguage, PageTexts>> = {
  en: {
    htmlLang: 'en',
    title: 'Warning: this site was blocked to protect you',
    heading: 'Stop: this site was blocked to protect you',
    namedIntro: 'You tried to open {name}. Your network blocked it because it is known to cheat people.',
    genericIntro: 'Your network blocked the site you tried to open because it is known to cheat people.',
    listLine: 'It is on the list “{list}”: {category}',
    whatNowHeading: 'What to do now',
    steps: [
      'Do not enter passwords, card numbers or verification codes on this site.',
      'Do not send money, and do not pay any “fee”, “deposit” or “unfreezing charge”.',
      'If someone on the phone or in a chat told you to open this site, hang up or stop replying: it is a scam. The police never ask you to move money to a “safe account”.',
      'If you have already paid or shared your details, call your bank now, then call the anti-fraud hotline.',
    ],
    hotlineLine: 'Anti-fraud hotline: {hotline}',
    operatorLine: 'This warning comes from {operator}.',
    reportHeading: 'Blocked by mistake?',
    reportText:
      'If you are sure this site is safe, tell the people who run this network the name shown above and the time you saw this page. They will check it and lift a wrong block.',
    categories: {
      'fake-loan': 'a fake loan: it promises quick money, then asks you to pay “fees”, deposits or “unfreezing charges” first.',
      'fake-job': 'a fake job or task scam: “easy money” for likes, orders or reviews, then you are asked to pay in.',
      investment: 'a fake investment: a trading or crypto platform that shows made-up profits and never lets you take your money out.',
      gambling: 'illegal online gambling: money that goes in does not come back.',
      impersonation: 'impersonation: it pretends to be the police, a bank, a courier, customer service or a government office.',
      phishing: 'phishing: a fake copy of a bank, shop, wallet or login page that steals passwords, card numbers and codes.',
      malware: 'malware: it serves software that takes over your phone or computer.',
      romance: 'a romance scam: someone wins your trust online, then talks you into “investing” or sending money.',
      fraud: 'fraud: a site used to cheat people out of their money.',
    },
    unknownCategory: 'listed as “{category}”.',
  },
  zh: {
    htmlLang: 'zh-CN',
    title: '警告：此网站已被拦截，以保护您的安全',
    heading: '请停下：此网站已被拦截，以保护您的安全',
    namedIntro: '您正要打开 {name}。本网络已将其拦截，因为它是已知的诈骗网站。',
    genericIntro: '您正要打开的网站已被本网络拦截，因为它是已知的诈骗网站。',
    listLine: '它被列入名单“{list}”：{category}',
    whatNowHeading: '现在该怎么做',
    steps: [
      '不要在这个网站上输入密码、银行卡号或验证码。',
      '不要转账，也不要支付任何“手续费”“保证金”或“解冻费”。',
      '如果是电话或聊天中的人让您打开这个网站，请立即挂断或停止回复：这是诈骗。公安机关绝不会要求您把钱转到“安全账户”。',
      '如果您已经付款或透露了个人信息，请立即联系您的银行，然后拨打反诈骗热线。',
    ],
    hotlineLine: '反诈骗热线：{hotline}',
    operatorLine: '此提示来自 {operator}。',
    reportHeading: '拦截错了？',
    reportText: '如果您确定这个网站是安全的，请把上面显示的网址和您看到此页面的时间告诉本网络的管理者，他们会核实并解除错误的拦截。',
    categories: {
      'fake-loan': '虚假贷款：承诺快速放款，却要求先支付“手续费”“保证金”或“解冻费”。',
      'fake-job': '刷单返利、虚假兼职：以点赞、刷单、写评价“轻松赚钱”为诱饵，再要求您垫付资金。',
      investment: '虚假投资理财：交易或数字货币平台显示虚假收益，钱却永远提不出来。',
      gambling: '网络赌博：非法的线上赌博网站，投进去的钱拿不回来。',
      impersonation: '冒充身份：假冒公检法、银行、快递、客服或政府部门。',
      phishing: '钓鱼网站：仿冒银行、购物、钱包或登录页面，窃取密码、卡号和验证码。',
      malware: '恶意软件：提供会控制您手机或电脑的恶意程序。',
      romance: '网络交友诈骗（“杀猪盘”）：先在网上骗取信任，再诱导您“投资”或转账。',
      fraud: '诈骗网站：用来骗取钱财的网站。',
    },
    unknownCategory: '已列入类别“{category}”。',
  },
};
