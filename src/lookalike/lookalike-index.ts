// The index of protected domains and the judge that asks whether a name imitates one of them.
//
// Built once per policy from the protect lists, then only read. Every test is a few hash lookups,
// never a loop over the protected domains:
//   byLabel       exact label → domains         (the same name under another suffix: tld-swap)
//   bySkeleton    confusable skeleton → domains (homoglyphs, IDN or ASCII such as rn/m, 1/l, 0/o)
//   byDeletion    label with up to k characters deleted → domains, k the distance bound of the label
//                 (a symmetric-deletion index: two labels within distance k share a string reached
//                 by at most k deletions from each, so the query's own deletions find every candidate,
//                 which is then checked with the real distance)
//   bySkeletonDeletion  the same over skeletons (an IDN homoglyph plus one more edit)
//   byToken       skeleton of every label long enough to be a token → domains
//   embedded      skeletons of labels of 7+ letters, found inside longer labels (--protect-embedded)
import { parse } from 'tldts';
import type { LookalikeFinding, LookalikeTest } from '../query/rule.js';
import { deletionKeys } from './deletion-hash.js';
import { EmbeddedNames } from './embedded-names.js';
import { distanceWithin } from './edit-distance.js';
import { TLDTS_OPTIONS, type ProtectedDomain } from './protected-domain.js';
import { decodeLabel, isNonAscii, skeleton } from './skeleton.js';

/** Labels shorter than this are never compared by distance: too many real names sit 1 edit from `visa`. */
export const MIN_DISTANCE_LENGTH = 5;
/** From this length on, 2 edits are allowed (1 below). */
export const TWO_EDITS_LENGTH = 9;
/** Protected labels shorter than this are not looked for as tokens (`ups` is in too many names). */
export const MIN_TOKEN_LENGTH = 4;
/**
 * Protected labels shorter than this are not looked for inside longer labels (--protect-embedded):
 * at 6 letters `crypto`, `google`, `canada` flag dozens of news and fan sites (README, Figures).
 */
export const MIN_EMBEDDED_LENGTH = 7;

/** How many edits a label of this length may be away from a protected label. */
export function distanceBound(length: number): number {
  return length < MIN_DISTANCE_LENGTH ? 0 : length < TWO_EDITS_LENGTH ? 1 : 2;
}

export interface JudgeOptions {
  /** protect-tld-swaps: flag the protected label under another public suffix. */
  readonly protectTldSwaps: boolean;
  /** protect-embedded: flag a protected label of 7+ letters inside a longer label (`binancebonus`). */
  readonly protectEmbedded?: boolean;
}

type Bucket = Map<string, ProtectedDomain[]>;
/** Deletion index: hash of a deletion string (deletion-hash.ts) → domains. */
type HashBucket = Map<number, ProtectedDomain[]>;

function add<K>(bucket: Map<K, ProtectedDomain[]>, key: K, entry: ProtectedDomain): void {
  const entries = bucket.get(key);
  if (entries === undefined) bucket.set(key, [entry]);
  else if (!entries.includes(entry)) entries.push(entry);
}

/** Files `entry` under the key of `text` and of every string `bound` deletions or fewer away from it. */
function addDeletionKeys(index: HashBucket, text: string, bound: number, entry: ProtectedDomain): void {
  const { keys, count } = deletionKeys(text, bound >= 2 ? 2 : 1);
  for (let k = 0; k < count; k++) add(index, keys[k]!, entry);
}

export class LookalikeIndex {
  /** Registrable domains protected: they and their subdomains are never judged. */
  private readonly domains = new Set<string>();
  private readonly byLabel: Bucket = new Map();
  private readonly bySkeleton: Bucket = new Map();
  private readonly byDeletion: HashBucket = new Map();
  private readonly bySkeletonDeletion: HashBucket = new Map();
  private readonly byToken: Bucket = new Map();
  private readonly embedded: EmbeddedNames<ProtectedDomain>;
  /** Longest and shortest label with a distance bound: queries outside [min-2, max+2] skip the distance tests. */
  private minDistanceLength = Infinity;
  private maxDistanceLength = 0;

  constructor(entries: readonly ProtectedDomain[]) {
    for (const entry of entries) {
      if (this.domains.has(entry.domain)) continue; // first list wins
      this.domains.add(entry.domain);
      add(this.byLabel, entry.label, entry);
      add(this.bySkeleton, entry.skeleton, entry);
      const bound = distanceBound(entry.label.length);
      if (bound > 0) {
        this.minDistanceLength = Math.min(this.minDistanceLength, entry.label.length);
        this.maxDistanceLength = Math.max(this.maxDistanceLength, entry.label.length);
        addDeletionKeys(this.byDeletion, entry.label, bound, entry);
        addDeletionKeys(this.bySkeletonDeletion, entry.skeleton, bound, entry);
      }
      if (entry.label.length >= MIN_TOKEN_LENGTH) add(this.byToken, entry.skeleton, entry);
    }
    // By skeleton, so a homoglyph inside the longer word is found too; the length bound is the
    // label's (`amazon`'s skeleton `arnazon` is 7 letters). First list wins, as for the other tests.
    this.embedded = new EmbeddedNames(
      [...this.bySkeleton].flatMap(([key, entries]) => (entries[0]!.label.length >= MIN_EMBEDDED_LENGTH ? [[key, entries[0]!] as const] : [])),
    );
  }

  /** Protected domains in the index. */
  get size(): number {
    return this.domains.size;
  }

  /** Keys held in the maps (a memory and build-cost indicator). */
  get keys(): number {
    return this.byLabel.size + this.bySkeleton.size + this.byDeletion.size + this.bySkeletonDeletion.size + this.byToken.size;
  }

  isProtected(domain: string): boolean {
    return this.domains.has(domain);
  }

  /**
   * Does `name` (a wire name: lower-case ASCII, no trailing dot) imitate a protected domain?
   * Names whose registrable domain is protected (the domain itself and its subdomains), names
   * without a registrable domain (`localhost`, `github.io`) and reverse names are never flagged.
   */
  judge(name: string, options: JudgeOptions): LookalikeFinding | undefined {
    const parsed = parse(name, TLDTS_OPTIONS);
    const domain = parsed.domain;
    const suffix = parsed.publicSuffix;
    const rawLabel = parsed.domainWithoutSuffix;
    if (domain === null || suffix === null || rawLabel === null || rawLabel === '' || suffix.endsWith('arpa')) return undefined;
    if (this.domains.has(domain)) return undefined;
    const label = decodeLabel(rawLabel);

    // The label of a protected domain under another suffix (amazon.co.uk for amazon.com) is judged
    // by the TLD-swap test alone: brands own their name in many countries.
    const same = this.byLabel.get(label);
    if (same !== undefined) return options.protectTldSwaps ? this.finding('tld-swap', same[0]!, domain) : undefined;

    const labelSkeleton = skeleton(label);
    if (isNonAscii(label)) {
      // An IDN label that looks like a protected one is a homoglyph, whatever its edit distance.
      const homoglyph = this.bySkeleton.get(labelSkeleton);
      if (homoglyph !== undefined) return this.finding('homoglyph', homoglyph[0]!, domain);
    }
    const near = this.nearest(label, this.byDeletion, (entry) => entry.label);
    if (near !== undefined) return this.finding('edit-distance', near.entry, domain, { distance: near.distance });
    const lookalike = this.bySkeleton.get(labelSkeleton);
    if (lookalike !== undefined) return this.finding('homoglyph', lookalike[0]!, domain);
    // Skeleton distance only where the skeleton differs from the label (an IDN, or rn/0/1 in ASCII).
    const nearSkeleton = labelSkeleton === label ? undefined : this.nearest(labelSkeleton, this.bySkeletonDeletion, (entry) => entry.skeleton);
    if (nearSkeleton !== undefined) return this.finding('homoglyph', nearSkeleton.entry, domain);
    // The labels before the public suffix, as they came on the wire: the token and embedded tests read them.
    const labels = name.slice(0, name.length - suffix.length - 1).split('.');
    return this.tokenFinding(labels, domain) ?? (options.protectEmbedded === true ? this.embeddedFinding(labels, domain) : undefined);
  }

  /** A protected label of 7+ letters inside a longer label of the name, compared by skeleton. */
  private embeddedFinding(labels: readonly string[], domain: string): LookalikeFinding | undefined {
    for (const rawLabel of labels) {
      const match = this.embedded.find(skeleton(decodeLabel(rawLabel)));
      if (match !== undefined) return this.finding('embedded', match.value, domain, { token: match.value.label });
    }
    return undefined;
  }

  /** The protected entry closest to `key` within its distance bound, by the deletion index. */
  private nearest(key: string, index: HashBucket, text: (entry: ProtectedDomain) => string): { entry: ProtectedDomain; distance: number } | undefined {
    const length = key.length;
    // A label within 2 edits of one with a bound is at most 2 shorter or longer than it.
    if (length < this.minDistanceLength - 2 || length > this.maxDistanceLength + 2 || length < MIN_DISTANCE_LENGTH - 1) return undefined;
    let best: ProtectedDomain | undefined;
    let bestDistance = Infinity;
    let checked: ProtectedDomain[] | undefined;
    // Two deletions are needed only to reach labels that allow two edits.
    const { keys, count } = deletionKeys(key, length >= TWO_EDITS_LENGTH - 2 ? 2 : 1);
    for (let k = 0; k < count && bestDistance > 1; k++) {
      const candidates = index.get(keys[k]!);
      if (candidates === undefined) continue;
      for (const entry of candidates) {
        if (checked?.includes(entry)) continue;
        (checked ??= []).push(entry);
        const distance = distanceWithin(key, text(entry), distanceBound(entry.label.length));
        if (distance !== undefined && distance > 0 && distance < bestDistance) {
          best = entry;
          bestDistance = distance;
        }
      }
    }
    return best === undefined ? undefined : { entry: best, distance: bestDistance };
  }

  /**
   * A protected label as a whole token of the name: the labels before the public suffix, split at
   * dots and hyphens (`paypal-secure.com`, `login.paypal.com.verify-id.top`), compared by skeleton;
   * or spelled across the dot before the registrable label (`pay.pal.com`).
   */
  private tokenFinding(labels: readonly string[], domain: string): LookalikeFinding | undefined {
    // The protected label split by a dot (`pay.pal.com`): the last two labels before the suffix, joined.
    if (labels.length >= 2) {
      const split = `${decodeLabel(labels[labels.length - 2]!)}.${decodeLabel(labels[labels.length - 1]!)}`;
      const entries = this.byLabel.get(split.replace('.', ''));
      if (entries !== undefined && split.length > MIN_TOKEN_LENGTH) return this.finding('token', entries[0]!, domain, { token: split });
    }
    for (const rawLabel of labels) {
      const label = decodeLabel(rawLabel);
      for (const token of label.split('-')) {
        if (token.length < MIN_TOKEN_LENGTH) continue;
        const entries = this.byToken.get(skeleton(token));
        if (entries !== undefined) return this.finding('token', entries[0]!, domain, { token });
      }
    }
    return undefined;
  }

  private finding(test: LookalikeTest, entry: ProtectedDomain, registrableDomain: string, extra: { distance?: number; token?: string } = {}): LookalikeFinding {
    return Object.freeze({ test, protectedDomain: entry.domain, list: entry.list, category: entry.category, registrableDomain, ...extra });
  }
}

/** The EDE text and log phrase of a finding, e.g. `lookalike of paypal.com (edit distance 1)`. */
export function describeLookalike(finding: LookalikeFinding): string {
  const how =
    finding.test === 'edit-distance'
      ? `edit distance ${finding.distance}`
      : finding.test === 'homoglyph'
        ? 'homoglyph'
        : finding.test === 'token'
          ? `contains "${finding.token}"`
          : finding.test === 'embedded'
            ? `"${finding.token}" inside a longer word`
            : `same name under another suffix`;
  return `lookalike of ${finding.protectedDomain} (${how})`;
}
