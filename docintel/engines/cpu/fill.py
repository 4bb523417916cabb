"""Fill a schema from the words on the page: tables, then candidates scored and selected.

``fill(schema, pages)`` reads the pages' words (text layer, or OCR words), reads tables of
items first (``tables``), then for every leaf field gathers its candidates (``candidates``:
every date, amount, identifier, name-like phrase, address block, with features), scores them
(``scorer``: a model trained on generated documents, or one trained with ``docintel train``)
and picks the combination that passes the schema's checks (``select``). Fields with no
candidate group (payment terms, a percentage, a currency) are read next to their labels.
Nothing is per vendor: the labels come from the schema and a multilingual vocabulary.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from docintel.engines.cpu import addresses as A
from docintel.engines.cpu import candidates as C
from docintel.engines.cpu import names as N
from docintel.engines.cpu.labels import _Finder, _Labels
from docintel.engines.cpu.parse import _page_currency, _truncate
from docintel.engines.cpu.parties import _Parties, _Party
from docintel.engines.cpu.schema import _concept, _glued, _Spec, field_spec
from docintel.engines.cpu.scorer import Scorer, get_scorer
from docintel.engines.cpu.select import choose
from docintel.engines.cpu.tables import _item_specs, _read_table, _table_headers
from docintel.engines.cpu.vocab import _CONCEPTS, _SUMMARY, _VOCAB
from docintel.engines.cpu.words import _clean, _Doc, _label_tokens, _prepare, _text_lines

if TYPE_CHECKING:
    from docintel.document import Page, Region


class Filled(dict[str, Any]):
    """The filled value (a plain dict), with the leaf paths that could not be filled.

    ``ranked``: per field path, its candidates best first (with their probabilities).
    """

    def __init__(self, value: dict[str, Any], missing: list[str], required: list[str]) -> None:
        super().__init__(value)
        self.missing = missing
        self.required_missing = required
        self.ranked: dict[str, list[C.Cand]] = {}
        self.errors: list[str] = []  # the schema's check errors left by the chosen values


# Optional fields take their best candidate only when the scorer gives it at least this.
THRESHOLD = 0.3
REQUIRED_THRESHOLD = 0.01  # below this a required field stays empty (a partial result)
LABELLED_THRESHOLD = 0.05  # the top candidate right after its own label, whole
NAME_THRESHOLD = 0.12
VENDOR_THRESHOLD = 0.03  # every invoice names its issuer: the likeliest name, unless hopeless
ADDRESS_THRESHOLD = 0.0  # the likeliest block under the chosen name: ranking, not calibration


def fill(
    schema: type[BaseModel],
    pages: Sequence[Page],
    *,
    region: Region | None = None,
    scorer: Scorer | str | None = None,
    banned: Iterable[tuple[str, Any]] = (),
) -> Filled:
    """Fill ``schema`` from the words of ``pages`` (text layer, else OCR words), with no model.

    Returns a dict that validates against ``schema`` when the document allows it: optional
    fields not found are None, lists not found are empty. ``result.missing`` lists every leaf
    path left empty, ``result.required_missing`` the required ones (the value cannot validate
    while any remain). ``region`` limits the words to one region of the first page.
    ``scorer``: a ``Scorer`` or the path of a scorer file (default: ``DOCINTEL_CPU_SCORER``,
    else the shipped one). ``banned``: (path, value) pairs not to give again (the retry
    loop's feedback: values an earlier answer gave and a check rejected).
    """
    chosen = get_scorer(scorer)
    filled = _work(schema, pages, region, chosen, False).run(banned)
    if region is None and _issuer_missing(filled) and not _issuer_filled(filled):
        # the issuer may be printed only in a logo image: read the logos, fill again
        again = _work(schema, pages, None, chosen, True).run(banned)
        if not _issuer_missing(again):
            return again
    return filled


def _work(
    schema: type[BaseModel],
    pages: Sequence[Page],
    region: Region | None,
    scorer: Scorer,
    logos: bool,
) -> _Work:
    """The fill's work for these pages, kept on the first page: a retry (the same request with
    values to avoid) only chooses again among the candidates already scored."""
    if not pages:
        return _Work(schema, _prepare(pages, region, logos), scorer)
    cache = pages[0].__dict__.setdefault("_cpu_work", {})
    key = (schema, id(scorer), id(region), tuple(id(p) for p in pages), logos)
    got = cache.get(key)
    if got is None or got[0] is not region or got[1] is not scorer:
        if len(cache) > 16:
            cache.clear()
        got = cache[key] = (region, scorer, _Work(schema, _prepare(pages, region, logos), scorer))
    return got[2]


def _issuer_filled(filled: Filled) -> bool:
    """The value names its issuer all the same (read from the party blocks): the text layer
    has it, and no logo needs reading (OCR is the slow step of a born-digital page)."""
    for key in ("vendor", "merchant", "issuer", "seller", "supplier"):
        value = filled.get(key)
        if isinstance(value, dict):
            value = value.get("name")
        if isinstance(value, str) and value.strip():
            # a name (an address line taken for one holds digits: read the logos then)
            return not any(c.isdigit() for c in value)
    return False


def _issuer_missing(filled: Filled) -> bool:
    """No likely vendor (or merchant) name among the candidates."""
    for cands in filled.ranked.values():
        if cands and cands[0].group == "name" and cands[0].feats.get("role_vendor"):
            return cands[0].p < VENDOR_THRESHOLD
    return False


def _other_party(c: C.Cand) -> bool:
    """A name in a block the other party's label heads ("Bill to" over it, wanted: the vendor):
    whatever the scorer learned, that block names someone else."""
    f = c.feats
    mine, theirs = ("vendor", "customer") if f.get("role_vendor") else ("customer", "vendor")
    if not (f.get("role_vendor") or f.get("role_customer")):
        return False
    return f.get(f"block_{theirs}", 0.0) >= 0.5 and f.get(f"block_{mine}", 0.0) < 0.5


class _Work:
    """One fill: the document, its labels, candidates and choices."""

    def __init__(self, schema: type[BaseModel], doc: _Doc, scorer: Scorer) -> None:
        self.schema, self.doc, self.scorer = schema, doc, scorer
        self.banned: set[tuple[str, Any]] = set()
        self.top = [field_spec(name, name, info) for name, info in schema.model_fields.items()]
        self._state: tuple[Any, ...] | None = None
        self._lock = threading.Lock()

    def run(self, banned: Iterable[tuple[str, Any]] = ()) -> Filled:
        """The value, avoiding the (path, value) pairs of ``banned``; the candidates and their
        scores are computed on the first run and reused by the next ones (retries)."""
        with self._lock:
            self.banned = {(p, C.value_key(v)) for p, v in banned}
            return self._run()

    def _run(self) -> Filled:
        doc, top = self.doc, self.top
        missing: list[str] = []
        required: list[str] = []
        out: dict[str, Any] = {}
        if not doc.lines:
            for s in top:
                out[s.name] = [] if s.kind in ("models", "strs") else None
                if s.kind == "model" and s.model is not None:
                    out[s.name] = {n: None for n in s.model.model_fields}
                missing.append(s.path)
                if s.required and s.kind not in ("models", "model"):
                    required.append(s.path)
            return Filled(out, missing, required)

        if self._state is None:
            self._state = self._candidates_scored()
        tables, leaves, parents, ranked = self._state
        ranked = dict(ranked)
        tables = {k: [dict(r) for r in rows] for k, rows in tables.items()}

        picks = {p: self._pick(p, leaves[p], cs) for p, cs in ranked.items()}
        for path, spec in leaves.items():
            if path in picks:
                continue
            picks[path] = self._by_label(spec, parents[path], picks, ranked)

        # the value, then the combination of candidates that passes the schema's checks
        for s in top:
            if s.kind == "models":
                out[s.name] = tables.get(s.name, [])
            elif s.kind == "strs":
                low = s.name.lower()
                out[s.name] = _text_lines(doc) if low in ("lines", "text", "paragraphs") else []
            elif s.kind == "model" and s.model is not None:
                out[s.name] = {
                    name: ([] if field_spec(name, name, info).kind in ("models", "strs") else None)
                    for name, info in s.model.model_fields.items()
                }
        for path, value in picks.items():
            _set(out, path, value)
        self._party_fallback(out, top)
        optional = {p for p, s in leaves.items() if not s.required or "." in p}
        out, errors = choose(self.schema, out, ranked, optional, self.banned)
        for s in top:
            value = out.get(s.name)
            if s.kind == "model":
                for k, v in (value or {}).items():
                    if v is None or v == []:
                        missing.append(f"{s.path}.{k}")
                continue
            if value is None or value == []:
                missing.append(s.path)
                if s.required and s.kind != "models":
                    required.append(s.path)
        filled = Filled(out, missing, required)
        filled.ranked = ranked
        filled.errors = errors
        return filled

    def _candidates_scored(self) -> tuple[Any, ...]:
        """Tables, the leaf fields, and every leaf's candidates scored (no choice yet)."""
        doc, top = self.doc, self.top
        # tables first: their rows are not labels for the other fields
        excluded: set[int] = set()
        tables: dict[str, list[dict[str, Any]]] = {}
        summary = _Labels(doc.lines, {"#summary": [_label_tokens(x) for x in _SUMMARY]})
        for s in top:
            if s.kind == "models" and s.model is not None:
                specs = _item_specs(s.model, s.path)
                items: list[dict[str, Any]] = []
                for header, cols in _table_headers(doc, specs):
                    if id(header) in excluded:
                        continue
                    rows, used = _read_table(doc, header, cols, specs, summary)
                    items += rows
                    excluded |= used
                tables[s.name] = items

        keyed: dict[str, list[tuple[str, ...]]] = {s.path: s.labels for s in top}
        for role in ("customer", "vendor", "tax_id"):
            toks = [_label_tokens(x) for x in _VOCAB[role]]
            keyed[f"@{role}"] = toks + _glued(toks)
        leaves: dict[str, _Spec] = {}
        parents: dict[str, str | None] = {}
        for s in top:
            if s.kind == "model" and s.model is not None:
                for name, info in s.model.model_fields.items():
                    sub = field_spec(f"{s.path}.{name}", name, info)
                    leaves[sub.path] = sub
                    parents[sub.path] = s.name
                    if _concept(s.name, _CONCEPTS) is None:
                        keyed[sub.path] = sub.labels
            elif s.kind not in ("models", "strs"):
                leaves[s.path] = s
                parents[s.path] = None
        self.labels = _Labels([ln for ln in doc.lines if id(ln) not in excluded], keyed)
        self.finder = _Finder(doc, self.labels, excluded)
        self.page = C.Page(doc, leaves, excluded)
        self.parties: _Parties | None = None

        # candidates, scored, per leaf; names before addresses (an address hangs under a name)
        ranked: dict[str, list[C.Cand]] = {}
        groups = {p: C.group_of(s, parents[p]) for p, s in leaves.items()}
        for p, spec in leaves.items():
            # a field of the user's own (no known concept): its labels come from the schema
            # alone, and the scorer was trained on known concepts; read it next to its label,
            # and score candidates only when no label is printed
            own = spec.concept is None and groups[p] not in ("name", "address", None)
            if own and self.finder.best(spec) is not None:
                groups[p] = None
        for p, parent in parents.items():  # a party's other fields sit in its block
            party = parent is not None and _concept(parent, _CONCEPTS) in ("vendor", "customer")
            if party and groups[p] not in ("name", "address"):
                groups[p] = None
        for path, spec in leaves.items():
            group = groups[path]
            if group in (None, "address"):
                continue
            ranked[path] = self._ranked(self._candidates(spec, group, parents[path]), group)
        names = {p: cs for p, cs in ranked.items() if groups[p] == "name"}
        self._separate_parties(names, leaves, parents)
        for path, spec in leaves.items():
            if groups[path] == "address":
                anchors = self._anchors(ranked, groups, parents, parents[path], spec)
                joiner = ", " if "comma" in (spec.description or "").lower() else " "
                cands = A.address_candidates(self.page, spec, anchors, joiner)
                ranked[path] = self._ranked(cands, "address")
        return tables, leaves, parents, ranked

    def _party_fallback(self, out: dict[str, Any], top: list[_Spec]) -> None:
        """A party whose name the scorer was unsure of: the block under its label ("Bill to"),
        or the most prominent name at the top, read as blocks are (``parties``)."""
        for s in top:
            concept = _concept(s.name, _CONCEPTS)
            value = out.get(s.name)
            if s.kind != "model" or concept not in ("vendor", "customer"):
                continue
            if not isinstance(value, dict) or value.get("name") is not None:
                continue
            if self.parties is None:
                self.parties = _Parties(self.doc, self.labels, self.finder)
            party = self.parties.vendor if concept == "vendor" else self.parties.customer
            if party is None:
                continue
            for key, v in self.parties.fill(party, s).items():
                if value.get(key) in (None, []) and v not in (None, []):
                    value[key] = v

    # ---- candidates ---------------------------------------------------------------------------
    def _candidates(self, spec: _Spec, group: str, parent: str | None) -> list[C.Cand]:
        if group == "amount":
            return C.amount_candidates(self.page, spec)
        if group == "date":
            return C.date_candidates(self.page, spec)
        if group == "id":
            return C.id_candidates(self.page, spec)
        if group == "name":
            return N.name_candidates(self.page, spec, C.role_of(spec, parent))
        return []

    def _ranked(self, cands: list[C.Cand], group: str) -> list[C.Cand]:
        probs = self.scorer.predict(group, [c.feats for c in cands])
        for c, p in zip(cands, probs, strict=True):
            c.p = 0.0 if _other_party(c) else p
        best: dict[Any, C.Cand] = {}
        for c in sorted(cands, key=lambda c: -c.p):
            kept = best.setdefault(c.key, c)
            own = max(c.feats.get("left_own", 0.0), c.feats.get("above_own", 0.0))
            kept.labelled = max(kept.labelled, own)
        return list(best.values())

    def _pick(self, path: str, spec: _Spec, cands: list[C.Cand]) -> Any:
        group = cands[0].group if cands else ""
        limit = {"name": NAME_THRESHOLD, "address": ADDRESS_THRESHOLD}.get(group, THRESHOLD)
        if group == "name" and cands[0].feats.get("role_vendor"):
            limit = VENDOR_THRESHOLD
        allowed = [c for c in cands if (path, c.key) not in self.banned]
        if not allowed:
            return None
        c = allowed[0]
        # printed right after (or under) one of its own labels, whole: that beats an unlabelled
        # guess not much likelier (a guess under a label of its own, "Total Sales Incl GST",
        # is no guess: the scorer weighed both labels)
        for other in allowed[:5] if c.labelled < 0.5 else ():
            floor = max(LABELLED_THRESHOLD, 0.3 * c.p)
            if other.labelled >= 1.0 and other.p >= floor:
                return _as_field(spec, other.value)
        if spec.required and "." not in path:
            # better a likely value than none: likely enough, or far likelier than the next
            runner = allowed[1].p if len(allowed) > 1 else 0.0
            sure = c.p >= REQUIRED_THRESHOLD or (c.p >= 0.005 and c.p >= 3 * runner)
            return _as_field(spec, c.value) if sure else None
        return _as_field(spec, c.value) if c.p >= limit else None

    def _separate_parties(
        self,
        names: dict[str, list[C.Cand]],
        leaves: dict[str, _Spec],
        parents: dict[str, str | None],
    ) -> None:
        """A vendor and a customer are not the same phrase: the likelier one keeps it."""
        roles = {p: C.role_of(leaves[p], parents[p]) for p in names}
        vendors = [p for p, r in roles.items() if r == "vendor"]
        customers = [p for p, r in roles.items() if r == "customer"]
        for v in vendors:
            for c in customers:
                if not names[v] or not names[c]:
                    continue
                top_v, top_c = names[v][0], names[c][0]
                if top_v.key == top_c.key:
                    loser = c if top_v.p >= top_c.p else v
                    names[loser][:] = names[loser][1:]

    def _anchors(
        self,
        ranked: dict[str, list[C.Cand]],
        groups: dict[str, str | None],
        parents: dict[str, str | None],
        parent: str | None,
        spec: _Spec,
    ) -> list[A.Anchor]:
        """Where an address hangs: under its party's likeliest names (the chosen one first;
        the runner-up too, so that a missed name does not take the address with it)."""
        role = C.role_of(spec, parent)
        for path, cands in ranked.items():
            if groups.get(path) != "name" or not cands:
                continue
            if parents.get(path) == parent or (role and C.role_of(spec, parents[path]) == role):
                return A.anchors_of(cands)
        # no name field: the likeliest name-like phrases of the party (the vendor by default)
        probe = _Spec(f"{spec.path}#name", "name", "str", False, [], concept=role or "vendor")
        cands = self._ranked(N.name_candidates(self.page, probe, role or "vendor"), "name")
        return A.anchors_of(cands)

    # ---- fields read next to their labels -----------------------------------------------------
    def _by_label(
        self,
        spec: _Spec,
        parent: str | None,
        picks: dict[str, Any],
        ranked: dict[str, list[C.Cand]],
    ) -> Any:
        if spec.kind == "currency":
            got = self.finder.best(spec)
            return got[0] if got else _page_currency(self.doc)
        if spec.kind in ("bool", "other", "model", "models", "strs"):
            return None
        if parent is not None and _concept(parent, _CONCEPTS) in ("vendor", "customer"):
            return self._in_party(spec, parent, ranked)
        got = self.finder.best(spec)
        if got is not None:
            return got[0]
        if spec.kind == "time":  # a time printed bare beside the date
            for path, cands in ranked.items():
                if cands and cands[0].group == "date" and picks.get(path) is not None:
                    for w in cands[0].line.words:
                        m = C._TIME.search(w.text)
                        if m:
                            return f"{int(m[1]):02d}:{m[2]}" + (f":{m[3]}" if m[3] else "")
        return None

    def _in_party(self, spec: _Spec, parent: str, ranked: dict[str, list[C.Cand]]) -> Any:
        """A field inside a party's block (its tax id), under the party's chosen name."""
        if self.parties is None:
            self.parties = _Parties(self.doc, self.labels, self.finder)
        name = next(
            (cs[0] for p, cs in ranked.items() if p.startswith(f"{parent}.") and cs
             and cs[0].group == "name"),
            None,
        )  # fmt: skip
        if name is None:
            return None
        lines = N._block_below(self.page, name.line, name.words, 8)
        party = _Party(name.words, [name.words, *lines])
        return self.parties._in_block(party, spec)


def _as_field(spec: _Spec, value: Any) -> Any:
    if isinstance(value, str):
        value = _truncate(_clean(value), spec.max_length)
        if spec.pattern is not None and not spec.pattern.search(value):
            return None
    return value


def _set(out: dict[str, Any], path: str, value: Any) -> None:
    head, _, rest = path.partition(".")
    if rest:
        node = out.setdefault(head, {})
        if isinstance(node, dict):
            node[rest] = value
    else:
        out[head] = value
