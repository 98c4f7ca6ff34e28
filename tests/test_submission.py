"""A module travels inside a syft function exactly, and nothing can ride along."""

import pytest

from policies.submission import SubmissionError, build, parse

MODULE = '''import torch

def train(data, weights, config):
    return {"weights": weights, "num_examples": len(data), "metrics": {}}

def evaluate(data, weights, config):
    return {"num_examples": len(data), "metrics": {"correct": 0}}
'''


def test_wrapper_round_trips_to_the_same_module():
    for entrypoint in ("train", "evaluate"):
        sub = build(MODULE, entrypoint, "heart.py")
        back = parse(sub.wrapper_code())
        assert back == sub
        assert back.source == MODULE
        assert sub.func_name.startswith(f"fedsyft_{entrypoint}_")


def test_wrapper_runs_the_module_entrypoint():
    sub = build(MODULE, "evaluate", "heart.py")
    namespace = {}
    exec(sub.wrapper_code(), namespace)
    assert namespace[sub.func_name]([1, 2, 3], {}, {}) == {"num_examples": 3, "metrics": {"correct": 0}}


def test_code_hash_identifies_the_module_not_the_entrypoint():
    assert build(MODULE, "train").code_hash == build(MODULE, "evaluate").code_hash
    assert build(MODULE, "train").code_hash != build(MODULE + "\n", "train").code_hash


@pytest.mark.parametrize(
    "tamper",
    [
        lambda code: code + "\nimport os\n",                                    # code after the function
        lambda code: "import os\n" + code,                                      # code before it
        lambda code: code.replace("    return module", "    print(data)\n    return module"),
        lambda code: code.replace("module['train']", "module['evaluate']"),     # runs another function
        lambda code: code.replace('"exec"', '"eval"'),
        lambda code: code.replace("fedsyft_train_", "steal_train_"),
        lambda code: code.replace("(data, weights, config):", "(data, weights, config, x=1):"),
    ],
)
def test_anything_around_the_module_is_refused(tamper):
    code = build(MODULE, "train", "heart.py").wrapper_code()
    tampered = tamper(code)
    assert tampered != code
    with pytest.raises(SubmissionError):
        parse(tampered)


def test_plain_syft_functions_are_not_submissions():
    with pytest.raises(SubmissionError, match="not a fedsyft submission"):
        parse("def compute(data):\n    return data.sum()\n")
    with pytest.raises(SubmissionError, match="does not parse"):
        parse("def fedsyft_train_(:\n")


@pytest.mark.parametrize("bad", [("", "train", "a.py"), (MODULE, "predict", "a.py"), (MODULE, "train", "../x.py")])
def test_bad_submissions_are_refused_with_reasons(bad):
    with pytest.raises(SubmissionError):
        build(*bad)


def test_a_nonce_makes_each_submission_its_own_request_and_parses_back() -> None:
    first, second = (build("def train(d, w, c):\n    return {}\n", "train", "m.py", nonce) for nonce in
                     ("0a1b2c3d", "deadbeef"))
    assert first.code_hash == second.code_hash, "the module, and so its review and approvals, is the same"
    assert first.wrapper_code() != second.wrapper_code() and first.func_name.endswith("_0a1b2c3d")
    assert parse(first.wrapper_code()) == first
    for bad in ("0A1B2C3D", "0a1b2c3", "0a1b2c3d0", "zzzzzzzz"):
        with pytest.raises(SubmissionError, match="nonce must be 8 lowercase hex digits"):
            build("def train(d, w, c):\n    return {}\n", "train", "m.py", bad)
    forged = first.wrapper_code().replace("_0a1b2c3d(", "_0a1b2c3d0(")
    with pytest.raises(SubmissionError, match="is not a fedsyft submission"):
        parse(forged)


def test_runs_for_gives_evaluation_one_run_more_than_training():
    from policies.submission import SPLIT, runs_for

    assert (runs_for("train", 5), runs_for("evaluate", 5)) == (5, 6)
    assert SPLIT == {"train": "train", "evaluate": "test"}
