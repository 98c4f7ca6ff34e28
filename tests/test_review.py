"""Static review of submitted modules: attacks are rejected at their line, real training passes."""

from __future__ import annotations

import hashlib
import importlib
import json
import textwrap
import types
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest

from policies.policy import Policy, default_policy_path, load_policy, parse_policy
from policies.review import (
    FORBIDDEN_ATTRIBUTES,
    Finding,
    ReviewReport,
    format_report,
    review,
)

REPO = Path(__file__).resolve().parent.parent
LEGIT = sorted((REPO / "tests" / "submissions" / "legit").glob("*.py"))
EXAMPLES = sorted((REPO / "scientist" / "examples").glob("*.py"))
TRAIN = "\n\ndef train(data, weights, config):\n    return {}\n"
MARK = "# <-"


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy(default_policy_path())


def _marked_line(source: str) -> int:
    """The 1-based line carrying the `# <-` mark."""
    return next(n for n, line in enumerate(source.splitlines(), 1) if MARK in line)


def _module(body: str) -> str:
    """A module: the dedented body followed by a valid train entrypoint."""
    return textwrap.dedent(body).strip("\n") + "\n" + TRAIN


# --- attacks -------------------------------------------------------------------------------------

ATTACKS = [
    # (id, module body, rule expected at the marked line)
    ("import os", "import os  # <-", "import"),
    ("from os import system", "from os import system  # <-", "import"),
    ("import subprocess as sp", "import subprocess as sp  # <-", "import"),
    ("import socket", "import socket  # <-", "import"),
    ("import urllib.request", "import urllib.request  # <-", "import"),
    ("import pickle", "import pickle  # <-", "import"),
    ("torch.hub import", "from torch.hub import load  # <-", "import"),
    ("cpp_extension import", "import torch.utils.cpp_extension  # <-", "import"),
    ("private name import", "from dataclasses import _create_fn  # <-", "import"),
    ("star import", "from numpy import *  # <-", "import"),
    ("relative import", "from . import sibling  # <-", "import"),
    ("__import__", 'm = __import__("os")  # <-', "call"),
    ("eval", 'x = eval("1 + 1")  # <-', "call"),
    ("exec", 'exec("x = 1")  # <-', "call"),
    ("compile", 'c = compile("1", "f", "eval")  # <-', "call"),
    ("open", 'secret = open("/etc/passwd").read()  # <-', "call"),
    ("globals", 'g = globals()  # <-', "call"),
    ("vars", 'v = vars()  # <-', "call"),
    ("breakpoint", "breakpoint()  # <-", "call"),
    ("input", "answer = input()  # <-", "call"),
    ("eval alias", "e = eval  # <-", "call"),
    ("eval inside lambda", "run = lambda s: eval(s)  # <-", "call"),
    ("getattr dunder", 'def f(x):\n    return getattr(x, "__class__")  # <-', "dunder"),
    ("getattr computed", 'name = "sa" + "ve"\ndef f(x):\n    return getattr(x, name)  # <-',
     "dynamic-name"),
    ("getattr forbidden constant", 'import torch\nf = getattr(torch, "save")  # <-', "attribute"),
    ("getattr alias", "g = getattr  # <-", "dynamic-name"),
    ("getattr passed along", "import functools\nf = functools.reduce(getattr, ['a'], 1)  # <-",
     "dynamic-name"),
    ("subclasses escape", "s = ().__class__.__bases__[0].__subclasses__()  # <-", "dunder"),
    ("type escape", "t = ().__class__  # <-", "dunder"),
    ("function globals", "def f():\n    pass\ng = f.__globals__  # <-", "dunder"),
    ("builtins dict", 'e = __builtins__["eval"]  # <-', "dunder"),
    ("dunder string", 'key = "__globals__"  # <-', "dunder"),
    ("format reads dunder", 'leak = "{0.__class__}".format(1)  # <-', "dunder"),
    ("format on variable", 'template = "{0}"\nout = template.format(1)  # <-', "dynamic-name"),
    ("match class attribute", "match 1:\n    case object(__class__=c):  # <-\n        pass",
     "dunder"),
    ("module dunder function", "def __getattr__(name):  # <-\n    return name", "dunder"),
    ("torch.save", "import torch\ntorch.save({}, 'w.pt')  # <-", "attribute"),
    ("aliased torch.save", "import torch\nt = torch\nt.save({}, 'w.pt')  # <-", "attribute"),
    ("np.save", "import numpy as np\nnp.save('x.npy', np.zeros(3))  # <-", "attribute"),
    ("np.load", "import numpy as np\nw = np.load('x.npy', allow_pickle=True)  # <-", "attribute"),
    ("df.to_csv", "def leak(df):\n    df.to_csv('/tmp/leak.csv')  # <-", "attribute"),
    ("pd.read_csv", "import pandas as pd\ndf = pd.read_csv('/etc/passwd')  # <-", "attribute"),
    ("path write_text", "def leak(path):\n    path.write_text('rows')  # <-", "attribute"),
    ("torch.hub.load", "import torch\nm = torch.hub.load('repo', 'model')  # <-", "attribute"),
    ("load_library", "import torch\ntorch.ops.load_library('evil.so')  # <-", "attribute"),
    ("torch.compile", "import torch\nf = torch.compile(len)  # <-", "attribute"),
    ("torch re-exports os", "import torch\ntorch.os.system('id')  # <-", "attribute"),
    ("typing re-exports sys", "import typing\nm = typing.sys.modules  # <-", "attribute"),
    ("dataclasses re-exports builtins", "import dataclasses\nb = dataclasses.builtins  # <-",
     "attribute"),
    ("private torch internals", "import torch\nc = torch._C  # <-", "attribute"),
    ("frame walk", "g = (x for x in [])\nf = g.gi_frame.f_back  # <-", "attribute"),
    ("type hints evaluate strings", "import typing\nh = typing.get_type_hints(len)  # <-",
     "attribute"),
    ("pandas expression", "def pick(df):\n    return df.query('age > 50')  # <-", "dynamic-name"),
    ("pandas eval reference", "import pandas as pd\nrun = pd.eval  # <-", "dynamic-name"),
    # found by a red team: each passed review before
    ("string dispatch to eval", "def f(df):\n    return df.agg('eval', 0, '1')  # <-", "dynamic-name"),
    ("string dispatch, computed name", "def f(df):\n    return df.apply('to_' + 'csv')  # <-",
     "dynamic-name"),
    ("string dispatch through a variable", "def f(df, n):\n    return df.transform(n)  # <-", "dynamic-name"),
    ("pandas evaluation keywords", "def f(df):\n    return df.sum(engine='python')  # <-", "call"),
    ("type with three arguments", "H = type('H', (), {'_' * 2 + 'x': 1})  # <-", "dynamic-name"),
    ("type passed around", "make = type  # <-", "dynamic-name"),
    ("id gives addresses", "a = id(object())  # <-", "call"),
    ("DummyArray", "import numpy as np\nv = np.lib.stride_tricks.DummyArray({})  # <-", "attribute"),
    ("make_dataclass", "import dataclasses\nK = dataclasses.make_dataclass('K', [])  # <-", "attribute"),
    ("class with __reduce__", "class K:\n    def __reduce__(self):  # <-\n        return (print, ())",
     "dunder"),
    ("class with __array_interface__ property",
     "class K:\n    @property\n    def __array_interface__(self):  # <-\n        return {}", "dunder"),
    ("torch.jit compiles source", "import torch\ns = torch.jit.script  # <-", "attribute"),
    ("torch.ops raw operators", "import torch\no = torch.ops.aten  # <-", "attribute"),
    ("torch.library", "import torch\nL = torch.library.Library  # <-", "attribute"),
    # a second red team's, each passed the review above
    ("dispatch named in a ** literal", "def f(df):\n    return df.agg(**{'func': 'eval'})  # <-",
     "dynamic-name"),
    ("evaluation keyword in a ** literal", "def f(df):\n    return df.sum(**{'engine': 'python'})  # <-", "call"),
    ("dispatch with computed **", "def f(df, spec):\n    return df.agg(**spec)  # <-", "dynamic-name"),
    ("getattr of a dispatch method", "def f(df):\n    return getattr(df, 'agg')  # <-", "dynamic-name"),
    ("getattr of an expression method", "def f(df):\n    return getattr(df, 'query')  # <-", "dynamic-name"),
    ("dispatch method passed around", "def f(df):\n    g = df.agg  # <-\n    return g", "dynamic-name"),
    ("raw addresses", "import torch\np = torch.zeros(1).data_ptr()  # <-", "attribute"),
]


@pytest.mark.parametrize(
    ("body", "rule"), [pytest.param(body, rule, id=name) for name, body, rule in ATTACKS]
)
def test_attack_is_rejected_with_its_rule_at_its_line(policy: Policy, body: str, rule: str) -> None:
    source = _module(body)
    report = review(source, policy)
    line = _marked_line(source)
    assert report.verdict == "rejected", f"must be rejected:\n{source}"
    found = [(f.line, f.rule) for f in report.findings]
    assert (line, rule) in found, f"expected [{rule}] at line {line}, got {found}"


def test_there_are_at_least_40_distinct_attacks() -> None:
    assert len({name for name, _, _ in ATTACKS}) >= 40


def test_syntax_error_is_reported_at_its_line_and_column(policy: Policy) -> None:
    report = review("def train(data, weights, config):\n    return (\n", policy)
    assert report.verdict == "rejected"
    assert [(f.line, f.col, f.rule) for f in report.findings] == [(2, 11, "syntax")]
    assert report.entrypoints == (), "nothing is known about a module that does not parse"


def test_too_deeply_nested_module_is_rejected_not_crashed(policy: Policy) -> None:
    report = review("x = " + "+".join(["1"] * 2000) + TRAIN, policy)
    assert [f.rule for f in report.findings] == ["syntax"], report.findings


def test_columns_count_characters_not_bytes(policy: Policy) -> None:
    report = review('name = "café"; import os' + TRAIN, policy)
    assert [(f.line, f.col) for f in report.findings] == [(1, 15)]


def test_missing_train_is_an_entrypoint_finding(policy: Policy) -> None:
    report = review("def evaluate(data, weights, config):\n    return {}\n", policy)
    assert [(f.line, f.rule) for f in report.findings] == [(1, "entrypoint")]
    assert "`train` is missing" in report.findings[0].message
    assert report.entrypoints == ("evaluate",)


@pytest.mark.parametrize(
    "source",
    [
        pytest.param("def train(data, weights):  # <-\n    return {}\n", id="two parameters"),
        pytest.param("async def train(data, weights, config):  # <-\n    return {}\n",
                     id="async def"),
        pytest.param("class train:  # <-\n    pass\n", id="class"),
        pytest.param(TRAIN + "train = print  # <-\n", id="reassigned"),
        pytest.param("if True:\n    def train(data, weights, config):  # <-\n        return {}\n",
                     id="inside a block"),
        pytest.param(TRAIN + "def hijack():\n    global train  # <-\n", id="global rebinding"),
        pytest.param(TRAIN + "def train(data, weights, config):  # <-\n    return {}\n",
                     id="defined twice"),
    ],
)
def test_entrypoint_must_be_one_plain_module_level_def(policy: Policy, source: str) -> None:
    report = review(source, policy)
    found = [(f.line, f.rule) for f in report.findings]
    assert (_marked_line(source), "entrypoint") in found, found


def test_required_entrypoints_are_configurable(policy: Policy) -> None:
    source = "def evaluate(data, weights, config):\n    return {}\n"
    assert review(source, policy, required=("evaluate",)).passed
    assert not review(source, policy, required=("evaluate", "train")).passed


def test_policy_forbidden_calls_are_matched_after_import_aliases() -> None:
    strict = parse_policy('[code]\nallowed_imports = ["numpy"]\nforbidden_calls = ["numpy.dot"]\n')
    source = _module("import numpy as np\nx = np.dot([1], [1])  # <-")
    report = review(source, strict)
    assert (_marked_line(source), "call") in [(f.line, f.rule) for f in report.findings]
    source = _module("from numpy import dot  # <-")
    assert (1, "import") in [(f.line, f.rule) for f in review(source, strict).findings]


def test_policy_forbidden_attributes_are_matched_on_any_object() -> None:
    strict = parse_policy('[code]\nforbidden_attributes = ["backward"]\n')
    source = _module("def step(loss):\n    loss.backward()  # <-")
    assert (_marked_line(source), "attribute") in [
        (f.line, f.rule) for f in review(source, strict).findings
    ]


def test_allowed_package_does_not_allow_its_dangerous_submodules() -> None:
    permissive = parse_policy('[code]\nallowed_imports = ["torch", "numpy"]\n')
    for statement in ("import torch.hub", "from numpy import ctypeslib",
                      "import torch.distributed as dist", "from torch.serialization import load"):
        report = review(_module(statement), permissive)
        assert [f.rule for f in report.findings] == ["import"], f"{statement}: {report.findings}"


def test_policy_may_allow_os_but_process_calls_stay_forbidden() -> None:
    owner_allows_os = parse_policy('[code]\nallowed_imports = ["os"]\n')
    assert review(_module("import os"), owner_allows_os).passed, "the owner decides on modules"
    report = review(_module("import os\nos.system('id')  # <-"), owner_allows_os)
    assert [(f.line, f.rule) for f in report.findings] == [(2, "attribute")]


def test_strict_policy_rejects_pandas() -> None:
    strict = load_policy(REPO / "policies" / "examples" / "strict.toml")
    assert [f.rule for f in review(_module("import pandas as pd"), strict).findings] == ["import"]


def test_nothing_dangerous_is_reachable_through_attributes_of_default_imports(
    policy: Policy,
) -> None:
    """Walk module attributes (and one level into other objects) from every default import."""
    dangerous = set("""
        os posix sys subprocess socket ctypes importlib pickle shutil pathlib io builtins inspect
        gc threading multiprocessing asyncio signal urllib http requests marshal code codeop
        tempfile glob platform runpy pty mmap shelve sqlite3 zipfile tarfile linecache tokenize
        copyreg ssl webbrowser zipimport pkgutil site sysconfig operator logging traceback gzip
        bz2 lzma codecs pyarrow fsspec dill cloudpickle joblib select socketserver timeit
        cProfile profile pdb bdb doctest trace pydoc jinja2 matplotlib
    """.split())
    dangerous_submodules = ("torch.hub", "torch.distributed", "torch.serialization",
                            "torch.package", "torch.utils.cpp_extension", "torch.multiprocessing",
                            "numpy.ctypeslib", "torch.fx", "torch.onnx")
    name_ok: dict[str, bool] = {}

    def allowed(name: str) -> bool:
        if name not in name_ok:
            name_ok[name] = _passes_attribute_rules(name, policy)
        return name_ok[name]

    roots = [importlib.import_module(name) for name in policy.code.allowed_imports]
    seen = {module.__name__: module.__name__ for module in roots}
    queue = [(module, module.__name__) for module in roots]
    reached = []
    while queue:
        module, path = queue.pop()
        for name, value in _public_attributes(module, allowed):
            found = [(value, f"{path}.{name}")] if isinstance(value, types.ModuleType) else [
                (inner, f"{path}.{name}.{inner_name}")
                for inner_name, inner in _public_attributes(value, allowed)
                if isinstance(inner, types.ModuleType)
            ]
            for target, target_path in found:
                if target.__name__ in seen:
                    continue
                seen[target.__name__] = target_path
                top = target.__name__.split(".")[0]
                if top in dangerous or target.__name__.startswith(dangerous_submodules):
                    reached.append(f"{target.__name__} via {target_path}")
                elif top in policy.code.allowed_imports:
                    queue.append((target, target_path))
    assert not reached, "reachable without a rejected attribute name:\n" + "\n".join(reached)


def _passes_attribute_rules(name: str, policy: Policy) -> bool:
    """Whether `x.<name>` passes review (a throwaway module with that one attribute)."""
    report = review(f"def train(data, weights, config):\n    return data.{name}\n", policy)
    return report.passed


def _public_attributes(obj: object, allowed: Callable[[str], bool]) -> list[tuple[str, object]]:
    found = []
    try:
        names = dir(obj)
    except Exception:
        return found
    for name in names:
        if not name.isidentifier() or not allowed(name):
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # deprecated attributes warn when read
                found.append((name, getattr(obj, name)))
        except Exception:  # lazily failing attributes: unreachable anyway
            continue
    return found


# --- legitimate code passes ----------------------------------------------------------------------

LEGIT_SNIPPETS = [
    ("pandas reductions and functions by reference", """
        import numpy as np
        import pandas as pd

        def scale(column):
            return (column - column.mean()) / (column.std() + 1.0)

        def summary(df: pd.DataFrame) -> pd.DataFrame:
            stats = df.agg(["mean", "std"])
            per = df.agg({"age": "mean", "chol": "max"})
            scaled = df.apply(scale)
            logs = df.transform(np.log1p)
            flags = df["sex"].map({0.0: "f", 1.0: "m"})
            text = df["age"].map(str)
            rows = df.apply(lambda row: row["age"] * 2, axis=1)
            return df.pipe(lambda d: d.fillna(0.0)), stats, per, scaled, logs, flags, text, rows
     """),
    ("keyword unpacking into layers and optimisers", """
        import torch
        from torch import nn

        def build(config):
            sizes = {"in_features": 13, "out_features": 1}
            layer = nn.Linear(**sizes)
            options = dict(lr=config.get("lr", 0.1), momentum=0.9)
            return layer, torch.optim.SGD(layer.parameters(), **options)
     """),
    ("one-argument type and plain special methods", """
        class Window:
            def __init__(self, items):
                self.items = list(items)

            def __len__(self):
                return len(self.items)

            def __getitem__(self, index):
                return self.items[index]

        def kind(x):
            return type(x).__name__
     """),
    ("nn.Module subclass", """
        import torch
        from torch import nn

        class Net(nn.Module):
            def __init__(self, n: int) -> None:
                super().__init__()
                self.fc = nn.Linear(n, 1)

            def forward(self, input: torch.Tensor) -> torch.Tensor:
                return self.fc(input)

            def __repr__(self) -> str:
                return f"{type(self).__name__}({self.fc.in_features})"

        class Old(nn.Module):
            def __init__(self):
                super(Old, self).__init__()
                nn.Module.__init__(self)
     """),
    ("dataclass config", """
        from dataclasses import dataclass, field

        @dataclass(frozen=True)
        class Config:
            epochs: int = 1
            lr: float = 0.05
            tags: list = field(default_factory=list)

            def __post_init__(self) -> None:
                if self.epochs < 1:
                    raise ValueError(f"epochs must be >= 1, got {self.epochs}")
     """),
    ("no_grad decorator and eval mode", """
        import torch

        @torch.no_grad()
        def evaluate(data, weights, config):
            model = torch.nn.Linear(2, 1)
            model.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()})
            model.eval()
            return {"num_examples": len(data), "metrics": {"correct": 1}}
     """),
    ("module-level helpers", """
        import math
        import random
        from collections import defaultdict
        from itertools import islice

        FEATURES = ["age", "sex"]

        def _batches(rows, size):
            it = iter(rows)
            while chunk := list(islice(it, size)):
                yield chunk

        def _mean(values):
            total = defaultdict(float)
            for v in values:
                total["sum"] += v
            return total["sum"] / max(len(values), 1) if values else math.nan

        random.seed(0)
     """),
    ("numpy-only logistic regression", """
        import numpy as np

        def _sigmoid(z):
            return 1.0 / (1.0 + np.exp(-z))

        def fit(x, y, w, lr, epochs):
            for _ in range(epochs):
                grad = x.T @ (_sigmoid(x @ w) - y) / len(y)
                w = w - lr * grad
            return w.astype(np.float32)
     """),
    ("scheduler, clipping, optimiser", """
        import torch

        torch.backends.cudnn.benchmark = False

        def step(model, loss, epochs):
            opt = torch.optim.Adam(model.parameters(), lr=1e-3)
            sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
            opt.step()
            sched.step()
            return {k: v.detach().numpy() for k, v in model.state_dict().items()}
     """),
    ("main block, future import and literal format", """
        from __future__ import annotations

        __all__ = ["train"]

        def describe(loss: float) -> str:
            return "loss {:.3f}".format(loss)

        if __name__ == "__main__":
            print(describe(0.5))
     """),
    ("try, lambda, comprehension, global", """
        import copy

        BEST = None

        def keep(model):
            global BEST
            try:
                BEST = copy.deepcopy(model)
            except (TypeError, ValueError) as err:
                print(f"cannot copy: {err!r}")
            key = lambda item: item[1]
            return sorted(((k, v) for k, v in {"a": 1}.items()), key=key)
     """),
]


@pytest.mark.parametrize(
    "body", [pytest.param(body, id=name) for name, body in LEGIT_SNIPPETS]
)
def test_legitimate_code_passes(policy: Policy, body: str) -> None:
    report = review(_module(body), policy)
    assert report.passed, format_report(report)


@pytest.mark.parametrize(
    "path", [pytest.param(p, id=p.name) for p in [*LEGIT, *EXAMPLES]]
    or [pytest.param(None, marks=pytest.mark.skip(reason="no legit submissions yet"))],
)
def test_every_legit_submission_passes_the_default_policy(policy: Policy, path: Path) -> None:
    report = review(path.read_text(), policy, required=("train", "evaluate"))
    assert report.passed, format_report(report, filename=path.name)


# --- the report ----------------------------------------------------------------------------------


def test_report_records_hashes_policy_and_entrypoints(policy: Policy) -> None:
    source = _module("def evaluate(data, weights, config):\n    return {}")
    report = review(source, policy)
    assert report.code_hash == hashlib.sha256(source.encode()).hexdigest()
    assert (report.policy_name, report.policy_sha256) == ("default", policy.sha256)
    assert report.entrypoints == ("train", "evaluate"), "listed in canonical order"
    assert report.passed and report.findings == ()


def test_report_is_deterministic_and_sorted_by_line(policy: Policy) -> None:
    source = _module("import torch\ntorch.save(1, 'x')\nimport os\ne = eval\nopen('f')")
    first, second = review(source, policy), review(source, policy)
    assert first == second, "same source and policy, same report"
    lines = [f.line for f in first.findings]
    assert lines == sorted(lines) and len(lines) == 4


def test_report_round_trips_through_json(policy: Policy) -> None:
    report = review(_module("import os"), policy)
    again = ReviewReport.from_dict(json.loads(json.dumps(report.to_dict())))
    assert again == report


def test_report_from_dict_refuses_a_verdict_that_contradicts_findings(policy: Policy) -> None:
    body = review(_module("import os"), policy).to_dict() | {"verdict": "passed"}
    with pytest.raises(ValueError, match="does not match"):
        ReviewReport.from_dict(body)
    with pytest.raises(ValueError, match="lacks code_hash"):
        ReviewReport.from_dict({k: v for k, v in body.items() if k != "code_hash"})


def test_format_report_has_one_line_per_finding_with_snippet(policy: Policy) -> None:
    source = "\n" * 10 + "def sneaky():\n    import os\n    return os\n" + TRAIN
    text = format_report(review(source, policy), filename="sub.py")
    assert text.splitlines()[0] == "review of sub.py: REJECTED (1 finding)"
    assert (
        "line 12:4 [import] `import os`: module os is not in the policy's allowed imports"
        in text.splitlines()
    ), text


def test_findings_are_plain_values() -> None:
    finding = Finding(3, 0, "call", "`eval`: builtin eval runs code built at run time")
    assert finding == Finding(**vars(finding)), "a finding is compared by value"


def test_deny_list_keeps_legitimate_torch_names_allowed() -> None:
    for name in ("load_state_dict", "state_dict", "eval", "train", "to_numpy", "detach"):
        assert name not in FORBIDDEN_ATTRIBUTES, f"{name} is needed by ordinary training code"
