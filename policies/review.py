"""Static review of a submitted training module against a policy (AST only, never regex).

The review reads the whole module and rejects what it cannot vouch for: imports
outside the policy, builtins that run or fetch code, dunder and private attribute
access (the classic sandbox escapes), attribute names that touch files, processes,
the network or interpreter frames, and names built at run time. It is a first
line of defence: the sandbox that runs approved code still enforces the limits.

Judgement calls, each kept deliberately:
- Top-level modules (os, sys, subprocess, ...) are the policy owner's decision:
  anything not in `code.allowed_imports` is rejected, so the safe default is to
  leave them out. The built-in deny lists below always apply, whatever the policy
  says: dangerous submodules of allowed packages (torch.hub, numpy.ctypeslib, ...)
  and dangerous attribute names on any object.
- Attribute rules match the attribute *name* on any receiver, because aliasing
  (`t = torch; t.save(...)`) defeats any reasoning about the receiver. Libraries
  re-export stdlib modules as attributes (`torch.os`, `typing.sys`,
  `dataclasses.builtins`), so module names such as `os` and `sys` are denied as
  attribute names too.
- Names built from strings cannot be resolved statically, so `getattr` & co. are
  allowed only when called directly with a constant, non-private name.
- Left to the sandbox, because a static review cannot see them: string dispatch
  inside libraries (`df.agg("name")` looks the name up on the DataFrame), raw
  memory views built with strides, and worker processes of a DataLoader.
"""

from __future__ import annotations

import ast
import hashlib
import string
import warnings
from dataclasses import dataclass
from typing import Any, Literal

from policies.policy import Policy

__all__ = [
    "ENTRYPOINTS",
    "FORBIDDEN_ATTRIBUTES",
    "FORBIDDEN_BUILTINS",
    "FORBIDDEN_SUBMODULES",
    "Finding",
    "ReviewReport",
    "format_report",
    "review",
]

ENTRYPOINTS = ("train", "evaluate", "init_weights")
_PARAMETERS = {"train": ("data", "weights", "config"), "evaluate": ("data", "weights", "config"),
               "init_weights": ("config",)}

# Builtins refused wherever they are named, called or not (`e = eval` is as bad as `eval(...)`).
FORBIDDEN_BUILTINS: dict[str, str] = {
    "eval": "runs code built at run time",
    "exec": "runs code built at run time",
    "compile": "builds code at run time",
    "__import__": "imports modules at run time, around the policy's import rules",
    "open": "opens files",
    "globals": "exposes module namespaces",
    "locals": "exposes namespaces",
    "vars": "exposes object and module namespaces",
    "input": "reads the runner's standard input",
    "breakpoint": "starts a debugger",
    "help": "starts an interactive help session",
    "exit": "stops the runner",
    "quit": "stops the runner",
    "id": "exposes memory addresses, which numpy can be made to read and write",
}
# Builtins that take an attribute name as a string: allowed only with a constant name.
_NAME_BUILTINS = frozenset({"getattr", "setattr", "delattr", "hasattr"})

# Submodules refused even when their top-level package is allowed (prefix match).
FORBIDDEN_SUBMODULES: dict[str, str] = {
    "torch.hub": "downloads and runs code and weights",
    "torch.utils.model_zoo": "downloads weights",
    "torch.utils.cpp_extension": "compiles and loads native code",
    "torch.utils.collect_env": "runs shell commands",
    "torch.utils.tensorboard": "writes files",
    "torch.utils.data.datapipes": "opens files and URLs",
    "torch.multiprocessing": "starts processes",
    "torch.distributed": "opens network connections",
    "torch.serialization": "reads and writes pickled files",
    "torch.package": "reads, writes and runs packaged code",
    "torch.fx": "generates and runs code from names built at run time",
    "torch.onnx": "writes files",
    "torch.export": "reads and writes files",
    "torch.compiler": "generates native code and runs a compiler",
    "torch.utils.benchmark": "compiles and runs statements given as strings",
    "numpy.ctypeslib": "loads native libraries",
    "numpy.f2py": "compiles and loads native code",
    "numpy.distutils": "compiles native code",
    "pandas.io": "reads and writes files and URLs",
}

_FILES = "reads or writes files"
_PROCESSES = "starts processes or reads the environment"
_FETCH = "fetches or loads code, libraries or weights"
_MODULE = "reaches a module that gives file, process or network access"
_FRAMES = "reaches interpreter frames and, through them, the runner's globals"
_DYNAMIC = "resolves names or code at run time, which a review cannot follow"
_MEMORY = "reads and writes raw process memory"


def _reasons(reason: str, names: str) -> dict[str, str]:
    return dict.fromkeys(names.split(), reason)


# Attribute names refused on any receiver; `load_state_dict` and `eval()` are not among them.
FORBIDDEN_ATTRIBUTES: dict[str, str] = {
    **_reasons(_FILES, """
        save load open dump loads tofile fromfile fromregex savetxt loadtxt savez savez_compressed
        genfromtxt recfromcsv recfromtxt memmap open_memmap from_file DataSource
        to_csv to_pickle to_parquet to_json to_excel to_hdf to_sql to_feather to_stata to_html
        to_latex to_markdown to_clipboard to_xml to_orc ExcelWriter HDFStore
        write_text write_bytes read_text read_bytes unlink rmdir mkdir makedirs
        export_chrome_trace export_stacks SummaryWriter source FileHandler FileStore FileBaton
        file_baton tensorboard_trace_handler ExecutionTraceObserver PyTorchFileReader
        PyTorchFileWriter ExcelFile NpzFile zipfile_factory open_latin1 open_resource get_handle
        get_buffer write_array write_csv_rows writers GdsFile gds chdir temppath tempdir
        tune_gemm_in_file mgpu_tune_gemm_in_file set_filename Path PurePath touch symlink_to
        hardlink_to chmod iterdir savefig imsave imread style from_custom_template
    """),
    **_reasons(_PROCESSES, """
        system popen Popen spawn spawnl spawnv posix_spawn fork forkpty execv execve execl execlp
        execvp kill killpg check_output check_call getoutput getstatusoutput startfile
        environ getenv putenv
    """),
    **_reasons(_FETCH, """
        hub load_library download_url_to_file load_state_dict_from_url load_url load_inline
        urlopen urlretrieve create_connection
    """),
    **_reasons(_MODULE, """
        os posix nt sys subprocess socket ctypes ctypeslib importlib pickle shutil pathlib io
        builtins inspect gc threading multiprocessing asyncio signal urllib http requests marshal
        code codeop tempfile glob platform runpy pty mmap shelve sqlite3 zipfile tarfile linecache
        tokenize copyreg ssl webbrowser zipimport pkgutil site sysconfig operator types
        distributed cpp_extension model_zoo collect_env tensorboard datapipes serialization
        package fx onnx export compiler f2py distutils extbuild logging traceback gzip bz2 lzma
        codecs pyarrow compat timeit
    """),
    # the same modules under the short names libraries import them as (found by walking
    # torch, numpy and pandas: torch.utils.data.dataloader.dist, pandas.compat.pickle_compat.pkl)
    **_reasons(_MODULE, """
        dist mp pkl pickle_compat fx_traceback fmt pa pc compressors python_multiprocessing
    """),
    **_reasons(_FRAMES, """
        gi_frame gi_code gi_yieldfrom cr_frame cr_code cr_await ag_frame ag_code f_globals
        f_locals f_builtins f_back f_code f_trace tb_frame tb_next co_code co_consts co_names
    """),
    **_reasons(_DYNAMIC, """
        get_type_hints attrgetter methodcaller CompilationUnit set_executable compile_shader Timer
    """),
    "compile": "compiles native code: torch.compile writes generated C++ and runs a compiler",
    **_reasons(_MEMORY, "as_strided stride_tricks DummyArray data_ptr"),
    "make_dataclass": "builds a class at run time from field names a review cannot see",
    "jit": "compiles TorchScript from source text at run time",
    "ops": "reaches torch's raw operator table (file readers and unchecked memory ops among them)",
    "library": "registers native operator kernels",
}
# pandas keywords that turn an expression string into evaluated code (`engine="python"`)
_EVALUATION_KEYWORDS = frozenset({"engine", "local_dict", "global_dict", "resolvers"})
# pandas methods that call a function given by name: `data.agg("eval", ...)` is data.eval(...)
_DISPATCH_METHODS = frozenset({"agg", "aggregate", "transform", "apply", "applymap", "map", "pipe"})
_SAFE_DISPATCH_NAMES = frozenset("""
    mean sum std var sem min max median count nunique size prod first last any all abs
    cumsum cumprod cummax cummin skew kurt quantile idxmin idxmax round sqrt exp log
""".split())
_SAFE_BUILTIN_FUNCTIONS = frozenset({"abs", "bool", "float", "int", "len", "max", "min", "round", "str", "sum"})
# special methods a class in a training module may define; the rest change how numpy, torch,
# pickle or attribute lookup treat its objects (__array_interface__ takes raw pointers)
_ALLOWED_CLASS_DUNDERS = frozenset("""
    __init__ __post_init__ __call__ __repr__ __str__ __len__ __getitem__ __setitem__ __iter__
    __next__ __contains__ __bool__ __eq__ __ne__ __lt__ __le__ __gt__ __ge__ __hash__ __enter__
    __exit__ __add__ __radd__ __sub__ __rsub__ __mul__ __rmul__ __truediv__ __rtruediv__
    __matmul__ __neg__ __pos__ __abs__
""".split())
_FORBIDDEN_ATTRIBUTE_PREFIXES = {"read_": _FILES}  # pandas read_csv, read_sql, read_html, ...

# Dunder attributes that legitimate model code needs and that lead nowhere dangerous.
_ALLOWED_DUNDER_ATTRIBUTES = frozenset({"__init__", "__name__", "__version__"})
_ALLOWED_SUPER_DUNDERS = frozenset({"__init__", "__post_init__", "__repr__", "__str__", "__call__"})
_ALLOWED_DUNDER_NAMES = {"__name__": ast.Load, "__all__": ast.Store, "__slots__": ast.Store}
_ALLOWED_DUNDER_STRINGS = frozenset({"__main__"})
# pandas' eval/query evaluate an expression string with attribute access and calls.
_EXPRESSION_METHODS = frozenset({"eval", "query"})

Rule = Literal["syntax", "entrypoint", "import", "call", "dunder", "attribute", "dynamic-name"]


@dataclass(frozen=True)
class Finding:
    """One reason to reject: where (1-based line, 0-based column), which rule, and why."""

    line: int
    col: int
    rule: str
    message: str


@dataclass(frozen=True)
class ReviewReport:
    """The outcome of reviewing one module under one policy."""

    verdict: Literal["passed", "rejected"]
    findings: tuple[Finding, ...]
    code_hash: str
    entrypoints: tuple[str, ...]
    policy_name: str
    policy_sha256: str

    @property
    def passed(self) -> bool:
        """Whether the module may run under the policy."""
        return self.verdict == "passed"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of the report."""
        return {
            "verdict": self.verdict,
            "findings": [vars(finding).copy() for finding in self.findings],
            "code_hash": self.code_hash,
            "entrypoints": list(self.entrypoints),
            "policy_name": self.policy_name,
            "policy_sha256": self.policy_sha256,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ReviewReport:
        """The report `to_dict` made; raise ValueError when a key is missing or inconsistent."""
        keys = ("verdict", "findings", "code_hash", "entrypoints", "policy_name", "policy_sha256")
        missing = [key for key in keys if key not in data]
        if missing:
            raise ValueError(f"review report lacks {', '.join(missing)}")
        findings = tuple(
            Finding(int(f["line"]), int(f["col"]), str(f["rule"]), str(f["message"]))
            for f in data["findings"]
        )
        verdict = data["verdict"]
        if verdict != ("rejected" if findings else "passed"):
            raise ValueError(
                f"review report verdict {verdict!r} does not match its {len(findings)} findings"
            )
        return cls(verdict, findings, str(data["code_hash"]), tuple(data["entrypoints"]),
                   str(data["policy_name"]), str(data["policy_sha256"]))


def review(source: str, policy: Policy, *, required: tuple[str, ...] = ("train",)) -> ReviewReport:
    """Review a whole module's source under `policy`; `required` entrypoints must be defined."""
    code_hash = hashlib.sha256(source.encode("utf-8", "surrogatepass")).hexdigest()
    entrypoints: tuple[str, ...] = ()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarnings are the scientist's business
            tree = ast.parse(source, filename="<submission>")
    except SyntaxError as err:
        text = (err.text or "").strip()
        message = f"`{_shorten(text)}`: {err.msg}" if text else err.msg
        findings = [Finding(err.lineno or 1, max((err.offset or 1) - 1, 0), "syntax", message)]
    except (ValueError, RecursionError, MemoryError) as err:
        findings = [Finding(1, 0, "syntax", f"the module cannot be parsed: {err}")]
    else:
        reviewer = _Reviewer(source, policy)
        try:
            reviewer.visit(tree)
        except RecursionError:  # ast.parse accepts nesting deeper than a recursive walk can go
            reviewer.findings.append(
                Finding(1, 0, "syntax", "the module is nested too deeply to review")
            )
        entrypoints, entry_findings = _check_entrypoints(tree, required)
        findings = reviewer.findings + entry_findings
    ordered = tuple(sorted(set(findings), key=lambda f: (f.line, f.col, f.rule, f.message)))
    return ReviewReport(
        verdict="rejected" if ordered else "passed",
        findings=ordered,
        code_hash=code_hash,
        entrypoints=entrypoints,
        policy_name=policy.name,
        policy_sha256=policy.sha256,
    )


def format_report(report: ReviewReport, *, filename: str | None = None) -> str:
    """The report as text for people: verdict, hashes, entrypoints and one line per finding."""
    subject = f"review of {filename}" if filename else "review"
    count = len(report.findings)
    verdict = "PASSED" if report.passed else f"REJECTED ({count} finding{'s' * (count != 1)})"
    lines = [
        f"{subject}: {verdict}",
        f"policy: {report.policy_name} (sha256 {report.policy_sha256 or 'n/a'})",
        f"code sha256: {report.code_hash}",
        f"entrypoints: {', '.join(report.entrypoints) or 'none'}",
    ]
    lines += [f"line {f.line}:{f.col} [{f.rule}] {f.message}" for f in report.findings]
    return "\n".join(lines)


def _is_dunder(name: str) -> bool:
    return len(name) > 4 and name.startswith("__") and name.endswith("__")


def _shorten(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class _Reviewer(ast.NodeVisitor):
    """Walks the module once and collects findings."""

    def __init__(self, source: str, policy: Policy) -> None:
        self.source = source
        self.lines = source.replace("\r\n", "\n").replace("\r", "\n").split("\n")  # as ast
        self.allowed_imports = frozenset(policy.code.allowed_imports)
        self.forbidden_calls = frozenset(policy.code.forbidden_calls)
        self.forbidden_attributes = {
            **dict.fromkeys(policy.code.forbidden_attributes, "is forbidden by the policy"),
            **FORBIDDEN_ATTRIBUTES,
        }
        self.aliases: dict[str, str] = {}  # local name -> dotted module/object it was imported as
        self.findings: list[Finding] = []
        self.handled: set[int] = set()  # ids of nodes already judged by their parent
        self.class_depth: list[bool] = [False]  # whether the innermost scope is a class body
        self.bound_names: set[str] = set()  # every name the module binds anywhere
        self.defined_functions: set[str] = set()  # names bound only by def or class statements

    def visit_Module(self, node: ast.Module) -> None:
        defined: set[str] = set()
        for child in ast.walk(node):
            if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Store):
                self.bound_names.add(child.id)
            elif isinstance(child, ast.arg):
                self.bound_names.add(child.arg)
            elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                defined.add(child.name)
        self.defined_functions = defined - self.bound_names  # never reassigned to a string
        self.generic_visit(node)

    # --- reporting ---------------------------------------------------------------------------

    def report(self, node: ast.AST, rule: Rule, reason: str, snippet: str | None = None,
               *, statement: ast.stmt | None = None) -> None:
        line = getattr(node, "lineno", 1)
        col = getattr(node, "col_offset", 0)
        if statement is not None and statement.lineno == line:
            col = statement.col_offset  # `import os` is reported where the statement starts
        if 0 < line <= len(self.lines):  # ast columns count UTF-8 bytes; people count characters
            col = len(self.lines[line - 1].encode("utf-8")[:col].decode("utf-8", "ignore"))
        if snippet is None:
            snippet = ast.get_source_segment(self.source, node) or ""
        message = f"`{_shorten(snippet)}`: {reason}" if snippet else reason
        self.findings.append(Finding(line, col, rule, message))

    def attribute_problem(self, name: str) -> tuple[Rule, str] | None:
        """Why an attribute called `name` may not be read or written, if it may not."""
        if _is_dunder(name):
            if name in _ALLOWED_DUNDER_ATTRIBUTES:
                return None
            return "dunder", f"dunder attribute {name} reaches interpreter internals"
        if name.startswith("_"):
            return "attribute", f"private attribute {name} reaches library internals"
        reason = self.forbidden_attributes.get(name) or next(
            (why for prefix, why in _FORBIDDEN_ATTRIBUTE_PREFIXES.items() if name.startswith(prefix)),
            None,
        )
        if reason:
            # names are matched on any object, so the scientist's own `self.dist` is caught too
            return "attribute", f"attribute {name} {reason} (matched by name on any object)"
        return None

    def forbidden_call(self, node: ast.expr) -> str | None:
        """The policy's forbidden dotted name that `node` refers to (after import aliases)."""
        if not self.forbidden_calls:
            return None
        parts: list[str] = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name):
            return None
        written = ".".join([node.id, *reversed(parts)])
        resolved = ".".join([self.aliases.get(node.id, node.id), *reversed(parts)])
        for dotted in (written, resolved):
            if dotted in self.forbidden_calls:
                return dotted
        return None

    # --- imports -----------------------------------------------------------------------------

    def module_problem(self, dotted: str) -> str | None:
        """Why importing module `dotted` (or a name from it) is refused, if it is."""
        parts = dotted.split(".")
        if parts[0] not in self.allowed_imports:
            return f"module {parts[0]} is not in the policy's allowed imports"
        if any(part.startswith("_") for part in parts):
            return f"{dotted} is private: private names reach library internals"
        for prefix, reason in FORBIDDEN_SUBMODULES.items():
            if dotted == prefix or dotted.startswith(prefix + "."):
                return f"{prefix} is always forbidden: it {reason}"
        for part in parts[1:]:
            problem = self.attribute_problem(part)
            if problem:
                return f"{dotted} is forbidden: {problem[1]}"
        if dotted in self.forbidden_calls:
            return f"{dotted} is in the policy's forbidden calls"
        return None

    def check_alias_name(self, alias: ast.alias) -> None:
        bound = alias.asname or alias.name.split(".")[0]
        if _is_dunder(bound):
            self.report(alias, "dunder", f"binding the dunder name {bound} shadows interpreter names")

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            problem = self.module_problem(alias.name)
            if problem:
                snippet = f"import {ast.get_source_segment(self.source, alias)}"
                self.report(alias, "import", problem, snippet, statement=node)
            self.check_alias_name(alias)
            if alias.asname:
                self.aliases[alias.asname] = alias.name
            else:
                self.aliases[alias.name.split(".")[0]] = alias.name.split(".")[0]

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            self.report(node, "import", "relative imports are not allowed: a submission is one module")
            return
        module = node.module or ""
        if module == "__future__":
            return  # compiler directives (`annotations`), not a module the code can use
        problem = self.module_problem(module)
        if problem:
            self.report(node, "import", problem)
            return
        for alias in node.names:
            snippet = f"from {module} import {ast.get_source_segment(self.source, alias)}"
            if alias.name == "*":
                self.report(alias, "import",
                            "star imports hide which names the module uses; import names one by one",
                            snippet, statement=node)
                continue
            problem = self.module_problem(f"{module}.{alias.name}")
            if problem:
                self.report(alias, "import", problem, snippet, statement=node)
            self.check_alias_name(alias)
            self.aliases[alias.asname or alias.name] = f"{module}.{alias.name}"

    # --- names and attributes ----------------------------------------------------------------

    def visit_Name(self, node: ast.Name) -> None:
        name = node.id
        if name == "input" and name in self.bound_names:
            pass  # torch code names tensors `input`; the builtin only reads an empty stdin anyway
        elif name in FORBIDDEN_BUILTINS:
            self.report(node, "call", f"builtin {name} {FORBIDDEN_BUILTINS[name]}")
        elif name == "type" and id(node) not in self.handled and name not in self.bound_names:
            self.report(node, "dynamic-name",
                        "type may only be called with one argument; passed around, it can build a "
                        "class from names a review cannot see")
        elif name in _NAME_BUILTINS:
            # a bare reference (`g = getattr`) would let the name be built at run time elsewhere
            self.report(node, "dynamic-name",
                        f"{name} may only be called directly, with a constant attribute name")
        elif _is_dunder(name) and not isinstance(node.ctx, _ALLOWED_DUNDER_NAMES.get(name, ())):
            self.report(node, "dunder", f"dunder name {name} reaches interpreter internals")
        else:
            dotted = self.forbidden_call(node)
            if dotted:
                self.report(node, "call", f"{dotted} is in the policy's forbidden calls")

    def visit_Attribute(self, node: ast.Attribute) -> None:
        problem = None if self.is_super_dunder(node) else self.attribute_problem(node.attr)
        if problem:
            self.report(node, *problem)
        elif node.attr in _EXPRESSION_METHODS and id(node) not in self.handled:
            # model.eval() is fine; df.eval("...") / df.query("...") / a bare reference are not
            self.report(node, "dynamic-name",
                        f".{node.attr} may only be called without arguments (like model.eval()): "
                        "pandas evaluates expression strings at run time")
        elif node.attr in _DISPATCH_METHODS and id(node) not in self.handled:
            self.report(node, "dynamic-name",
                        f".{node.attr} may only be called directly: passed around, what it is given "
                        "cannot be reviewed")
        elif node.attr in ("format", "format_map"):
            self.check_format(node)
        else:
            dotted = self.forbidden_call(node)
            if dotted:
                self.report(node, "call", f"{dotted} is in the policy's forbidden calls")
        self.generic_visit(node)

    @staticmethod
    def is_super_dunder(node: ast.Attribute) -> bool:
        """`super().__init__` and friends: the parent's own special methods."""
        receiver = node.value
        return (
            node.attr in _ALLOWED_SUPER_DUNDERS
            and isinstance(receiver, ast.Call)
            and isinstance(receiver.func, ast.Name)
            and receiver.func.id == "super"
        )

    def visit_Constant(self, node: ast.Constant) -> None:
        value = node.value
        if (isinstance(value, str) and _is_dunder(value) and value.isidentifier()
                and value not in _ALLOWED_DUNDER_STRINGS and id(node) not in self.handled):
            # a dunder name in a string is only useful to code that looks attributes up by name
            self.report(node, "dunder", f"string {value!r} names a dunder attribute")

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        keywords = self.literal_keywords(node)
        for name, _value, where in keywords:
            if name in _EVALUATION_KEYWORDS:
                self.report(where, "call", f"keyword {name}= makes pandas evaluate expression strings",
                            f"{name}=")
        if isinstance(func, ast.Attribute) and func.attr in _DISPATCH_METHODS:
            self.handled.add(id(func))
            if any(k.arg is None and not isinstance(k.value, ast.Dict) for k in node.keywords):
                self.report(node, "dynamic-name",
                            f".{func.attr}(**...) with computed keywords may name a method to call")
            target = node.args[0] if node.args else next(
                (value for name, value, _ in keywords if name in ("func", "arg")), None)
            if target is not None:
                self.check_dispatch_target(node, func.attr, target)
        if isinstance(func, ast.Name) and func.id == "type" and "type" not in self.bound_names:
            self.handled.add(id(func))
            if len(node.args) != 1 or node.keywords:
                self.report(node, "dynamic-name",
                            "type() with three arguments builds a class from names a review cannot see; "
                            "write a class statement")
        if isinstance(func, ast.Name) and func.id in _NAME_BUILTINS:
            self.check_name_builtin(node, func.id)
            for child in [*node.args, *node.keywords]:
                self.visit(child)
            return
        if isinstance(func, ast.Attribute) and not (node.args or node.keywords):
            self.handled.add(id(func))  # `x.eval()` without arguments: a torch module's eval mode
        self.generic_visit(node)

    @staticmethod
    def literal_keywords(node: ast.Call) -> list[tuple[str | None, ast.expr, ast.AST]]:
        """A call's keywords, those in `**{"key": value}` literals included (a red team hid
        `engine="python"` and `func="eval"` there)."""
        found: list[tuple[str | None, ast.expr, ast.AST]] = []
        for keyword in node.keywords:
            if keyword.arg is not None:
                found.append((keyword.arg, keyword.value, keyword))
            elif isinstance(keyword.value, ast.Dict):
                for key, value in zip(keyword.value.keys, keyword.value.values, strict=True):
                    name = key.value if isinstance(key, ast.Constant) and isinstance(key.value, str) else None
                    found.append((name, value, key or keyword))
        return found

    def check_dispatch_target(self, node: ast.Call, method: str, target: ast.expr) -> None:
        """`.agg(f)` & co.: `f` must be a function itself, or a safe reduction named by a literal."""
        if isinstance(target, ast.Constant) and isinstance(target.value, str):
            self.handled.add(id(target))
            if target.value not in _SAFE_DISPATCH_NAMES:
                self.report(node, "dynamic-name",
                            f".{method}({target.value!r}) calls a method by its name; pass a function, "
                            f"or one of {', '.join(sorted(_SAFE_DISPATCH_NAMES))}")
            return
        if isinstance(target, ast.List | ast.Tuple):
            for item in target.elts:
                self.check_dispatch_target(node, method, item)
            return
        if isinstance(target, ast.Dict):
            if method == "map":
                return  # Series.map({...}) looks values up in the mapping; it calls nothing
            for item in target.values:
                self.check_dispatch_target(node, method, item)
            return
        if isinstance(target, ast.Lambda) or self.is_function_reference(target):
            return
        self.report(node, "dynamic-name",
                    f".{method}() with a computed argument may call a method by a name built at run "
                    "time; pass a lambda, a function defined in the module, or a library function")

    def is_function_reference(self, node: ast.expr) -> bool:
        """A name the module defines with def/class or imports, or an attribute of an import."""
        root = node
        while isinstance(root, ast.Attribute):
            root = root.value
        if not isinstance(root, ast.Name):
            return False
        if root is node:
            return (node.id in self.defined_functions or node.id in self.aliases
                    or (node.id in _SAFE_BUILTIN_FUNCTIONS and node.id not in self.bound_names))
        return root.id in self.aliases

    def check_name_builtin(self, node: ast.Call, builtin: str) -> None:
        """getattr(x, "name") & co.: the name must be a constant that passes the attribute rules."""
        name = node.args[1] if len(node.args) >= 2 else None
        if not (isinstance(name, ast.Constant) and isinstance(name.value, str)):
            # a computed name could be "__class__" or "save": nothing to check statically
            self.report(node, "dynamic-name",
                        f"{builtin} with a computed attribute name cannot be reviewed")
            return
        self.handled.add(id(name))
        problem = self.attribute_problem(name.value)
        if problem:
            self.report(node, *problem)
        elif name.value in _EXPRESSION_METHODS or name.value in _DISPATCH_METHODS:
            self.report(node, "dynamic-name",
                        f"{builtin}(..., {name.value!r}) hides a method that evaluates strings or calls "
                        "methods by name; call it directly")

    def check_format(self, node: ast.Attribute) -> None:
        """str.format reads attributes named inside the template: `"{0.__class__}".format(x)`."""
        template = node.value
        if not (isinstance(template, ast.Constant) and isinstance(template.value, str)):
            self.report(node, "dynamic-name",
                        f".{node.attr} on a template that is not a string literal can read "
                        "any attribute; use an f-string")
            return
        try:
            fields = _format_fields(template.value)
        except ValueError:
            return  # a malformed template fails at run time without reading anything
        for field in fields:
            for part in field.replace("[", ".").replace("]", "").split(".")[1:]:
                problem = self.attribute_problem(part)
                if problem:
                    self.handled.add(id(template))
                    self.report(node, *problem)
                    return

    # --- definitions and other statements ------------------------------------------------------

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        if _is_dunder(node.name) and not self.class_depth[-1]:
            self.report(node, "dunder", f"dunder function {node.name} outside a class body",
                        f"def {node.name}")
        elif _is_dunder(node.name) and node.name not in _ALLOWED_CLASS_DUNDERS:
            self.report(node, "dunder", f"special method {node.name} changes how libraries or the "
                        "interpreter treat the class's objects", f"def {node.name}")
        for decorator in node.decorator_list:
            self.visit(decorator)
        self.visit(node.args)
        if node.returns:
            self.visit(node.returns)
        self.class_depth.append(False)
        for statement in node.body:
            self.visit(statement)
        self.class_depth.pop()

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self.visit(node.args)
        self.class_depth.append(False)
        self.visit(node.body)
        self.class_depth.pop()

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        if _is_dunder(node.name):
            self.report(node, "dunder", f"dunder class name {node.name}", f"class {node.name}")
        for child in [*node.decorator_list, *node.bases, *node.keywords]:
            self.visit(child)
        self.class_depth.append(True)
        for statement in node.body:
            self.visit(statement)
        self.class_depth.pop()

    def visit_arg(self, node: ast.arg) -> None:
        if _is_dunder(node.arg):
            self.report(node, "dunder", f"dunder parameter name {node.arg}")
        self.generic_visit(node)

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.name and _is_dunder(node.name):
            self.report(node, "dunder", f"dunder name {node.name}", f"except ... as {node.name}")
        self.generic_visit(node)

    def visit_Global(self, node: ast.Global | ast.Nonlocal) -> None:
        for name in node.names:
            if _is_dunder(name):
                self.report(node, "dunder", f"dunder name {name} reaches interpreter internals")

    visit_Nonlocal = visit_Global

    def visit_MatchClass(self, node: ast.MatchClass) -> None:
        # `case object(__class__=c)` reads an attribute without an Attribute node
        for name in node.kwd_attrs:
            problem = self.attribute_problem(name)
            if problem:
                self.report(node, *problem)
        self.generic_visit(node)

    def visit_MatchAs(self, node: ast.MatchAs) -> None:
        if node.name and _is_dunder(node.name):
            self.report(node, "dunder", f"dunder name {node.name}")
        self.generic_visit(node)


def _format_fields(template: str) -> list[str]:
    """Every replacement field name of a str.format template, nested specs included."""
    fields = []
    for _, field, spec, _ in string.Formatter().parse(template):
        if field is not None:
            fields.append(field)
        if spec:
            fields += _format_fields(spec)
    return fields


def _check_entrypoints(
    tree: ast.Module, required: tuple[str, ...]
) -> tuple[tuple[str, ...], list[Finding]]:
    """Module-level entrypoints defined as plain `def`s, and findings for the wrong or missing."""
    names = set(ENTRYPOINTS) | set(required)
    plain: dict[str, list[ast.FunctionDef]] = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name in names:
            plain.setdefault(node.name, []).append(node)
    other: dict[str, list[tuple[int, int, str]]] = {}
    for name, line, col, how, node in _module_bindings(tree):
        if name in names and not any(node is definition for definition in plain.get(name, [])):
            other.setdefault(name, []).append((line, col, how))
    findings = []
    for name in sorted(names):
        params = ", ".join(_PARAMETERS.get(name, ("data", "weights", "config")))
        wanted = f"def {name}({params})"
        for line, col, how in other.get(name, []):
            findings.append(Finding(
                line, col, "entrypoint",
                f"`{wanted}` must be a plain module-level def; here `{name}` is {how}"))
        defs = plain.get(name, [])
        if len(defs) > 1:
            lines = ", ".join(str(d.lineno) for d in defs)
            findings.append(Finding(defs[-1].lineno, defs[-1].col_offset, "entrypoint",
                                    f"`{name}` is defined more than once (lines {lines})"))
        for definition in defs:
            if not _accepts(definition.args, len(_PARAMETERS.get(name, (0, 0, 0)))):
                got = ", ".join(arg.arg for arg in _all_args(definition.args))
                findings.append(Finding(definition.lineno, definition.col_offset, "entrypoint",
                                        f"`{wanted}` must take ({params}); it takes ({got})"))
        if name in required and not defs and not other.get(name):
            findings.append(Finding(1, 0, "entrypoint",
                                    f"required entrypoint `{name}` is missing: "
                                    f"define `{wanted}:` at module level"))
    entrypoints = tuple(name for name in ENTRYPOINTS if name in plain)
    return entrypoints, findings


def _all_args(args: ast.arguments) -> list[ast.arg]:
    starred = [arg for arg in (args.vararg, args.kwarg) if arg is not None]
    return [*args.posonlyargs, *args.args, *args.kwonlyargs, *starred]


def _accepts(args: ast.arguments, count: int) -> bool:
    """Whether a def can be called with exactly `count` positional arguments."""
    positional = [*args.posonlyargs, *args.args]
    required = len(positional) - len(args.defaults)
    kw_required = any(default is None for default in args.kw_defaults)
    return required <= count and (len(positional) >= count or args.vararg is not None) and (
        not kw_required
    )


def _module_bindings(tree: ast.Module) -> list[tuple[str, int, int, str, ast.AST]]:
    """Every binding of a module-level name: (name, line, column, how, node)."""
    found: list[tuple[str, int, int, str, ast.AST]] = []
    pending: list[ast.AST] = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            how = {ast.AsyncFunctionDef: "an async def", ast.ClassDef: "a class"}.get(
                type(node), "a def at module level" if node in tree.body else "a def in a block"
            )
            found.append((node.name, node.lineno, node.col_offset, how, node))
            # `global train` inside a function or class rebinds the module-level name
            pending += [inner for inner in ast.walk(node) if isinstance(inner, ast.Global)]
        elif isinstance(node, ast.Global):
            found += [(name, node.lineno, node.col_offset, "declared global in a function", node)
                      for name in node.names]
        elif isinstance(node, ast.Lambda | ast.ListComp | ast.SetComp | ast.DictComp
                        | ast.GeneratorExp):
            continue  # their own scopes
        else:
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
                found.append((node.id, node.lineno, node.col_offset, "assigned", node))
            elif isinstance(node, ast.alias):
                name = node.asname or node.name.split(".")[0]
                found.append((name, node.lineno, node.col_offset, "imported", node))
            pending += list(ast.iter_child_nodes(node))
    return found
