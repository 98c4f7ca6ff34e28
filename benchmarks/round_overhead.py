"""Round overhead of fedsyft: round wall time against the compute inside it, and startup.

Launches N real HTTP datasites (each holding one UCI centre's data; the four centres are
cycled for 8 and 16 sites as cleveland-2, hungarian-2, ...) with an auto-approve policy,
connects as the scientist, submits a benchmark module whose `train` busy-computes for
`config["compute_s"]` seconds of CPU (small torch matmuls until `time.process_time`
advanced that far) before one real gradient step, and measures side by side, in one run:

- startup of the federation: launch, connect, submit, approval;
- rounds at each compute level, alternating the syft call path fedsyft used before
  (`legacy`: pass raw weights/config, `client.code.<name>(...)`, `.get()`) and the
  current `Federation.train_round` (`current`), with wall time, the longest compute a
  site reported, CPU spent by the scientist and by every datasite process tree, and the
  number of HTTP API calls;
- the ideal round for the machine: compute x max(1, sites / cores), since sites share
  the cores (16 sites computing 1 s each on 2 cores cannot finish in under 8 s);
- a breakdown of one round at compute 0 into its phases (weights upload, config upload,
  the function call, fetching the result), each phase run on all sites at once, for both
  call paths;
- the datasites' CPU use while idle (the steward's polling).

`make bench` runs it with the defaults; it is a measurement, not a timed test.

    python benchmarks/round_overhead.py --sites 4,8,16 --rounds 3 --compute-s 0,1 --out bench.json
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import secrets
import shutil
import signal
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

from datasite.server import DatasiteProcess, start, wait_ready  # noqa: E402
from fedsyft.demo import free_port  # noqa: E402
from policies.submission import SPLIT  # noqa: E402
from scientist.federation import Federation, Site, site_from_client  # noqa: E402
from scientist.strategies import fedavg  # noqa: E402
from tests.conftest import HEART, IMPORTS, SCIENTIST, policy_text, site_config_text  # noqa: E402

CENTRES = ("cleveland", "hungarian", "switzerland", "va")
CORES = os.cpu_count() or 1
MODULE_NAME = "bench_busy.py"
METRICS = ("loss", "accuracy", "correct", "loss_sum", "busy_s")
ROUND_BUDGET = 1000  # executions each request may have; the policy allows as many
SITE_MEMORY_MB = 1100  # a datasite with its preloaded sandbox fork server, measured ~0.9 GB

BENCH_MODULE = '''"""fedsyft benchmark submission: busy for config["compute_s"] CPU seconds, then one real
gradient step of logistic regression, so the output gate releases a correct update."""

import time

import numpy as np
import torch

FEATURES = [
    "age", "sex", "trestbps", "chol", "fbs", "thalach", "exang", "oldpeak",
    "cp_2", "cp_3", "cp_4", "restecg_1", "restecg_2",
]


def init_weights(config):
    """Zero weights shaped like the demo's model."""
    return {"weight": np.zeros((1, len(FEATURES)), np.float32), "bias": np.zeros(1, np.float32)}


def busy(seconds):
    """Small torch matmuls until this process has used `seconds` more CPU time."""
    start = time.process_time()
    block = torch.full((64, 64), 0.01)
    while time.process_time() - start < seconds:
        for _ in range(10):
            block = torch.tanh(block @ block)
    return time.process_time() - start


def features(data):
    """Standardised features and labels."""
    x = data[FEATURES].to_numpy(dtype=np.float32)
    x = (x - x.mean(axis=0)) / (x.std(axis=0) + np.float32(1.0))
    return x, data["target"].to_numpy(dtype=np.float32)


def train(data, weights, config):
    """Busy for compute_s CPU seconds, then one full-batch gradient step."""
    busy_s = busy(float(config.get("compute_s", 0.0)))
    x, y = features(data)
    w, b = np.asarray(weights["weight"]), np.asarray(weights["bias"])
    logits = x @ w[0] + b[0]
    grad = 1.0 / (1.0 + np.exp(-logits)) - y
    lr = np.float32(config.get("lr", 0.1))
    new = {"weight": (w - lr * (grad @ x / len(y))[None, :]).astype(np.float32),
           "bias": (b - lr * np.float32(grad.mean())).astype(np.float32)}
    loss = float(np.mean(np.logaddexp(0.0, logits) - y * logits))
    return {"weights": new, "num_examples": len(data), "metrics": {"loss": loss, "busy_s": busy_s}}


def evaluate(data, weights, config):
    """Counts over a split."""
    x, y = features(data)
    logits = x @ np.asarray(weights["weight"])[0] + np.asarray(weights["bias"])[0]
    correct = int(((logits > 0) == (y > 0.5)).sum())
    loss_sum = float(np.sum(np.logaddexp(0.0, logits) - y * logits))
    return {"num_examples": len(data), "metrics": {"correct": correct, "loss_sum": loss_sum}}
'''


# --- measuring ---------------------------------------------------------------------------


class CallCounter:
    """Counts the HTTP API calls this process makes to datasites (syft's HTTPConnection)."""

    def __init__(self) -> None:
        self.count = 0
        self._lock = threading.Lock()

    def install(self) -> None:
        from syft.client.client import HTTPConnection

        original = HTTPConnection.make_call
        counter = self

        def make_call(self: Any, signed_call: Any) -> Any:
            with counter._lock:
                counter.count += 1
            return original(self, signed_call)

        HTTPConnection.make_call = make_call


CALLS = CallCounter()


def process_cpu(pid: int) -> float:
    """CPU seconds of a process and of its reaped children, from /proc."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
        return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


def tree_cpu(pid: int) -> float:
    """CPU seconds of a process tree (a datasite, its sandbox fork server and its runs)."""
    total = process_cpu(pid)
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as kids:
            children = [int(k) for k in kids.read().split()]
    except OSError:
        children = []
    return total + sum(tree_cpu(child) for child in children)


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process tree in MiB."""
    total = 0.0
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) / 1024
        with open(f"/proc/{pid}/task/{pid}/children") as kids:
            children = [int(k) for k in kids.read().split()]
    except OSError:
        children = []
    return total + sum(tree_rss_mb(child) for child in children)


def available_mb() -> float:
    with open("/proc/meminfo") as meminfo:
        for line in meminfo:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 1024
    return float("inf")


@dataclass
class Cluster:
    """N launched datasites and the scientist's federation over them."""

    sites: list[DatasiteProcess]
    fed: Federation
    password: str
    startup: dict[str, float] = field(default_factory=dict)

    def site_cpu(self) -> float:
        return sum(tree_cpu(s.process.pid) for s in self.sites)


@contextlib.contextmanager
def measured(cluster: Cluster):
    """Wall, scientist CPU, datasite CPU and API calls of the block, in the yielded dict."""
    out: dict[str, float] = {}
    wall0, sci0, site0, calls0 = time.perf_counter(), time.process_time(), cluster.site_cpu(), CALLS.count
    yield out
    out.update(
        wall_s=time.perf_counter() - wall0,
        scientist_cpu_s=time.process_time() - sci0,
        sites_cpu_s=cluster.site_cpu() - site0,
        api_calls=CALLS.count - calls0,
    )


# --- the federation ------------------------------------------------------------------------


def site_names(n: int) -> list[str]:
    return [CENTRES[i % 4] if i < 4 else f"{CENTRES[i % 4]}-{i // 4 + 1}" for i in range(n)]


def launch_cluster(n: int, workdir: Path, log: Any) -> Cluster:
    """Launch n datasites, connect, submit the benchmark module and wait for approval."""
    workdir.mkdir(parents=True)
    policy = workdir / "policy.toml"
    policy.write_text(policy_text(
        name="bench", imports=IMPORTS + ("time",), max_rounds=ROUND_BUDGET, metric_names=METRICS,
        wall_time_s=120, cpu_time_s=60,
    ))
    env = {"FEDSYFT_TEST_ADMIN_PASSWORD": secrets.token_urlsafe(16),
           "FEDSYFT_TEST_SCIENTIST_PASSWORD": secrets.token_urlsafe(16)}
    configs = []
    for i, name in enumerate(site_names(n)):
        path = workdir / f"{name}.toml"
        path.write_text(site_config_text(
            name, free_port(), workdir / name, policy,
            [("heart", "uci-heart", HEART / f"processed.{CENTRES[i % 4]}.data")],
        ))
        configs.append(path)
    sites: list[DatasiteProcess] = []
    startup: dict[str, float] = {}
    try:
        t0 = time.perf_counter()
        for config in configs:  # from the main thread: a datasite dies with the thread that started it
            sites.append(start(config, env=env))
        for site in sites:
            wait_ready(site, timeout_s=900)
        t1 = time.perf_counter()
        startup["launch_s"] = t1 - t0
        log(f"  launched {n} datasites in {t1 - t0:.1f} s")
        with contextlib.redirect_stdout(io.StringIO()):  # syft prints a line per login
            fed = Federation.connect({s.name: s.url for s in sites}, SCIENTIST,
                                     env["FEDSYFT_TEST_SCIENTIST_PASSWORD"])
        t2 = time.perf_counter()
        startup["connect_s"] = t2 - t1
        fed.submit(BENCH_MODULE, MODULE_NAME, rounds=ROUND_BUDGET)
        t3 = time.perf_counter()
        startup["submit_s"] = t3 - t2
        fed.wait_for_approval(timeout_s=900)
        t4 = time.perf_counter()
        startup["approve_s"] = t4 - t3
        startup["total_s"] = t4 - t0
        log(f"  connected {t2 - t1:.1f} s, submitted {t3 - t2:.1f} s, approved {t4 - t3:.1f} s")
    except BaseException:
        for site in sites:
            site.stop()
        raise
    return Cluster(sites, fed, env["FEDSYFT_TEST_SCIENTIST_PASSWORD"], startup)


def stop_cluster(cluster: Cluster | None) -> None:
    if cluster is None:
        return
    try:
        cluster.fed.close()
    finally:
        for site in cluster.sites:
            site.stop()


# --- the two call paths --------------------------------------------------------------------


def legacy_run(site: Site, entrypoint: str, weights: dict, config: dict) -> dict:
    """fedsyft's call path before this benchmark: syft's defaults for every step."""
    asset = getattr(site, SPLIT[entrypoint])
    function = getattr(site.client.code, site.functions[entrypoint])
    pointer = function(data=asset, weights=weights, config=config)
    value = pointer.get() if hasattr(pointer, "get") else pointer
    if not isinstance(value, dict) or value.get("status") != "released":
        raise RuntimeError(f"{site.name}: {value}")
    return value


def legacy_round(fed: Federation, weights: dict, config: dict) -> tuple[dict, dict]:
    values = fed._each(lambda site: legacy_run(site, "train", weights, config))
    new = fedavg([(v["weights"], v["num_examples"]) for v in values.values()])
    return {k: v.astype(weights[k].dtype) for k, v in new.items()}, values


def current_round(fed: Federation, weights: dict, config: dict) -> tuple[dict, dict]:
    result = fed.train_round(0, weights, config)
    return result.weights, {s: a.value for s, a in result.answers.items()}


PATHS = {"legacy": legacy_round, "current": current_round}


def measure_round(cluster: Cluster, path: str, weights: dict, compute_s: float) -> tuple[dict, dict]:
    config = {"compute_s": compute_s, "lr": 0.1}
    with measured(cluster) as row:
        new, values = PATHS[path](cluster.fed, weights, config)
    row.update(
        path=path, compute_s=compute_s,
        site_compute_s=max(v.get("compute_s", 0.0) for v in values.values()),
        busy_s=max(v["metrics"].get("busy_s", 0.0) for v in values.values()),
    )
    return row, new


# --- the phase breakdown ---------------------------------------------------------------------


def breakdown(cluster: Cluster, weights: dict, rounds: int) -> dict:
    """Time each phase of a round at compute 0, all sites at once, for both call paths.

    legacy: syft's own `convert_to_pointers` (metadata, blob allocate, blob write,
    action.set) for weights then config, the call with pointers, `pointer.get()`.
    current: fedsyft's inline upload, the same call, one `action.get`.
    """
    from syft.service.action.action_object import convert_to_pointers

    from scientist import federation as F

    config = {"compute_s": 0.0, "lr": 0.1}

    def legacy_upload(site: Site, value: Any) -> Any:
        api = site.client.api
        _, kwargs = convert_to_pointers(api, api.server_uid, kwargs={"x": value})
        return kwargs["x"]

    def current_upload(site: Site, value: Any) -> Any:
        return F._send(site.client, value)

    phases: dict[str, dict[str, list]] = {}
    for _ in range(rounds):
        for path, upload, fetch in (("legacy", legacy_upload, lambda p: p.get()),
                                    ("current", current_upload, F._fetch)):
            w = {k: v + np.float32(np.random.rand() * 1e-3) for k, v in weights.items()}  # fresh content
            _breakdown_round(cluster, phases.setdefault(path, {}), upload, fetch, w, config)
    return {path: {name: _mean_rows(rows) for name, rows in got.items()} for path, got in phases.items()}


def _breakdown_round(cluster: Cluster, got: dict, upload: Any, fetch: Any, weights: dict, config: dict) -> None:
    fed = cluster.fed

    def phase(name: str, fn: Any) -> dict:
        with measured(cluster) as row:
            out = fed._each(fn)
        got.setdefault(name, []).append(row)
        return out

    w_ptr = phase("upload weights", lambda s: upload(s, weights))
    c_ptr = phase("upload config", lambda s: upload(s, dict(config)))
    func = {n: getattr(s.client.code, s.functions["train"]) for n, s in fed.sites.items()}
    pointers = phase("call (code.call, runs the code)", lambda s: func[s.name](
        data=s.train, weights=w_ptr[s.name], config=c_ptr[s.name]))
    values = phase("fetch result", lambda s: fetch(pointers[s.name]))
    bad = {n: v for n, v in values.items() if not (isinstance(v, dict) and v.get("status") == "released")}
    if bad:
        raise RuntimeError(f"breakdown round not released: {bad}")


def _mean_rows(rows: list[dict]) -> dict:
    return {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}


# --- one federation size -----------------------------------------------------------------------


def bench_size(n: int, args: argparse.Namespace, root: Path, log: Any) -> dict:
    need = n * SITE_MEMORY_MB
    if available_mb() < need:
        log(f"  skipped: {n} datasites need ~{need} MiB, {available_mb():.0f} MiB available")
        return {"sites": n, "skipped": f"needs ~{need} MiB of memory"}
    cluster = None
    try:
        cluster = launch_cluster(n, root / f"sites-{n}", log)
        weights = {"weight": np.zeros((1, 13), np.float32), "bias": np.zeros(1, np.float32)}
        result: dict[str, Any] = {"sites": n, "startup": cluster.startup}

        # the first round (the sites' first code.call, first sandbox run) is reported apart
        first, weights = measure_round(cluster, "current", weights, 0.0)
        result["first_round"] = first
        _, weights = measure_round(cluster, "legacy", weights, 0.0)  # warm the legacy path too
        log(f"  first round {first['wall_s']:.2f} s")

        # connect again on warm servers, with the lookup fedsyft used before and the current one
        result["reconnect"] = reconnect(cluster)

        rows = []
        for compute_s in args.compute_s:
            for i in range(args.rounds):
                order = ("legacy", "current") if i % 2 == 0 else ("current", "legacy")
                for path in order:
                    row, weights = measure_round(cluster, path, weights, compute_s)
                    rows.append(row)
                    log(f"  compute {compute_s:g} s  {path:7s}  round {row['wall_s']:6.2f} s  "
                        f"site compute {row['site_compute_s']:.2f} s  api calls {row['api_calls']}")
        result["rounds"] = rows
        result["summary"] = summarise(rows, n)
        result["breakdown"] = breakdown(cluster, weights, args.breakdown_rounds)
        result["idle"] = idle_cpu(cluster)
        result["memory_mb"] = sum(tree_rss_mb(s.process.pid) for s in cluster.sites)
        return result
    finally:
        stop_cluster(cluster)


def reconnect(cluster: Cluster) -> dict:
    """Connect time to warm servers: the dataset lookup before (client.datasets[...]) and now."""
    import syft as sy

    def login(site: DatasiteProcess) -> Any:
        host, _, port = site.url.rpartition(":")
        with contextlib.redirect_stdout(io.StringIO()):
            return sy.login(url=host, port=int(port), email=SCIENTIST, password=cluster.password)

    out = {}
    for label, lookup in (("legacy", lambda c: c.datasets["heart"]),
                          ("current", lambda c: site_from_client("x", "x", c))):
        with measured(cluster) as row:
            cluster.fed._each(lambda s, lookup=lookup: lookup(login(_process_of(cluster, s.name))))
        out[label] = row
    return out


def _process_of(cluster: Cluster, name: str) -> DatasiteProcess:
    return next(s for s in cluster.sites if s.name == name)


def idle_cpu(cluster: Cluster, seconds: float = 3.0) -> dict:
    """CPU the datasites use while nothing is asked of them (the stewards' polling)."""
    with measured(cluster) as row:
        time.sleep(seconds)
    return {"cores_used": row["sites_cpu_s"] / row["wall_s"],
            "per_site_cpu_s_per_s": row["sites_cpu_s"] / row["wall_s"] / len(cluster.sites)}


def summarise(rows: list[dict], n: int) -> dict:
    out: dict[str, dict] = {}
    for compute_s in sorted({r["compute_s"] for r in rows}):
        per = {}
        for path in ("legacy", "current"):
            sel = [r for r in rows if r["compute_s"] == compute_s and r["path"] == path]
            if not sel:
                continue
            mean = _mean_rows([{k: v for k, v in r.items() if isinstance(v, int | float)} for r in sel])
            ideal = compute_s * max(1.0, n / CORES)
            mean["ideal_s"] = ideal
            mean["overhead_s"] = mean["wall_s"] - ideal
            mean["overhead_per_site_s"] = mean["overhead_s"] / n
            mean["wall_over_ideal"] = mean["wall_s"] / ideal if ideal else None
            mean["wall_over_compute"] = mean["wall_s"] / compute_s if compute_s else None
            mean["api_calls_per_site"] = mean["api_calls"] / n
            mean["walls_s"] = [r["wall_s"] for r in sel]
            per[path] = mean
        if "legacy" in per and "current" in per:
            per["current_over_legacy"] = per["current"]["wall_s"] / per["legacy"]["wall_s"]
        out[f"{compute_s:g}"] = per
    return out


# --- report --------------------------------------------------------------------------------------


def table(results: list[dict], compute_levels: list[float]) -> str:
    done = [r for r in results if "skipped" not in r]
    lines = [f"fedsyft round overhead — {CORES} cores, {platform.python_version()}, "
             f"times in seconds, means over the measured rounds", ""]
    lines.append("Startup of the federation (launch + connect + submit + approval)")
    lines.append(f"{'sites':>5} {'launch':>8} {'connect':>8} {'submit':>8} {'approve':>8} {'total':>8}"
                 f" {'per site':>9} {'1st round':>10}")
    for r in done:
        s = r["startup"]
        lines.append(f"{r['sites']:>5} {s['launch_s']:8.1f} {s['connect_s']:8.1f} {s['submit_s']:8.1f} "
                     f"{s['approve_s']:8.1f} {s['total_s']:8.1f} {s['total_s'] / r['sites']:9.2f}"
                     f" {r['first_round']['wall_s']:10.2f}")
    lines.append("")
    lines.append("Connect to warm servers: dataset lookup before (client.datasets[name]) vs now")
    lines.append(f"{'sites':>5} {'before':>8} {'now':>8} {'sci CPU before':>15} {'sci CPU now':>12}")
    for r in done:
        c = r["reconnect"]
        lines.append(f"{r['sites']:>5} {c['legacy']['wall_s']:8.2f} {c['current']['wall_s']:8.2f} "
                     f"{c['legacy']['scientist_cpu_s']:15.2f} {c['current']['scientist_cpu_s']:12.2f}")
    for compute_s in compute_levels:
        key = f"{compute_s:g}"
        lines.append("")
        lines.append(f"Rounds, compute {key} s per site (ideal = compute x max(1, sites/{CORES} cores))")
        lines.append(f"{'sites':>5} {'path':>8} {'wall':>7} {'ideal':>6} {'wall/ideal':>10} "
                     f"{'wall/comp':>9} {'site comp':>9} {'overhead':>8} {'ovh/site':>8} {'calls/site':>10}"
                     f" {'sci CPU':>7} {'sites CPU':>9}")
        for r in done:
            per = r["summary"].get(key, {})
            for path in ("legacy", "current"):
                m = per.get(path)
                if not m:
                    continue
                ratio = f"{m['wall_over_ideal']:10.2f}" if m["wall_over_ideal"] else f"{'-':>10}"
                comp = f"{m['wall_over_compute']:9.2f}" if m["wall_over_compute"] else f"{'-':>9}"
                lines.append(
                    f"{r['sites']:>5} {path:>8} {m['wall_s']:7.2f} {m['ideal_s']:6.1f} {ratio} {comp} "
                    f"{m['site_compute_s']:9.2f} {m['overhead_s']:8.2f} {m['overhead_per_site_s']:8.3f} "
                    f"{m['api_calls_per_site']:10.1f} {m['scientist_cpu_s']:7.2f} {m['sites_cpu_s']:9.2f}")
            if "current_over_legacy" in per:
                lines.append(f"{'':>5} {'now/before':>8} {per['current_over_legacy']:7.2f}")
    lines.append("")
    lines.append("One round at compute 0 by phase, every site at once (wall s | scientist CPU s | "
                 "datasites CPU s | API calls)")
    for r in done:
        for path, phases in r["breakdown"].items():
            total = sum(p["wall_s"] for p in phases.values())
            lines.append(f"{r['sites']:>5} {path:>8}  total {total:.2f} s")
            for name, p in phases.items():
                lines.append(f"{'':>16}{name:34s} {p['wall_s']:6.3f} | {p['scientist_cpu_s']:6.3f} | "
                             f"{p['sites_cpu_s']:6.3f} | {p['api_calls']:5.0f}")
    lines.append("")
    lines.append("Idle datasites (no request in flight): CPU used by their background polling")
    for r in done:
        lines.append(f"{r['sites']:>5} sites: {r['idle']['cores_used']:.2f} cores "
                     f"({r['idle']['per_site_cpu_s_per_s']:.3f} CPU-s per second per site); "
                     f"memory {r['memory_mb'] / 1024:.1f} GiB")
    for r in results:
        if "skipped" in r:
            lines.append(f"{r['sites']} sites skipped: {r['skipped']}")
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sites", default="4,8,16", help="federation sizes, comma-separated")
    parser.add_argument("--rounds", type=int, default=3, help="measured rounds per path and compute level")
    parser.add_argument("--compute-s", default="0,1", help="seconds of CPU per site per round")
    parser.add_argument("--breakdown-rounds", type=int, default=2, help="rounds of the phase breakdown")
    parser.add_argument("--out", default="benchmarks/round_overhead.json", help="results JSON")
    parser.add_argument("--workdir", default=None, help="where the datasites keep their data (default: a temp dir)")
    args = parser.parse_args(argv)
    args.sites = [int(s) for s in args.sites.split(",") if s]
    args.compute_s = [float(c) for c in args.compute_s.split(",") if c]
    return args


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)  # stop the datasites on SIGTERM too
    root = Path(args.workdir or tempfile.mkdtemp(prefix="fedsyft-bench-"))
    root.mkdir(parents=True, exist_ok=True)

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    t = time.perf_counter()
    import syft  # noqa: F401  (several seconds, once: not part of any measured startup)

    import_s = time.perf_counter() - t
    CALLS.install()
    results: list[dict] = []
    try:
        for n in args.sites:
            log(f"{n} datasites")
            results.append(bench_size(n, args, root, log))
    finally:
        if args.workdir is None:
            shutil.rmtree(root, ignore_errors=True)
    report = {
        "machine": {"cores": CORES, "python": platform.python_version(), "import_syft_s": import_s},
        "settings": {"sites": args.sites, "rounds": args.rounds, "compute_s": args.compute_s},
        "results": results,
    }
    text = table(results, args.compute_s)
    report["table"] = text.splitlines()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2))
    print(text)
    print(f"\nresults: {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
