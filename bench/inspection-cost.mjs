#!/usr/bin/env node
// What answer inspection costs per upstream answer, measured in-process on the real code (no DNS
// sockets, so the figure does not depend on how busy the shared machine's network path is; it
// still shares the CPU: take the best of several passes).
//
//   npm run build && node bench/inspection-cost.mjs [--names 200000] [--prefixes 10000] [--answers 200000]
//
// Policy: N random blocked names + P answer-IP /24 prefixes (as `npm run bench` loads them), the
// verdict LRU of the defaults (100,000) in front. Answers, each with a question name never seen
// before (every one a cold-path answer):
//   a       `q.bench.test A 192.0.2.1` (what the bench's upstream answers)
//   cname2  two CNAMEs to unique names, then an A (a cloaked name's shape)
//   https   an HTTPS record with a TargetName and ipv4hint/ipv6hint
// Prints ns per answer for AnswerInspection.judge (walk + verdicts + prefix searches) and, for
// scale, ns per answer for the layout walk the response cache already does on every insert.
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { TLDS } from './lib/gen.mjs';
import { prng, randomLabel } from './lib/util.mjs';

const dist = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'dist');
const load = (p) => import(pathToFileURL(path.join(dist, p)).href);

export async function measureInspectionCost({ names = 200_000, prefixes = 10_000, answers = 200_000, passes = 5 } = {}) {
  const { parseList } = await load('policy/parse-list.js');
  const { Policy } = await load('policy/policy.js');
  const { PolicyStore } = await load('policy/policy-store.js');
  const { VerdictCache } = await load('policy/verdict-cache.js');
  const { Synthesizer } = await load('dns/synthesizer.js');
  const { BlockAnswers } = await load('resolver/block-answers.js');
  const { AnswerInspection } = await load('resolver/answer-inspection.js');
  const { layoutOf } = await load('cache/answer-layout.js');
  const { parseQuery } = await load('dns/wire.js');

  const rand = prng(0x1a5e);
  const blocked = Array.from({ length: names }, () => `${randomLabel(rand, 8, 14)}.${TLDS[Math.floor(rand() * TLDS.length)]}`);
  const ips = Array.from({ length: prefixes }, (_, i) => `10.${i >> 8}.${i & 0xff}.0/24`);
  const lists = [parseList(blocked.join('\n'), { name: 'fraud', kind: 'block' }), parseList(ips.join('\n'), { name: 'ips', kind: 'block' })];
  const store = new PolicyStore(new Policy(lists, 1), new VerdictCache({ verdictCacheSize: 100_000 }));
  const { loadConfig } = await load('config/load-config.js');
  const config = loadConfig({ flags: {}, env: {} });
  const inspection = new AnswerInspection(store, new BlockAnswers(config, new Synthesizer(config.ednsUdpSize)));

  const name = (s) => Buffer.concat([...s.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])), Buffer.from([0])]);
  const rr = (owner, type, rdata) => {
    const fixed = Buffer.alloc(10);
    fixed.writeUInt16BE(type, 0);
    fixed.writeUInt16BE(1, 2);
    fixed.writeUInt32BE(300, 4);
    fixed.writeUInt16BE(rdata.length, 8);
    return Buffer.concat([owner, fixed, rdata]);
  };
  const header = (an) => Buffer.from([0, 1, 0x81, 0x80, 0, 1, 0, an, 0, 0, 0, 0]);
  const ptr = Buffer.from([0xc0, 12]);
  const a = Buffer.from([192, 0, 2, 1]);
  function message(kind, i) {
    const q = `q${i}.bench.test`;
    const question = Buffer.concat([name(q), Buffer.from([0, kind === 'https' ? 65 : 1, 0, 1])]);
    if (kind === 'a') return { q, buf: Buffer.concat([header(1), question, rr(ptr, 1, a)]) };
    if (kind === 'cname2') {
      const hop = `hop${i}.cdn.example`;
      const target = `edge${i}.cdn.example`;
      return { q, buf: Buffer.concat([header(3), question, rr(ptr, 5, name(hop)), rr(name(hop), 5, name(target)), rr(name(target), 1, a)]) };
    }
    const params = Buffer.concat([Buffer.from([0, 4, 0, 4]), a, Buffer.from([0, 6, 0, 16]), Buffer.alloc(16, 0x20)]);
    return { q, buf: Buffer.concat([header(1), question, rr(ptr, 65, Buffer.concat([Buffer.from([0, 1]), name(`svc${i}.cdn.example`), params]))]) };
  }

  const results = {};
  for (const kind of ['a', 'cname2', 'https']) {
    let best = Infinity;
    let bestLayout = Infinity;
    for (let pass = 0; pass < passes; pass++) {
      const batch = Array.from({ length: answers }, (_, i) => message(kind, pass * answers + i));
      const queries = batch.map(({ q }) => {
        const packet = Buffer.concat([Buffer.from([0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]), name(q), Buffer.from([0, kind === 'https' ? 65 : 1, 0, 1])]);
        const parsed = parseQuery(packet);
        if (!parsed.ok) throw new Error('bad query');
        return parsed.query;
      });
      // The question's verdict is in the LRU already on the real path (the policy element asked first).
      for (const query of queries) store.verdict(query.name);
      let t = performance.now();
      let hits = 0;
      for (let i = 0; i < batch.length; i++) if (inspection.judge(queries[i], batch[i].buf, batch[i].buf.length) !== undefined) hits++;
      best = Math.min(best, ((performance.now() - t) * 1e6) / answers);
      if (hits !== 0) throw new Error(`${hits} answers blocked: the bench answers must be clean`);
      t = performance.now();
      for (const { buf } of batch) layoutOf(buf);
      bestLayout = Math.min(bestLayout, ((performance.now() - t) * 1e6) / answers);
    }
    results[kind] = { inspectNs: Math.round(best), layoutNs: Math.round(bestLayout) };
  }
  return results;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({ options: { names: { type: 'string' }, prefixes: { type: 'string' }, answers: { type: 'string' } } });
  const opts = { names: Number(values.names ?? 200_000), prefixes: Number(values.prefixes ?? 10_000), answers: Number(values.answers ?? 200_000) };
  const results = await measureInspectionCost(opts);
  console.log(`answer inspection per upstream answer (${opts.names.toLocaleString('en')} names, ${opts.prefixes.toLocaleString('en')} prefixes, best of 5 passes of ${opts.answers.toLocaleString('en')} answers):`);
  console.log('| answer | inspection ns | for scale: the cache layout walk ns |');
  console.log('|---|---:|---:|');
  for (const [kind, r] of Object.entries(results)) console.log(`| ${kind} | ${r.inspectNs} | ${r.layoutNs} |`);
}
