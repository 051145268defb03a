#!/usr/bin/env node
// The platform's ceiling for the bench (issue #16): the least a DNS server on node:dgram can do per
// query. It answers every query at once with one fixed A record (192.0.2.1) for the question it was
// asked, so that its answers pass the same checks as a server's: header + question copied, QR and RA
// set, NOERROR, ANCOUNT 1. No parsing beyond the question's end, no cache, no policy, no metrics:
// what it costs per query is Node's receive callback, one Buffer and one send, as fraudwall's warm
// path has at the least. Same socket options as fraudwall's UDP server (src/server/udp-server.ts).
//
//   node bench/lib/node-echo-server.mjs PORT
import dgram from 'node:dgram';

const port = Number(process.argv[2]);
const ANSWER = Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1]);
const socket = dgram.createSocket({
  type: 'udp4',
  recvBufferSize: 4 * 1024 * 1024,
  sendBufferSize: 4 * 1024 * 1024,
  lookup: (address, _options, callback) => callback(null, address, 4),
});

/** Offset past the question (name + type + class), or -1. */
function questionEnd(query) {
  let pos = 12;
  while (pos < query.length && query[pos] !== 0) pos += query[pos] + 1;
  return pos + 5 <= query.length ? pos + 5 : -1;
}

socket.on('message', (query, remote) => {
  if (query.length < 12 || (query[2] & 0x80) !== 0) return;
  const end = questionEnd(query);
  if (end < 0) return;
  const answer = Buffer.allocUnsafe(end + ANSWER.length);
  query.copy(answer, 0, 0, end);
  answer[2] = 0x80 | (query[2] & 0x79); // QR; opcode and RD as asked; AA and TC clear
  answer[3] = 0x80; // RA, NOERROR
  answer.writeUInt32BE(0x0001_0000, 6); // ANCOUNT 1, NSCOUNT 0
  answer.writeUInt16BE(0, 10); // ARCOUNT 0: a client's OPT is not echoed
  ANSWER.copy(answer, end);
  socket.send(answer, remote.port, remote.address);
});
socket.on('error', () => {});
socket.bind(port, '127.0.0.1');
