// Checks that need more than one setting, or a setting's meaning rather than its form. They run
// after every single value has been read, so the operator gets these problems together.
import { isIP } from 'node:net';
import { edeTextProblems, edeTextTemplate } from './ede-text.js';
import { hotlineProblem } from './hotline.js';
import type { Config } from './options.js';

/**
 * EDNS option codes clients send for their own reasons (RFC 7871 ECS, RFC 7873 cookies, RFC 7830
 * padding, NSID, keepalive…): taking one as the SDE signal would answer ordinary queries with JSON.
 * 15 (EDE) stays allowed: an empty EDE option is how earlier drafts signalled SDE support.
 */
const SDE_FORBIDDEN_CODES = new Set([3, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]);

export function combinationProblems(config: Config): string[] {
  const problems: string[] = [];
  if (config.sinkholeIpv4 !== '' && isIP(config.sinkholeIpv4) !== 4) {
    problems.push(`--sinkhole-ipv4: "${config.sinkholeIpv4}" is not an IPv4 address (or leave it empty for NODATA)`);
  }
  if (config.sinkholeIpv6 !== '' && isIP(config.sinkholeIpv6) !== 6) {
    problems.push(`--sinkhole-ipv6: "${config.sinkholeIpv6}" is not an IPv6 address (or leave it empty for NODATA)`);
  }
  if (config.blockMode === 'sinkhole' && config.sinkholeIpv4 === '' && config.sinkholeIpv6 === '') {
    problems.push('--block-mode sinkhole needs --sinkhole-ipv4 and/or --sinkhole-ipv6 (the address serving the warning page)');
  }
  if (config.hotline !== '') {
    const problem = hotlineProblem(config.hotline);
    if (problem !== undefined) problems.push(`--hotline: ${problem}`);
  }
  for (const problem of edeTextProblems(edeTextTemplate(config), config.hotline)) problems.push(`--ede-text: ${problem}`);
  if (config.sdeOptionCode !== 0) {
    if (SDE_FORBIDDEN_CODES.has(config.sdeOptionCode)) {
      problems.push(`--sde-option-code: ${config.sdeOptionCode} is an EDNS option clients send for other purposes; pick the code your clients use for SDE`);
    }
    if (config.hotline === '') problems.push('--sde-option-code needs --hotline: the contact ("c") of a Structured DNS Error is mandatory');
  }
  return problems;
}
