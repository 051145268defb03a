// Rebuilds bench/lookalike/data/legit-domains.txt, the legitimate-domain set of the lookalike
// quality benchmark, from its two sources (run once by hand; the result is committed):
//   1. top-sites 1.1.222 (npm, MIT): the Moz top 500 domains, top-sites.json
//   2. EasyList (CC BY-SA 3.0 / GPLv3), as bundled by Debian's webext-ublock-origin-firefox
//      1.67.0+dfsg-1~deb12u1, assets/thirdparties/easylist/easylist.txt: the sites named by its
//      site-specific element-hiding rules (`site.com##.ad`), i.e. real, much-visited publishers
//      whose pages EasyList maintainers had to fix.
// Both reduced to registrable domains (tldts, ICANN + private suffixes), sorted, deduplicated.
//
//   node bench/lookalike/make-legit-set.mjs TOP_SITES_JSON EASYLIST_TXT > bench/lookalike/data/legit-domains.txt
import { readFileSync } from 'node:fs';
import { getDomain } from 'tldts';

const [topSitesFile, easylistFile] = process.argv.slice(2);
if (!topSitesFile || !easylistFile) {
  process.stderr.write('usage: make-legit-set.mjs TOP_SITES_JSON EASYLIST_TXT\n');
  process.exit(2);
}
const options = { allowPrivateDomains: true };
const top = new Set();
for (const { rootDomain } of JSON.parse(readFileSync(topSitesFile, 'utf8'))) {
  const domain = getDomain(rootDomain, options);
  if (domain) top.add(domain);
}
const easylist = new Set();
for (const line of readFileSync(easylistFile, 'utf8').split('\n')) {
  const match = /^([a-z0-9.,~*-]+)#[@?]?#/.exec(line.trim());
  if (!match) continue;
  for (const site of match[1].split(',')) {
    if (site.startsWith('~') || site.includes('*')) continue;
    const domain = getDomain(site, options);
    if (domain) easylist.add(domain);
  }
}
const all = [...new Set([...top, ...easylist])].sort();
process.stdout.write(
  `# Legitimate domains for the lookalike quality benchmark: ${all.length} registrable domains.\n` +
    `# ${top.size} from top-sites 1.1.222 (npm, MIT; the Moz top 500) and ${easylist.size} named by EasyList's\n` +
    '# site-specific element-hiding rules (CC BY-SA 3.0; Debian webext-ublock-origin-firefox 1.67.0+dfsg-1~deb12u1).\n' +
    '# This file is a derivative of EasyList and is shared under CC BY-SA 3.0. Rebuilt by make-legit-set.mjs.\n' +
    `${all.join('\n')}\n`,
);
