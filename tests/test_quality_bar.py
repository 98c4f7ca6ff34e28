"""The demo's default settings meet the quality bar on the bundled data.

The demo runs these rounds through real datasites (tests/test_http_e2e.py covers that path);
here the same module, FedAvg and settings run locally so the bar is checked in seconds.
"""

import numpy as np

from datasite import data as heart
from fedsyft.demo import DemoSettings, baselines, data_dir, module_path
from scientist.local import load_module, read_module
from scientist.strategies import fedavg


def test_default_federated_model_beats_every_centre_alone_and_nearly_matches_pooled():
    settings = DemoSettings()
    source, _ = read_module(module_path(settings))
    module = load_module(source)
    splits = {c: heart.load_centre(data_dir(), c, seed=settings.seed) for c in settings.sites}
    weights = module.init_weights(settings.config())
    for r in range(1, settings.rounds + 1):
        updates = [module.train(train, weights, settings.config(r)) for train, _ in splits.values()]
        weights = {k: v.astype(np.float32) for k, v in
                   fedavg([(u["weights"], u["num_examples"]) for u in updates]).items()}
    results = [module.evaluate(test, weights, {}) for _, test in splits.values()]
    federated = sum(r["metrics"]["correct"] for r in results) / sum(r["num_examples"] for r in results)
    compare = baselines(settings, source)
    assert federated >= 0.98 * compare["pooled"]["accuracy"], (federated, compare)
    for centre, local in compare["local_only"].items():
        assert federated > local["accuracy"], (centre, federated, local)
