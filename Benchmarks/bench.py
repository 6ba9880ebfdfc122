#!/usr/bin/env python3
"""RouteHost benchmark driver (started by Benchmarks/run.sh, which builds the binaries first).

Starts the servers on 127.0.0.1 (routehost, the fake downloader, a bare Hummingbird route, nginx),
drives them with wrk and curl, samples routehost's memory from /proc, runs the in-process
microbenchmarks and the Python jsonschema reference, then prints one table and writes a JSON file.
Every process it starts is stopped at the end, also on Ctrl-C or SIGTERM.

Usage: bench.py --bin BIN_DIR [--repo DIR] [--duration S] [--quick] [--only SECTIONS] [--out FILE]
"""

import argparse
import atexit
import datetime
import http.client
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import urllib.parse
import time

API_KEY = "bench-key-0123456789abcdef"
VIDEO_URL = "https://www.youtube.com/watch?v=dQw4w9WgXcQ"
GIB = 1 << 30
MIB = 1 << 20

# glibc malloc settings that stop the heap top from being trimmed and regrown at every burst of
# requests. Used where two instances are compared (rate limiter on/off, 10 vs 1,000 routes),
# because otherwise each instance's heap history (not the code compared) decides up to ±40 %;
# the authenticate section measures the effect itself.
MALLOC_STEADY = {"MALLOC_TRIM_THRESHOLD_": str(128 * 1024 * 1024), "MALLOC_TOP_PAD_": str(64 * 1024 * 1024)}

CHILDREN = []  # (name, Popen) of every process started, stopped in reverse order at exit


def log(message):
    print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# Processes


def stop_process(proc, name="", grace=5.0, sig=signal.SIGTERM):
    if proc.poll() is not None:
        return
    try:
        proc.send_signal(sig)
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        log(f"  {name} (pid {proc.pid}) did not stop in {grace}s: SIGKILL")
        proc.kill()
        proc.wait(timeout=5)
    except ProcessLookupError:
        pass


def stop_all():
    while CHILDREN:
        name, proc = CHILDREN.pop()
        stop_process(proc, name, grace=3.0)


def on_signal(signum, _frame):
    log(f"signal {signum}: stopping every process started")
    stop_all()
    sys.exit(128 + signum)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A child process that prints `... listening on 127.0.0.1:PORT` when ready."""

    def __init__(self, name, argv, env=None, workdir=None, ready_pattern=r"listening on 127\.0\.0\.1:(\d+)", logdir="."):
        self.name = name
        self.logpath = os.path.join(logdir, f"{name}.log")
        self.logfile = open(self.logpath, "wb")
        self.started = time.monotonic()
        self.proc = subprocess.Popen(argv, stdout=self.logfile, stderr=subprocess.STDOUT, env=env, cwd=workdir)
        CHILDREN.append((name, self.proc))
        self.port = None
        if ready_pattern:
            self.port = self.wait_for(ready_pattern)

    @property
    def pid(self):
        return self.proc.pid

    def wait_for(self, pattern, timeout=30.0):
        deadline = time.monotonic() + timeout
        regex = re.compile(pattern)
        while time.monotonic() < deadline:
            with open(self.logpath, "rb") as f:
                text = f.read().decode("utf-8", "replace")
            match = regex.search(text)
            if match:
                return int(match.group(1))
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n{text[-2000:]}")
            time.sleep(0.01)
        raise RuntimeError(f"{self.name} did not print /{pattern}/ within {timeout}s")

    def stop(self, grace=5.0):
        stop_process(self.proc, self.name, grace)
        if (self.name, self.proc) in CHILDREN:
            CHILDREN.remove((self.name, self.proc))
        self.logfile.close()


# ---------------------------------------------------------------------------------------------
# HTTP helpers


def request(port, method, path, body=None, headers=None, timeout=30.0):
    """One request on a new connection; returns (status, body bytes)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        data = json.dumps(body).encode() if isinstance(body, (dict, list)) else body
        hdrs = dict(headers or {})
        if data is not None:
            hdrs.setdefault("Content-Type", "application/json")
        conn.request(method, path, body=data, headers=hdrs)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def wait_http(port, path="/health", timeout=30.0, interval=0.002):
    """Polls until `path` answers 200; returns the seconds waited."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        try:
            status, _ = request(port, "GET", path, timeout=1.0)
            if status == 200:
                return time.monotonic() - start
        except OSError:
            pass
        time.sleep(interval)
    raise RuntimeError(f"127.0.0.1:{port}{path} not ready within {timeout}s")


def fake_stats(fake):
    return json.loads(request(fake.port, "GET", "/_bench/stats")[1])


# ---------------------------------------------------------------------------------------------
# wrk


def to_ms(text):
    match = re.match(r"([\d.]+)(us|ms|s|m)$", text.strip())
    if not match:
        return None
    value, unit = float(match.group(1)), match.group(2)
    return value * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def lua_script(workdir, name, method="GET", body=None, headers=None):
    path = os.path.join(workdir, f"{name}.lua")
    lines = [f'wrk.method = "{method}"']
    if body is not None:
        text = json.dumps(body, separators=(",", ":"))
        lines.append(f"wrk.body = [==[{text}]==]")
        lines.append('wrk.headers["Content-Type"] = "application/json"')
    for key, value in (headers or {}).items():
        lines.append(f'wrk.headers["{key}"] = "{value}"')
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def cpu_seconds(pid):
    """utime + stime of a process (all threads), in seconds."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def wrk(url, connections, duration, script=None, threads=2, pid=None):
    """One wrk run; with `pid`, also the CPU that process used (100 % = one core)."""
    cpu_before, wall_before = (cpu_seconds(pid), time.monotonic()) if pid else (None, None)
    argv = ["wrk", f"-t{min(threads, connections)}", f"-c{connections}", f"-d{duration}s", "--latency", "--timeout", "10s"]
    if script:
        argv += ["-s", script]
    argv.append(url)
    out = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 60).stdout
    result = {"connections": connections, "duration_s": duration}
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    result["rps"] = float(match.group(1)) if match else 0.0
    for pct in ("50", "75", "90", "99"):
        match = re.search(rf"^\s+{pct}%\s+(\S+)", out, re.M)
        result[f"p{pct}_ms"] = to_ms(match.group(1)) if match else None
    match = re.search(r"(\d+) requests in", out)
    result["requests"] = int(match.group(1)) if match else 0
    match = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    result["non_2xx"] = int(match.group(1)) if match else 0
    match = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    result["socket_errors"] = sum(int(g) for g in match.groups()) if match else 0
    if cpu_before is not None:
        cpu_after = cpu_seconds(pid)
        if cpu_after is not None:
            result["server_cpu_percent"] = round((cpu_after - cpu_before) / (time.monotonic() - wall_before) * 100)
    if result["rps"] == 0.0:
        log(f"  wrk printed:\n{out}")
    return result


# ---------------------------------------------------------------------------------------------
# Memory of a process


def proc_status(pid):
    values = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(("VmRSS:", "VmHWM:", "RssAnon:")):
                    key, value = line.split(":", 1)
                    values[key] = int(value.split()[0]) * 1024
    except OSError:
        pass
    return values


class MemorySampler:
    """Samples VmRSS of `pid` every few milliseconds; resets VmHWM first (clear_refs 5)."""

    def __init__(self, pid, interval=0.005):
        self.pid, self.interval = pid, interval
        self.peak = 0
        self.peak_anon = 0
        self.samples = 0
        self._stop = threading.Event()
        try:
            with open(f"/proc/{pid}/clear_refs", "w") as f:
                f.write("5")
            self.hwm_reset = True
        except OSError:
            self.hwm_reset = False
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            status = proc_status(self.pid)
            self.peak = max(self.peak, status.get("VmRSS", 0))
            self.peak_anon = max(self.peak_anon, status.get("RssAnon", 0))
            self.samples += 1
            time.sleep(self.interval)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self.thread.join()
        if self.hwm_reset:
            self.peak = max(self.peak, proc_status(self.pid).get("VmHWM", 0))


def idle_rss(pid, settle=1.0):
    time.sleep(settle)
    return proc_status(pid).get("VmRSS", 0)


# ---------------------------------------------------------------------------------------------
# Streams with curl


def curl_stream(port, path, body, headers=None):
    argv = ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code} %{size_download} %{speed_download} %{time_total}",
            "-X", "POST", "-H", "Content-Type: application/json", "--data-binary", json.dumps(body)]
    for key, value in (headers or {}).items():
        argv += ["-H", f"{key}: {value}"]
    argv.append(f"http://127.0.0.1:{port}{path}")
    return subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)


def curl_result(proc):
    out, _ = proc.communicate(timeout=600)
    code, size, speed, total = out.split()
    return {"status": int(code), "bytes": int(size), "bytes_per_s": float(speed), "seconds": float(total)}


def streams(port, path, headers, count, size, pid=None):
    """`count` concurrent curl downloads; returns aggregate MB/s over the wall time, and peak RSS."""
    body = {"url": VIDEO_URL, "quality": "highest"}
    sampler = MemorySampler(pid) if pid else None
    if sampler:
        sampler.__enter__()
    cpu_before = cpu_seconds(pid) if pid else None
    start = time.monotonic()
    procs = [curl_stream(port, path, body, headers) for _ in range(count)]
    results = [curl_result(p) for p in procs]
    wall = time.monotonic() - start
    if sampler:
        sampler.__exit__()
    complete = all(r["status"] == 200 and r["bytes"] == size for r in results)
    total = sum(r["bytes"] for r in results)
    out = {"streams": count, "bytes_each": size, "complete": complete, "wall_s": round(wall, 3),
           "mb_per_s": round(total / wall / 1e6, 1)}
    if count == 1:
        out["mb_per_s"] = round(results[0]["bytes_per_s"] / 1e6, 1)
    if not complete:
        out["statuses"] = sorted({r["status"] for r in results})
        out["bytes"] = [r["bytes"] for r in results]
    if cpu_before is not None:
        out["server_cpu_percent"] = round((cpu_seconds(pid) - cpu_before) / wall * 100)
    if sampler:
        out["peak_rss_bytes"] = sampler.peak
        out["peak_rss_anon_bytes"] = sampler.peak_anon
        out["rss_samples"] = sampler.samples
    return out


# ---------------------------------------------------------------------------------------------
# Manifests


def scale_manifest(directory, routes, per_module=10):
    modules = []
    for m in range((routes + per_module - 1) // per_module):
        count = min(per_module, routes - m * per_module)
        modules.append({"name": f"m{m}", "plugin": "toolkit", "prefix": f"/m{m}",
                        "routes": [{"method": "GET", "path": f"/r{r}", "handler": "authenticate"} for r in range(count)]})
    path = os.path.join(directory, f"routes-{routes}.json")
    with open(path, "w") as f:
        json.dump({"version": 1, "modules": modules}, f, indent=1)
    return path


# ---------------------------------------------------------------------------------------------
# The run


class Bench:
    def __init__(self, args):
        self.args = args
        self.bin = os.path.abspath(args.bin)
        self.repo = os.path.abspath(args.repo)
        self.work = tempfile.mkdtemp(prefix="routehost-bench-")
        self.duration = args.duration
        self.results = {}
        self.notes = []
        self.servers = {}

    def binary(self, name):
        return os.path.join(self.bin, name)

    def host_env(self, **extra):
        storage = tempfile.mkdtemp(prefix="storage-", dir=self.work)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", "/root"),
            "HOST": "127.0.0.1",
            "PORT": "0",
            "API_KEY": API_KEY,
            "RATE_LIMIT_PER_MINUTE": "0",
            "AUTH_FAILURE_LIMIT": "0",
            "LOCAL_STORAGE_PATH": storage,
            "LOG_LEVEL": "warning",
            "SHUTDOWN_GRACE_SECONDS": "2",
            "YOUTUBE_SERVICE_URL": f"http://127.0.0.1:{self.fake.port}",
            "YOUTUBE_BACKEND": "service",
            "WEBHOOK_RETRY_DELAY": "0.05",
            # The receiver is the fake on loopback, which webhooks reach only when listed.
            "WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
            "DISK_FREE_MIN_PERCENT": "0",
        }
        env.update({k: str(v) for k, v in extra.items()})
        return env

    def start_host(self, name, manifest=None, **extra):
        argv = [self.binary("routehost"), "serve", "--manifest", manifest or os.path.join(self.repo, "routes.json"),
                "--env-file", os.path.join(self.work, "no.env")]
        server = Server(name, argv, env=self.host_env(**extra), workdir=self.work, logdir=self.work)
        wait_http(server.port)
        return server

    # -- setup -----------------------------------------------------------------------------------

    def start_references(self):
        self.fake = Server("fake-downloader", [self.binary("fake-downloader"), "--port", "0", "--media-size", str(GIB)],
                           logdir=self.work)
        wait_http(self.fake.port, "/healthz")
        self.bare = Server("bare-hummingbird", [self.binary("bare-hummingbird"), "--port", "0", "--relay",
                                                f"http://127.0.0.1:{self.fake.port}/v1/media/youtube/info"], logdir=self.work)
        wait_http(self.bare.port, "/ok")
        self.nginx = None
        nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
        if not nginx:
            self.notes.append("nginx not installed: nginx figures are n/a")
            return
        port = free_port()
        prefix = os.path.join(self.work, "nginx")
        os.makedirs(prefix, exist_ok=True)
        os.chmod(self.work, 0o755)
        os.chmod(prefix, 0o777)
        conf = os.path.join(prefix, "nginx.conf")
        with open(conf, "w") as f:
            f.write(f"""
daemon off;
master_process on;
worker_processes auto;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    upstream fake {{ server 127.0.0.1:{self.fake.port}; keepalive 64; }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://fake;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering on;
            proxy_buffer_size 64k;
            proxy_buffers 8 64k;
            proxy_busy_buffers_size 128k;
            proxy_max_temp_file_size 0;
        }}
    }}
}}
""")
        self.nginx = Server("nginx", [nginx, "-c", conf, "-p", prefix], ready_pattern=None, logdir=self.work)
        self.nginx.port = port
        wait_http(port, "/healthz")

    # -- sections --------------------------------------------------------------------------------

    def section_authenticate(self, host):
        log("== 1. GET /v1/toolkit/authenticate vs bare Hummingbird")
        url = f"http://127.0.0.1:{host.port}/v1/toolkit/authenticate"
        status, body = request(host.port, "GET", "/v1/toolkit/authenticate", headers={"X-API-Key": API_KEY})
        assert status == 200 and b"Authorized" in body, (status, body)
        bare_url = f"http://127.0.0.1:{self.bare.port}/ok"
        wrk(url, 64, 2, threads=2)  # warm-up
        wrk(bare_url, 64, 2, threads=2)
        section = {}
        script = lua_script(self.work, "auth", headers={"X-API-Key": API_KEY})
        for connections in (32, 256):
            routehost = wrk(url, connections, self.duration, script, pid=host.pid)
            bare = wrk(bare_url, connections, self.duration, pid=self.bare.pid)
            section[f"c{connections}"] = {"routehost": routehost, "bare_hummingbird": bare,
                                          "ratio": round(routehost["rps"] / bare["rps"], 3) if bare["rps"] else None}
            log(f"  c={connections}: routehost {routehost['rps']:.0f} req/s (p99 {routehost['p99_ms']} ms), "
                f"bare {bare['rps']:.0f} req/s")
        # The stack's floor with the contract's job record: a bare route running a sync job, in an
        # instance of its own (150k job records would change the shared instance's heap).
        bare_jobs = Server("bare-hummingbird-jobs", [self.binary("bare-hummingbird"), "--port", "0",
                                                     "--jobs", os.path.join(self.work, "bare-jobs")], logdir=self.work)
        job_url = f"http://127.0.0.1:{bare_jobs.port}/job"
        wait_http(bare_jobs.port, "/job")
        wrk(job_url, 32, 1)
        section["c32"]["bare_job"] = wrk(job_url, 32, self.duration, pid=bare_jobs.pid)
        bare_jobs.stop()
        bare_rps = section["c32"]["bare_hummingbird"]["rps"]
        if bare_rps:
            section["c32"]["bare_job_ratio"] = round(section["c32"]["bare_job"]["rps"] / bare_rps, 3)
        log(f"  bare route with a durable job record: {section['c32']['bare_job']['rps']:.0f} req/s")
        # Diagnostic: the same route on two fresh instances, glibc malloc defaults vs MALLOC_STEADY.
        plain = self.start_host("routehost-malloc-default")
        steady = self.start_host("routehost-malloc-steady", **MALLOC_STEADY)
        runs = {"default": [], "steady": []}
        for _ in range(1 if self.args.quick else 2):
            for name, server in (("default", plain), ("steady", steady)):
                runs[name].append(wrk(f"http://127.0.0.1:{server.port}/v1/toolkit/authenticate", 32,
                                      max(1, min(self.duration, 4)), script, pid=server.pid)["rps"])
        plain.stop()
        steady.stop()
        malloc = {name: statistics.median(values) for name, values in runs.items()}
        malloc["rounds"] = runs
        malloc["gain"] = round(malloc["steady"] / malloc["default"], 3) if malloc["default"] else None
        section["malloc"] = malloc
        log(f"  fresh instances: glibc malloc defaults {malloc['default']:.0f} req/s, MALLOC_STEADY {malloc['steady']:.0f} req/s")
        self.results["authenticate"] = section

    def section_info(self, host):
        log("== 2. POST /v1/media/youtube/info (synchronous) vs nginx pass-through and direct")
        body = {"url": VIDEO_URL}
        status, answer = request(host.port, "POST", "/v1/media/youtube/info", body, {"X-API-Key": API_KEY})
        if status != 200:
            self.notes.append(f"POST /info through routehost answered {status}: {answer[:200]!r}")
        section = {"connections": 64, "routehost_status": status}
        script_host = lua_script(self.work, "info-host", "POST", body, {"X-API-Key": API_KEY})
        script_plain = lua_script(self.work, "info-plain", "POST", body)
        wrk(f"http://127.0.0.1:{host.port}/v1/media/youtube/info", 64, 2, script_host)  # warm-up
        section["routehost"] = wrk(f"http://127.0.0.1:{host.port}/v1/media/youtube/info", 64, self.duration, script_host, pid=host.pid)
        if self.nginx:
            wrk(f"http://127.0.0.1:{self.nginx.port}/v1/media/youtube/info", 64, 1, script_plain)
            section["nginx"] = wrk(f"http://127.0.0.1:{self.nginx.port}/v1/media/youtube/info", 64, self.duration, script_plain)
        section["direct"] = wrk(f"http://127.0.0.1:{self.fake.port}/v1/media/youtube/info", 64, self.duration, script_plain, pid=self.fake.pid)
        # The stack's floor: a bare Hummingbird route relaying the body with AsyncHTTPClient.
        wrk(f"http://127.0.0.1:{self.bare.port}/relay", 64, 1, script_plain)
        section["bare_relay"] = wrk(f"http://127.0.0.1:{self.bare.port}/relay", 64, self.duration, script_plain, pid=self.bare.pid)
        rh = section["routehost"]["rps"]
        section["vs_flask_470"] = round(rh / 470.0, 1)
        if self.nginx and section["nginx"]["rps"]:
            section["vs_nginx"] = round(rh / section["nginx"]["rps"], 3)
        if section["direct"]["rps"]:
            section["vs_direct"] = round(rh / section["direct"]["rps"], 3)
        if section["bare_relay"]["rps"]:
            section["vs_bare_relay"] = round(rh / section["bare_relay"]["rps"], 3)
            if self.nginx and section["nginx"]["rps"]:
                section["bare_relay_vs_nginx"] = round(section["bare_relay"]["rps"] / section["nginx"]["rps"], 3)
        log(f"  routehost {rh:.0f} req/s, nginx {section.get('nginx', {}).get('rps', 0):.0f}, direct {section['direct']['rps']:.0f}, "
            f"bare relay {section['bare_relay']['rps']:.0f}")
        self.results["info"] = section

    def section_errors(self, host):
        log("== 3. 400 (invalid payload) and 401 (missing key)")
        bad = {"url": 42, "extra": True}
        status400, _ = request(host.port, "POST", "/v1/media/youtube/info", bad, {"X-API-Key": API_KEY})
        status401, _ = request(host.port, "GET", "/v1/toolkit/authenticate")
        section = {"status_400_path": status400, "status_401_path": status401}
        section["invalid_payload"] = wrk(f"http://127.0.0.1:{host.port}/v1/media/youtube/info", 32, self.duration,
                                         lua_script(self.work, "bad", "POST", bad, {"X-API-Key": API_KEY}), pid=host.pid)
        section["missing_key"] = wrk(f"http://127.0.0.1:{host.port}/v1/toolkit/authenticate", 32, self.duration, pid=host.pid)
        log(f"  400: {section['invalid_payload']['rps']:.0f} req/s (status {status400}), "
            f"401: {section['missing_key']['rps']:.0f} req/s (status {status401})")
        self.results["errors"] = section

    def section_relay(self):
        log("== 4/5. mp4 relay: one 1 GiB stream, 8 concurrent 128 MiB streams")
        host = self.start_host("routehost-relay")
        size_one = GIB if not self.args.quick else 128 * MIB
        size_many = 128 * MIB if not self.args.quick else 32 * MIB
        headers = {"X-API-Key": API_KEY}
        path = "/v1/media/youtube/mp4"
        section = {}
        request(self.fake.port, "POST", f"/_bench/media?size={16 * MIB}")
        warm = streams(host.port, path, headers, 2, 16 * MIB)  # warm-up: pool, allocator
        if not warm["complete"]:
            self.notes.append(f"mp4 relay warm-up failed: {warm}")
        section["idle_rss_bytes"] = idle_rss(host.pid)
        rounds = 1 if self.args.quick else 3

        def measure(count, size, rounds):
            """Alternates routehost, nginx and direct `rounds` times; keeps the median round of
            each (by MB/s), and routehost's highest memory peak of all rounds."""
            request(self.fake.port, "POST", f"/_bench/media?size={size}")
            runs = {"routehost": [], "nginx": [], "direct": []}
            for _ in range(rounds):
                runs["routehost"].append(streams(host.port, path, headers, count, size, pid=host.pid))
                if self.nginx:
                    runs["nginx"].append(streams(self.nginx.port, path, {}, count, size))
                runs["direct"].append(streams(self.fake.port, path, {}, count, size))
            case = {"size": size, "rounds": rounds}
            for name, results in runs.items():
                if not results:
                    continue
                ordered = sorted(results, key=lambda r: r["mb_per_s"])
                chosen = dict(ordered[len(ordered) // 2])
                chosen["mb_per_s_rounds"] = [r["mb_per_s"] for r in results]
                chosen["complete"] = all(r["complete"] for r in results)
                if name == "routehost":
                    chosen["peak_rss_bytes"] = max(r["peak_rss_bytes"] for r in results)
                    chosen["peak_rss_rounds_bytes"] = [r["peak_rss_bytes"] for r in results]
                    chosen["peak_rss_anon_rounds_bytes"] = [r["peak_rss_anon_bytes"] for r in results]
                case[name] = chosen
            return case

        one = measure(1, size_one, rounds)
        section["idle_rss_after_one_bytes"] = idle_rss(host.pid, settle=0.5)
        many = measure(8, size_many, max(1, rounds - 1))
        for case in (one, many):
            rh = case["routehost"]
            rh["peak_above_idle_bytes"] = rh["peak_rss_bytes"] - section["idle_rss_bytes"]
            if self.nginx and case["nginx"]["mb_per_s"]:
                case["vs_nginx"] = round(rh["mb_per_s"] / case["nginx"]["mb_per_s"], 3)
            if case["direct"]["mb_per_s"]:
                case["vs_direct"] = round(rh["mb_per_s"] / case["direct"]["mb_per_s"], 3)
        section["one"] = one
        section["eight"] = many
        log(f"  1 stream: routehost {one['routehost']['mb_per_s']} MB/s, nginx {one.get('nginx', {}).get('mb_per_s')} MB/s, "
            f"direct {one['direct']['mb_per_s']} MB/s, peak +{one['routehost']['peak_above_idle_bytes'] / MIB:.1f} MiB")
        log(f"  8 streams: routehost {many['routehost']['mb_per_s']} MB/s, nginx {many.get('nginx', {}).get('mb_per_s')} MB/s, "
            f"direct {many['direct']['mb_per_s']} MB/s, peak +{many['routehost']['peak_above_idle_bytes'] / MIB:.1f} MiB")
        host.stop()
        request(self.fake.port, "POST", f"/_bench/media?size={GIB}")
        self.results["relay"] = section

    def section_queue(self):
        log("== 6. queue: 202 accepted/s and end-to-end jobs/s with webhooks")
        section = {}
        webhook = f"http://127.0.0.1:{self.fake.port}/webhook"
        body = {"url": VIDEO_URL, "webhook_url": webhook, "id": "bench"}
        # Is the durable queue (with webhooks) there? One job, then wait for its webhook.
        probe = self.start_host("routehost-queue-probe")
        request(self.fake.port, "POST", "/_bench/reset")
        status, answer = request(probe.port, "POST", "/v1/media/youtube/info", body, {"X-API-Key": API_KEY})
        delivered = False
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and status == 202:
            if fake_stats(self.fake)["webhooks"] >= 1:
                delivered = True
                break
            time.sleep(0.05)
        probe.stop()
        section["probe_status"] = status
        if status != 202 or not delivered:
            section["available"] = False
            why = f"POST /info with webhook_url answered {status}" if status != 202 else "no webhook delivered within 5 s"
            section["note"] = f"n/a: the durable job queue is not merged into this branch ({why})"
            self.notes.append(section["note"])
            log("  " + section["note"])
            self.results["queue"] = section
            return
        section["available"] = True
        # Accepted per second: wrk on the 202 path (the backlog is thrown away with the instance).
        host = self.start_host("routehost-queue-accept")
        script = lua_script(self.work, "queue", "POST", body, {"X-API-Key": API_KEY})
        accept_duration = max(1, min(self.duration, 5))
        section["accepted"] = wrk(f"http://127.0.0.1:{host.port}/v1/media/youtube/info", 32, accept_duration, script, pid=host.pid)
        host.stop(grace=5)
        log(f"  accepted: {section['accepted']['rps']:.0f} jobs/s ({section['accepted']['non_2xx']} non-2xx)")
        # End to end: N jobs submitted by 8 client threads; time until N webhooks have arrived.
        # With the /info handler (a relay call to the fake) and with a trivial handler (the
        # toolkit's authenticate handler mounted as a queueable POST route).
        trivial = os.path.join(self.work, "routes-queue-trivial.json")
        with open(trivial, "w") as f:
            json.dump({"version": 1, "modules": [{"name": "bench", "plugin": "toolkit", "prefix": "/bench", "routes": [
                {"method": "POST", "path": "/trivial", "handler": "authenticate", "queue": "webhook",
                 "schema": {"type": "object", "properties": {"webhook_url": {"type": "string", "format": "uri"},
                                                             "id": {"type": "string"}}}}]}]}, f)
        for workers in (1, 4):
            section[f"end_to_end_workers_{workers}"] = self.end_to_end(body, workers)
        for workers in (1, 4):
            section[f"trivial_workers_{workers}"] = self.end_to_end(
                {"webhook_url": webhook, "id": "bench"}, workers, path="/bench/trivial", manifest=trivial)
        self.results["queue"] = section

    def end_to_end(self, body, workers, path="/v1/media/youtube/info", manifest=None):
        jobs = 2000 if not self.args.quick else 200
        host = self.start_host(f"routehost-queue-e2e-{workers}", manifest=manifest, QUEUE_WORKERS=workers)
        request(self.fake.port, "POST", "/_bench/reset")
        result = self.spread_jobs([host], body, jobs, path)
        host.stop(grace=5)
        result.update({"path": path, "workers": workers})
        log(f"  end to end, {path}, QUEUE_WORKERS={workers}: {result['jobs_per_s']} jobs/s "
            f"({result['webhooks']}/{result['jobs']} webhooks in {result['elapsed_s']:.1f}s; submitting took {result['submit_s']:.1f}s)")
        return result

    def section_stores(self):
        """The job stores side by side: SQLite, PostgreSQL with one instance and with two."""
        log("== 7. job stores: queued jobs accepted/s, end-to-end jobs/s with webhooks, sync record cost")
        server = os.environ.get("DATABASE_URL")
        if not server or not shutil.which("psql"):
            note = "n/a: no PostgreSQL (Benchmarks/run.sh starts one when Debian's postgresql is installed)"
            self.notes.append(note)
            log("  " + note)
            self.results["stores"] = {"available": False, "note": note}
            return
        webhook = f"http://127.0.0.1:{self.fake.port}/webhook"
        manifest = os.path.join(self.work, "routes-stores.json")
        with open(manifest, "w") as f:
            json.dump({"version": 1, "modules": [{"name": "toolkit", "plugin": "toolkit", "prefix": "/v1/toolkit", "routes": [
                {"method": "GET", "path": "/authenticate", "handler": "authenticate"},
                {"method": "POST", "path": "/trivial", "handler": "authenticate", "queue": "webhook",
                 "schema": {"type": "object", "properties": {"webhook_url": {"type": "string"}, "id": {"type": "string"}}}}]}]}, f)
        body = {"webhook_url": webhook, "id": "bench"}
        script = lua_script(self.work, "stores-queue", "POST", body, {"X-API-Key": API_KEY})
        auth = lua_script(self.work, "stores-auth", "GET", None, {"X-API-Key": API_KEY})
        jobs = 2000 if not self.args.quick else 200
        section = {"available": True}
        def start(label, store, instances, phase):
            """`instances` fresh hosts on an empty store of their own."""
            extra = {"QUEUE_WORKERS": 4}
            if store == "postgresql":
                name = f"routehost_bench_{label}_{phase}_{os.getpid()}"
                subprocess.run(["psql", server, "-q", "-c", f"CREATE DATABASE {name}"], check=True, capture_output=True)
                extra["DATABASE_URL"] = urllib.parse.urlsplit(server)._replace(path="/" + name).geturl()
            return [self.start_host(f"routehost-store-{label}-{phase}-{i}", manifest=manifest, **extra) for i in range(instances)]

        for label, store, instances in (("sqlite", "sqlite", 1), ("postgresql", "postgresql", 1), ("postgresql_2", "postgresql", 2)):
            hosts = start(label, store, instances, "accept")
            case = {"instances": instances}
            # Accepted per second: wrk on every instance at once, 32 connections in all.
            results = [None] * instances
            def load(i):
                results[i] = wrk(f"http://127.0.0.1:{hosts[i].port}/v1/toolkit/trivial", 32 // instances, max(1, min(self.duration, 5)),
                                 script, threads=1, pid=hosts[i].pid)
            threads = [threading.Thread(target=load, args=(i,)) for i in range(instances)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            case["accepted_rps"] = round(sum(r["rps"] for r in results))
            case["accepted_non_2xx"] = sum(r["non_2xx"] for r in results)
            # The backlog is thrown away with these instances; the end-to-end case starts empty.
            for host in hosts:
                host.stop(grace=1)
            request(self.fake.port, "POST", "/_bench/reset")
            hosts = start(label, store, instances, "e2e")
            case["end_to_end"] = self.spread_jobs(hosts, body, jobs)
            # The sync job record: authenticate runs a sync job, recorded in batches after its answer.
            sync = wrk(f"http://127.0.0.1:{hosts[0].port}/v1/toolkit/authenticate", 32, self.duration, auth, pid=hosts[0].pid)
            case["sync_rps"] = sync["rps"]
            case["sync_p99_ms"] = sync["p99_ms"]
            if sync.get("server_cpu_percent") and sync["rps"]:
                case["sync_cpu_us_per_request"] = round(sync["server_cpu_percent"] / 100 / sync["rps"] * 1e6, 1)
            for host in hosts:
                host.stop(grace=5)
            log(f"  {label}: accepted {case['accepted_rps']:,}/s; end to end {case['end_to_end']['jobs_per_s']} jobs/s; "
                f"sync authenticate {sync['rps']:,.0f} req/s ({case.get('sync_cpu_us_per_request', '?')} µs CPU each)")
            section[label] = case
        self.results["stores"] = section

    def spread_jobs(self, hosts, body, jobs, path="/v1/toolkit/trivial"):
        """`jobs` queued jobs submitted by 8 client threads, spread over `hosts`; the time until every
        webhook arrived at the fake."""
        payload = json.dumps(body).encode()
        accepted = [0]
        lock = threading.Lock()

        def submit(port, count):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            ok = 0
            for _ in range(count):
                conn.request("POST", path, body=payload, headers={"Content-Type": "application/json", "X-API-Key": API_KEY})
                response = conn.getresponse()
                response.read()
                ok += response.status == 202
            conn.close()
            with lock:
                accepted[0] += ok

        start = time.monotonic()
        threads = [threading.Thread(target=submit, args=(hosts[i % len(hosts)].port, jobs // 8)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        submitted = time.monotonic() - start
        deadline = start + 120
        done = 0
        while time.monotonic() < deadline:
            done = fake_stats(self.fake)["webhooks"]
            if done >= accepted[0]:
                break
            time.sleep(0.02)
        elapsed = time.monotonic() - start
        stats = fake_stats(self.fake)
        request(self.fake.port, "POST", "/_bench/reset")
        return {"jobs": accepted[0], "submit_s": round(submitted, 3), "webhooks": stats["webhooks"],
                "webhooks_code_200": stats["webhooks_ok"], "elapsed_s": round(elapsed, 3), "jobs_per_s": round(done / elapsed, 1),
                "complete": done >= accepted[0]}

    def section_rate_limit(self):
        log("== 7. rate-limit step cost on authenticate (limiter on, never refusing, vs off)")
        self.results["rate_limit"] = self.cost_on_authenticate("ratelimit", RATE_LIMIT_PER_MINUTE=1_000_000_000)

    def section_metrics(self):
        log("== 8. metrics cost on authenticate (METRICS_TOKEN set, vs metrics off)")
        self.results["metrics_cost"] = self.cost_on_authenticate("metrics", METRICS_TOKEN="bench-metrics-token")

    def cost_on_authenticate(self, name, **setting):
        """authenticate on an instance with `setting` and one without, alternating wrk runs."""
        host_off = self.start_host(f"routehost-{name}-off", **MALLOC_STEADY)
        host_on = self.start_host(f"routehost-{name}-on", **setting, **MALLOC_STEADY)
        status, _ = request(host_on.port, "GET", "/v1/toolkit/authenticate", headers={"X-API-Key": API_KEY})
        script = lua_script(self.work, "auth", headers={"X-API-Key": API_KEY})
        url_on = f"http://127.0.0.1:{host_on.port}/v1/toolkit/authenticate"
        url_off = f"http://127.0.0.1:{host_off.port}/v1/toolkit/authenticate"
        wrk(url_on, 32, 2, script)
        rounds = 3 if not self.args.quick else 1
        duration = max(1, min(self.duration, 5))
        on, off = [], []
        for _ in range(rounds):  # alternate, so that drift of the machine hits both alike
            off.append(wrk(url_off, 32, duration, script, pid=host_off.pid))
            on.append(wrk(url_on, 32, duration, script, pid=host_on.pid))
        host_on.stop()
        host_off.stop()
        med_off = statistics.median(r["rps"] for r in off)
        med_on = statistics.median(r["rps"] for r in on)
        def cpu_us(runs):
            values = [r["server_cpu_percent"] / 100 * 1e6 / r["rps"] for r in runs if r.get("server_cpu_percent") and r["rps"]]
            return round(statistics.median(values), 1) if values else None

        section = {"connections": 32, "rounds": rounds, "status_with_limiter": status,
                   "cpu_us_per_request_off": cpu_us(off), "cpu_us_per_request_on": cpu_us(on),
                   "off_rps": [r["rps"] for r in off], "on_rps": [r["rps"] for r in on],
                   "off_median_rps": med_off, "on_median_rps": med_on,
                   "on_non_2xx": sum(r["non_2xx"] for r in on),
                   "cost_percent": round((med_off - med_on) / med_off * 100, 2) if med_off else None}
        log(f"  off {med_off:.0f} req/s, on {med_on:.0f} req/s: cost {section['cost_percent']}%")
        return section

    def section_scale(self):
        log("== 8. scale: 1,000 routes vs 10 routes (startup, authenticate req/s)")
        manifests = {n: scale_manifest(self.work, n) for n in (10, 1000)}
        section = {}
        runs = 3 if not self.args.quick else 1
        for n, manifest in manifests.items():
            times = []
            for i in range(runs):
                port = free_port()
                argv = [self.binary("routehost"), "serve", "--manifest", manifest, "--port", str(port),
                        "--env-file", os.path.join(self.work, "no.env")]
                server = Server(f"routehost-scale-{n}-{i}", argv, env=self.host_env(), workdir=self.work,
                                ready_pattern=None, logdir=self.work)
                wait_http(port, "/health", interval=0.001)
                times.append(time.monotonic() - server.started)
                server.stop()
            section[f"routes_{n}"] = {"startup_s": [round(t, 4) for t in times], "startup_median_s": round(statistics.median(times), 4)}
        hosts = {n: self.start_host(f"routehost-scale-{n}", manifest=m, **MALLOC_STEADY) for n, m in manifests.items()}
        paths = {10: "/m0/r5", 1000: "/m50/r5"}
        script = lua_script(self.work, "auth", headers={"X-API-Key": API_KEY})
        for n, host in hosts.items():
            status, _ = request(host.port, "GET", paths[n], headers={"X-API-Key": API_KEY})
            section[f"routes_{n}"]["status"] = status
            wrk(f"http://127.0.0.1:{host.port}{paths[n]}", 32, 1, script)
        rounds = 3 if not self.args.quick else 1
        duration = max(1, min(self.duration, 4))
        for n in hosts:
            section[f"routes_{n}"]["rps"] = []
            section[f"routes_{n}"]["rps_401"] = []
            section[f"routes_{n}"]["rps_health"] = []
        for _ in range(rounds):
            for n, host in hosts.items():
                r = wrk(f"http://127.0.0.1:{host.port}{paths[n]}", 32, duration, script, pid=host.pid)
                section[f"routes_{n}"]["rps"].append(r["rps"])
                section[f"routes_{n}"]["p99_ms"] = r["p99_ms"]
                # The same route without a key: routing and the route's middleware, no job record.
                r = wrk(f"http://127.0.0.1:{host.port}{paths[n]}", 32, duration, pid=host.pid)
                section[f"routes_{n}"]["rps_401"].append(r["rps"])
                # GET /health (no key): the host's report, which covers every module.
                r = wrk(f"http://127.0.0.1:{host.port}/health", 32, duration, pid=host.pid)
                section[f"routes_{n}"]["rps_health"].append(r["rps"])
        for n, host in hosts.items():
            section[f"routes_{n}"]["median_rps"] = statistics.median(section[f"routes_{n}"]["rps"])
            section[f"routes_{n}"]["median_rps_401"] = statistics.median(section[f"routes_{n}"]["rps_401"])
            section[f"routes_{n}"]["median_rps_health"] = statistics.median(section[f"routes_{n}"]["rps_health"])
            section[f"routes_{n}"]["idle_rss_bytes"] = proc_status(host.pid).get("VmRSS", 0)
            host.stop()
        a, b = section["routes_10"]["median_rps"], section["routes_1000"]["median_rps"]
        section["rps_ratio_1000_vs_10"] = round(b / a, 3) if a else None
        a401, b401 = section["routes_10"]["median_rps_401"], section["routes_1000"]["median_rps_401"]
        section["rps_401_ratio_1000_vs_10"] = round(b401 / a401, 3) if a401 else None
        ah, bh = section["routes_10"]["median_rps_health"], section["routes_1000"]["median_rps_health"]
        section["rps_health_ratio_1000_vs_10"] = round(bh / ah, 3) if ah else None
        log(f"  startup 10: {section['routes_10']['startup_median_s']}s, 1000: {section['routes_1000']['startup_median_s']}s; "
            f"req/s 10: {a:.0f}, 1000: {b:.0f}")
        self.section_scale_manifests = manifests
        self.results["scale"] = section

    def section_micro(self):
        log("== microbenchmarks: JSON Schema validation (Swift vs Python jsonschema), manifest loading, job store inserts, rate-limit step")
        manifest_1000 = scale_manifest(self.work, 1000)
        out_swift = os.path.join(self.work, "micro-swift.json")
        seconds = "0.3" if not self.args.quick else "0.05"
        subprocess.run([self.binary("routehost-microbench"), "--repo", self.repo, "--seconds", seconds, "--json", out_swift,
                        "--manifest", os.path.join(self.repo, "routes.json"), "--manifest", manifest_1000],
                       check=True, stdout=sys.stderr)
        swift = {r["name"]: r for r in json.load(open(out_swift))}
        out_py = os.path.join(self.work, "micro-python.json")
        subprocess.run([sys.executable, os.path.join(self.repo, "Benchmarks", "jsonschema_reference.py"), "--repo", self.repo,
                        "--seconds", seconds, "--json", out_py], check=True, stdout=sys.stderr)
        python = json.load(open(out_py))
        section = {"python_jsonschema_version": python["version"], "python_uri_checked": python["uri_checked"], "cases": []}
        for name, result in swift.items():
            entry = {"name": name, "swift_per_s": round(result["perSecond"]), "swift_median_per_s": round(result["medianPerSecond"])}
            if result.get("cpuMicrosecondsPerOp") is not None:
                entry["cpu_us_per_op"] = round(result["cpuMicrosecondsPerOp"], 1)
            ref = python["results"].get(name)
            if ref:
                entry["python_per_s"] = round(ref["per_second"])
                entry["ratio"] = round(result["perSecond"] / ref["per_second"], 1)
            section["cases"].append(entry)
        self.results["micro"] = section

    def perf_profile(self, name, pid, load):
        """perf record (cpu-clock, call graphs) on `pid` while `load()` runs; the top symbols."""
        data = os.path.join(self.work, f"perf-{name}.data")
        recorder = subprocess.Popen(["perf", "record", "-F", "999", "-g", "-p", str(pid), "-o", data],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.3)
        cpu_before, wall_before = cpu_seconds(pid), time.monotonic()
        load()
        cpu = (cpu_seconds(pid) - cpu_before) / (time.monotonic() - wall_before) * 100
        recorder.send_signal(signal.SIGINT)
        recorder.wait(timeout=60)
        report = subprocess.run(["perf", "report", "-i", data, "--no-children", "--sort", "dso,sym", "--stdio", "-g", "none",
                                 "--percent-limit", "0.7"], capture_output=True, text=True).stdout
        lines = [l.rstrip() for l in report.splitlines() if l.strip() and not l.startswith("#")][:30]
        # Inclusive time (self + callees) of user-space frames: where the time goes by caller.
        inclusive = subprocess.run(["perf", "report", "-i", data, "--children", "--sort", "sym", "--stdio", "-g", "none",
                                    "--percent-limit", "1.5"], capture_output=True, text=True).stdout
        lines += ["", "# inclusive (children), user space:"] + [
            l.rstrip() for l in inclusive.splitlines() if l.strip() and not l.startswith("#") and "[k]" not in l][:45]
        if shutil.which("swift"):
            demangled = subprocess.run(["swift", "demangle", "--simplified", "--compact"], input="\n".join(lines),
                                       capture_output=True, text=True)
            if demangled.returncode == 0:
                lines = [l[:200] for l in demangled.stdout.splitlines()]
        path = os.path.join(self.repo, "Benchmarks", "results", f"profile-{name}.txt")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(f"# {name}: routehost CPU {cpu:.0f}% (100% = one core) during the load\n" + "\n".join(lines) + "\n")
        log(f"  profile {name}: routehost CPU {cpu:.0f}%; top symbols in {path}")
        return {"server_cpu_percent": round(cpu), "top": lines}

    def section_profile(self):
        log("== profiles (perf record, cpu-clock) of authenticate, /info and one relayed stream")
        if not shutil.which("perf"):
            self.notes.append("perf not installed (Debian linux-perf): no profiles")
            return
        host = self.start_host("routehost-profile")
        profiles = {}
        auth = lua_script(self.work, "auth", headers={"X-API-Key": API_KEY})
        info = lua_script(self.work, "info-host", "POST", {"url": VIDEO_URL}, {"X-API-Key": API_KEY})
        duration = max(2, min(self.duration, 6))
        profiles["authenticate"] = self.perf_profile("authenticate", host.pid, lambda: wrk(
            f"http://127.0.0.1:{host.port}/v1/toolkit/authenticate", 32, duration, auth))
        profiles["info"] = self.perf_profile("info", host.pid, lambda: wrk(
            f"http://127.0.0.1:{host.port}/v1/media/youtube/info", 64, duration, info))
        request(self.fake.port, "POST", f"/_bench/media?size={512 * MIB}")
        profiles["relay"] = self.perf_profile("relay", host.pid, lambda: streams(
            host.port, "/v1/media/youtube/mp4", {"X-API-Key": API_KEY}, 1, 512 * MIB))
        request(self.fake.port, "POST", f"/_bench/media?size={GIB}")
        host.stop()
        self.results["profiles"] = profiles

    # -- driver ----------------------------------------------------------------------------------

    def run(self):
        only = set(self.args.only.split(",")) if self.args.only else None
        want = lambda s: only is None or s in only
        self.results["meta"] = self.meta()
        self.start_references()
        if any(want(s) for s in ("auth", "info", "errors")):
            host = self.start_host("routehost")
            if want("auth"):
                self.section_authenticate(host)
            if want("info"):
                self.section_info(host)
            if want("errors"):
                self.section_errors(host)
            self.results["host_rss_after_load_bytes"] = proc_status(host.pid).get("VmRSS", 0)
            host.stop()
        if want("ratelimit"):
            self.section_rate_limit()
        if want("metrics"):
            self.section_metrics()
        if want("relay"):
            self.section_relay()
        if want("queue"):
            self.section_queue()
        if want("stores"):
            self.section_stores()
        if want("scale"):
            self.section_scale()
        if want("micro"):
            self.section_micro()
        if self.args.profile:
            self.section_profile()
        self.results["meta"]["load_after"] = os.getloadavg()
        self.results["meta"]["finished"] = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
        self.results["notes"] = self.notes
        stop_all()

    def meta(self):
        def cmd(argv):
            try:
                p = subprocess.run(argv, capture_output=True, text=True, timeout=10)
                return (p.stdout + p.stderr).strip().splitlines()[0]
            except Exception:
                return None
        cpu = None
        try:
            cpu = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
        except Exception:
            pass
        mem = None
        try:
            mem = int(next(l.split()[1] for l in open("/proc/meminfo") if l.startswith("MemTotal"))) * 1024
        except Exception:
            pass
        return {
            "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "commit": cmd(["git", "-C", self.repo, "rev-parse", "--short", "HEAD"]),
            "dirty": bool(subprocess.run(["git", "-C", self.repo, "status", "--porcelain", "--untracked-files=no"],
                                         capture_output=True, text=True).stdout.strip()),
            "load_before": os.getloadavg(),
            "cpu": cpu, "cores": os.cpu_count(), "memory_bytes": mem, "kernel": platform.release(),
            "swift": cmd(["swift", "--version"]), "nginx": cmd(["nginx", "-v"]) or cmd(["/usr/sbin/nginx", "-v"]),
            "wrk": cmd(["wrk", "-v"]), "curl": cmd(["curl", "--version"]), "python": platform.python_version(),
            "duration_s": self.duration, "quick": self.args.quick,
        }


# ---------------------------------------------------------------------------------------------
# The table


def fmt_rps(x):
    return f"{x:,.0f}" if isinstance(x, (int, float)) else "n/a"


def fmt_ms(x):
    return f"{x:.2f}" if isinstance(x, (int, float)) else "n/a"


def cell(r):
    """req/s (p50 / p99 ms), and the server's CPU when measured."""
    text = f"{fmt_rps(r['rps'])} ({fmt_ms(r['p50_ms'])} / {fmt_ms(r['p99_ms'])})"
    if r.get("server_cpu_percent") is not None:
        text += f", CPU {r['server_cpu_percent']}%"
        if r["rps"]:
            text += f" = {r['server_cpu_percent'] / 100 * 1e6 / r['rps']:.0f} µs/req"
    return text


def verdict(ok):
    return "met" if ok else "MISSED"


def table(results):
    """Markdown table rows: (figure, routehost, reference, ratio, target)."""
    rows = []
    targets = []
    auth = results.get("authenticate")
    if auth:
        for c in ("c32", "c256"):
            rh, bare = auth[c]["routehost"], auth[c]["bare_hummingbird"]
            rows.append((f"authenticate, {c[1:]} conn: req/s (p50 / p99 ms)",
                         cell(rh), f"bare Hummingbird {cell(bare)}",
                         f"{auth[c]['ratio']:.2f}×" if auth[c]["ratio"] else "n/a", "≥ 0.75× bare" + ("; p99 < 10 ms" if c == "c32" else "")))
            if c == "c32":
                targets.append(("(1) authenticate ≥ 75% of bare Hummingbird (32 conn)", auth[c]["ratio"] is not None and auth[c]["ratio"] >= 0.75,
                                f"{auth[c]['ratio']:.2f}×"))
                targets.append(("(1) authenticate p99 < 10 ms at 32 conn", rh["p99_ms"] is not None and rh["p99_ms"] < 10, f"{fmt_ms(rh['p99_ms'])} ms"))
            else:
                targets.append(("(1) authenticate ≥ 75% of bare Hummingbird (256 conn)", auth[c]["ratio"] is not None and auth[c]["ratio"] >= 0.75,
                                f"{auth[c]['ratio']:.2f}×"))
        if "bare_job" in auth["c32"]:
            rows.append(("authenticate: bare Hummingbird route running a sync job of the job service, 32 conn (the stack's floor "
                         "with the job record: envelope + durable record, no pipeline)", "",
                         f"{cell(auth['c32']['bare_job'])}; {auth['c32'].get('bare_job_ratio', 0):.2f}× bare",
                         f"{auth['c32']['routehost']['rps'] / auth['c32']['bare_job']['rps']:.2f}×" if auth['c32']['bare_job']['rps'] else "n/a",
                         "diagnostic"))
        if auth.get("malloc"):
            m = auth["malloc"]
            rows.append(("authenticate, 32 conn, fresh instances: glibc malloc defaults vs heap trimming off "
                         "(MALLOC_TRIM_THRESHOLD_=128M, MALLOC_TOP_PAD_=64M)", fmt_rps(m["default"]), f"trimming off {fmt_rps(m['steady'])}",
                         f"{m['gain']:.2f}×" if m["gain"] else "n/a", "diagnostic"))
        rows.append(("authenticate vs Flask/gunicorn (4,300 req/s, measured earlier)", fmt_rps(auth["c32"]["routehost"]["rps"]), "4,300",
                     f"{auth['c32']['routehost']['rps'] / 4300:.1f}×", "—"))
    info = results.get("info")
    if info:
        rh = info["routehost"]
        rows.append(("POST /info sync, 64 conn: req/s (p50 / p99 ms)", cell(rh),
                     f"Flask 470 (measured earlier)", f"{info['vs_flask_470']}×", "≥ 20× Flask"))
        targets.append(("(2) /info ≥ 20× Flask (9,400 req/s)", rh["rps"] >= 9400, f"{info['vs_flask_470']}×"))
        if "nginx" in info:
            ng = info["nginx"]
            rows.append(("POST /info: nginx pass-through", "", f"{fmt_rps(ng['rps'])} ({fmt_ms(ng['p50_ms'])} / {fmt_ms(ng['p99_ms'])})",
                         f"{info['vs_nginx']:.2f}×", "≥ 0.40× nginx"))
            targets.append(("(2) /info ≥ 40% of nginx pass-through", info["vs_nginx"] >= 0.40, f"{info['vs_nginx']:.2f}×"))
        d = info["direct"]
        rows.append(("POST /info: direct to the fake downloader", "", cell(d),
                     f"{info.get('vs_direct', 0):.2f}×", "—"))
        if "bare_relay" in info:
            floor = f"{info['bare_relay_vs_nginx']:.2f}× nginx" if "bare_relay_vs_nginx" in info else ""
            rows.append(("POST /info: bare Hummingbird route relaying with AsyncHTTPClient (the stack's floor: no key, "
                         "validation, job record or envelope)", "", f"{cell(info['bare_relay'])}; {floor}",
                         f"{info.get('vs_bare_relay', 0):.2f}×", "diagnostic"))
        if info["routehost"]["non_2xx"]:
            rows.append(("POST /info: non-2xx answers during the run", str(info["routehost"]["non_2xx"]), "", "", "0"))
    errors = results.get("errors")
    if errors:
        for key, label in (("invalid_payload", f"invalid payload → {errors['status_400_path']}"), ("missing_key", f"missing key → {errors['status_401_path']}")):
            r = errors[key]
            rows.append((f"{label}, 32 conn: req/s (p50 / p99 ms)", cell(r), "", "", "—"))
    relay = results.get("relay")
    if relay:
        for key, label in (("one", "1 stream"), ("eight", "8 concurrent streams")):
            case = relay[key]
            rh = case["routehost"]
            size = f"{case['size'] / MIB:.0f} MiB" if case["size"] < GIB else f"{case['size'] / GIB:.0f} GiB"
            ng = case.get("nginx")
            rows.append((f"mp4 relay, {label} of {size}: MB/s", f"{rh['mb_per_s']:,.0f}" + ("" if rh["complete"] else " (INCOMPLETE)")
                         + (f", CPU {rh['server_cpu_percent']}%" if rh.get("server_cpu_percent") is not None else ""),
                         (f"nginx {ng['mb_per_s']:,.0f}; " if ng else "") + f"direct {case['direct']['mb_per_s']:,.0f}",
                         (f"{case['vs_nginx']:.2f}× nginx, " if ng else "") + f"{case['vs_direct']:.2f}× direct", "≥ 0.75× nginx"))
            rows.append((f"mp4 relay, {label}: peak RSS above idle", f"{rh['peak_above_idle_bytes'] / MIB:.1f} MiB",
                         f"idle {relay['idle_rss_bytes'] / MIB:.1f} MiB, peak {rh['peak_rss_bytes'] / MIB:.1f} MiB", "", "< 64 MiB"))
            if ng:
                targets.append((f"(4) relay ≥ 75% of nginx, {label}", case["vs_nginx"] >= 0.75, f"{case['vs_nginx']:.2f}×"))
            targets.append((f"(4/5) peak memory < 64 MiB above idle, {label}", rh["peak_above_idle_bytes"] < 64 * MIB,
                            f"{rh['peak_above_idle_bytes'] / MIB:.1f} MiB"))
    queue = results.get("queue")
    if queue:
        if not queue.get("available"):
            rows.append(("queue: accepted/s, end-to-end jobs/s", "n/a", queue.get("note", ""), "", "—"))
        else:
            a = queue["accepted"]
            rows.append(("queue: 202 accepted/s, 32 conn (p50 / p99 ms)", cell(a),
                         f"{a['non_2xx']} non-2xx", "", "—"))
            for key, handler in (("end_to_end", "/info handler"), ("trivial", "trivial handler")):
                for w in (1, 4):
                    e = queue.get(f"{key}_workers_{w}")
                    if e:
                        rows.append((f"queue: end-to-end jobs/s, {handler}, QUEUE_WORKERS={w} ({e['jobs']} jobs, webhooks)",
                                     f"{e['jobs_per_s']:,.0f}" + ("" if e["complete"] else " (INCOMPLETE)"),
                                     f"{e['webhooks']} webhooks in {e['elapsed_s']} s (submitting took {e['submit_s']} s)", "", "—"))
    stores = results.get("stores")
    if stores:
        if not stores.get("available"):
            rows.append(("job stores: SQLite vs PostgreSQL", "n/a", stores.get("note", ""), "", "—"))
        else:
            names = (("sqlite", "SQLite"), ("postgresql", "PostgreSQL, 1 instance"), ("postgresql_2", "PostgreSQL, 2 instances"))
            for key, name in names:
                c = stores.get(key)
                if not c:
                    continue
                e = c["end_to_end"]
                rows.append((f"job store {name}: queued jobs accepted/s, 32 conn", f"{c['accepted_rps']:,}",
                             f"{c['accepted_non_2xx']} non-2xx", "", "—"))
                rows.append((f"job store {name}: end-to-end jobs/s with webhooks, QUEUE_WORKERS=4 each ({e['jobs']} jobs)",
                             f"{e['jobs_per_s']:,.0f}" + ("" if e["complete"] else " (INCOMPLETE)"),
                             f"{e['webhooks']} webhooks in {e['elapsed_s']} s", "", "—"))
                rows.append((f"job store {name}: sync job (authenticate) req/s, 32 conn, CPU per request",
                             f"{fmt_rps(c['sync_rps'])} ({c.get('sync_cpu_us_per_request', '?')} µs)",
                             f"p99 {fmt_ms(c['sync_p99_ms'])} ms", "", "—"))
    def cost_row(section, label, target, rounds_note=""):
        cpu = ""
        if section.get("cpu_us_per_request_off") and section.get("cpu_us_per_request_on"):
            cpu = f"; server CPU per request off {section['cpu_us_per_request_off']} µs, on {section['cpu_us_per_request_on']} µs"
        rows.append((label, f"{section['cost_percent']}%",
                     f"off {fmt_rps(section['off_median_rps'])}, on {fmt_rps(section['on_median_rps'])} req/s{rounds_note}{cpu}", "",
                     f"< {target}%"))
        return section["cost_percent"] is not None and section["cost_percent"] < target

    mc = results.get("metrics_cost")
    if mc:
        met = cost_row(mc, "metrics cost on authenticate (32 conn, METRICS_TOKEN set vs off)", 3)
        targets.append(("metrics cost < 3 % on authenticate", met, f"{mc['cost_percent']}%"))
    rl = results.get("rate_limit")
    if rl:
        met = cost_row(rl, "rate-limit step cost on authenticate (32 conn)", 5, f" (median of {rl['rounds']})")
        targets.append(("(rate limit) step costs < 5% of req/s", met, f"{rl['cost_percent']}%"))
    scale = results.get("scale")
    if scale:
        s10, s1000 = scale["routes_10"], scale["routes_1000"]
        rows.append(("startup to first /health: 10 routes vs 1,000 routes", f"{s1000['startup_median_s'] * 1000:.0f} ms (1,000)",
                     f"{s10['startup_median_s'] * 1000:.0f} ms (10)", "", "< 1 s"))
        rows.append(("authenticate-handler req/s: 1,000 routes vs 10 routes", fmt_rps(s1000["median_rps"]), fmt_rps(s10["median_rps"]),
                     f"{scale['rps_ratio_1000_vs_10']:.2f}×", "≥ 0.90×"))
        if scale.get("rps_health_ratio_1000_vs_10"):
            rows.append(("GET /health (no key; reports every module): 1,000 routes (100 modules) vs 10 routes (1 module)",
                         fmt_rps(s1000["median_rps_health"]), fmt_rps(s10["median_rps_health"]),
                         f"{scale['rps_health_ratio_1000_vs_10']:.2f}×", "≥ 0.90×"))
            targets.append(("(7) 1,000 routes within 10% of 10 routes (GET /health)", scale["rps_health_ratio_1000_vs_10"] >= 0.90,
                            f"{scale['rps_health_ratio_1000_vs_10']:.2f}×"))
        if scale.get("rps_401_ratio_1000_vs_10"):
            rows.append(("same routes without a key (401: routing + middleware only): 1,000 vs 10 routes",
                         fmt_rps(s1000["median_rps_401"]), fmt_rps(s10["median_rps_401"]), f"{scale['rps_401_ratio_1000_vs_10']:.2f}×", "≥ 0.90×"))
        targets.append(("(7) 1,000 routes start in < 1 s", s1000["startup_median_s"] < 1.0, f"{s1000['startup_median_s'] * 1000:.0f} ms"))
        targets.append(("(7) 1,000 routes within 10% of 10 routes (req/s)", scale["rps_ratio_1000_vs_10"] >= 0.90, f"{scale['rps_ratio_1000_vs_10']:.2f}×"))
        if scale.get("rps_401_ratio_1000_vs_10"):
            targets.append(("(7) 1,000 routes within 10% of 10 routes (401 path)", scale["rps_401_ratio_1000_vs_10"] >= 0.90,
                            f"{scale['rps_401_ratio_1000_vs_10']:.2f}×"))
    micro = results.get("micro")
    if micro:
        for case in micro["cases"]:
            if case["name"].startswith("validation"):
                rows.append((case["name"].replace("validation ", "validations/s: "), fmt_rps(case["swift_per_s"]),
                             f"Python jsonschema {fmt_rps(case.get('python_per_s'))}", f"{case['ratio']:.0f}×" if "ratio" in case else "n/a", "≥ 20×"))
                if "ratio" in case and not case["name"].endswith("parse+isValid"):
                    targets.append((f"(validator) {case['name'].replace('validation ', '')} ≥ 20× Python", case["ratio"] >= 20, f"{case['ratio']:.0f}×"))
            elif case["name"].startswith("rate limit step"):
                rows.append((case["name"] + ": ns per request", f"{1e9 / case['swift_per_s']:.0f} ns", "", "", "diagnostic"))
            elif case["name"].startswith("job store"):
                rows.append((case["name"] + ": records/s", fmt_rps(case["swift_per_s"]),
                             f"{case.get('cpu_us_per_op', 0):.1f} µs CPU per record", "", "diagnostic"))
            else:
                rows.append((case["name"] + ": loads/s", fmt_rps(case["swift_per_s"]), f"{1e3 / case['swift_per_s']:.2f} ms per load", "", "—"))
    return rows, targets


def render(results):
    rows, targets = table(results)
    meta = results["meta"]
    lines = []
    lines.append(f"RouteHost benchmarks — {meta['started']} — commit {meta['commit']}{' (dirty)' if meta.get('dirty') else ''}")
    la, lb = meta.get("load_before"), meta.get("load_after")
    lines.append(f"machine: {meta['cpu']}, {meta['cores']} cores, {(meta['memory_bytes'] or 0) / GIB:.0f} GiB, Linux {meta['kernel']}; "
                 f"load average before {la[0]:.2f} / after {lb[0]:.2f}; wrk {meta['duration_s']} s per case"
                 + (" (QUICK smoke run: figures not representative)" if meta.get("quick") else ""))
    lines.append("")
    lines.append("| figure | routehost | reference (same run) | ratio | target |")
    lines.append("| --- | --- | --- | --- | --- |")
    for row in rows:
        lines.append("| " + " | ".join(row) + " |")
    lines.append("")
    lines.append("| target | result | |")
    lines.append("| --- | --- | --- |")
    for name, ok, value in targets:
        lines.append(f"| {name} | {value} | {verdict(ok)} |")
    if results.get("notes"):
        lines.append("")
        for note in results["notes"]:
            lines.append(f"- note: {note}")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", required=True, help="the release build's bin folder")
    parser.add_argument("--repo", default=".")
    parser.add_argument("--duration", type=int, default=int(os.environ.get("BENCH_DURATION", "6")), help="seconds per wrk case")
    parser.add_argument("--quick", action="store_true", help="a short smoke run (1 s cases, small streams)")
    parser.add_argument("--only", help="comma-separated sections: auth,info,errors,relay,queue,stores,ratelimit,metrics,scale,micro")
    parser.add_argument("--profile", action="store_true",
                        help="also profile authenticate, /info and a relayed stream with perf (Benchmarks/results/profile-*.txt)")
    parser.add_argument("--out", default=None, help="the JSON results (default Benchmarks/results/latest.json)")
    parser.add_argument("--markdown", default=None, help="also write the table here")
    parser.add_argument("--render", help="only print the table of an existing results JSON")
    args = parser.parse_args()
    if args.render:
        print(render(json.load(open(args.render))), end="")
        return
    if args.quick:
        args.duration = 1
    for tool in ("wrk", "curl"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is not installed (Benchmarks/run.sh installs it)")
    atexit.register(stop_all)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    bench = Bench(args)
    try:
        bench.run()
    finally:
        stop_all()
    out = args.out or os.path.join(bench.repo, "Benchmarks", "results", "latest.json")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        json.dump(bench.results, f, indent=1)
    text = render(bench.results)
    print(text, end="")
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(text)
    log(f"results: {out}; logs and temp files: {bench.work}")
    shutil.rmtree(bench.work, ignore_errors=True)


if __name__ == "__main__":
    main()
