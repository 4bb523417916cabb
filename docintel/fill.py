"""Fill a schema from the words on the page, with no model: the CPU extraction path.

``fill(schema, pages)`` walks the schema and, per leaf field, looks for the field's labels among
the page's words (the text layer, or OCR words where ingestion provides them) and reads the
value printed next to the label, typed by the field's annotation. Nothing is per vendor: the
labels come from the schema itself.

* Labels: the field name ("invoice_number" -> "invoice number", "invoice no", "invoice #",
  "invoice"), ``json_schema_extra={"labels": [...]}`` aliases, the key phrase of the field's
  description (and any phrase it quotes, "'Bill to'"), and a small multilingual vocabulary of
  the usual document words for common field names (total, due date, VAT, ...). Matching is
  case-, accent- and punctuation-insensitive ("Invoice no.:", "INVOICE #", "Rechnungsnr.").
  A label inside a longer label of another field does not count ("Invoice" in "Invoice
  date"), nor one with other words before it in its phrase ("Order Date").
* Values: to the right on the same visual line (the nearest words, up to the next label),
  else directly below (the next line overlapping the label horizontally); parsed by type:
  dates to ISO "YYYY-MM-DD" (``grounding.parse_dates``; day-first unless the document shows
  month-first dates), amounts to floats (``grounding.parse_amount``), percentages, ISO
  currency codes (from a code or a sign, else the most frequent on the page), strings (only
  values with a digit for identifiers, only matching values for pattern-constrained ones).
* Totals take the bottom-most occurrence of their label (on the last page).
* Parties (nested models with a name): the customer is the block under a "Bill to"-like
  label; the vendor is the block found under a vendor label, or else the most prominent
  company-like name at the top of the first page (font size, a legal form such as GmbH or
  LLC, an address below it, repetitions on the page).
* Lists of models (line items): the header row whose words match the item model's field
  labels gives the columns; rows below are read cell by cell until they stop aligning.

``fill`` returns a plain dict (a ``Filled``, whose ``missing`` lists the leaf paths it could not
fill and ``required_missing`` the required ones among them).
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from types import UnionType
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from .patterns import Pattern, compile_pattern
from .text import (
    COMMON_CURRENCIES,
    currency_codes,
    currency_signs,
    fold,
    parse_amount,
    parse_dates,
    runs,
)

if TYPE_CHECKING:
    from .document import Page, Region

__all__ = ["Filled", "fill", "labels_for", "parse_value"]


# ---- vocabulary ----------------------------------------------------------------------------------

# fmt: off
# Field names that mean the same thing map to one concept...
_CONCEPTS: dict[str, tuple[str, ...]] = {
    "invoice_number": (
        "invoice_number", "invoice_no", "invoice_nr", "invoice_id", "bill_number",
        "document_number", "invoice_num",
    ),
    "issue_date": (
        "issue_date", "invoice_date", "date", "date_issued", "billing_date", "document_date",
        "issued_on",
    ),
    "due_date": ("due_date", "payment_due_date", "date_due", "due"),
    "purchase_order": (
        "purchase_order", "po_number", "po", "order_number", "purchase_order_number",
    ),
    "total": (
        "total", "grand_total", "total_amount", "amount_total", "invoice_total", "amount",
        "total_incl_tax",
    ),
    "subtotal": (
        "subtotal", "sub_total", "net_amount", "net_total", "amount_untaxed", "total_net",
        "total_excl_tax",
    ),
    "tax": ("tax", "vat", "tax_amount", "vat_amount", "total_tax", "amount_tax", "sales_tax"),
    "tax_rate": ("tax_rate", "vat_rate", "tax_percent", "tax_pct", "vat_percent"),
    "amount_due": ("amount_due", "balance_due", "balance", "due_amount", "amount_payable"),
    "discount": ("discount", "total_discount", "discount_amount"),
    "payment_terms": ("payment_terms", "terms"),
    "currency": ("currency", "currency_code"),
    "vendor": (
        "vendor", "seller", "supplier", "issuer", "merchant", "company", "biller", "sender",
        "provider",
    ),
    "customer": (
        "customer", "buyer", "client", "bill_to", "billed_to", "recipient", "purchaser",
        "invoice_to",
    ),
    "tax_id": ("tax_id", "vat_id", "vat_number", "tax_number", "ein", "gstin", "vat_no"),
    "time": ("time", "purchase_time"),
}
# ...whose usual printed labels, most specific first, are these (English, German, French,
# Dutch, Spanish, Italian: common document words, not any one vendor's layout).
_VOCAB: dict[str, tuple[str, ...]] = {
    "invoice_number": (
        "invoice number", "invoice no", "invoice #", "inv no", "bill no", "rechnungsnummer",
        "rechnungsnr", "rechnung nr", "rechnungs nr", "factuurnummer", "factuur nr", "facture no",
        "numero de facture", "no de facture", "fattura no", "factura no", "invoice", "rechnung",
        "factuur", "facture",
    ),
    "issue_date": (
        "invoice date", "issue date", "date of issue", "date issued", "billing date",
        "rechnungsdatum", "factuurdatum", "date de facture", "date facture", "fecha de factura",
        "data fattura", "datum", "date", "fecha", "data",
    ),
    "due_date": (
        "due date", "payment due date", "payment due", "date due", "pay by", "faelligkeitsdatum",
        "falligkeitsdatum", "fallig am", "zahlungsziel", "vervaldatum", "date d echeance",
        "echeance", "fecha de vencimiento", "scadenza", "due",
    ),
    "purchase_order": (
        "purchase order", "po number", "po no", "p o number", "p o no", "purchase order number",
        "order number", "bestellnummer", "po",
    ),
    "total": (
        "grand total", "total ttc", "invoice total", "total amount", "amount total", "total incl",
        "total eur", "total usd", "gesamtbetrag", "rechnungsbetrag", "endbetrag", "montant total",
        "importe total", "totale", "totaal", "gesamt", "summe", "total",
    ),
    "subtotal": (
        "subtotal", "sub total", "net amount", "total net", "total ht", "total excl", "montant ht",
        "sous total", "zwischensumme", "nettobetrag", "summe netto", "subtotaal", "exclusief btw",
        "totaal excl", "netto",
    ),
    "tax": (
        "tax", "vat", "sales tax", "tax amount", "vat amount", "total tax", "total vat", "gst",
        "tva", "mwst", "ust", "umsatzsteuer", "mehrwertsteuer", "btw", "iva",
    ),
    "tax_rate": (
        "tax rate", "vat rate", "tax %", "vat %", "tax", "vat", "sales tax", "gst", "tva", "mwst",
        "ust", "btw", "iva",
    ),
    "amount_due": (
        "amount due", "balance due", "total due", "total amount due", "amount payable", "balance",
        "zu zahlen", "zahlbetrag", "te betalen", "net a payer", "reste a payer",
    ),
    "discount": ("discount", "rabatt", "korting", "remise", "descuento"),
    "payment_terms": (
        "payment terms", "terms of payment", "terms", "zahlungsbedingungen", "betalingsvoorwaarden",
        "conditions de paiement",
    ),
    "currency": ("currency", "wahrung", "devise", "valuta", "moneda"),
    "vendor": (
        "seller", "sold by", "supplier", "vendor", "issued by", "payable to", "account holder",
        "account name", "beneficiary", "titulaire du compte", "kontoinhaber", "verkaufer",
        "lieferant", "fournisseur", "vendeur",
    ),
    "customer": (
        "bill to", "billed to", "invoice to", "invoiced to", "sold to", "billing address",
        "customer", "client", "buyer", "rechnungsempfanger", "rechnungsadresse", "kunde", "klant",
        "factuuradres", "facture a", "adresse de facturation",
    ),
    "tax_id": (
        "vat id", "vat no", "vat number", "vat reg no", "tax id", "tax no", "tax number",
        "ust idnr", "ust id", "ustid", "ust id nr", "steuernummer", "steuer nr", "btw nummer",
        "btw nr", "gstin", "ein", "tin", "vat", "btw", "tva", "siret",
    ),
    "time": ("time", "uhrzeit", "heure", "tijd"),
}
# Item columns: field names and the printed column headings.
_COLUMN_CONCEPTS: dict[str, tuple[str, ...]] = {
    "description": (
        "description", "item", "name", "product", "title", "article", "service", "details",
        "designation",
    ),
    "quantity": ("quantity", "qty", "count", "units"),
    "unit": ("unit", "uom", "unit_of_measure"),
    "unit_price": ("unit_price", "price", "rate", "price_unit", "unit_cost"),
    "tax_rate": ("tax_rate", "vat_rate", "tax_percent", "tax_pct", "vat", "tax"),
    "amount": ("amount", "total", "line_total", "price_subtotal", "line_amount", "subtotal"),
}
_COLUMNS: dict[str, tuple[str, ...]] = {
    "description": (
        "description", "item description", "item", "items", "article", "artikel", "product",
        "product name", "title", "service", "services", "details", "designation", "beschreibung",
        "bezeichnung", "leistung", "omschrijving", "libelle", "descripcion", "descrizione",
    ),
    "quantity": (
        "qty", "quantity", "qte", "quantite", "menge", "anzahl", "aantal", "nombre", "cantidad",
        "quantita", "hours", "hrs",
    ),
    "unit": ("unit", "uom", "einheit", "eenheid", "unite"),
    "unit_price": (
        "unit price", "price per unit", "unit cost", "price", "rate", "einzelpreis", "stuckpreis",
        "vk preis", "preis", "prijs per stuk", "prijs", "prix unitaire", "p u ht", "p u", "pu ht",
        "precio", "prezzo",
    ),
    "tax_rate": (
        "tax %", "vat %", "tax rate", "vat rate", "taxes", "tax", "vat", "gst", "mwst", "ust",
        "btw", "tva", "iva",
    ),
    "amount": (
        "line total", "amount", "total", "montant ht", "montant", "betrag", "zeilenbetrag",
        "gesamtpreis", "gesamt", "bedrag", "prijs incl btw", "importe", "importo", "subtotal",
        "net amount",
    ),
}
# fmt: on
# Words of a summary row below a table: it ends the rows or is skipped.
_SUMMARY = (
    "total",
    "subtotal",
    "sub total",
    "totaal",
    "subtotaal",
    "summe",
    "gesamt",
    "zwischensumme",
    "montant",
    "amount due",
    "balance",
    "tax",
    "vat",
    "tva",
    "mwst",
    "btw",
    "gst",
    "grand total",
    "net amount",
    "discount",
    "shipping",
)  # fmt: skip
# A company's legal form, at the end of its name.
_LEGAL = {
    "gmbh", "ag", "kg", "ug", "mbh", "ohg", "ek", "bv", "nv", "llc", "llp", "lp", "inc",
    "corp", "corporation", "co", "company", "ltd", "limited", "plc", "sarl", "sas", "sa",
    "srl", "spa", "sl", "oy", "ab", "as", "aps", "pvt", "pty", "kk", "gbr", "eurl", "sasu",
    "se", "cv", "vof", "bvba", "sprl", "lda",
}  # fmt: skip
# Document titles: not a vendor name.
_TITLES = {
    "invoice", "invoices", "tax", "bill", "rechnung", "factuur", "facture", "fattura",
    "factura", "receipt", "quittung", "credit", "note", "gutschrift", "statement", "original",
    "copy", "proforma", "pro", "forma", "commercial", "kassenbon", "bon", "recu",
}  # fmt: skip
_NUMBER_WORDS = {"no", "nr", "n", "num", "number", "nummer", "numero", "nro", "nos"}
_ID_WORDS = {"number", "no", "nr", "num", "id", "code", "ref", "reference", "order"}
_SEPARATORS = {"-", "–", "—", "|", "||", "•", "·", "/", "*"}


# ---- words and lines -----------------------------------------------------------------------------


@dataclass(eq=False)
class _W:
    """A word of a page with its box (points) and its label tokens."""

    text: str
    x0: float
    y0: float
    x1: float
    y1: float
    page: int
    toks: tuple[str, ...]

    @property
    def h(self) -> float:
        return max(self.y1 - self.y0, 1.0)

    @property
    def cy(self) -> float:
        return (self.y0 + self.y1) / 2


@dataclass(eq=False)
class _Line:
    """Words at the same height on a page, left to right (a visual line, across columns)."""

    words: list[_W]
    page: int
    no: int = 0  # position among the page's lines, top to bottom
    segments: list[tuple[int, int]] = field(default_factory=list)  # word index ranges [a, b)

    @property
    def y0(self) -> float:
        return min(w.y0 for w in self.words)

    @property
    def y1(self) -> float:
        return max(w.y1 for w in self.words)

    @property
    def h(self) -> float:
        return sorted(w.h for w in self.words)[len(self.words) // 2]

    def segment_of(self, i: int) -> tuple[int, int]:
        return next(s for s in self.segments if s[0] <= i < s[1])


def _tokens(text: str) -> tuple[str, ...]:
    """Label tokens of a word: folded alphanumeric runs, number words as "no", "#" as "no"."""
    tokens = ["no" if r in _NUMBER_WORDS else r for r in runs(text)]
    if text.strip(" :.").endswith("#") and (not tokens or tokens[-1] != "no"):
        tokens.append("no")
    return tuple(tokens)


def _label_tokens(label: str) -> tuple[str, ...]:
    return tuple(t for word in label.split() for t in _tokens(word))


def _words_of(page: Page, region: Region | None = None) -> list[_W]:
    try:
        words = getattr(page, "ocr_words", page.words) or page.words
    except Exception:  # OCR unavailable or failing: the text layer is what there is
        words = page.words
    out = []
    for w in words:
        b = w.bbox
        if region is not None:
            cx, cy = (b.x0 + b.x1) / 2, (b.y0 + b.y1) / 2
            r = region.bbox
            if not (r.x0 <= cx <= r.x1 and r.y0 <= cy <= r.y1):
                continue
        text = w.text.strip()
        if not text:
            continue
        m = _GLUED.match(text)
        if m:  # OCR glues a label to its value ("No:#BLR-1"): split at the colon
            cut = b.x0 + (b.x1 - b.x0) * len(m[1]) / len(text)
            out.append(_W(m[1], b.x0, b.y0, cut, b.y1, page.index, _tokens(m[1])))
            out.append(_W(m[2], cut, b.y0, b.x1, b.y1, page.index, _tokens(m[2])))
            continue
        out.append(_W(text, b.x0, b.y0, b.x1, b.y1, page.index, _tokens(text)))
    return out


_GLUED = re.compile(r"^([^\W\d_]{2,}[^\W\d_.]*\.?:)((?!//)\S+)$")


def _build_lines(words: list[_W], page: int) -> list[_Line]:
    """Group words into visual lines: each word's centre within the other's height."""
    lines: list[_Line] = []
    for w in sorted(words, key=lambda w: (w.cy, w.x0)):
        for line in reversed(lines[-4:]):
            y0, y1 = line.y0, line.y1
            if y0 <= w.cy <= y1 and w.y0 <= (y0 + y1) / 2 <= w.y1:
                line.words.append(w)
                break
        else:
            lines.append(_Line([w], page))
    lines.sort(key=lambda ln: ln.y0)
    for n, line in enumerate(lines):
        line.words.sort(key=lambda w: w.x0)
        line.no = n
        line.segments = _segments(line.words)
    return lines


def _segments(words: list[_W]) -> list[tuple[int, int]]:
    """Runs of words without a wide gap or a separator ("-", "|") between them."""
    out: list[tuple[int, int]] = []
    start = 0
    for i in range(1, len(words) + 1):
        if i == len(words):
            out.append((start, i))
            break
        prev, w = words[i - 1], words[i]
        gap = w.x0 - prev.x1
        if gap > 0.6 * max(min(prev.h, w.h), 4.0) or w.text in _SEPARATORS:
            out.append((start, i))
            start = i
    return [(a, b) for a, b in out if b > a]


def _text(words: Sequence[_W]) -> str:
    parts = [w.text for w in words if w.text not in _SEPARATORS or len(words) == 1]
    return " ".join(parts).strip()


def _clean(text: str) -> str:
    """A string value without the label punctuation around it."""
    text = re.sub(r"^[\s:#;,.\-–—|]+", "", text)
    return re.sub(r"[\s:;,|]+$", "", text).strip()


def _overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    return min(a1, b1) - max(a0, b0)


# ---- schema walk ---------------------------------------------------------------------------------

Kind = Literal[
    "str", "number", "int", "percent", "date", "time", "currency", "bool", "choice", "model",
    "models", "strs", "other",
]  # fmt: skip


@dataclass
class _Spec:
    path: str
    name: str
    kind: Kind
    required: bool
    labels: list[tuple[str, ...]]
    concept: str | None = None
    pattern: Pattern | None = None  # linear-time: page text and patterns may be hostile
    max_length: int | None = None
    choices: list[Any] = field(default_factory=list)
    model: type[BaseModel] | None = None
    description: str = ""
    as_date: bool = False  # a ``date`` annotation (value given as ISO string either way)


def _unwrap(annotation: Any) -> tuple[Any, list[Any], bool]:
    """The core type of an annotation, its metadata, and whether None is allowed."""
    meta: list[Any] = []
    optional = False
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            meta.extend(annotation.__metadata__)
            annotation = get_args(annotation)[0]
        elif origin in (Union, UnionType):
            args = [a for a in get_args(annotation) if a is not type(None)]
            optional = optional or len(args) < len(get_args(annotation))
            if len(args) != 1:
                return annotation, meta, optional
            annotation = args[0]
        else:
            return annotation, meta, optional


def _constraints(meta: Sequence[Any], out: dict[str, Any] | None = None) -> dict[str, Any]:
    out = {} if out is None else out
    for m in meta:
        if isinstance(m, FieldInfo):
            if m.description and "description" not in out:
                out["description"] = m.description
            _constraints(m.metadata, out)
            continue
        for key in ("pattern", "max_length"):
            value = getattr(m, key, None)
            if value is not None and key not in out:
                out[key] = value
    return out


def _concept(name: str, table: dict[str, tuple[str, ...]]) -> str | None:
    key = name.lower()
    return next((c for c, names in table.items() if key in names), None)


def _description_phrases(description: str | None) -> list[str]:
    """Quoted phrases ("'Bill to'", not after "e.g.") and the key phrase of a description."""
    if not description:
        return []
    out = []
    for m in re.finditer(r"['\"‘“]([^'\"’”]{2,30})['\"’”]", description):
        before = description[: m.start()].lower()[-14:]
        if not any(k in before for k in ("e.g", "such as", "example", "like")):
            out.append(m.group(1))
    text = re.sub(r"\([^)]*\)", " ", description)
    head = re.split(
        r"[.,;:(]|\b(?:as|in|if|including|with|e\.g|such|of the|exactly|on)\b", text, maxsplit=1
    )[0]
    head = re.sub(r"^\s*(?:the|a|an)\s+", "", head, flags=re.IGNORECASE).strip()
    if 2 <= len(head.split()) <= 4:
        out.append(head)
    return out


def labels_for(name: str, info: FieldInfo | None = None, *, column: bool = False) -> list[str]:
    """The printed labels a field may have, most specific first."""
    out: list[str] = []
    extra = info.json_schema_extra if info is not None else None
    if isinstance(extra, dict) and isinstance(extra.get("labels"), list | tuple):
        out += [str(x) for x in extra["labels"]]
    out.append(name.replace("_", " "))
    concept = _concept(name, _COLUMN_CONCEPTS if column else _CONCEPTS)
    if concept:
        out += (_COLUMNS if column else _VOCAB)[concept]
    parts = name.lower().split("_")
    if len(parts) > 1 and parts[-1] in _NUMBER_WORDS:
        head = " ".join(parts[:-1])
        out.insert(out.index(name.replace("_", " ")) + 1, f"{head} no")
        out.insert(out.index(name.replace("_", " ")) + 2, f"{head} #")
        out.append(head)  # "invoice_number" -> "invoice"
    if info is not None:
        out += _description_phrases(info.description)
    return [x for i, x in enumerate(out) if _label_tokens(x) and x not in out[:i]]


def _glued(labels: list[tuple[str, ...]]) -> list[tuple[str, ...]]:
    """Labels written as one word ("InvoiceDate", "BillTo": OCR and compact layouts)."""
    out = [("".join(x),) for x in labels if len(x) > 1 and "no" not in x[1:]]
    return [x for x in dict.fromkeys(out) if x not in labels]


def _spec(path: str, name: str, info: FieldInfo, *, column: bool = False) -> _Spec:
    core, meta, optional = _unwrap(info.annotation)
    cons = _constraints([*meta, *info.metadata])
    for m in info.metadata:  # constraints pydantic moved onto the FieldInfo
        for key in ("pattern", "max_length"):
            if getattr(m, key, None) is not None:
                cons.setdefault(key, getattr(m, key))
    description = info.description or cons.get("description", "") or ""
    labels = list(dict.fromkeys(_label_tokens(x) for x in labels_for(name, info, column=column)))
    labels += _glued(labels)
    table = _COLUMN_CONCEPTS if column else _CONCEPTS
    spec = _Spec(
        path,
        name,
        "other",
        info.is_required() and not optional,
        labels,
        concept=_concept(name, table),
        max_length=cons.get("max_length"),
        description=description,
    )
    if cons.get("pattern"):
        spec.pattern = compile_pattern(cons["pattern"])
    origin = get_origin(core)
    lowered = f"{name} {description}".lower()
    if isinstance(core, type) and issubclass(core, BaseModel):
        spec.kind, spec.model = "model", core
    elif origin in (list, tuple, set, frozenset, Sequence):
        args = get_args(core)
        inner = _unwrap(args[0])[0] if args else Any
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            spec.kind, spec.model = "models", inner
        elif inner is str:
            spec.kind = "strs"
    elif origin is Literal:
        spec.kind, spec.choices = "choice", list(get_args(core))
    elif isinstance(core, type) and issubclass(core, Enum):
        spec.kind, spec.choices = "choice", [e.value for e in core]
    elif core is bool:
        spec.kind = "bool"
    elif core in (date, datetime):
        spec.kind, spec.as_date = "date", True
    elif core in (float, Decimal):
        spec.kind = "percent" if _percentish(name, description) else "number"
    elif core is int:
        spec.kind = "int"
    elif core is str:
        spec.kind = "str"
        p = spec.pattern
        if p is not None and p.search("2024-03-14"):
            spec.kind = "date"
        elif p is not None and p.search("12:30"):
            spec.kind = "time"
        elif spec.concept == "currency" or (
            p is not None and p.search("EUR") and "currenc" in lowered
        ):
            spec.kind = "currency"
        elif "date" in name.lower().split("_") and p is None:
            spec.kind = "date"
    return spec


def _percentish(name: str, description: str) -> bool:
    parts = set(name.lower().split("_"))
    return (
        bool(parts & {"rate", "percent", "pct", "percentage"}) or "percent" in description.lower()
    )


def _id_like(spec: _Spec) -> bool:
    parts = set(spec.name.lower().split("_"))
    return bool(parts & _ID_WORDS) or spec.concept in ("invoice_number", "purchase_order", "tax_id")


# ---- label occurrences ---------------------------------------------------------------------------


@dataclass(eq=False)
class _Occ:
    """One occurrence of a label: words [a, b) of a line."""

    key: str  # the spec path (or a role: "@vendor", "@customer", "#summary")
    rank: int
    line: _Line
    a: int
    b: int
    ntoks: int

    @property
    def words(self) -> list[_W]:
        return self.line.words[self.a : self.b]

    @property
    def x0(self) -> float:
        return self.line.words[self.a].x0

    @property
    def x1(self) -> float:
        return self.line.words[self.b - 1].x1

    @property
    def qualified(self) -> bool:
        """Other words come before the label in its phrase ("Order Date", "Greetings from")."""
        s0, _ = self.line.segment_of(self.a)
        return any(w.toks for w in self.line.words[s0 : self.a])


def _find(line: _Line, label: tuple[str, ...]) -> list[tuple[int, int]]:
    """Word ranges [a, b) of the line whose tokens are exactly ``label``, on word boundaries."""
    out = []
    words = line.words
    n = len(label)
    for a, w in enumerate(words):
        if not w.toks or w.toks[0] != label[0]:
            continue
        toks: list[str] = []
        b = a
        while b < len(words) and len(toks) < n:
            toks.extend(words[b].toks)
            b += 1
            if tuple(toks) == label:
                out.append((a, b))
                break
            if tuple(toks) != label[: len(toks)]:
                break
    return out


class _Labels:
    """Every label occurrence on the lines, for every key; shorter ones inside longer dropped."""

    def __init__(self, lines: list[_Line], keyed: dict[str, list[tuple[str, ...]]]) -> None:
        self.by_key: dict[str, list[_Occ]] = {}
        by_line: dict[int, list[_Occ]] = {}
        first: dict[str, list[tuple[str, int, tuple[str, ...]]]] = {}
        for key, labels in keyed.items():
            for rank, label in enumerate(labels):
                first.setdefault(label[0], []).append((key, rank, label))
        for line in lines:
            occs: list[_Occ] = []
            present = {t for w in line.words for t in w.toks[:1]}
            for tok in present & first.keys():
                for key, rank, label in first[tok]:
                    for a, b in _find(line, label):
                        occs.append(_Occ(key, rank, line, a, b, len(label)))
            kept = [o for o in occs if not any(_inside(o, p) for p in occs)]
            by_line[id(line)] = kept
            for o in kept:
                self.by_key.setdefault(o.key, []).append(o)
        self.by_line = by_line

    def on(self, line: _Line) -> list[_Occ]:
        return self.by_line.get(id(line), [])

    def get(self, key: str) -> list[_Occ]:
        return self.by_key.get(key, [])


def _inside(o: _Occ, p: _Occ) -> bool:
    """``o`` lies within the longer occurrence ``p`` of the same line."""
    return (
        p is not o
        and p.a <= o.a
        and o.b <= p.b
        and (p.ntoks > o.ntoks or (p.b - p.a) > (o.b - o.a))
    )


# ---- typed parsing -------------------------------------------------------------------------------


@dataclass
class _Doc:
    """The pages' words, lines and document-level conventions."""

    lines: list[_Line]
    pages: list[int]
    heights: dict[int, float]
    month_first: bool = False
    comma_decimal: bool = False

    def page_lines(self, page: int) -> list[_Line]:
        return [ln for ln in self.lines if ln.page == page]


_XXY = re.compile(r"(?<!\d)(\d{1,2})[./-](\d{1,2})[./-](\d{2}|\d{4})(?!\d)")
_DEC_COMMA = re.compile(r"\d,\d{2}(?!\d)")
_DEC_DOT = re.compile(r"\d\.\d{2}(?!\d)")


def _conventions(doc: _Doc) -> None:
    """Day-first or month-first dates; comma or dot decimals: voted over the document."""
    day = month = comma = dot = 0
    for line in doc.lines:
        for w in line.words:
            for m in _XXY.finditer(w.text):
                a, b = int(m[1]), int(m[2])
                day += a > 12 >= b
                month += b > 12 >= a
            if not _XXY.search(w.text):
                comma += bool(_DEC_COMMA.search(w.text))
                dot += bool(_DEC_DOT.search(w.text))
    doc.month_first = month > day
    doc.comma_decimal = comma > dot


def _amount(text: str, doc: _Doc) -> float | None:
    """A printed amount ("$1,740.61", "1.740,61 €", "(12.00)"), separators read per document."""
    values = parse_amount(text)
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    # "1,740" or "1.740": thousands unless the separator is the document's decimal one
    sep = "," if "," in text else "."
    decimal = (sep == ",") == doc.comma_decimal
    return values[0] if decimal else values[1]


def _percent(text: str) -> float | None:
    m = re.fullmatch(r"\(?\s*([+-]?\d+(?:[.,]\d+)?)\s*%\s*\)?[.,;:]?", text.strip())
    return float(m[1].replace(",", ".")) if m else None


def _pick_date(dates: tuple[date, ...], doc: _Doc, text: str) -> date | None:
    if not dates:
        return None
    if len(dates) > 1 and doc.month_first and _XXY.search(text):
        return dates[1]
    return dates[0]


def _first_date(words: Sequence[_W], doc: _Doc) -> tuple[str, list[_W]] | None:
    """The first date in the words, as ISO, and the words it spans."""
    for start in range(min(len(words), 4)):
        for n in range(1, min(6, len(words) - start) + 1):
            span = words[start : start + n]
            text = " ".join(w.text for w in span)
            d = _pick_date(parse_dates(text), doc, text)
            if d is not None:
                # extend while the date stays the same ("14" -> "14 Mar" -> "14 Mar 2024")
                best = (d, span)
                for m in range(n + 1, min(start + 6, len(words)) + 1):
                    t2 = " ".join(w.text for w in words[start:m])
                    d2 = _pick_date(parse_dates(t2, whole=True), doc, t2)
                    if d2 is not None:
                        best = (d2, words[start:m])
                return best[0].isoformat(), list(best[1])
    return None


def _date_words(words: Sequence[_W]) -> set[int]:
    """Indices of words that are part of a printed date (not amounts)."""
    out: set[int] = set()
    for i in range(len(words)):
        for n in (5, 4, 3, 2, 1):
            span = words[i : i + n]
            if len(span) < n:
                continue
            text = " ".join(w.text for w in span)
            if parse_dates(text, whole=True) and (n > 1 or not re.fullmatch(r"[\d.,]+", text)):
                out.update(range(i, i + n))
                break
            if n == 1 and _XXY.fullmatch(text.strip(".,;")):
                out.add(i)
    return out


def _amounts(words: Sequence[_W], doc: _Doc, percent: bool) -> list[tuple[float, list[_W]]]:
    """Amounts among words (a sign or code word joins its number), dates left out."""
    dates = _date_words(words)
    out: list[tuple[float, list[_W]]] = []
    for i, w in enumerate(words):
        if i in dates:
            continue
        text = w.text.strip(",;:")
        if percent:
            p = _percent(text)
            if p is not None:
                out.append((p, [w]))
            continue
        if "%" in text or not re.search(r"\d", text):
            continue
        value = _amount(text, doc)
        if value is not None:
            out.append((value, [w]))
    return out


def _currency_of(text: str) -> str | None:
    """An ISO code from a code or a sign in a text ("EUR.", "€", "$4.11", "Rs")."""
    for tok in re.findall(r"[A-Za-z$]{2,4}", text):
        if tok.isupper() and tok.upper() in COMMON_CURRENCIES:
            return tok.upper()
    for sign, codes in currency_signs().items():
        if sign in text:
            return codes[0]
    for tok in runs(text):
        if codes := currency_codes(tok):
            return codes[0]
    return None


def _page_currency(doc: _Doc) -> str | None:
    """The most frequent currency code or sign on the pages."""
    votes: Counter[str] = Counter()
    for line in doc.lines:
        for w in line.words:
            t = w.text
            for tok in re.findall(r"(?<![A-Za-z])[A-Z]{3}(?![A-Za-z])", t):
                if tok in COMMON_CURRENCIES:
                    votes[tok] += 2
            for sign, codes in currency_signs().items():
                if sign in t:
                    votes[codes[0]] += 1 + (t.count(sign) > 1)
            for tok in runs(t):
                if len(tok) > 3 and (codes := currency_codes(tok)):  # a word: "rupees", "euro"
                    votes[codes[0]] += 2
    return votes.most_common(1)[0][0] if votes else None


def parse_value(spec_kind: str, words: Sequence[Any], **kw: Any) -> Any:
    """Parse printed words as a field of ``spec_kind`` (for tests and callers): the value or None.

    ``words`` may be strings; ``month_first``/``comma_decimal`` set the document conventions.
    """
    ws = [
        w if isinstance(w, _W) else _W(str(w), i * 10.0, 0, i * 10.0 + 8, 10, 0, _tokens(str(w)))
        for i, w in enumerate(words)
    ]
    doc = _Doc([], [0], {0: 10.0}, kw.get("month_first", False), kw.get("comma_decimal", False))
    spec = _Spec("x", "x", spec_kind, False, [])  # type: ignore[arg-type]
    got = _parse(spec, ws, doc)
    return None if got is None else got[0]


def _parse(spec: _Spec, words: Sequence[_W], doc: _Doc) -> tuple[Any, list[_W]] | None:
    """The value of ``spec`` at the start of ``words``, and the words it took."""
    words = [w for w in words if w.text.strip(":;|")]
    if not words:
        return None
    kind = spec.kind
    if kind == "date":
        got = _first_date(words, doc)
        return (got[0], got[1]) if got else None
    if kind in ("number", "int", "percent"):
        found = _amounts(words, doc, percent=kind == "percent")
        if not found:
            return None
        value, ws = found[-1]  # the rightmost: totals rows print the total last
        return (round(value) if kind == "int" else value), ws
    if kind == "currency":
        for i, w in enumerate(words[:4]):
            code = _currency_of(w.text)
            if code:
                return code, [words[i]]
        return None
    if kind == "time":
        for w in words[:4]:
            m = re.search(r"\b(\d{1,2})[:.h](\d{2})(?::(\d{2}))?\b", w.text)
            if m and int(m[1]) < 24 and int(m[2]) < 60:
                t = f"{int(m[1]):02d}:{m[2]}" + (f":{m[3]}" if m[3] else "")
                return t, [w]
        return None
    if kind == "choice":
        folded = fold(_text(words))
        for c in spec.choices:
            if isinstance(c, str) and fold(c) in folded:
                return c, list(words)
        return None
    if kind == "str":
        return _string(spec, words)
    return None


def _string(spec: _Spec, words: Sequence[_W]) -> tuple[str, list[_W]] | None:
    """The first phrase of the words, as printed; identifiers need a digit."""
    ws = list(words)
    while ws and not ws[0].toks:
        ws = ws[1:]
    if not ws:
        return None
    text = _clean(_text(ws))
    if not text:
        return None
    if _id_like(spec) and not re.search(r"\d", text):
        return None
    if spec.pattern is not None and not spec.pattern.search(text):
        squeezed = text.replace(" ", "")
        if spec.pattern.search(squeezed):
            text = squeezed
        else:
            return None
    return _truncate(text, spec.max_length), ws


def _truncate(text: str, limit: int | None) -> str:
    if limit is None or len(text) <= limit:
        return text
    cut = text[:limit]
    return cut.rsplit(" ", 1)[0] if " " in cut else cut


# ---- values next to labels -----------------------------------------------------------------------


class _Finder:
    """Reads values next to label occurrences."""

    def __init__(self, doc: _Doc, labels: _Labels, excluded: set[int]) -> None:
        self.doc = doc
        self.labels = labels
        self.excluded = excluded  # ids of lines inside item tables

    def right(self, occ: _Occ) -> list[_W]:
        """The words right of the label on its line, up to the next phrase starting a label."""
        line = occ.line
        stops = [
            o.a for o in self.labels.on(line) if o.a >= occ.b and line.segment_of(o.a)[0] == o.a
        ]
        end = min(stops, default=len(line.words))
        return line.words[occ.b : end]

    def below(self, occ: _Occ) -> list[_W]:
        """The phrase directly below the label (the next line overlapping it horizontally)."""
        page_lines = self.doc.page_lines(occ.line.page)
        limit = occ.line.y1 + 2.6 * occ.line.h
        for line in page_lines[occ.line.no + 1 :]:
            if line.y0 > limit:
                break
            for a, b in line.segments:
                seg = line.words[a:b]
                if _overlap(seg[0].x0, seg[-1].x1, occ.x0 - 2, max(occ.x1, occ.x0 + 40)) > 0:
                    if any(o.a == a and not o.qualified for o in self.labels.on(line)):
                        return []  # a label below a label: a table of labels, not a value
                    return seg
        return []

    def value(self, spec: _Spec, occ: _Occ) -> tuple[Any, list[_W]] | None:
        right = self.right(occ)
        if spec.kind == "str" and right:
            # a string value is the first phrase after the label (punctuation skipped)
            words, end = occ.line.words, occ.b + len(right)
            i = occ.b
            while i < end and not words[i].toks:
                i += 1
            right = words[i : min(occ.line.segment_of(i)[1], end)] if i < end else []
        got = _parse(spec, right, self.doc) if right else None
        if got is None:
            below = self.below(occ)
            got = _parse(spec, below, self.doc) if below else None
        return got

    def best(self, spec: _Spec, *, prefer_last: bool = False) -> tuple[Any, list[_W]] | None:
        occs = [
            o
            for o in self.labels.get(spec.path)
            if id(o.line) not in self.excluded and not o.qualified
        ]
        if prefer_last:
            occs.sort(key=lambda o: (o.qualified, -o.line.page, -o.line.y0, o.rank))
        else:
            occs.sort(key=lambda o: (o.qualified, o.rank, o.line.page, o.line.y0, o.x0))
        for occ in occs:
            got = self.value(spec, occ)
            if got is not None:
                return got
        return None


# ---- parties -------------------------------------------------------------------------------------


def _block(doc: _Doc, line: _Line, seg: tuple[int, int], max_lines: int = 7) -> list[list[_W]]:
    """A block of text: the phrase and the phrases stacked under it."""
    words = line.words[seg[0] : seg[1]]
    out = [words]
    x0, x1 = words[0].x0, words[-1].x1
    prev = line
    for nxt in doc.page_lines(line.page)[line.no + 1 :]:
        if len(out) >= max_lines:
            break
        if nxt.y0 - prev.y1 > 0.9 * max(prev.h, nxt.h):
            break
        found = None
        for a, b in nxt.segments:
            s = nxt.words[a:b]
            width = min(s[-1].x1 - s[0].x0, x1 - x0)
            if _overlap(s[0].x0, s[-1].x1, x0, x1) > 0.5 * width:
                found = s
                break
        if found is None:
            if nxt.y0 - prev.y1 > 0.2 * prev.h:
                break
            continue  # another column's line at nearly the same height
        out.append(found)
        prev = nxt
    return out


_CONTACT = re.compile(r"@|www\.|https?:|\b(?:tel|phone|fax|email|e-mail|mobile)\b", re.I)


def _is_contact(words: list[_W], labels: _Labels, line_of: dict[int, _Line]) -> bool:
    text = _text(words)
    if _CONTACT.search(text) or any(w.text.endswith(":") for w in words[:3]):
        return True
    line = line_of.get(id(words[0]))
    return bool(line and any(o.key == "@tax_id" and o.words[0] in words for o in labels.on(line)))


def _strip_attn(words: list[_W]) -> list[_W]:
    while len(words) > 1 and words[0].text.endswith(":"):
        words = words[1:]
    return words


@dataclass
class _Party:
    name: list[_W]
    block: list[list[_W]]


class _Parties:
    """The customer (under a "Bill to" label) and the vendor (label, or top of the page)."""

    def __init__(self, doc: _Doc, labels: _Labels, finder: _Finder) -> None:
        self.doc, self.labels, self.finder = doc, labels, finder
        self.line_of = {id(w): ln for ln in doc.lines for w in ln.words}
        self.customer = self._labelled("@customer")
        taken = {id(w) for ph in (self.customer.block if self.customer else []) for w in ph}
        self.vendor = self._vendor(taken)

    def _labelled(self, key: str) -> _Party | None:
        occs = sorted(
            (o for o in self.labels.get(key) if not o.qualified),
            key=lambda o: (o.rank, o.line.page, o.line.y0),
        )
        for occ in occs:
            party = self._under(occ)
            if party is not None:
                return party
        return None

    def _under(self, occ: _Occ) -> _Party | None:
        line = occ.line
        _, s1 = line.segment_of(occ.a)
        words = line.words[occ.b : s1]
        while words and (not words[0].toks or words[0].text.endswith(":")):
            words = words[1:]  # "Bill to Address:", "Sold By :"
        if words:
            block = _block(self.doc, line, (line.words.index(words[0]), s1))
            return _Party(words, block)
        below = self.finder.below(occ)
        if not below:
            return None
        bline = self.line_of[id(below[0])]
        a = bline.words.index(below[0])
        block = _block(self.doc, bline, (a, a + len(below)))
        name = _strip_attn(below)
        return _Party(name, [name, *block[1:]])

    def _vendor(self, taken: set[int]) -> _Party | None:
        """The vendor: a labelled name, or the most prominent company-like name at the top.

        Score = label (2.5) + visual score of its best occurrence at the top of the first
        page (relative font height, height on the page, a legal form, an address below, not
        a line inside a block, not a sentence) + repetitions on the page + a footer mention.
        """
        doc = self.doc
        first = doc.pages[0]
        height = doc.heights[first]
        cands: dict[str, dict[str, Any]] = {}

        def add(words: list[_W], line: _Line, score: float, labelled: bool) -> None:
            words = _trim_title(_strip_attn(words))
            text = _clean(_text(words))
            key = "".join(runs(text))
            if not key or not _namelike(words, text) or words[-1].text.endswith(":"):
                return
            c = cands.setdefault(key, {"words": words, "line": line, "vis": None, "label": 0.0})
            if labelled:
                c["label"] = max(c["label"], score)
            elif c["vis"] is None or score > c["vis"]:
                c.update(words=words, line=line, vis=score)

        # labelled: "Sold by", "Payable to", "Account holder"...
        for occ in self.labels.get("@vendor"):
            if occ.qualified:
                continue
            party = self._under(occ)
            if party is not None and not any(id(w) in taken for w in party.name):
                add(party.name, self.line_of[id(party.name[0])], 2.5, True)
        # the top of the first page
        top = [ln for ln in doc.page_lines(first) if ln.y0 < 0.3 * height]
        segs = []
        for line in top:
            for a, b in line.segments:
                words = line.words[a:b]
                if any(id(w) in taken for w in words):
                    continue
                if any(
                    o.a < b and o.b > a and not {t for w in o.words for t in w.toks} <= _TITLES
                    for o in self.labels.on(line)
                ):
                    continue  # a label ("Invoice no.:"), not a title ("... Invoice")
                segs.append((line, a, b))
        tallest = max((max(w.h for w in ln.words[a:b]) for ln, a, b in segs), default=1.0)
        for line, a, b in segs:
            trimmed = _trim_title(line.words[a:b])
            if not trimmed or not _namelike(trimmed, _text(trimmed)):
                continue
            score = max(w.h for w in trimmed) / tallest
            score += 0.3 * (1 - line.y0 / (0.3 * height))
            if _legal(trimmed):
                score += 1.0
            if self._address_below(line, (a, b)):
                score += 0.5
            if self._stacked_above(line, trimmed):
                score -= 0.8  # a line inside a block (an address line), not its first line
            if len(trimmed) >= 4 and (
                trimmed[-1].text.endswith(".") or sum(w.text[:1].islower() for w in trimmed) > 1
            ):
                score -= 0.7  # a sentence or a slogan
            add(trimmed, line, score, False)
        if not cands:
            return None
        # repetitions on the page (footer, "payable to ...") support a name
        lines = doc.page_lines(first)
        phrases = [
            (tuple(t for w in ln.words[a:b] for t in w.toks), ln.y0 > 0.85 * height)
            for ln in lines
            for a, b in ln.segments
        ]
        for c in cands.values():
            toks = tuple(t for w in c["words"] for t in w.toks)
            hits = [foot for p, foot in phrases if _contains(p, toks)]
            score = (c["vis"] or 0.0) + c["label"]
            score += 0.5 * min(max(len(hits) - 1, 0), 2)
            score += 0.5 * any(foot for foot in hits)
            if c["vis"] is None and _legal(c["words"]):
                score += 1.0
            c["score"] = score
        best = max(cands.values(), key=lambda c: c["score"])
        line: _Line = best["line"]
        words = best["words"]
        a = line.words.index(words[0])
        block = _block(doc, line, (a, line.segment_of(a)[1]))
        return _Party(words, [words, *block[1:]])

    def _stacked_above(self, line: _Line, words: list[_W]) -> bool:
        """A phrase sits right above these words, aligned with them (same block)."""
        x0, x1 = words[0].x0, words[-1].x1
        for prev in reversed(self.doc.page_lines(line.page)[: line.no]):
            if line.y0 - prev.y1 > 0.9 * max(line.h, prev.h):
                return False
            for a, b in prev.segments:
                s = prev.words[a:b]
                width = min(s[-1].x1 - s[0].x0, x1 - x0)
                if _overlap(s[0].x0, s[-1].x1, x0, x1) > 0.5 * width:
                    return True
        return False

    def _address_below(self, line: _Line, seg: tuple[int, int]) -> bool:
        block = _block(self.doc, line, seg, max_lines=3)
        return any(
            any(any(c.isdigit() for c in w.text) for w in ph)
            and any(any(c.isalpha() for c in w.text) for w in ph)
            for ph in block[1:]
        )

    def fill(self, party: _Party | None, spec: _Spec) -> dict[str, Any]:
        """A Party-like model from a block: name, address lines, labelled fields within."""
        assert spec.model is not None
        out: dict[str, Any] = {}
        for name, info in spec.model.model_fields.items():
            sub = _spec(f"{spec.path}.{name}", name, info)
            out[name] = None if sub.kind not in ("models", "strs") else []
            if party is None:
                continue
            low = name.lower()
            if low in ("name", "company", "company_name", "full_name", "legal_name"):
                if sub.kind == "str":
                    out[name] = _truncate(_clean(_text(party.name)), sub.max_length)
            elif "address" in low and sub.kind == "str":
                lines = []
                for ph in party.block[1:]:
                    if _is_contact(ph, self.labels, self.line_of):
                        break
                    lines.append(_clean(_text(ph)))
                if lines:
                    out[name] = _truncate(", ".join(x for x in lines if x), sub.max_length)
            elif sub.kind not in ("model", "models", "strs"):
                out[name] = self._in_block(party, sub)
        return out

    def _in_block(self, party: _Party, spec: _Spec) -> Any:
        key = "@tax_id" if _concept(spec.name, _CONCEPTS) == "tax_id" else spec.path
        ids = {id(w) for ph in party.block for w in ph}
        last = self.line_of[id(party.block[-1][0])]
        # and a few lines under the block: "VAT ID" often follows the address
        extra = self.doc.page_lines(last.page)[last.no + 1 : last.no + 3]
        for occ in self.labels.get(key):
            inside = any(id(w) in ids for w in occ.words) or (
                occ.line in extra and _overlap(occ.x0, occ.x1, party.name[0].x0 - 5, 10**6) > 0
            )
            if inside:
                spec2 = _Spec(spec.path, spec.name, spec.kind, False, [], concept=spec.concept,
                              pattern=spec.pattern, max_length=spec.max_length)  # fmt: skip
                got = _parse(spec2, self.finder.right(occ), self.doc)
                if got is not None and (spec.kind != "str" or re.search(r"\d", str(got[0]))):
                    return got[0]
        return None


def _contains(haystack: tuple[str, ...], needle: tuple[str, ...]) -> bool:
    n = len(needle)
    return n > 0 and any(haystack[i : i + n] == needle for i in range(len(haystack) - n + 1))


def _trim_title(words: list[_W]) -> list[_W]:
    """A phrase without document-title words at its ends ("Amazon Web Services Invoice")."""
    ws = list(words)
    while ws and ws[-1].toks and set(ws[-1].toks) <= _TITLES:
        ws.pop()
    while ws and ws[0].toks and set(ws[0].toks) <= _TITLES:
        ws.pop(0)
    return ws


def _legal(words: Sequence[_W]) -> bool:
    toks = [t for w in words for t in w.toks]
    if not toks:
        return False
    joined = "".join(runs(words[-1].text))
    return toks[-1] in _LEGAL or joined in _LEGAL or "".join(toks[-2:]) in _LEGAL


def _namelike(words: Sequence[_W], text: str) -> bool:
    """Could be a company or person name: letters, few words, no long numbers or contacts."""
    if not words or len(words) > 7 or _CONTACT.search(text):
        return False
    if not any(sum(c.isalpha() for c in w.text) >= 2 for w in words):
        return False
    return not any(re.search(r"\d{3,}", w.text) for w in words)


# ---- tables of items -----------------------------------------------------------------------------


@dataclass
class _Column:
    spec: _Spec | None
    x0: float
    x1: float


def _item_specs(model: type[BaseModel], path: str) -> list[_Spec]:
    return [
        _spec(f"{path}[].{name}", name, info, column=True)
        for name, info in model.model_fields.items()
    ]


def _table_headers(doc: _Doc, specs: list[_Spec]) -> list[tuple[_Line, list[_Column]]]:
    """Lines whose words match the item model's column labels (at least two distinct fields)."""
    labels = _Labels(doc.lines, {s.path: s.labels for s in specs if s.labels})
    by_path = {s.path: s for s in specs}
    out = []
    for line in doc.lines:
        occs = sorted(labels.on(line), key=lambda o: (o.a, o.rank))
        chosen: list[_Occ] = []
        used_words: set[int] = set()
        for o in sorted(occs, key=lambda o: (-o.ntoks, o.rank, o.a)):
            if used_words & set(range(o.a, o.b)):
                continue
            chosen.append(o)
            used_words.update(range(o.a, o.b))
        fields = {o.key for o in chosen}
        numeric = {k for k in fields if by_path[k].kind in ("number", "int", "percent")}
        texty = {k for k in fields if by_path[k].kind == "str"}
        if len(fields) < 3 or not numeric or not texty:
            continue
        # one column per field: its best-ranked heading; other headings are unnamed columns
        best: dict[str, _Occ] = {}
        for o in sorted(chosen, key=lambda o: (o.rank, o.a)):
            best.setdefault(o.key, o)
        cols: list[_Column] = []
        for o in chosen:
            spec = by_path[o.key] if best.get(o.key) is o else None
            cols.append(_Column(spec, o.x0, o.x1))
        for a, b in line.segments:  # unlabelled headings ("Pos.", "Rabatt %") hold columns too
            if not used_words & set(range(a, b)):
                cols.append(_Column(None, line.words[a].x0, line.words[b - 1].x1))
        cols.sort(key=lambda c: c.x0)
        out.append((line, cols))
    return out


def _cells(line: _Line, cols: list[_Column]) -> tuple[dict[int, list[_W]], int]:
    """The words of a row per column, and how many words reach into another column.

    Column i owns the x-range between the midpoints to its neighbours' headings: text runs
    right of a left-aligned heading, numbers left of a right-aligned one.
    """
    bounds = [(a.x1 + b.x0) / 2 for a, b in itertools.pairwise(cols)]
    cells: dict[int, list[_W]] = {}
    misfits = 0
    for w in line.words:
        cx = (w.x0 + w.x1) / 2
        i = sum(cx > b for b in bounds)
        if any(_overlap(w.x0, w.x1, c.x0, c.x1) > 2 for j, c in enumerate(cols) if j != i):
            misfits += 1  # reaches under another column's heading
        cells.setdefault(i, []).append(w)
    return cells, misfits


def _read_table(
    doc: _Doc, header: _Line, cols: list[_Column], specs: list[_Spec], summary: _Labels
) -> tuple[list[dict[str, Any]], set[int]]:
    """Rows below a header, parsed per column, until they stop aligning."""
    items: list[dict[str, Any]] = []
    used: set[int] = {id(header)}
    required = [s for s in specs if s.required]
    desc_col = next(
        (i for i, c in enumerate(cols) if c.spec is not None and c.spec.kind == "str"), None
    )
    last_item: _Line = header
    pitch = 2.5 * header.h
    for line in doc.page_lines(header.page)[header.no + 1 :]:
        if line.y0 - last_item.y1 > max(3 * pitch, 4 * line.h):
            break
        if any(not o.qualified for o in summary.on(line)) and len(summary.on(line)) > 0:
            first = summary.on(line)[0]
            if first.a == 0 or line.segment_of(first.a)[0] == first.a:
                continue  # "Subtotal", "VAT 19%": a summary row, not an item
        cells, misfits = _cells(line, cols)
        row: dict[str, Any] = {}
        for i, ws in cells.items():
            spec = cols[i].spec
            if spec is None:
                continue
            got = _parse(spec, ws, doc)
            if got is not None:
                row[spec.name] = got[0]
        if all(s.name in row for s in required) and misfits == 0 and len(row) >= 2:
            items.append({s.name: row.get(s.name, [] if s.kind == "strs" else None)
                          for s in specs})  # fmt: skip
            used.add(id(line))
            last_item = line
            pitch = max(min(pitch, 2.5 * line.h), 1.2 * line.h)
            continue
        numbers = [k for k, v in row.items() if not isinstance(v, str)]
        only_desc = desc_col is not None and desc_col in cells and not numbers
        if only_desc and items and line.y0 - last_item.y1 < 1.2 * line.h:
            spec = cols[desc_col].spec
            assert spec is not None
            extra = _clean(_text([w for i in sorted(cells) for w in cells[i]]))
            name = spec.name
            items[-1][name] = _truncate(f"{items[-1][name]} {extra}".strip(), spec.max_length)
            used.add(id(line))
            last_item = line
            continue
        if numbers and items:
            break  # numbers that do not make an item: the table has ended
        if not items and not row and line.y0 - header.y1 < 2.5 * header.h:
            used.add(id(line))  # the heading's second line ("Ohne MwSt.")
    return items, used


# ---- filling -------------------------------------------------------------------------------------


class Filled(dict[str, Any]):
    """The filled value (a plain dict), with the leaf paths that could not be filled."""

    def __init__(self, value: dict[str, Any], missing: list[str], required: list[str]) -> None:
        super().__init__(value)
        self.missing = missing
        self.required_missing = required


def fill(schema: type[BaseModel], pages: Sequence[Page], *, region: Region | None = None) -> Filled:
    """Fill ``schema`` from the words of ``pages`` (text layer, else OCR words), with no model.

    Returns a dict that validates against ``schema`` when the document allows it: optional
    fields not found are None, lists not found are empty. ``result.missing`` lists every leaf
    path left empty, ``result.required_missing`` the required ones (the value cannot validate
    while any remain). ``region`` limits the words to one region of the first page.
    """
    doc = _prepare(pages, region)
    top = [_spec(name, name, info) for name, info in schema.model_fields.items()]
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
    for s in top:
        if s.kind == "model" and s.model is not None and _concept(s.name, _CONCEPTS) is None:
            for name, info in s.model.model_fields.items():
                sub = _spec(f"{s.path}.{name}", name, info)
                keyed[sub.path] = sub.labels
    labels = _Labels([ln for ln in doc.lines if id(ln) not in excluded], keyed)
    finder = _Finder(doc, labels, excluded)
    parties: _Parties | None = None

    def get_parties() -> _Parties:
        nonlocal parties
        if parties is None:
            parties = _Parties(doc, labels, finder)
        return parties

    for s in top:
        value: Any = None
        if s.kind == "models":
            value = tables.get(s.name, [])
            if not value:
                missing.append(s.path)
            out[s.name] = value
            continue
        if s.kind == "strs":
            value = _text_lines(doc) if s.name.lower() in ("lines", "text", "paragraphs") else []
            if not value:
                missing.append(s.path)
                if s.required:
                    required.append(s.path)
            out[s.name] = value
            continue
        if s.kind == "model" and s.model is not None:
            concept = _concept(s.name, _CONCEPTS)
            if concept in ("vendor", "customer"):
                ps = get_parties()
                party = ps.vendor if concept == "vendor" else ps.customer
                value = ps.fill(party, s)
            else:
                value = {}
                for name, info in s.model.model_fields.items():
                    sub = _spec(f"{s.path}.{name}", name, info)
                    got = finder.best(sub) if sub.kind not in ("model", "models", "strs") else None
                    value[name] = None if got is None else got[0]
            for k, v in value.items():
                if v is None or v == []:
                    missing.append(f"{s.path}.{k}")
            out[s.name] = value
            continue
        if s.kind == "currency":
            got = finder.best(s)
            value = got[0] if got else _page_currency(doc)
        elif s.kind == "str" and s.concept == "vendor":
            party = get_parties().vendor
            value = _truncate(_clean(_text(party.name)), s.max_length) if party else None
        elif s.kind in ("bool", "other"):
            value = None
        else:
            got = finder.best(s, prefer_last=s.concept in ("total", "amount_due", "subtotal"))
            value = None if got is None else got[0]
        out[s.name] = value
        if value is None:
            missing.append(s.path)
            if s.required:
                required.append(s.path)
    return Filled(out, missing, required)


def _text_lines(doc: _Doc) -> list[str]:
    return [_text(ln.words) for ln in doc.lines if _text(ln.words)]


def _prepare(pages: Sequence[Page], region: Region | None) -> _Doc:
    lines: list[_Line] = []
    heights: dict[int, float] = {}
    order: list[int] = []
    for n, page in enumerate(pages):
        words = _words_of(page, region if n == 0 else None)
        if region is not None and n > 0:
            break
        page_lines = _build_lines(words, page.index)
        lines += page_lines
        heights[page.index] = page.height
        order.append(page.index)
    # page-major order, numbered within each page
    doc = _Doc(lines, order, heights)
    _conventions(doc)
    return doc
