#!/usr/bin/env python3
"""Small helpers for bench/run.sh (stdlib only).

  benchlib.py ports N                 print N free 127.0.0.1 TCP ports, space-separated
  benchlib.py config DIR PORT CPORT   write DIR/server.hcl (single-node Raft in DIR/raft), print its path
  benchlib.py get JSON KEY [DEFAULT]  print one top-level field of a JSON object (a list: its sum)
  benchlib.py metric SERVER REP CASE NAME VALUE UNIT BETTER   print one metric JSON line
  benchlib.py raw SERVER REP CASE JSON                        print one raw-data JSON line
  benchlib.py error SERVER REP CASE MESSAGE                   print one error JSON line
  benchlib.py server NAME BIN VERSION                         print one server-description JSON line
  benchlib.py mount ADDR TOKEN        enable kv v2 at secret/ (as dev mode does); print the HTTP status
  benchlib.py rss PID                 print VmRSS of PID in MiB
  benchlib.py capture < WRK-OUTPUT    merge the CAPTURE lines of bench/lua/capture.lua into one JSON object
  benchlib.py capture-msg JSON        one line of text from that object (the first non-2xx answer)
  benchlib.py errsum JSON             sum of the err_* fields of a wrk JSON line
  benchlib.py errtext JSON            the non-zero err_* fields of a wrk JSON line, as text
"""
import json, os, socket, sys

RUN = os.environ.get('BENCH_RUN', '')


def free_ports(n):
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.bind(('127.0.0.1', 0))
        socks.append(s)
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


# One configuration for both servers: the same file is given to `bao server -config=` and
# `coffer server -config=`.
CONFIG = '''storage "raft" {{
  path    = "{raft}"
  node_id = "node1"{extra}
}}

listener "tcp" {{
  address         = "127.0.0.1:{port}"
  cluster_address = "127.0.0.1:{cport}"
  tls_disable     = true
}}

api_addr      = "http://127.0.0.1:{port}"
cluster_addr  = "https://127.0.0.1:{cport}"
disable_mlock = true
ui            = false
'''


def write_config(d, port, cport):
    raft = os.path.join(d, 'raft')
    os.makedirs(raft, exist_ok=True)
    path = os.path.join(d, 'server.hcl')
    with open(path, 'w') as f:
        # RAFT_PERF_MULT=1: OpenBao's tightest Raft timers (its default is 5)
        pm = os.environ.get('RAFT_PERF_MULT', '')
        extra = f'\n  performance_multiplier = {int(pm)}' if pm else ''
        f.write(CONFIG.format(raft=raft, port=port, cport=cport, extra=extra))
    return path


def main(argv):
    cmd, args = argv[0], argv[1:]
    if cmd == 'ports':
        print(' '.join(map(str, free_ports(int(args[0])))))
    elif cmd == 'config':
        print(write_config(args[0], int(args[1]), int(args[2])))
    elif cmd == 'get':
        default = args[2] if len(args) > 2 else ''
        try:
            v = json.loads(args[0]).get(args[1])
        except (ValueError, AttributeError):
            v = None
        if isinstance(v, list):
            v = sum(v)
        print(default if v is None else (json.dumps(v) if isinstance(v, (dict, bool)) else v))
    elif cmd == 'metric':
        server, rep, case, name, value, unit, better = args
        print(json.dumps({'type': 'metric', 'run': RUN, 'server': server, 'rep': int(rep), 'case': case,
                          'metric': name, 'value': float(value), 'unit': unit, 'better': better}))
    elif cmd == 'raw':
        server, rep, case, data = args
        try:
            data = json.loads(data)
        except ValueError:
            pass
        print(json.dumps({'type': 'raw', 'run': RUN, 'server': server, 'rep': int(rep), 'case': case, 'data': data}))
    elif cmd == 'error':
        server, rep, case, msg = args
        print(json.dumps({'type': 'error', 'run': RUN, 'server': server, 'rep': int(rep), 'case': case,
                          'message': msg}))
    elif cmd == 'server':
        print(json.dumps({'type': 'server', 'run': RUN, 'server': args[0], 'bin': args[1], 'version': args[2]}))
    elif cmd == 'mount':
        sys.path.insert(0, os.environ['SHARED_BENCH'])
        from baohttp import req
        s, _, _, _ = req(args[0], 'POST', '/v1/sys/mounts/secret', token=args[1],
                         body={'type': 'kv', 'options': {'version': '2'}}, timeout=30)
        print(s)
    elif cmd == 'rss':
        with open(f'/proc/{args[0]}/status') as f:
            for line in f:
                if line.startswith('VmRSS:'):
                    print(f'{int(line.split()[1]) / 1024:.1f}')
    elif cmd == 'capture':
        caps = [json.loads(x[len('CAPTURE '):]) for x in sys.stdin if x.startswith('CAPTURE ')]
        by_status = {}
        for c in caps:
            for k, v in c['by_status'].items():
                by_status[k] = by_status.get(k, 0) + v
        print(json.dumps({'non2xx': sum(c['non2xx'] for c in caps), 'by_status': by_status,
                          'first': [f for c in caps for f in c['first']][:2]}))
    elif cmd == 'capture-msg':
        d = json.loads(args[0])
        if not d.get('first'):
            print(f"no non-2xx answer in the rerun ({d.get('non2xx', '?')} seen)")
        else:
            f = d['first'][0]
            req = f['request'].strip().replace('\r\n', ' | ')
            print(f"{d['non2xx']} non-2xx answers {d['by_status']}; first: HTTP {f['status']} to [{req}], "
                  f"body {f['body'].strip()}")
    elif cmd == 'errsum':
        r = json.loads(args[0])
        print(sum(v for k, v in r.items() if k.startswith('err_')))
    elif cmd == 'errtext':
        r = json.loads(args[0])
        print(', '.join(f'{k[4:]} {v}' for k, v in r.items() if k.startswith('err_') and v))
    else:
        raise SystemExit(__doc__)


if __name__ == '__main__':
    main(sys.argv[1:])
