"""The candidate scorer: gradient-boosted trees in a portable JSON file, one model per group.

A scorer file holds, per candidate group (date, amount, id, name, address), the feature names
it reads and its trees (split feature, threshold, children, leaf values) exported from
scikit-learn's ``HistGradientBoostingClassifier``. Reading one needs numpy only; training
needs scikit-learn (``pip install 'docintel[train]'``).

The shipped scorer (``docintel/data/cpu_scorer.json``) was trained only on documents the
project generates itself (``tools/train_cpu_scorer.py``; README: "Without a vision model").
``docintel train DIR --schema NAME --out scorer.json`` fits one on a user's own folder; the
CPU engine takes it as ``CPUEngine(scorer=path)`` or ``DOCINTEL_CPU_SCORER``.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

SHIPPED = Path(__file__).resolve().parents[2] / "data" / "cpu_scorer.json"
FORMAT = "docintel-cpu-scorer/1"


class _Trees:
    """One group's model: features and trees, evaluated with numpy, all trees and rows at once.

    The trees' nodes lie in flat arrays (feature, threshold, left, right, value), one node
    index per tree and row; a leaf points to itself, so ``depth`` steps bring every row of
    every tree to its leaf with no test for leaves on the way.
    """

    def __init__(self, data: dict[str, Any]) -> None:
        import numpy as np

        self.features: list[str] = list(data["features"])
        self.base = float(data["base"])
        trees = data["trees"]
        # only the features some split reads are gathered from the rows (a third fewer)
        used = sorted(
            {int(t["feature"][n]) for t in trees for n, leaf in enumerate(t["leaf"]) if not leaf}
        ) or [0]  # trees of leaves alone: one column, never read
        column = {f: j for j, f in enumerate(used)}
        self.columns = [self.features[f] for f in used]
        starts, feature, threshold, left, right, value = [], [], [], [], [], []
        for t in trees:
            start = len(value)
            starts.append(start)
            for n, leaf in enumerate(t["leaf"]):
                feature.append(0 if leaf else column[int(t["feature"][n])])
                threshold.append(float(t["threshold"][n]))
                left.append(start + (n if leaf else int(t["left"][n])))
                right.append(start + (n if leaf else int(t["right"][n])))
                value.append(float(t["value"][n]) if leaf else 0.0)
        self.starts = np.array(starts, dtype=np.int64)
        self.feature = np.array(feature, dtype=np.int64)
        self.threshold = np.array(threshold, dtype=np.float64)
        self.left = np.array(left, dtype=np.int64)
        self.right = np.array(right, dtype=np.int64)
        self.value = np.array(value, dtype=np.float64)
        self.depth = max((_depth(t) for t in trees), default=0)

    def predict(self, rows: Sequence[dict[str, float]]) -> list[float]:
        import numpy as np

        if not rows:
            return []
        if not len(self.starts):
            return [1.0 / (1.0 + math.exp(-self.base))] * len(rows)
        names = self.columns
        width = len(names)
        zeros = [0.0] * width  # r.get(name, 0.0) for every name, as map's second argument
        x = np.array([list(map(r.get, names, zeros)) for r in rows], dtype=np.float64).ravel()
        node = np.repeat(self.starts[:, None], len(rows), axis=1)  # (trees, rows)
        offset = (np.arange(len(rows), dtype=np.int64) * width)[None, :]
        for _ in range(self.depth):
            go_left = x[offset + self.feature[node]] <= self.threshold[node]
            node = np.where(go_left, self.left[node], self.right[node])
        raw = self.base + self.value[node].sum(axis=0)
        return (1.0 / (1.0 + np.exp(-raw))).tolist()


def _depth(tree: dict[str, Any]) -> int:
    """The longest root-to-leaf path of a tree (its node arrays)."""
    depth, frontier = 0, [0]
    while frontier:
        nxt = []
        for n in frontier:
            if not tree["leaf"][n]:
                nxt += [tree["left"][n], tree["right"][n]]
        if nxt:
            depth += 1
        frontier = nxt
    return depth


class Scorer:
    """Probabilities for candidates, per group; a group without a model gets a fallback.

    A scorer may carry a *prior*: another scorer (embedded in its file) whose probability
    each candidate gets as feature ``"prior"``. ``docintel train`` fits on top of the shipped
    scorer this way, so a folder of a hundred documents corrects what the generated documents
    taught rather than starting from nothing.
    """

    def __init__(self, data: dict[str, Any] | None = None, source: str = "") -> None:
        data = data or {}
        if data and data.get("format") != FORMAT:
            raise ValueError(f"{source or 'scorer'}: not a docintel CPU scorer ({FORMAT})")
        self.source = source
        self.data = data
        self.meta = {k: v for k, v in data.items() if k not in ("groups", "prior")}
        self.groups = {name: _Trees(g) for name, g in (data.get("groups") or {}).items()}
        prior = data.get("prior")
        if isinstance(prior, dict) and prior.get("prior"):  # one level: files stay bounded
            raise ValueError(f"{source or 'scorer'}: its prior carries a prior of its own")
        self.prior = Scorer(prior, f"{source} (prior)") if prior else None

    @classmethod
    def load(cls, path: str | Path) -> Scorer:
        p = Path(path)
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ValueError(f"cannot read the CPU scorer {p}: {exc}") from exc
        return cls(data, str(p))

    def predict(self, group: str, rows: Sequence[dict[str, float]]) -> list[float]:
        if self.prior is not None:
            rows = with_prior(self.prior, group, rows)
        model = self.groups.get(group)
        if model is None:
            return [_fallback(group, r) for r in rows]
        return model.predict(rows)


def with_prior(
    prior: Scorer, group: str, rows: Sequence[dict[str, float]]
) -> list[dict[str, float]]:
    """``rows`` with the prior scorer's probability as feature ``"prior"``."""
    return [{**r, "prior": p} for r, p in zip(rows, prior.predict(group, rows), strict=True)]


def _fallback(group: str, f: dict[str, float]) -> float:
    """Without a trained model: the label next to the value decides, position breaks ties."""
    own = max(f.get("left_own", 0.0), 0.8 * f.get("above_own", 0.0), 0.5 * f.get("row_own", 0.0))
    other = max(f.get("left_other", 0.0), 0.8 * f.get("above_other", 0.0))
    score = 2.0 * own - 1.5 * other
    if group == "name":
        score += 1.0 * f.get("legal", 0.0) + 0.8 * f.get("h_max", 0.0) - 0.1 * f.get("k", 0.0)
        score -= 2.0 * f.get("block_customer", 0.0) * f.get("role_vendor", 0.0)
    elif group == "address":
        score += 0.5 * f.get("postcode", 0.0) + 0.5 * f.get("next_contact", 0.0)
        score -= 0.5 * f.get("start", 0.0) + 0.3 * abs(f.get("n_lines", 0.0) - 3)
    elif group == "amount":
        score += 0.3 * f.get("value_is_max", 0.0) + 0.2 * f.get("y", 0.0)
    return 1.0 / (1.0 + math.exp(-(score - 1.0)))


_cache: dict[str, Scorer] = {}
_lock = threading.Lock()


def get_scorer(scorer: str | Path | Scorer | None = None) -> Scorer:
    """The scorer to use: the one given, else ``DOCINTEL_CPU_SCORER`` (the ``cpu_scorer``
    setting), else the shipped one."""
    if isinstance(scorer, Scorer):
        return scorer
    if not scorer:
        from docintel.settings import get_settings

        scorer = get_settings().cpu_scorer
    path = scorer or SHIPPED
    key = str(Path(path).resolve())
    with _lock:
        got = _cache.get(key)
        if got is None:
            got = Scorer.load(path) if Path(path).is_file() or path != SHIPPED else Scorer()
            _cache[key] = got
        return got


# ---- training ----------------------------------------------------------------------------------


def fit(
    rows: dict[str, list[tuple[dict[str, float], int, str]]],
    *,
    trees: int = 150,
    depth: int = 6,
    seed: int = 0,
    meta: dict[str, Any] | None = None,
    prior: Scorer | None = None,
) -> dict[str, Any]:
    """Fit one model per group from (features, label, document) rows; the scorer's JSON.

    Needs scikit-learn. Documents where no candidate is right stay in: they teach that a
    value is not the field's (an invoice without a due date, a receipt without a subtotal).
    With ``prior``, each row gets its probability as a feature, and the file embeds it.
    """
    try:
        import numpy as np
        from sklearn.ensemble import HistGradientBoostingClassifier
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise RuntimeError(
            "training the CPU scorer needs scikit-learn: pip install 'docintel[train]'"
        ) from exc
    groups: dict[str, Any] = {}
    for group, samples in sorted(rows.items()):
        labels = [y for _, y, _ in samples]
        if not samples or len(set(labels)) < 2:
            continue
        if prior is not None:
            feats = with_prior(prior, group, [f for f, _, _ in samples])
            samples = [(f, y, d) for f, (_, y, d) in zip(feats, samples, strict=True)]
        names = sorted({k for f, _, _ in samples for k in f})
        x = np.array([[f.get(k, 0.0) for k in names] for f, _, _ in samples], dtype=np.float64)
        y = np.array(labels)
        clf = HistGradientBoostingClassifier(
            max_iter=trees,
            max_depth=depth,
            learning_rate=0.1,
            min_samples_leaf=10,
            l2_regularization=1.0,
            random_state=seed,
            early_stopping=False,
        )
        clf.fit(x, y)
        groups[group] = _export(clf, names)
        groups[group]["samples"] = len(samples)
        groups[group]["positives"] = int(y.sum())
    out = {"format": FORMAT, **(meta or {}), "groups": groups}
    if prior is not None and prior.data:
        out["prior"] = prior.data
    return out


def _export(clf: Any, names: list[str]) -> dict[str, Any]:
    trees = []
    for (predictor,) in clf._predictors:
        nodes = predictor.nodes
        trees.append(
            {
                "feature": [int(v) for v in nodes["feature_idx"]],
                "threshold": [float(v) for v in nodes["num_threshold"]],
                "left": [int(v) for v in nodes["left"]],
                "right": [int(v) for v in nodes["right"]],
                "value": [round(float(v), 6) for v in nodes["value"]],
                "leaf": [int(v) for v in nodes["is_leaf"]],
            }
        )
    base = float(clf._baseline_prediction.ravel()[0])
    return {"features": names, "base": base, "trees": trees}


def dump(data: dict[str, Any], path: str | Path) -> None:
    Path(path).write_text(json.dumps(data, separators=(",", ":")) + "\n", encoding="utf-8")
