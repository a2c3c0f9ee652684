#!/usr/bin/env python3
"""Local gateway benchmark: `wisp local start-api` vs serverless-offline (serverless@3 +
serverless-offline@13; Node with --useInProcess and in its default worker-thread mode,
Python) with the same handlers, and nginx serving a static string as the machine's ceiling.

Runs wrk -t2 -c32 and wrk -t1 -c1 against each, samples the memory of each server's process
tree during the -c32 run, and measures the time from launch to the first 200. Prints one
table per round and the ratios against the goals of issue 5. Not run by CI.

Two more configurations bound what a request that crosses two processes (client → gateway →
function → gateway → client, four loopback messages where nginx alone needs two) can reach
on the machine, with no goal: wisp serving a native custom runtime that does no work
(tests/bench/native_runtime.cpp, built as wisp_native_runtime next to the wisp binary), and
nginx as a reverse proxy in front of nginx.

On a shared VM the speed of the whole machine drifts by ±20% within minutes, for the peers
as much as for wisp. With --rounds N (default 3) every configuration runs once per round,
side by side, and each ratio is the median of the N per-round ratios (wisp and its peer
measured minutes apart, not a quarter of an hour apart).

    ./packaging/install-deps.sh --with-bench      # serverless + serverless-offline, wrk, nginx
    cmake --preset release && cmake --build --preset release
    tests/bench/bench_gateway.py [--duration 10] [--rounds 3] [--wisp build/release/cli/wisp]
"""

import argparse
import contextlib
import http.client
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.abspath(os.path.join(HERE, "..", ".."))
PEERS = os.environ.get("WISP_PEERS_DIR", os.path.join(
    os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "wisp-peers"))
ENV = dict(os.environ, AWS_EC2_METADATA_DISABLED="true", AWS_ACCESS_KEY_ID="test",
           AWS_SECRET_ACCESS_KEY="test", AWS_DEFAULT_REGION="us-east-1", NO_COLOR="1")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get_status(port, path):
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        conn.request("GET", path)
        status = conn.getresponse().status
        conn.close()
        return status
    except OSError:
        return None


def wait_200(port, path, proc, timeout=60.0, interval=0.002):
    """Seconds until the first 200 (polling), measured from now."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        if get_status(port, path) == 200:
            return time.monotonic() - start
        time.sleep(interval)
    raise RuntimeError(f"no 200 from :{port}{path} within {timeout}s")


def tree(pid):
    """A process and all its descendants."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with contextlib.suppress(OSError):
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(entry))
    found = []
    stack = [pid]
    while stack:
        p = stack.pop()
        found.append(p)
        stack += children.get(p, [])
    return found


def tree_rss_mb(pid):
    """Resident memory of a process and all its descendants, in MB."""
    total = 0
    for p in tree(pid):
        with contextlib.suppress(OSError):
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
    return total / 1024


def tree_cpu_seconds(pid):
    """CPU time (user + system) of a process and its live descendants, in seconds."""
    ticks = 0
    for p in tree(pid):
        with contextlib.suppress(OSError):
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def cpu_ticks():
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:9]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


def parse_latency(text):
    match = re.match(r"([\d.]+)(us|ms|s|m)", text)
    if match is None:  # wrk prints -nan when no request completed
        raise ValueError(f"wrk latency {text!r}")
    value, unit = match.groups()
    if unit == "m":
        return float(value) * 60000.0
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(url, threads, connections, duration, pid=None, parse=True):
    """Runs wrk; returns (requests/s, p50 ms, p99 ms, non-2xx, peak tree RSS MB)."""
    peak = [0.0]
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            peak[0] = max(peak[0], tree_rss_mb(pid))
            stop.wait(0.25)

    sampler = threading.Thread(target=sample) if pid else None
    if sampler:
        sampler.start()
    cpu_before = tree_cpu_seconds(pid) if pid else 0.0
    busy_before, total_before = cpu_ticks()
    out = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency", url],
                         capture_output=True, text=True).stdout
    cpu = tree_cpu_seconds(pid) - cpu_before if pid else 0.0
    busy_after, total_after = cpu_ticks()
    busy = (busy_after - busy_before) / max(1, total_after - total_before)
    stop.set()
    if sampler:
        sampler.join()
    if not parse:
        return None
    try:
        rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
        p50 = parse_latency(re.search(r"^\s*50%\s+(\S+)", out, re.M).group(1))
        p99 = parse_latency(re.search(r"^\s*99%\s+(\S+)", out, re.M).group(1))
    except (AttributeError, ValueError) as e:
        raise RuntimeError(f"wrk {url} failed ({e}):\n{out}") from e
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:.*", out)
    done = re.search(r"(\d+) requests in", out)
    requests = int(done.group(1)) if done else 0
    return {"rps": rps, "p50": p50, "p99": p99, "bad": int(non2xx.group(1)) if non2xx else 0,
            "errors": errors.group(0) if errors else "", "rss": peak[0],
            # CPU time the server spent per request (its whole process tree): steadier than
            # req/s when the machine's speed drifts, and it says where the time goes.
            "cpu_us": cpu * 1e6 / requests if requests else 0.0,
            # How busy the machine's CPUs were: below 100% the processes wait on each other.
            "busy": busy}


class Server:
    def __init__(self, name, argv, cwd, port, path):
        self.name, self.port, self.path = name, port, path
        self.log = tempfile.TemporaryFile()
        self.started = time.monotonic()
        self.proc = subprocess.Popen(argv, cwd=cwd, env=ENV, stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        wait_200(port, path, self.proc)
        self.first_200 = time.monotonic() - self.started  # launch → first 200

    def url(self):
        return f"http://127.0.0.1:{self.port}{self.path}"

    def stop(self):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.log.close()


def launch(name, argv, cwd, port, path):
    return Server(name, argv, cwd, port, path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of every configuration")
    parser.add_argument("--wisp", default=os.path.join(SOURCE, "build", "release", "cli", "wisp"))
    parser.add_argument("--native-runtime", help="wisp_native_runtime (default: the build tree of --wisp)")
    parser.add_argument("--only", help="comma-separated subset: wisp-node,wisp-python,slso-node-inprocess,"
                                       "slso-node,slso-python,nginx,wisp-native,nginx-proxy")
    args = parser.parse_args()
    args.wisp = os.path.abspath(args.wisp)  # servers run in a scratch directory
    native_runtime = args.native_runtime or os.path.join(
        os.path.dirname(os.path.dirname(args.wisp)), "tests", "wisp_native_runtime")
    for tool in ("wrk", "nginx", "node"):
        if shutil.which(tool) is None and not os.path.exists(f"/usr/sbin/{tool}"):
            sys.exit(f"missing {tool}: ./packaging/install-deps.sh --with-bench")
    serverless = os.path.join(PEERS, "serverless", "node_modules", "serverless", "bin", "serverless.js")
    have_slso = os.path.exists(serverless)
    if not have_slso:
        print("serverless-offline missing (./packaging/install-deps.sh --with-bench): wisp and nginx only")

    work = tempfile.mkdtemp(prefix="wisp-bench-")
    for name in ("handler.js", "handler.py", "template.yaml", "serverless.yml", "native.yaml"):
        shutil.copy(os.path.join(HERE, "gateway", name), work)
    if have_slso:
        os.symlink(os.path.join(PEERS, "serverless", "node_modules"), os.path.join(work, "node_modules"))
    os.makedirs(os.path.join(work, "native"))
    have_native = os.access(native_runtime, os.X_OK)
    if have_native:
        shutil.copy(native_runtime, os.path.join(work, "native", "bootstrap"))
    else:
        print(f"{native_runtime} missing (cmake --build ... --target wisp_native_runtime): no wisp-native")

    def wisp(*extra):
        port = free_port()
        return [args.wisp, "local", "start-api", "--port", str(port), "--no-watch", *extra], port

    def slso(*extra):
        port = free_port()
        return ["node", serverless, "offline", "--host", "127.0.0.1", "--httpPort", str(port),
                "--lambdaPort", str(free_port()), "--noPrependStageInUrl", *extra], port

    nginx_dir = os.path.join(work, "nginx")
    os.makedirs(os.path.join(nginx_dir, "logs"))
    nginx_port = free_port()
    proxy_port = free_port()
    def nginx_conf(name, server):
        with open(os.path.join(nginx_dir, name + ".conf"), "w") as f:
            f.write(f"""worker_processes 2;
pid {nginx_dir}/{name}.pid;
error_log {nginx_dir}/logs/error.log;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {nginx_dir}; proxy_temp_path {nginx_dir}; fastcgi_temp_path {nginx_dir};
  uwsgi_temp_path {nginx_dir}; scgi_temp_path {nginx_dir};
  {server}
}}
""")

    def hello_server(port):
        return f'server {{ listen 127.0.0.1:{port}; location / {{ return 200 "hello world"; }} }}'

    nginx_conf("nginx", hello_server(nginx_port))
    backend_port = free_port()
    nginx_conf("backend", hello_server(backend_port))
    nginx_conf("proxy", f"""upstream hello {{ server 127.0.0.1:{backend_port}; keepalive 64; }}
  server {{ listen 127.0.0.1:{proxy_port};
           location / {{ proxy_pass http://hello; proxy_http_version 1.1; proxy_set_header Connection ""; }} }}""")
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"

    configs = [
        ("wisp-node", lambda: wisp(), "/node"),
        ("wisp-python", lambda: wisp(), "/python"),
        ("slso-node-inprocess", lambda: slso("--useInProcess"), "/node"),
        ("slso-node", lambda: slso(), "/node"),
        ("slso-python", lambda: slso(), "/python"),
        ("nginx", lambda: ([nginx, "-p", nginx_dir, "-c", "nginx.conf", "-g", "daemon off;"], nginx_port), "/"),
        ("wisp-native", lambda: wisp("--template", "native.yaml"), "/native"),
        # Two nginx, as wisp's gateway and its workers are two sets of processes (one nginx
        # serving both halves was slower: 0.31 of the ceiling where two reached 0.33-0.45).
        ("nginx-proxy", lambda: (["sh", "-c", f'{nginx} -p {nginx_dir} -c backend.conf -g "daemon off;" & '
                                  f'exec {nginx} -p {nginx_dir} -c proxy.conf -g "daemon off;"'], proxy_port), "/"),
    ]
    only = set(args.only.split(",")) if args.only else None
    rounds = []  # one {name: result} per round
    for number in range(1, max(1, args.rounds) + 1):
        print(f"-- round {number}/{args.rounds}", flush=True)
        results = {}
        for name, make, path in configs:
            if only and name not in only:
                continue
            if (name.startswith("slso") and not have_slso) or (name == "wisp-native" and not have_native):
                continue
            argv, port = make()
            server = launch(name, argv, work, port, path)
            try:
                wrk(server.url(), 2, 32, 3, parse=False)  # warm every worker up
                c32 = wrk(server.url(), 2, 32, args.duration, server.proc.pid)
                c1 = wrk(server.url(), 1, 1, args.duration)
                results[name] = {"c32": c32, "c1": c1, "first_200": server.first_200}
                print(f"{name:<20} c32 {c32['rps']:>9.0f} req/s p50 {c32['p50']:6.2f} ms p99 {c32['p99']:7.2f} ms "
                      f"rss {c32['rss']:6.0f} MB cpu/req {c32['cpu_us']:5.0f} us busy {c32['busy']:4.0%} | c1 {c1['rps']:>8.0f} req/s p99 {c1['p99']:6.2f} ms | "
                      f"first 200 {server.first_200 * 1000:6.0f} ms {c32['errors']} "
                      f"{'non-2xx ' + str(c32['bad']) if c32['bad'] else ''}", flush=True)
            finally:
                server.stop()
        rounds.append(results)

    # Time to the first 200 with a warm-started Python function (median of 5).
    first = []
    for _ in range(5):
        argv, port = wisp("--warm-containers", "EAGER")
        server = launch("wisp-eager", argv, work, port, "/python")
        first.append(server.first_200)
        server.stop()
    first.sort()
    eager_first = first[len(first) // 2]
    print(f"wisp --warm-containers EAGER: first 200 from launch, median of 5: {eager_first * 1000:.0f} ms "
          f"(all: {', '.join(f'{t * 1000:.0f}' for t in first)})")

    def ratio(a, b, key, run="c32"):
        values = []
        for results in rounds:
            if a in results and b in results:
                x, y = results[a][run][key], results[b][run][key]
                values.append(x / y)
        return statistics.median(values) if values else None

    print(f"\nRatios (median of {len(rounds)} per-round ratios, this machine):")
    checks = []

    def show(label, value, goal, better_high=True):
        if value is None:
            print(f"  {label}: n/a")
            return
        met = value >= goal if better_high else value <= goal
        checks.append(met)
        print(f"  {label}: {value:.2f} (goal {'≥' if better_high else '≤'} {goal:g}) {'MET' if met else 'MISSED'}")

    show("Node req/s, wisp / serverless-offline --useInProcess (c32)", ratio("wisp-node", "slso-node-inprocess", "rps"), 3)
    show("Node p99, wisp / serverless-offline --useInProcess (c32)", ratio("wisp-node", "slso-node-inprocess", "p99"), 1 / 3, False)
    show("Node req/s, wisp / serverless-offline worker threads (c32)", ratio("wisp-node", "slso-node", "rps"), 3)
    show("Python req/s, wisp / serverless-offline (c32)", ratio("wisp-python", "slso-python", "rps"), 3)
    show("Python memory, wisp / serverless-offline (c32 peak RSS)", ratio("wisp-python", "slso-python", "rss"), 0.1, False)
    show("Node req/s, wisp / nginx ceiling (c32)", ratio("wisp-node", "nginx", "rps"), 0.25)
    show("Python req/s, wisp / nginx ceiling (c32)", ratio("wisp-python", "nginx", "rps"), 0.25)
    show("Node req/s, wisp / serverless-offline --useInProcess (c1)", ratio("wisp-node", "slso-node-inprocess", "rps", "c1"), 1)
    show("First 200 with EAGER (s)", eager_first, 0.150, False)
    for label, a, b in (("Node", "wisp-node", "slso-node-inprocess"), ("Python", "wisp-python", "slso-python")):
        value = ratio(a, b, "cpu_us")
        if value is not None:
            print(f"  {label} server CPU per request (whole process tree), wisp / serverless-offline (c32): "
                  f"{value:.2f} (no goal)")
    for label, name in (("wisp with a native runtime that does no work", "wisp-native"),
                        ("nginx as a reverse proxy to nginx", "nginx-proxy")):
        value = ratio(name, "nginx", "rps")
        if value is not None:
            print(f"  Bound of a request through two processes, {label} / nginx (c32): {value:.2f} (no goal)")
    slso_first = [r["slso-node-inprocess"]["first_200"] for r in rounds if "slso-node-inprocess" in r]
    if slso_first:
        print(f"  serverless-offline first 200 (node, in-process): {statistics.median(slso_first) * 1000:.0f} ms")
    shutil.rmtree(work, ignore_errors=True)
    print(f"\n{sum(checks)}/{len(checks)} goals met")


if __name__ == "__main__":
    main()
