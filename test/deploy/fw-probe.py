#!/usr/bin/env python3
"""Listen on, and probe, the ports of a firewall ruleset (scripts/test-deploy.sh).

  fw-probe.py serve tcp:443,udp:3478,...      listen on 0.0.0.0 (UDP echoes) until killed
  fw-probe.py probe SRC DST tcp:443 udp:3478  from source address SRC: prints "<spec> open|closed"
"""
import selectors
import socket
import sys

TIMEOUT = 0.8


def serve(specs):
    sel = selectors.DefaultSelector()
    for spec in specs.split(','):
        proto, port = spec.split(':')
        kind = socket.SOCK_STREAM if proto == 'tcp' else socket.SOCK_DGRAM
        s = socket.socket(socket.AF_INET, kind)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(('0.0.0.0', int(port)))
        if proto == 'tcp':
            s.listen(16)
        sel.register(s, selectors.EVENT_READ, proto)
    print('ready', flush=True)
    while True:
        for key, _ in sel.select():
            s = key.fileobj
            if key.data == 'tcp':
                c, _ = s.accept()
                c.close()
            else:
                data, peer = s.recvfrom(2048)
                s.sendto(data, peer)


def probe(src, dst, specs):
    for spec in specs:
        proto, port = spec.split(':')
        kind = socket.SOCK_STREAM if proto == 'tcp' else socket.SOCK_DGRAM
        s = socket.socket(socket.AF_INET, kind)
        s.settimeout(TIMEOUT)
        s.bind((src, 0))
        try:
            if proto == 'tcp':
                s.connect((dst, int(port)))
            else:
                s.sendto(b'probe', (dst, int(port)))
                s.recvfrom(2048)
            result = 'open'
        except OSError:
            result = 'closed'
        finally:
            s.close()
        print(f'{spec} {result}', flush=True)


if __name__ == '__main__':
    if sys.argv[1] == 'serve':
        serve(sys.argv[2])
    else:
        probe(sys.argv[2], sys.argv[3], sys.argv[4:])
