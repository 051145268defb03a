"""A real DoH/DoT client for the e2e suites: dnspython's dns.query.https / dns.query.tls.

usage: dnspython-client.py https|tls PORT NAME CAFILE [PATH]
prints one JSON line: {"rcode": "NXDOMAIN", "ede": [15, "..."] or null, "answers": ["192.0.2.10", ...]}
"""
import json
import ssl
import sys

import dns.edns
import dns.message
import dns.query
import dns.rcode

mode, port, name, cafile = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
path = sys.argv[5] if len(sys.argv) > 5 else "/dns-query"
query = dns.message.make_query(name, "A", use_edns=0)
if mode == "https":
    response = dns.query.https(query, "127.0.0.1", port=port, path=path, verify=cafile, timeout=5)
else:
    context = ssl.create_default_context(cafile=cafile)
    response = dns.query.tls(query, "127.0.0.1", port=port, ssl_context=context, server_hostname="dns.test", timeout=5)
ede = None
for option in response.options:
    if option.otype == dns.edns.EDE:
        ede = [int(option.code), option.text]
answers = [item.to_text() for rrset in response.answer for item in rrset]
print(json.dumps({"rcode": dns.rcode.to_text(response.rcode()), "ede": ede, "answers": answers}))
