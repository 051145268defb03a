// Structured DNS Errors (draft-ietf-dnsop-structured-dns-error): the EXTRA-TEXT of EDE 15 as a
// small I-JSON object a client can show or log. Built once per list, category and reason, never
// per query.

/** The draft's sub-error codes used here: 1 malware, 2 phishing, 6 "DNS operator policy". */
export function subErrorFor(category: string): number {
  if (category === 'phishing') return 2;
  if (category === 'malware') return 1;
  return 6;
}

export interface StructuredErrorFields {
  /** Contact URI ("c"), e.g. tel:96110; mandatory in the draft. */
  readonly contact: string;
  /** Justification ("j"). */
  readonly justification: string;
  /** Sub-error ("s"). */
  readonly subError: number;
  /** Organisation ("o"); omitted when empty. */
  readonly organization: string;
  /** Language of j and o ("l"). */
  readonly language: string;
}

/**
 * The JSON variants from largest to smallest: everything; without the free text ("j" and "o"),
 * which is what the draft lets a server leave out when the answer would not fit.
 */
export function structuredErrorTexts(fields: StructuredErrorFields): readonly [full: string, reduced: string] {
  const full: Record<string, unknown> = { c: [fields.contact], j: fields.justification, s: fields.subError };
  if (fields.organization !== '') full['o'] = fields.organization;
  full['l'] = fields.language;
  const reduced = { c: [fields.contact], s: fields.subError, l: fields.language };
  return [JSON.stringify(full), JSON.stringify(reduced)];
}
