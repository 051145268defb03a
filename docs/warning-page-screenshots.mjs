// Regenerates docs/warning-page-en.png and docs/warning-page-zh.png, the pictures of the warning
// page in the README: the page server from dist/ with the built-in texts, opened by Debian's
// chromium at phone width. Needs `npm run build`, `chromium` and, for the Chinese glyphs,
// `fonts-noto-cjk` (without it the DOM is right but the picture shows empty boxes).
//   npm run build && npm exec -- node docs/warning-page-screenshots.mjs
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { parseList } from '../dist/policy/parse-list.js';
import { Policy } from '../dist/policy/policy.js';
import { BUILT_IN_TEXTS } from '../dist/warning-page/page-texts.js';
import { WarningPageServer } from '../dist/warning-page/warning-page-server.js';

const policy = new Policy([parseList('# category: fake-loan\nquick-loan.test\n', { name: 'fraud', kind: 'block' })], 1);
const server = await WarningPageServer.start(
  { host: '127.0.0.1', port: 0, family: 4 },
  { texts: BUILT_IN_TEXTS, hotline: 'tel:96110', operator: 'Example City Anti-Fraud Centre', policy: () => policy },
);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--host-resolver-rules=MAP quick-loan.test 127.0.0.1, MAP * ~NOTFOUND'],
});
try {
  for (const [locale, language] of [['en-US', 'en'], ['zh-CN', 'zh']]) {
    const context = await browser.newContext({ locale, viewport: { width: 480, height: 900 } });
    const page = await context.newPage();
    await page.goto(`http://quick-loan.test:${server.port}/apply`);
    const file = fileURLToPath(new URL(`warning-page-${language}.png`, import.meta.url));
    await page.screenshot({ path: file, fullPage: true });
    console.log(`wrote ${file}`);
    await context.close();
  }
} finally {
  await browser.close();
  await server.close();
}
