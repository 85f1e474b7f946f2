#!/usr/bin/env python3
"""Upload benchmark: this binary vs `twine upload` vs `uv publish` vs a bare curl loop.

Every (round, tool) gets a fresh pypiserver (waitress, htpasswd auth) on 127.0.0.1; tools
alternate within a round (the order rotates every round). Wall time is measured around the
process, CPU time and peak RSS come from GNU time (`/usr/bin/time -v`, children included: the
curl loop's RSS is its largest curl). Run through bench/run.sh, which sets the paths.

The latency cases put bench/latency_proxy.py in front of the index: every upload is answered
no earlier than `--hold-ms` after its body arrived (a tenth of that for a GET), as a remote
index would; the slow-link case also limits the upload bandwidth. The proxy's request log
gives the most uploads a tool had in flight at once.
"""
import argparse
import json
import os
import platform
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = os.path.join(ROOT, "target", "bench-env")
VENV_BIN = os.path.join(ENV, "venv", "bin")
BINARY = os.path.join(ROOT, "target", "release", "pypi-oidc-publish")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """A fresh pypiserver with one user `__token__` and a random token."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="bench-pypi-")
        self.packages = os.path.join(self.dir, "packages")
        os.mkdir(self.packages)
        self.token = "pypi-bench" + secrets.token_hex(16)
        htpasswd = os.path.join(self.dir, "htpasswd")
        subprocess.run([os.path.join(VENV_BIN, "python"), "-c",
                        "import sys; from passlib.apache import HtpasswdFile as H; h=H(sys.argv[1], new=True); "
                        "h.set_password('__token__', sys.argv[2]); h.save()", htpasswd, self.token], check=True)
        self.port = free_port()
        self.log = open(os.path.join(self.dir, "server.log"), "w")
        self.process = subprocess.Popen(
            [os.path.join(VENV_BIN, "pypi-server"), "run", "-i", "127.0.0.1", "-p", str(self.port),
             "--server", "auto", "-a", "update", "-P", htpasswd, "--disable-fallback",
             "--hash-algo", "sha256", self.packages],
            stdout=subprocess.DEVNULL, stderr=self.log)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("pypiserver did not start")

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}/"

    def cpu_seconds(self):
        """CPU time the index process has used so far (user + system)."""
        with open(f"/proc/{self.process.pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stored(self):
        return sorted(os.listdir(self.packages))

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class LatencyProxy:
    """bench/latency_proxy.py in front of an index (see its docstring)."""

    def __init__(self, upstream_port, hold_ms, rate_mb=0.0):
        self.dir = tempfile.mkdtemp(prefix="bench-proxy-")
        self.log_path = os.path.join(self.dir, "requests.jsonl")
        self.process = subprocess.Popen(
            [os.path.join(VENV_BIN, "python"), os.path.join(ROOT, "bench", "latency_proxy.py"),
             "--upstream", f"127.0.0.1:{upstream_port}", "--hold-ms", str(hold_ms),
             "--rate-mb", str(rate_mb), "--log", self.log_path],
            stdout=subprocess.PIPE, stderr=open(os.path.join(self.dir, "stderr"), "w"), text=True)
        line = self.process.stdout.readline()
        if not line.startswith("listening on "):
            raise RuntimeError(f"latency proxy did not start: {line!r}")
        self.port = int(line.split()[-1])

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}/"

    def requests(self):
        with open(self.log_path) as log:
            return [json.loads(line) for line in log if line.strip()]

    def max_uploads_in_flight(self):
        """The most POSTs between their start and their answer at any one moment."""
        events = []
        for request in self.requests():
            if request["method"] == "POST":
                events += [(request["start"], 1), (request["end"], -1)]
        peak = current = 0
        for _, step in sorted(events):
            current += step
            peak = max(peak, current)
        return peak

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def load_average():
    """The 1-minute load average: the machine is shared, so every row says how busy it was."""
    with open("/proc/loadavg") as loadavg:
        return float(loadavg.read().split()[0])


def dist_fields(path):
    """name and version from the file name (enough for pypiserver, as for the curl floor)."""
    base = os.path.basename(path)
    if base.endswith(".whl"):
        name, version = base.split("-")[:2]
    else:
        name, version = base[: -len(".tar.gz")].rsplit("-", 1)
    return name, version


def curl_script(files, url, token, parallel):
    """One `curl -F` multipart POST per file: the transfer floor."""
    lines = ["set -e", f"export CURL_AUTH='__token__:{token}'"]
    commands = []
    for path in files:
        name, version = dist_fields(path)
        commands.append(
            f"curl -sS -f -o /dev/null -u \"$CURL_AUTH\" -F ':action=file_upload' -F 'name={name}' "
            f"-F 'version={version}' -F 'content=@{path};type=application/octet-stream' {url}")
    if parallel > 1:
        # A bounded number of curls at once, like the binary's upload-concurrency.
        lines.append("pids=()")
        for index, command in enumerate(commands):
            lines.append(f"{command} & pids+=($!)")
            if (index + 1) % parallel == 0:
                lines.append('for p in "${pids[@]}"; do wait "$p"; done; pids=()')
        lines.append('for p in "${pids[@]}"; do wait "$p"; done')
    else:
        lines.extend(commands)
    return "\n".join(lines) + "\n"


def command_for(tool, files, folder, server, concurrency, url=None):
    url = url or server.url
    env = dict(os.environ)
    for key in list(env):
        if key.startswith(("GITHUB_", "INPUT_", "UV_", "TWINE_", "ACTIONS_", "RUNNER_")):
            del env[key]
    if tool.startswith("this"):
        env["PYPI_TOKEN"] = server.token
        argv = [BINARY, "--repository-url", url, "--packages-dir", folder, "--release=false"]
        if tool.startswith("this-"):
            argv += ["--upload-concurrency", tool.split("-", 1)[1]]
        return argv, env
    if tool == "twine":
        return [os.path.join(VENV_BIN, "twine"), "upload", "--repository-url", url, "-u", "__token__",
                "-p", server.token, "--non-interactive", "--disable-progress-bar", *files], env
    if tool == "uv":
        env["UV_NO_CONFIG"] = "1"
        return [os.path.join(VENV_BIN, "uv"), "publish", "--publish-url", url, "--username", "__token__",
                "--password", server.token, "--trusted-publishing", "never", "--no-progress", *files], env
    if tool == "curl-next":
        # One curl process, one connection: every file's POST chained with --next.
        argv = ["curl", "-sS", "-f", "-o", "/dev/null"]
        for index, path in enumerate(files):
            name, version = dist_fields(path)
            if index:
                argv += ["--next", "-sS", "-f", "-o", "/dev/null"]
            argv += ["-u", f"__token__:{server.token}", "-F", ":action=file_upload", "-F", f"name={name}",
                     "-F", f"version={version}", "-F", f"content=@{path};type=application/octet-stream", url]
        return argv, env
    if tool.startswith("curl"):
        parallel = concurrency if tool == "curl-par" else 1
        return ["bash", "-c", curl_script(files, url, server.token, parallel)], env
    raise ValueError(tool)


def parse_time(path):
    text = open(path).read()

    def field(label):
        match = re.search(rf"{re.escape(label)}: (.+)", text)
        return match.group(1).strip() if match else "0"

    return {
        "cpu": float(field("User time (seconds)")) + float(field("System time (seconds)")),
        "rss": int(field("Maximum resident set size (kbytes)")) / 1024,
    }


def measure(argv, env):
    with tempfile.NamedTemporaryFile("r", suffix=".time") as timing:
        start = time.perf_counter()
        result = subprocess.run(["/usr/bin/time", "-v", "-o", timing.name, *argv], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        wall = time.perf_counter() - start
        if result.returncode != 0:
            sys.stderr.write(result.stdout.decode(errors="replace")[-3000:])
            raise RuntimeError(f"{argv[0]} exited with {result.returncode}")
        stats = parse_time(timing.name)
    stats["wall"] = wall
    return stats


def run_case(case, folder, tools, rounds, concurrency, proxy=None):
    """`proxy`: None (straight to the index) or (hold_ms, rate_mb) for bench/latency_proxy.py."""
    files = sorted(os.path.join(folder, f) for f in os.listdir(folder))
    results = {tool: [] for tool in tools}
    for round_index in range(rounds):
        order = tools[round_index % len(tools):] + tools[: round_index % len(tools)]
        for tool in order:
            server = Server()
            latency = None
            try:
                if proxy:
                    latency = LatencyProxy(server.port, *proxy)
                argv, env = command_for(tool, files, folder, server, concurrency,
                                        latency.url if latency else None)
                server_cpu = server.cpu_seconds()
                load = load_average()
                stats = measure(argv, env)
                stats["load"] = max(load, load_average())
                stats["server_cpu"] = server.cpu_seconds() - server_cpu
                if latency:
                    stats["in_flight"] = latency.max_uploads_in_flight()
                stored = server.stored()
                if len(stored) != len(files):
                    raise RuntimeError(f"{tool}: the index holds {len(stored)} of {len(files)} files")
            finally:
                if latency:
                    latency.stop()
                server.stop()
            results[tool].append(stats)
            flight = f", {stats['in_flight']} in flight" if "in_flight" in stats else ""
            print(f"  {case} round {round_index + 1}: {tool:9} wall {stats['wall']:7.3f}s cpu {stats['cpu']:6.2f}s "
                  f"rss {stats['rss']:6.1f} MiB, index cpu {stats['server_cpu']:5.2f}s, load {stats['load']:.1f}{flight}",
                  flush=True)
    return results


def summary(values, unit, digits):
    return (f"{statistics.median(values):.{digits}f} {unit} "
            f"({min(values):.{digits}f}-{max(values):.{digits}f})")


def dry_run(folder):
    env = {"PATH": os.environ["PATH"]}
    return measure([BINARY, "--dry-run", "--packages-dir", folder, "--release=false"], env)


def startup(samples):
    times = []
    for _ in range(samples):
        start = time.perf_counter()
        subprocess.run([BINARY, "--version"], stdout=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - start)
    return times


def machine():
    cpu = "?"
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    sha_ni = "sha_ni" in open("/proc/cpuinfo").read()
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30

    def version(argv):
        return subprocess.run(argv, capture_output=True, text=True).stdout.strip().splitlines()[0]

    return [
        f"- CPU: {cpu}, {os.cpu_count()} cores{' (SHA-NI)' if sha_ni else ''}, {memory:.0f} GiB RAM; {platform.system()} {platform.release()}",
        f"- {version([BINARY, '--version'])} (release build), {version([os.path.join(VENV_BIN, 'twine'), '--version'])}",
        f"- {version([os.path.join(VENV_BIN, 'uv'), '--version'])}, {version(['curl', '--version'])}",
        f"- index: pypiserver {version([os.path.join(VENV_BIN, 'python'), '-c', 'import pypiserver; print(pypiserver.__version__)'])} "
        f"on waitress, 127.0.0.1, fresh per (round, tool); Python {platform.python_version()}",
    ]


# case: (dists folder, label, proxy). proxy: None, or (hold ms per upload, MB/s or 0).
CASES = {
    "small": ("small", "(a) 40 small dists", None),
    "large": ("large", "(b) 2 x 100 MB wheels", None),
    "many": ("many", "(c) 300 small wheels", None),
    "cibw": ("cibw", "(d) 100 wheels of 200 KB", None),
    "lat40": ("wheels40", "(e) 40 wheels, 300 ms per upload", (300, 0)),
    "latcibw": ("cibw", "(f) 100 wheels of 200 KB, 300 ms per upload", (300, 0)),
    "slowlink": ("large", "(g) 2 x 100 MB wheels, 10 MB/s link, 300 ms per upload", (300, 10)),
}
DEFAULT_ROUNDS = "small=5,large=3,many=3,cibw=3,lat40=5,latcibw=3,slowlink=3"
# The latency cases compare the tools users choose between; curl adds nothing there.
LATENCY_TOOLS = "this,uv,twine"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dists", required=True)
    parser.add_argument("--cases", default="small,large,many,cibw,lat40,latcibw,slowlink")
    parser.add_argument("--tools", default="this,this-1,uv,twine,curl,curl-par,curl-next",
                        help="for the cases without a proxy; this-N is the binary with --upload-concurrency N")
    parser.add_argument("--latency-tools", default=LATENCY_TOOLS, help="for the cases through the latency proxy")
    parser.add_argument("--hold-ms", type=float, help="override the upload hold of the latency cases")
    parser.add_argument("--rounds", default=DEFAULT_ROUNDS)
    parser.add_argument("--concurrency", type=int, default=10, help="the binary's default upload-concurrency")
    parser.add_argument("--out", help="write the Markdown table here")
    args = parser.parse_args()
    rounds = dict(item.split("=") for item in DEFAULT_ROUNDS.split(","))
    rounds.update(item.split("=") for item in args.rounds.split(","))
    names = {"this": "pypi-oidc-publish", "uv": "uv publish", "twine": "twine upload",
             "curl": "curl loop (sequential)", "curl-par": f"curl, {args.concurrency} at once",
             "curl-next": "curl, one process (--next)"}
    table = ["| case | tool | wall time, median (min-max) | CPU time | peak RSS | index CPU | load | uploads in flight | wall vs uv | wall vs twine | wall vs curl floor |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    loads = [load_average()]
    for case in args.cases.split(","):
        dists, label, proxy = CASES[case]
        if proxy and args.hold_ms is not None:
            proxy = (args.hold_ms, proxy[1])
        folder = os.path.join(args.dists, dists)
        tools = (args.latency_tools if proxy else args.tools).split(",")
        print(f"== {label}", flush=True)
        results = run_case(case, folder, tools, int(rounds.get(case, 3)), args.concurrency, proxy)
        median = {tool: statistics.median(r["wall"] for r in runs) for tool, runs in results.items()}
        floor_tools = [t for t in ("curl", "curl-par", "curl-next") if t in median]
        floor = min(median[t] for t in floor_tools) if floor_tools else None
        for tool, runs in results.items():
            walls = [r["wall"] for r in runs]
            ratio = lambda other: f"{median[tool] / median[other]:.2f}x" if other in median and other != tool else ""
            flights = [r["in_flight"] for r in runs if "in_flight" in r]
            name = names.get(tool) or f"pypi-oidc-publish, upload-concurrency {tool.split('-', 1)[1]}"
            table.append(
                f"| {label} | {name} | {summary(walls, 's', 3)} | "
                f"{summary([r['cpu'] for r in runs], 's', 2)} | {summary([r['rss'] for r in runs], 'MiB', 1)} | "
                f"{statistics.median(r['server_cpu'] for r in runs):.2f} s | "
                f"{summary([r['load'] for r in runs], '', 1).replace('  (', ' (')} | "
                f"{max(flights) if flights else ''} | "
                f"{ratio('uv')} | {ratio('twine')} | "
                f"{f'{median[tool] / floor:.2f}x' if floor and not tool.startswith('curl') else ''} |")
        print("\n".join(table[-len(results):]), flush=True)
    extra = []
    if "small" in args.cases:
        verify = [dry_run(os.path.join(args.dists, "small")) for _ in range(5)]
        extra.append(f"| dry-run verification, 40 small dists | pypi-oidc-publish | {summary([r['wall'] for r in verify], 's', 3)} | "
                     f"{summary([r['cpu'] for r in verify], 's', 3)} | {summary([r['rss'] for r in verify], 'MiB', 1)} | | | | | | |")
    if "large" in args.cases:
        verify = [dry_run(os.path.join(args.dists, "large")) for _ in range(3)]
        extra.append(f"| dry-run verification, 2 x 100 MB | pypi-oidc-publish | {summary([r['wall'] for r in verify], 's', 3)} | "
                     f"{summary([r['cpu'] for r in verify], 's', 3)} | {summary([r['rss'] for r in verify], 'MiB', 1)} | | | | | | |")
    start = startup(200)
    extra.append(f"| `--version` start-up (200 runs, spawn included) | pypi-oidc-publish | "
                 f"{summary([t * 1000 for t in start], 'ms', 2)} | | | | | | | | |")
    loads.append(load_average())
    text = "\n".join(machine()) + f"\n- load average (1 min) at the start and the end: {loads[0]:.1f}, {loads[-1]:.1f}\n\n" + "\n".join(table + extra) + "\n"
    print(text)
    if args.out:
        with open(args.out, "w") as out:
            out.write(text)


if __name__ == "__main__":
    main()
