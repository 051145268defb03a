import { listRecords, OPTION_PADDING, skipName, TYPE_OPT } from './message-records.js';
import { HEADER_SIZE } from './wire.js';

/** Responses are padded to a multiple of this many bytes (RFC 8467 §4.1, the recommended block length). */
export const RESPONSE_PADDING_BLOCK = 468;

/** Offset of the first EDNS option of the OPT record starting at `optStart`, and the end of its options. */
function optionsOf(message: Buffer, optStart: number): { from: number; to: number } | undefined {
  const afterName = skipName(message, optStart);
  if (afterName < 0 || afterName + 10 > message.length) return undefined;
  const from = afterName + 10;
  const to = from + message.readUInt16BE(afterName + 8);
  return to <= message.length ? { from, to } : undefined;
}

function hasOption(message: Buffer, from: number, to: number, code: number): boolean {
  for (let pos = from; pos + 4 <= to; pos += 4 + message.readUInt16BE(pos + 2)) {
    if (message.readUInt16BE(pos) === code) return true;
  }
  return false;
}

/** True when the query's OPT record carries a Padding option: the client wants padded answers (RFC 8467 §4). */
export function queryAsksForPadding(query: Buffer): boolean {
  if (query.length < HEADER_SIZE || query.readUInt16BE(10) !== 1 || query.readUInt16BE(4) !== 1) return false;
  const questionEnd = skipName(query, HEADER_SIZE);
  if (questionEnd < 0 || questionEnd + 4 > query.length) return false;
  const opt = questionEnd + 4;
  if (opt + 11 > query.length || query.readUInt16BE(opt + 1) !== TYPE_OPT) return false;
  const options = optionsOf(query, opt);
  return options !== undefined && hasOption(query, options.from, options.to, OPTION_PADDING);
}

/**
 * The response with a Padding option added to its OPT record so that its length is a multiple of
 * `block`. Unchanged when it has no OPT record (the client sent no EDNS), already carries padding,
 * or cannot be read.
 */
export function padResponse(response: Buffer, block = RESPONSE_PADDING_BLOCK): Buffer {
  const records = listRecords(response);
  const opt = records?.find((record) => record.type === TYPE_OPT && record.section === 2);
  if (opt === undefined) return response;
  const optionsEnd = opt.rdataOffset + opt.rdlength;
  if (hasOption(response, opt.rdataOffset, optionsEnd, OPTION_PADDING)) return response;
  const padLength = (block - ((response.length + 4) % block)) % block;
  if (opt.rdlength + 4 + padLength > 0xffff) return response;
  const padded = Buffer.alloc(response.length + 4 + padLength);
  response.copy(padded, 0, 0, optionsEnd);
  padded.writeUInt16BE(OPTION_PADDING, optionsEnd);
  padded.writeUInt16BE(padLength, optionsEnd + 2);
  // The padding bytes stay 0x00 (RFC 7830 §3); whatever followed the OPT record comes after them.
  response.copy(padded, optionsEnd + 4 + padLength, optionsEnd);
  padded.writeUInt16BE(opt.rdlength + 4 + padLength, opt.rdlengthOffset);
  return padded;
}
