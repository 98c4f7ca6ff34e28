"""datasite.sandbox: hostile submissions run in real confined child processes, real torch."""

from __future__ import annotations

import os
import socket
import statistics
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from datasite.sandbox import OUTPUT_LIMIT, Limits, Sandbox, SandboxOutcome

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the sandbox needs Linux")

FEATURES = ["age", "sex", "trestbps", "chol", "fbs", "thalach", "exang", "oldpeak",
            "cp_2", "cp_3", "cp_4", "restecg_1", "restecg_2"]
LEGIT = Limits(wall_time_s=60, cpu_time_s=60, memory_mb=256, result_bytes=1_000_000)
# in the server's environment before the fork server starts, as datasite passwords may be
SECRET_ENV, SECRET_VALUE = "FEDSYFT_SANDBOX_TEST_SECRET", "hunter2-in-the-environment"
os.environ[SECRET_ENV] = SECRET_VALUE

LOGISTIC_REGRESSION = '''
import numpy as np
import pandas as pd
import torch

FEATURES = ["age", "sex", "trestbps", "chol", "fbs", "thalach", "exang", "oldpeak",
            "cp_2", "cp_3", "cp_4", "restecg_1", "restecg_2"]


class LogisticRegression(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(len(FEATURES), 1)

    def forward(self, x):
        return self.linear(x).squeeze(1)


def train(data: pd.DataFrame, weights: dict, config: dict) -> dict:
    torch.manual_seed(config["seed"])
    model = LogisticRegression()
    model.load_state_dict({name: torch.from_numpy(value) for name, value in weights.items()})
    features = data[FEATURES].to_numpy()
    features = (features - features.mean(0)) / (features.std(0) + 1e-6)
    x = torch.tensor(features, dtype=torch.float32)
    y = torch.tensor(data["target"].to_numpy(), dtype=torch.float32)
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(x, y), batch_size=config["batch_size"], shuffle=True
    )
    optimizer = torch.optim.SGD(model.parameters(), lr=config["lr"])
    for _ in range(config["epochs"]):
        for xb, yb in loader:
            optimizer.zero_grad()
            loss = torch.nn.functional.binary_cross_entropy_with_logits(model(xb), yb)
            loss.backward()
            optimizer.step()
    print(f"trained on {len(data)} rows")
    new_weights = {name: value.detach().numpy() for name, value in model.state_dict().items()}
    return {"weights": new_weights, "num_examples": len(data), "metrics": {"loss": loss.item()}}
'''

TRIVIAL = "def train(data, weights, config):\n    return {'num_examples': len(data)}\n"


def heart_frame(rows: int = 60, seed: int = 0) -> pd.DataFrame:
    """A DataFrame shaped like the preprocessed UCI heart data (13 float64 features, int64 target)."""
    rng = np.random.default_rng(seed)
    cp = rng.integers(1, 5, rows)
    restecg = rng.integers(0, 3, rows)
    frame = pd.DataFrame({
        "age": rng.normal(54, 9, rows).round(),
        "sex": rng.integers(0, 2, rows).astype(float),
        "trestbps": rng.normal(131, 17, rows).round(),
        "chol": rng.normal(246, 51, rows).round(),
        "fbs": (rng.random(rows) < 0.15).astype(float),
        "thalach": rng.normal(150, 23, rows).round(),
        "exang": (rng.random(rows) < 0.33).astype(float),
        "oldpeak": rng.gamma(1.0, 1.0, rows).round(1),
        "cp_2": (cp == 2).astype(float),
        "cp_3": (cp == 3).astype(float),
        "cp_4": (cp == 4).astype(float),
        "restecg_1": (restecg == 1).astype(float),
        "restecg_2": (restecg == 2).astype(float),
    })
    frame["target"] = (rng.random(rows) < 0.45).astype(np.int64)
    return frame


@pytest.fixture(scope="module")
def runs_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sandbox-runs")


@pytest.fixture(scope="module")
def sandbox(runs_root: Path) -> Iterator[Sandbox]:
    box = Sandbox(workdir_root=runs_root)
    yield box
    box.close()


@pytest.fixture(scope="module")
def heart() -> pd.DataFrame:
    return heart_frame()


def run(sandbox: Sandbox, source: str, data: pd.DataFrame | None = None,
        limits: Limits = LEGIT, config: dict | None = None) -> SandboxOutcome:
    """Run ``train`` of ``source`` on a small frame."""
    frame = heart_frame(5) if data is None else data
    return sandbox.run(source, "train", frame, {}, config or {}, limits)


def assert_still_serving(sandbox: Sandbox) -> None:
    """After an attack, the same sandbox still runs a legit module."""
    outcome = run(sandbox, TRIVIAL)
    assert (outcome.status, outcome.value) == ("ok", {"num_examples": 5}), outcome.error


def assert_violation(outcome: SandboxOutcome, words: str) -> None:
    assert outcome.status == "violation", (outcome.status, outcome.error)
    assert words in outcome.error, outcome.error
    assert outcome.value is None


# ------------------------------------------------------------------ legitimate submissions


def test_torch_logistic_regression_trains_and_returns_weights_of_the_right_shapes(
    sandbox: Sandbox, heart: pd.DataFrame
) -> None:
    weights = {"linear.weight": np.zeros((1, 13), np.float32), "linear.bias": np.zeros(1, np.float32)}
    config = {"epochs": 5, "lr": 0.1, "batch_size": 16, "seed": 0}
    outcome = sandbox.run(LOGISTIC_REGRESSION, "train", heart, weights, config, LEGIT)
    assert outcome.status == "ok", outcome.error
    update = outcome.value["weights"]
    assert {name: (array.shape, array.dtype) for name, array in update.items()} == {
        "linear.weight": ((1, 13), np.float32), "linear.bias": ((1,), np.float32)
    }
    assert all(np.isfinite(array).all() for array in update.values())
    assert np.abs(update["linear.weight"]).sum() > 0  # it trained
    assert outcome.value["num_examples"] == 60 and isinstance(outcome.value["metrics"]["loss"], float)
    assert outcome.stdout == "trained on 60 rows\n"
    assert "Warning" not in outcome.stderr, outcome.stderr
    assert {"session", "rlimits", "audit-hook"} <= set(outcome.confinement)


def test_pure_numpy_module_runs(sandbox: Sandbox, heart: pd.DataFrame) -> None:
    source = '''
import numpy as np
FEATURES = ["age", "sex", "trestbps", "chol", "fbs", "thalach", "exang", "oldpeak",
            "cp_2", "cp_3", "cp_4", "restecg_1", "restecg_2"]
def train(data, weights, config):
    x = data[FEATURES].to_numpy()
    x = np.c_[(x - x.mean(0)) / (x.std(0) + 1e-6), np.ones(len(x))]
    coef, *_ = np.linalg.lstsq(x, data["target"].to_numpy(float), rcond=None)
    return {"weights": {"coef": coef.astype(np.float32)}, "num_examples": len(data)}
'''
    outcome = run(sandbox, source, heart)
    assert outcome.status == "ok", outcome.error
    assert outcome.value["weights"]["coef"].shape == (14,)


def test_dataclass_namedtuple_and_scratch_files_work(sandbox: Sandbox, runs_root: Path) -> None:
    source = '''
import dataclasses, json, typing
@dataclasses.dataclass(frozen=True)
class Settings:
    lr: float = 0.1
    epochs: int = 2
class Pair(typing.NamedTuple):
    left: int
    right: int
def train(data, weights, config):
    settings = Settings(lr=config["lr"])
    with open("scratch.json", "w") as scratch:  # the work directory is writable
        json.dump(dataclasses.asdict(settings), scratch)
    with open("scratch.json") as scratch:
        saved = json.load(scratch)
    return {"metrics": {"lr": saved["lr"], "sum": sum(Pair(1, 2))}}
'''
    outcome = run(sandbox, source, config={"lr": 0.5})
    assert outcome.status == "ok", outcome.error
    assert outcome.value == {"metrics": {"lr": 0.5, "sum": 3}}
    assert list(runs_root.iterdir()) == []  # the work directory is gone


def test_several_runs_in_parallel_threads_all_succeed(sandbox: Sandbox) -> None:
    source = '''
import numpy as np
def train(data, weights, config):
    return {"metrics": {"k": config["k"], "total": float(np.asarray(data["age"]).sum())}}
'''
    frames = [heart_frame(20 + k, seed=k) for k in range(8)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        outcomes = list(pool.map(lambda k: run(sandbox, source, frames[k], config={"k": k}),
                                 range(8)))
    for k, outcome in enumerate(outcomes):
        assert outcome.status == "ok", outcome.error
        assert outcome.value["metrics"] == {"k": k, "total": float(frames[k]["age"].sum())}


def test_trivial_run_overhead_is_reported(sandbox: Sandbox, capsys: pytest.CaptureFixture) -> None:
    run(sandbox, TRIVIAL)  # warm: the fork server is up
    seconds, child_wall = [], []
    for _ in range(15):
        started = time.perf_counter()
        outcome = run(sandbox, TRIVIAL)
        seconds.append(time.perf_counter() - started)
        child_wall.append(outcome.wall_s)
        assert outcome.status == "ok", outcome.error
    report = {
        "trivial_run_ms_median": round(statistics.median(seconds) * 1000, 1),
        "trivial_run_ms_max": round(max(seconds) * 1000, 1),
        "child_fork_to_exit_ms_median": round(statistics.median(child_wall) * 1000, 1),
        "confinement": outcome.confinement,
    }
    with capsys.disabled():
        print(f"\nsandbox overhead: {report}")


# ------------------------------------------------------------------------ resource limits


def test_infinite_loop_times_out(sandbox: Sandbox) -> None:
    limits = Limits(wall_time_s=1.5, cpu_time_s=60, memory_mb=256, result_bytes=1000)
    started = time.monotonic()
    outcome = run(sandbox, "def train(data, weights, config):\n    while True:\n        pass\n",
                  limits=limits)
    assert outcome.status == "timeout" and "1.5 s" in outcome.error
    assert time.monotonic() - started < 15
    assert_still_serving(sandbox)


def test_sleeping_past_the_wall_time_times_out(sandbox: Sandbox) -> None:
    limits = Limits(wall_time_s=1, cpu_time_s=60, memory_mb=256, result_bytes=1000)
    outcome = run(sandbox, "import time\ndef train(d, w, c):\n    time.sleep(600)\n", limits=limits)
    assert outcome.status == "timeout" and outcome.cpu_s < 1
    assert_still_serving(sandbox)


@pytest.mark.parametrize("ignore_sigxcpu", [False, True])
def test_busy_cpu_loop_hits_the_cpu_limit(sandbox: Sandbox, ignore_sigxcpu: bool) -> None:
    limits = Limits(wall_time_s=60, cpu_time_s=1, memory_mb=256, result_bytes=1000)
    ignore = "signal.signal(signal.SIGXCPU, signal.SIG_IGN)" if ignore_sigxcpu else "pass"
    source = (f"import signal\ndef train(d, w, c):\n"
              f"    {ignore}  # ignoring SIGXCPU only earns a SIGKILL at the hard limit\n"
              f"    while True:\n        pass\n")
    outcome = run(sandbox, source, limits=limits)
    assert outcome.status == "cpu_limit", (outcome.status, outcome.error)
    assert outcome.cpu_s >= 0.9
    assert_still_serving(sandbox)


@pytest.mark.parametrize(
    "body",
    [
        "return len(bytearray(10**10))",
        "return float(np.ones(10**10).sum())",
        "blocks = []\n    while True:\n        blocks.append(bytearray(10**6))",
        "return torch.ones(10**10).sum().item()",
    ],
    ids=["bytearray", "numpy", "list-growth", "torch"],
)
def test_memory_bombs_hit_the_memory_limit(sandbox: Sandbox, body: str) -> None:
    source = f"import numpy as np, torch\ndef train(d, w, c):\n    {body}\n"
    outcome = run(sandbox, source)
    assert outcome.status == "memory_limit", (outcome.status, outcome.error)
    assert_still_serving(sandbox)


def test_result_larger_than_result_bytes_is_oversized(sandbox: Sandbox) -> None:
    limits = Limits(wall_time_s=60, cpu_time_s=60, memory_mb=256, result_bytes=100_000)
    outcome = run(sandbox, "import numpy as np\ndef train(d, w, c):\n"
                           "    return {'w': np.zeros(10**6, np.float32)}\n", limits=limits)
    assert outcome.status == "oversized" and outcome.value is None
    assert_still_serving(sandbox)


# the runner's frame holds the report pipe; hostile code can reach it and write raw bytes
REPORT_PIPE = "sys._getframe(1).f_locals['job'].result_conn.fileno()"


def test_a_child_flooding_its_report_pipe_is_cut_off_as_oversized(sandbox: Sandbox) -> None:
    limits = Limits(wall_time_s=60, cpu_time_s=60, memory_mb=256, result_bytes=10_000)
    source = (f"import os, sys\ndef train(d, w, c):\n    fd = {REPORT_PIPE}\n"
              f"    while True:\n        os.write(fd, b'\\xff' * 65536)\n")
    outcome = run(sandbox, source, limits=limits)
    assert outcome.status == "oversized", (outcome.status, outcome.error)
    assert_still_serving(sandbox)


def test_a_forged_report_carrying_a_pickle_is_rejected_by_the_parent(sandbox: Sandbox) -> None:
    source = (f"import os, pickle, struct, sys\ndef train(d, w, c):\n    fd = {REPORT_PIPE}\n"
              f"    blob = pickle.dumps({{'weights': 1}})\n"
              f"    os.write(fd, struct.pack('>BI', 2, 2) + b'ok' + struct.pack('>BI', 6,"
              f" len(blob)) + blob)\n    os._exit(0)\n")
    outcome = run(sandbox, source)
    assert outcome.status == "error" and "failed validation in the parent" in outcome.error
    assert outcome.value is None
    assert_still_serving(sandbox)


def test_output_is_captured_and_truncated(sandbox: Sandbox) -> None:
    source = ("import sys\ndef train(d, w, c):\n    print('x' * 200_000)\n"
              "    print('warned', file=sys.stderr)\n    return {}\n")
    outcome = run(sandbox, source)
    assert outcome.status == "ok" and outcome.stderr == "warned\n"
    assert len(outcome.stdout.encode()) <= OUTPUT_LIMIT and "dropped" in outcome.stdout


# --------------------------------------------------------------------------------- crashes


@pytest.mark.parametrize(
    ("source", "detail"),
    [
        ("import os\ndef train(d, w, c):\n    os._exit(3)\n", "exited with code 3"),
        # C-stack overflow: a real SIGSEGV
        ("import sys\nclass Deep:\n    def __getattr__(self, name):\n"
         "        return getattr(self, name)\ndef train(d, w, c):\n"
         "    sys.setrecursionlimit(10**7)\n    return Deep().x\n", "SIGSEGV"),
        # numpy takes raw pointers: memory access no audit hook can see, so a SIGSEGV
        ("import numpy as np\nclass Raw:\n    __array_interface__ = {'data': (8, False), "
         "'shape': (1,), 'typestr': '<i8', 'version': 3}\n"
         "def train(d, w, c):\n    return int(np.asarray(Raw())[0])\n", "SIGSEGV"),
    ],
    ids=["os._exit", "stack-overflow", "raw-pointer"],
)
def test_dying_children_are_crashes_and_the_parent_keeps_serving(
    sandbox: Sandbox, source: str, detail: str
) -> None:
    outcome = run(sandbox, source)
    assert outcome.status == "crashed" and detail in outcome.error, outcome.error
    assert_still_serving(sandbox)


def test_syntax_errors_and_a_missing_entrypoint_are_errors(sandbox: Sandbox) -> None:
    broken = run(sandbox, "def train(:\n")
    assert broken.status == "error" and "SyntaxError" in broken.error
    missing = run(sandbox, "def evaluate(d, w, c):\n    return {}\n")
    assert missing.status == "error" and "no function 'train'" in missing.error


@pytest.mark.parametrize(
    ("body", "words"),
    [("return {'rows': {1, 2}}", "result['rows']: unsupported type set"),
     ("return object()", "result: unsupported type object")],
)
def test_returning_a_set_or_an_object_is_an_error_naming_the_path(
    sandbox: Sandbox, body: str, words: str
) -> None:
    outcome = run(sandbox, f"def train(d, w, c):\n    {body}\n")
    assert outcome.status == "error" and words in outcome.error and outcome.value is None


def test_private_values_reach_only_stdout_and_error(sandbox: Sandbox, heart: pd.DataFrame) -> None:
    source = ("def train(data, weights, config):\n"
              "    row = data.iloc[7].to_dict()\n"
              "    print('leaking', row, 'PRIVATE-12345')\n"
              "    raise ValueError(f'PRIVATE-67890 {row}')\n")
    outcome = run(sandbox, source, heart)
    assert outcome.status == "error" and outcome.value is None
    assert "PRIVATE-12345" in outcome.stdout and "PRIVATE-67890" in outcome.error
    elsewhere = repr((outcome.status, outcome.value, outcome.confinement, outcome.wall_s,
                      outcome.cpu_s))
    assert "PRIVATE" not in elsewhere and str(heart.iloc[7]["chol"]) not in elsewhere


# ----------------------------------------------------------------------------- violations


@pytest.mark.parametrize(
    ("source", "words"),
    [
        ("import ctypes\ndef train(d, w, c):\n    ctypes.string_at(0)\n", "import of ctypes"),
        ("import sys\ndef train(d, w, c):\n    sys.modules['ctypes'].string_at(0)\n",
         "ctypes.string_at"),
    ],
    ids=["import", "already-loaded"],
)
def test_segfault_via_ctypes_is_a_violation(sandbox: Sandbox, source: str, words: str) -> None:
    assert_violation(run(sandbox, source), words)
    assert_still_serving(sandbox)


def test_writing_a_file_outside_the_work_dir_is_a_violation(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    target = tmp_path / "planted.txt"
    outcome = run(sandbox, f"def train(d, w, c):\n    open({str(target)!r}, 'w').write('x')\n")
    assert_violation(outcome, "write outside the sandbox")
    assert not target.exists()
    assert_still_serving(sandbox)


def test_reading_etc_passwd_is_a_violation(sandbox: Sandbox) -> None:
    outcome = run(sandbox, "def train(d, w, c):\n    return {'p': open('/etc/passwd').read()}\n")
    assert_violation(outcome, "read outside the sandbox: /etc/passwd")
    assert "root:" not in outcome.stdout + outcome.error
    assert_still_serving(sandbox)


def test_reading_the_owner_data_directory_is_a_violation(sandbox: Sandbox, tmp_path: Path) -> None:
    private = tmp_path / "datasite-data" / "private.csv"
    private.parent.mkdir()
    private.write_text("age,chol\nPRIVATE-ROW,233\n")
    for source in (
        f"import pandas as pd\ndef train(d, w, c):\n    return pd.read_csv({str(private)!r})\n",
        f"import os\ndef train(d, w, c):\n    return {{'f': os.listdir({str(private.parent)!r})}}\n",
    ):
        outcome = run(sandbox, source)
        assert_violation(outcome, str(private.parent))
        assert "PRIVATE-ROW" not in outcome.stdout + outcome.error
    assert_still_serving(sandbox)


def test_socket_connect_is_a_violation_and_nothing_connects(sandbox: Sandbox) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.settimeout(0.5)
        port = listener.getsockname()[1]
        sources = {
            "import socket": f"import socket\ndef train(d, w, c):\n"
                             f"    socket.create_connection(('127.0.0.1', {port}))\n",
            "socket.getaddrinfo": f"import sys\ndef train(d, w, c):\n"
                                  f"    sys.modules['socket'].create_connection(('127.0.0.1', {port}))\n",
            "socket.__new__": f"import sys\ndef train(d, w, c):\n"
                              f"    sys.modules['socket'].socket().connect(('127.0.0.1', {port}))\n",
        }
        for words, source in sources.items():
            assert_violation(run(sandbox, source), words)
        with pytest.raises(TimeoutError):
            listener.accept()
    assert_still_serving(sandbox)


@pytest.mark.parametrize(
    ("source", "words"),
    [
        ("import subprocess\ndef train(d, w, c):\n    subprocess.run(['id'])\n",
         "import of subprocess"),
        ("import sys\ndef train(d, w, c):\n    sys.modules['subprocess'].run(['id'])\n",
         "subprocess.Popen"),
        ("import os\ndef train(d, w, c):\n    os.system('id')\n", "os.system"),
        ("import os\ndef train(d, w, c):\n    os.fork()\n", "os.fork"),
        ("import os\ndef train(d, w, c):\n    os.execv('/bin/sh', ['sh'])\n", "os.exec"),
        ("import os\ndef train(d, w, c):\n    os.kill(1, 0)\n", "os.kill"),
    ],
    ids=["subprocess", "subprocess-loaded", "os.system", "os.fork", "os.exec", "os.kill"],
)
def test_processes_and_signals_are_violations(sandbox: Sandbox, source: str, words: str) -> None:
    assert_violation(run(sandbox, source), words)
    assert_still_serving(sandbox)


@pytest.mark.parametrize(
    ("source", "words"),
    [
        ("def train(d, w, c):\n    exec('x = 1')\n", "compile of source text"),
        ("def train(d, w, c):\n    return eval('1 + 1')\n", "compile of source text"),
        ("def train(d, w, c):\n    exec(train.__code__)\n", "exec/eval of code"),
        ("def train(d, w, c):\n    train.__code__ = train.__code__.replace(co_name='x')\n",
         "code.__new__"),
        ("import marshal\ndef train(d, w, c):\n    marshal.loads(marshal.dumps(train.__code__))\n",
         "unmarshalling"),
    ],
    ids=["exec", "eval", "exec-code-object", "code-replace", "marshal"],
)
def test_running_code_made_at_run_time_is_a_violation(
    sandbox: Sandbox, source: str, words: str
) -> None:
    assert_violation(run(sandbox, source), words)
    assert_still_serving(sandbox)


@pytest.mark.parametrize("statement", ["__import__('socket')", "import multiprocessing",
                                       "import urllib.request", "from http import client"])
def test_importing_network_and_process_modules_is_a_violation(
    sandbox: Sandbox, statement: str
) -> None:
    outcome = run(sandbox, f"def train(d, w, c):\n    {statement}\n")
    assert_violation(outcome, "is not allowed in the sandbox")
    assert_still_serving(sandbox)


def test_a_violation_caught_by_the_submission_is_still_reported(sandbox: Sandbox) -> None:
    source = ("import os\ndef train(d, w, c):\n    try:\n        os.system('id')\n"
              "    except BaseException:\n        pass\n    return {'hidden': True}\n")
    outcome = run(sandbox, source)
    assert_violation(outcome, "os.system")
    assert_still_serving(sandbox)


def test_no_copy_of_the_server_environment_is_left_in_the_child_memory(sandbox: Sandbox) -> None:
    secret = SECRET_VALUE.encode()  # set before the fork server started (at collection)
    head, tail = secret[: len(secret) // 2], secret[len(secret) // 2 :]  # never whole in the child
    source = f"""
import os
def train(d, w, c):
    head, tail = {head!r}, {tail!r}
    hits, scanned = 0, 0
    with open("/proc/self/maps") as maps:
        regions = [line.split() for line in maps]
    with open("/proc/self/mem", "rb", buffering=0) as mem:
        for region in regions:
            if "rw" not in region[1]:
                continue
            start, end = (int(x, 16) for x in region[0].split("-"))
            try:
                mem.seek(start)
                data = mem.read(end - start)
            except OSError:
                continue
            scanned += len(data)
            at = data.find(head)
            while at >= 0:
                hits += data[at + len(head) : at + len(head) + len(tail)] == tail
                at = data.find(head, at + 1)
    return {{"env": os.environ.get({SECRET_ENV!r}), "hits": hits, "scanned": scanned}}
"""
    outcome = run(sandbox, source)
    assert outcome.status == "ok", outcome.error
    assert outcome.value["env"] is None and outcome.value["scanned"] > 10 * 2**20
    assert outcome.value["hits"] == 0  # neither os.environ, its bytes, nor the exec block


# ------------------------------------------------ kernel layers: where no audit event fires


def test_kernel_layers_hold_where_the_audit_hook_sees_nothing(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    layers = set(run(sandbox, TRIVIAL).confinement)
    if not {"seccomp", "netns"} <= layers or not any(x.startswith("landlock") for x in layers):
        pytest.skip(f"kernel layers unavailable here: {sorted(layers)}")
    private = tmp_path / "private.bin"
    private.write_bytes(b"PRIVATE-BYTES")
    fifo = tmp_path / "planted-fifo"
    # none of these raise an audit event: only seccomp, Landlock and the namespace stop them
    seccomp_kills = {
        "pidfd_open": "import os\ndef train(d, w, c):\n    os.pidfd_open(os.getpid())\n",
        "fork_exec": "import sys, os\ndef train(d, w, c):\n"
                     "    sys.modules['subprocess']._fork_exec([b'/bin/true'], [b'/bin/true'],"
                     " True, (), None, None, -1, -1, -1, -1, -1, -1, *os.pipe(), False, False,"
                     " -1, None, None, None, -1, None, False)\n",
        "setuid": "import os\ndef train(d, w, c):\n    os.setuid(0)\n",
    }
    for source in seccomp_kills.values():
        assert_violation(run(sandbox, source), "seccomp")
    landlock = (f"import os, torch\ndef train(d, w, c):\n    found = {{}}\n"
                f"    try:\n        torch.from_file({str(private)!r}, size=13, dtype=torch.uint8)\n"
                f"    except RuntimeError as exc:\n        found['read'] = 'Permission denied' in str(exc)\n"
                f"    try:\n        os.mkfifo({str(fifo)!r})\n"
                f"    except PermissionError:\n        found['mkfifo'] = True\n"
                f"    return found\n")
    outcome = run(sandbox, landlock)
    assert (outcome.status, outcome.value) == ("ok", {"read": True, "mkfifo": True}), outcome.error
    assert not fifo.exists()
    assert_still_serving(sandbox)


@pytest.fixture(scope="module")
def hookless(runs_root: Path) -> Iterator[Sandbox]:
    """The kernel layers alone, as code that switched the audit hook off meets them."""
    box = Sandbox(workdir_root=runs_root, audit_hook=False)
    yield box
    box.close()


def test_without_the_audit_hook_a_run_changes_no_file_metadata_outside(
    hookless: Sandbox, tmp_path: Path
) -> None:
    """A red team's run, hook switched off, made a host file setuid, forged its mtime, chmod-ed
    the datasite's data directory 0777 and hid a private row in an xattr: seccomp refuses all."""
    layers = set(run(hookless, TRIVIAL).confinement)
    if "seccomp" not in layers:
        pytest.skip(f"seccomp unavailable here: {sorted(layers)}")
    assert "audit-hook" not in layers
    victim = tmp_path / "victim.txt"
    victim.write_text("owner's file\n")
    victim.chmod(0o644)
    before = victim.stat()
    source = f"""import os
def train(data, weights, config):
    victim = {str(victim)!r}
    row = ",".join(str(v) for v in data.iloc[0].tolist())
    attempts = {{
        "chmod": lambda: os.chmod(victim, 0o4777),
        "chmod_dir": lambda: os.chmod(os.path.dirname(victim), 0o777),
        "chown": lambda: os.chown(victim, 1, 1),
        "utime": lambda: os.utime(victim, (915148800, 915148800)),
        "setxattr": lambda: os.setxattr(victim, "user.fedsyft", row.encode()),
        "fchmod": lambda: os.fchmod(os.open(victim, os.O_RDONLY), 0o777),
        "mknod": lambda: os.mknod("fifo", 0o600 | 0o10000),
    }}
    refused = {{}}
    for name, attempt in attempts.items():
        try:
            attempt()
            refused[name] = False
        except PermissionError:
            refused[name] = True
    return refused
"""
    outcome = run(hookless, source)
    assert outcome.status == "ok", outcome.error
    assert outcome.value == dict.fromkeys(
        ("chmod", "chmod_dir", "chown", "utime", "setxattr", "fchmod", "mknod"), True)
    after = victim.stat()
    assert (after.st_mode, after.st_uid, after.st_mtime) == (before.st_mode, before.st_uid, before.st_mtime)
    assert os.listxattr(victim) == []
    assert_still_serving(hookless)


def test_without_the_audit_hook_no_inotify_and_no_grown_pipe_buffers(hookless: Sandbox) -> None:
    """inotify told a red team the names of files the server opened in hidden directories (the
    private blob's id) and shares its 128 instances with every root process; pipe buffers grown
    with F_SETPIPE_SZ held 60 MB no limit counted."""
    layers = set(run(hookless, TRIVIAL).confinement)
    if "seccomp" not in layers:
        pytest.skip(f"seccomp unavailable here: {sorted(layers)}")
    source = """import ctypes, errno, fcntl, os
def train(data, weights, config):
    libc = ctypes.CDLL(None, use_errno=True)
    found = {"inotify_init": libc.inotify_init(), "inotify_init1": libc.inotify_init1(0)}
    found["errno"] = ctypes.get_errno()
    r, w = os.pipe()
    try:
        fcntl.fcntl(w, 1031, 1 << 20)
        found["setpipe"] = "grown"
    except PermissionError:
        found["setpipe"] = "refused"
    found["getpipe"] = fcntl.fcntl(w, 1032)  # reading the size stays allowed
    return found
"""
    outcome = run(hookless, source)
    assert outcome.status == "ok", outcome.error
    assert outcome.value == {"inotify_init": -1, "inotify_init1": -1, "errno": 1, "setpipe": "refused",
                             "getpipe": 65536}
    assert_still_serving(hookless)


def test_without_the_audit_hook_no_socket_or_memfd_is_made(hookless: Sandbox, tmp_path: Path) -> None:
    """socketpair() + sendto() reached a datagram socket on the host (a stand-in for /dev/log),
    and memfd_create() held host memory no limit counted: both are refused by seccomp."""
    layers = set(run(hookless, TRIVIAL).confinement)
    if "seccomp" not in layers:
        pytest.skip(f"seccomp unavailable here: {sorted(layers)}")
    path = tmp_path / "log.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as listener:
        listener.bind(str(path))
        listener.settimeout(0.5)
        source = f"""import os, sys
def train(data, weights, config):
    sockets = sys.modules.get("socket") or __import__("socket")
    refused = {{}}
    try:
        a, b = sockets.socketpair(sockets.AF_UNIX, sockets.SOCK_DGRAM)
        a.sendto(b"PRIVATE-ROW", {str(path)!r})
        refused["socketpair"] = False
    except PermissionError:
        refused["socketpair"] = True
    try:
        os.memfd_create("hold")
        refused["memfd"] = False
    except PermissionError:
        refused["memfd"] = True
    return refused
"""
        outcome = run(hookless, source)
        assert outcome.status == "ok", outcome.error
        assert outcome.value == {"socketpair": True, "memfd": True}
        with pytest.raises(TimeoutError):
            listener.recv(100)
    assert_still_serving(hookless)


@pytest.mark.skipif(not torch.distributed.is_available(), reason="torch without distributed")
def test_network_from_cpp_code_is_stopped_by_the_kernel(sandbox: Sandbox) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.settimeout(0.5)
        source = (f"import datetime, torch.distributed as dist\ndef train(d, w, c):\n"
                  f"    try:\n        dist.TCPStore('127.0.0.1', {listener.getsockname()[1]},"
                  f" is_master=False, timeout=datetime.timedelta(seconds=2))\n"
                  f"    except Exception as exc:\n        return {{'failed': type(exc).__name__}}\n")
        outcome = run(sandbox, source)
        assert outcome.status == "ok" and outcome.value["failed"], outcome.error
        with pytest.raises(TimeoutError):
            listener.accept()


# ------------------------------------------------------------------------------- lifecycle


def test_close_kills_runs_in_flight_and_refuses_new_ones(tmp_path: Path) -> None:
    box = Sandbox(workdir_root=tmp_path)
    outcomes: list[SandboxOutcome] = []
    worker = threading.Thread(target=lambda: outcomes.append(
        run(box, "import time\ndef train(d, w, c):\n    time.sleep(60)\n")))
    worker.start()
    time.sleep(1.0)
    box.close()
    worker.join(timeout=30)
    assert outcomes and outcomes[0].status == "crashed" and "closed" in outcomes[0].error
    with pytest.raises(RuntimeError, match="closed"):
        run(box, TRIVIAL)
    assert list(tmp_path.iterdir()) == []  # work directories are removed


@pytest.mark.parametrize(
    "fields", [(0, 1, 1, 1), (1, float("inf"), 1, 1), (1, 1, 1.5, 1), (1, 1, 1, True)]
)
def test_limits_must_be_positive_numbers(fields: tuple) -> None:
    with pytest.raises(ValueError, match="must be a positive number"):
        Limits(*fields)
