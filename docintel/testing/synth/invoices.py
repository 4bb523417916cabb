"""Generated invoices: each layout and language, with the values they print as truth."""

from __future__ import annotations

import random
from datetime import date, timedelta

from docintel.testing.synth.canvas import _Canvas, _pick
from docintel.testing.synth.tables import (
    ACCOUNT,
    BANK,
    INVOICE_LAYOUTS,
    ITEMS,
    LANGUAGES,
    LOCALE,
    REGISTRATION,
    L,
)
from docintel.testing.synth.values import (
    Doc,
    _address,
    _amount_text,
    _date_text,
    _id,
    _money,
    _name,
    _person,
    _taxid,
)


def invoice(seed: int, layout: str | None = None, language: str | None = None) -> Doc:
    """One invoice: vendor, customer, number, dates, items, totals, in one of the layouts."""
    rng = random.Random(seed)
    lang = language or rng.choice(LANGUAGES)
    layout = layout or rng.choice(INVOICE_LAYOUTS)
    curs, styles, dstyles = LOCALE[lang]
    cur = rng.choice(curs)
    style = rng.choice(styles)
    dstyle = rng.choice(dstyles)
    mode = rng.randint(0, 3)
    issue = date(2017, 1, 1) + timedelta(days=rng.randint(0, 3000))
    due = issue + timedelta(days=rng.choice([7, 10, 14, 30, 45, 60]))
    vendor, customer = _name(rng, lang), _name(rng, lang, rng.random() < 0.6)
    if rng.random() < 0.2:
        customer = _person(rng)
    vaddr, caddr = _address(rng, lang), _address(rng, lang)
    number = _id(rng)
    order = _id(rng) if rng.random() < 0.5 else None
    custno = str(rng.randint(1000, 99999)) if rng.random() < 0.4 else None
    n_items = rng.randint(1, 7)
    items = []
    for _ in range(n_items):
        q = rng.choice([1, 1, 2, 3, 5, 10, 0.5, 12])
        price = round(rng.uniform(2, 900) * (10 if rng.random() < 0.1 else 1), 2)
        items.append((rng.choice(ITEMS), q, price, round(q * price, 2)))
    subtotal = round(sum(a for *_, a in items), 2)
    rate = rng.choice([5, 6, 7, 8, 10, 19, 20, 21, 22, 23, 25])
    tax = round(subtotal * rate / 100, 2)
    total = round(subtotal + tax, 2)
    has_sub = rng.random() < 0.85
    has_due_amount = rng.random() < 0.35
    font = rng.choice(["helv", "helv", "tiro", "cour"])
    c = _Canvas(*(rng.choice([(595, 842), (612, 792)])), font)
    W = c.width
    R = W - rng.uniform(18, 70)  # the right margin: right-aligned values end here
    amt = lambda v: _amount_text(rng, v, style, cur, mode)  # noqa: E731
    dt = lambda d: _date_text(rng, d, dstyle, lang)  # noqa: E731
    number_label = _pick(rng, lang, "number")
    title = _pick(rng, lang, "invoice")
    big = rng.uniform(14, 22)
    truth_vendor = vendor

    # header: vendor (name + address), title
    y = 60.0
    vendor_in_header = layout not in ("footer", "letter") or rng.random() < 0.3
    legal_footer = layout in ("footer", "letter") or rng.random() < 0.3
    if layout == "letter":
        # a letter: a brand word or a tagline at the top (the name itself may be a logo), the
        # sender's name only in a small return-address line above the customer's address
        # and in the footer
        if rng.random() < 0.6:
            brand = vendor.split()[0]
            c.text(40, y, brand.upper() if rng.random() < 0.5 else brand, big + 2, bold=True)
        c.text(R, y, title, big * 0.9, bold=True, align="right")
        y += 30
    elif layout == "footer":
        # a brand word in big letters (as a logo would print it), the legal name in the footer
        brand = vendor.split()[0]
        c.text(40, y, brand.upper(), big + 4, bold=True)
        c.text(R, y, title, big, bold=True, align="right")
        y += 40
    elif rng.random() < 0.5:
        c.text(40, y, vendor, big, bold=True)
        c.text(R, y, title, big * 0.9, bold=True, align="right")
        y += 16
        for line in vaddr:
            c.text(40, y, line, 9)
            y += 11
    else:
        c.text(W / 2, y, title, big, bold=True, align="center")
        y += 24
        c.text(40, y, vendor, 12, bold=True)
        y += 13
        for line in vaddr:
            c.text(40, y, line, 9)
            y += 11
    if vendor_in_header and layout not in ("footer", "letter") and rng.random() < 0.6:
        c.text(
            40,
            y,
            f"{_pick(rng, lang, 'tel')}: +{rng.randint(10, 99)} {rng.randint(100, 999)} {rng.randint(1000, 9999)}",
            8,
        )
        y += 10
        c.text(40, y, f"{_pick(rng, lang, 'taxid')}: {_taxid(rng, lang)}", 8)
        y += 10
    top = 170 + rng.choice([0.0, 0.0, rng.uniform(0, 120)])  # headers of many heights
    y = max(y + 20, top)

    # meta fields
    meta = [(number_label, number), (_pick(rng, lang, "date"), dt(issue))]
    if rng.random() < 0.7:
        meta.append((_pick(rng, lang, "due"), dt(due)))
    if order:
        meta.append((_pick(rng, lang, "order"), order))
    if custno:
        meta.append((_pick(rng, lang, "custno"), custno))
    if rng.random() < 0.3:
        meta.append((_pick(rng, lang, "orderdate"), dt(issue - timedelta(days=rng.randint(1, 20)))))
    rng.shuffle(meta)
    meta.sort(key=lambda m: m[0] != number_label and rng.random() < 0.7)
    sep = rng.choice([":", "", ":"])
    cust_x = 40.0
    if layout in ("side", "letter"):
        mx = W - rng.uniform(230, 260)
        for k, v in meta:
            c.text(mx, y, f"{k}{sep}", 9, bold=rng.random() < 0.3)
            c.text(R, y, v, 9, align="right")
            y += 13
        y += 10
    elif layout == "above":
        x = 40.0
        step = (W - 80) / max(len(meta), 1)
        gap = rng.uniform(10, 20)  # how far under its label a value sits
        for k, v in meta:
            c.text(x, y, k, rng.choice([8, 9, 10]), bold=rng.random() < 0.7)
            c.text(x, y + gap, v, 9)
            x += step
        c.rule(y + gap + 4)
        y += 24 + gap
    elif layout == "columns":
        for k, v in meta:
            c.text(W / 2, y, f"{k}{sep}", 9)
            c.text(W / 2 + 120, y, v, 9)
            y += 13
        y += 10
    else:  # inline and footer: several pairs on one line
        line = "   ".join(f"{k}{sep or ':'} {v}" for k, v in meta[:3])
        c.text(40, y, line, 8.5)
        y += 13
        if len(meta) > 3:
            c.text(40, y, "   ".join(f"{k}: {v}" for k, v in meta[3:]), 8.5)
            y += 13
        y += 10
    # customer block
    billto = _pick(rng, lang, "billto")
    cust_top = y
    if layout in ("columns", "letter"):
        y = top
        cust_x = 40.0
    if layout == "letter":
        sep = rng.choice([" · ", " - ", " | ", ", "])
        c.text(cust_x, y, sep.join([vendor, *vaddr[:2]]), rng.uniform(6, 7.5))
        y += 14
        if rng.random() < 0.3:
            c.text(cust_x, y, f"{billto}:", 9, bold=True)
            y += 12
    else:
        c.text(cust_x, y, f"{billto}{':' if rng.random() < 0.6 else ''}", 9, bold=True)
        y += 12
    c.text(cust_x, y, customer, 10)
    y += 11
    for line in caddr:
        c.text(cust_x, y, line, 9)
        y += 11
    y = max(y, cust_top) + 25

    # items table
    dated = rng.random() < 0.2  # a date column: its heading is not the issue date's label
    dx = 110 if dated else 40
    cols = [(_pick(rng, lang, "desc"), dx, "left"), (_pick(rng, lang, "qty"), W * 0.55, "right"),
            (_pick(rng, lang, "price"), W * 0.72, "right"), (_pick(rng, lang, "amount"), R, "right")]  # fmt: skip
    if dated:
        cols.insert(0, (rng.choice(L[lang]["date"]).split()[-1].capitalize(), 40, "left"))
    for head, x, al in cols:
        c.text(x, y, head, 9, bold=True, align=al)
    c.rule(y + 4)
    y += 16
    for desc, q, price, a in items:
        if dated:
            c.text(40, y, dt(issue - timedelta(days=rng.randint(1, 40))), 8)
        c.text(dx, y, desc, 9)
        c.text(W * 0.55, y, f"{q:g}", 9, align="right")
        c.text(W * 0.72, y, _money(rng, price, style), 9, align="right")
        c.text(R, y, _money(rng, a, style), 9, align="right")
        y += 13
    c.rule(y - 6)
    y += 10

    # totals
    lx, vx = W - rng.uniform(220, 260), R
    rows: list[tuple[str, str, bool]] = []
    if has_sub:
        rows.append((_pick(rng, lang, "subtotal"), amt(subtotal), False))
    tax_label = _pick(rng, lang, "tax")
    rows.append((f"{tax_label} {rate}%" if rng.random() < 0.6 else tax_label, amt(tax), False))
    total_label = _pick(rng, lang, "total")
    if rng.random() < 0.25:
        total_label += f" ({cur})"
    rows.append((total_label, amt(total), True))
    if has_due_amount:
        rows.append((_pick(rng, lang, "due_amount"), amt(total), True))
    for k, v, b in rows:
        c.text(lx, y, k, 9.5 if b else 9, bold=b)
        c.text(vx, y, v, 9.5 if b else 9, bold=b, align="right")
        y += 14
    if rng.random() < (0.6 if layout in ("footer", "above") else 0.25):
        # a tax summary table: rate, net, tax, gross (the gross is not the total's label)
        y += 12
        heads = (
            tax_label + " %",
            _pick(rng, lang, "subtotal"),
            tax_label,
            "Brutto" if lang == "de" else "Gross",
        )
        xs = (40, 160, 280, 400)
        for h, x in zip(heads, xs, strict=True):
            c.text(x, y, h, 8, bold=True)
        y += 11
        for v, x in zip((f"{rate}%", _money(rng, subtotal, style), _money(rng, tax, style),
                         _money(rng, total, style)), xs, strict=True):  # fmt: skip
            c.text(x, y, v, 8)
        y += 11
        if rng.random() < 0.5:
            c.text(xs[0], y, _pick(rng, lang, "total"), 8, bold=True)
            c.text(xs[1], y, _money(rng, subtotal, style), 8)
            c.text(xs[2], y, _money(rng, tax, style), 8)
            y += 11
        y += 3
    y += 20
    if rng.random() < 0.6:
        c.text(40, y, _pick(rng, lang, "terms"), 8)
        y += 12
    # footer
    fy = c.height - 50
    if legal_footer:
        _legal_footer(c, rng, lang, vendor, vaddr, fy)
    elif layout == "footer" or rng.random() < 0.4:
        c.rule(fy - 12)
        c.text(40, fy, f"{vendor} · {', '.join(vaddr[:2])}", 7)
        c.text(40, fy + 9, f"{_pick(rng, lang, 'taxid')}: {_taxid(rng, lang)}", 7)
    c.text(R, fy + 9 if not legal_footer else c.height - 18, f"{_pick(rng, lang, 'page')} 1/1",
           7, align="right")  # fmt: skip

    truth = {
        "vendor": {"name": truth_vendor, "address": ", ".join(vaddr)},
        "customer": {"name": customer},
        "invoice_number": number.lstrip("#"),  # "#1338": the number sign is not the number
        "issue_date": issue.isoformat(),
        "due_date": due.isoformat() if any(k in L[lang]["due"] for k, _ in meta) else None,
        "purchase_order": order,
        # printed beside the amounts or after the total's label, or not at all: then unknown
        "currency": cur if mode != 0 or total_label.endswith(f"({cur})") else None,
        "subtotal": subtotal if has_sub else None,
        "tax": tax,
        "total": total,
        "amount_due": total if has_due_amount else None,
    }
    if layout in ("footer", "letter") and not vendor_in_header:
        truth["vendor"]["address"] = None
    return Doc(c.bytes(), truth, "invoice", layout, lang, {"seed": seed})


def _legal_footer(c: _Canvas, rng: random.Random, lang: str, vendor: str, vaddr: list[str],
                  fy: float) -> None:  # fmt: skip
    """The company's footer: its legal name over its registration details (one centred block),
    or columns (name, address and contacts; registration; bank with account numbers)."""
    W = c.width
    size = rng.uniform(6.5, 7.5)
    step = size + 2
    city = vaddr[-1].split(" ", 1)[-1] if len(vaddr[-1].split()) > 1 else vaddr[-1]
    fill = {
        "n": str(rng.randint(100000, 99999999)), "city": city, "addr": ", ".join(vaddr[:2]),
        "cap": f"{rng.choice([1, 5, 10, 25, 50, 100]) * 1000:,}".replace(",", " "),
        "form": vendor.split()[-1], "person": _person(rng),
    }  # fmt: skip
    regs = [
        r.format(**fill) for r in rng.sample(REGISTRATION[lang], min(2, len(REGISTRATION[lang])))
    ]
    phone = f"{_pick(rng, lang, 'tel')}: +{rng.randint(10, 99)} {rng.randint(1000, 9999)} {rng.randint(100, 999)} {rng.randint(10, 99)}"
    bank = [
        rng.choice(BANK[lang]),
        f"{rng.choice(ACCOUNT[lang])} {rng.randint(10000, 99999999)}",
        f"IBAN {_taxid(rng, lang)[:2]}{rng.randint(10, 99)} {rng.randint(1000, 9999)} "
        f"{rng.randint(1000, 9999)} {rng.randint(1000, 9999)}",
    ]
    if rng.random() < 0.5:
        bank.insert(2, f"BLZ {rng.randint(100, 999)} {rng.randint(100, 999)} {rng.randint(10, 99)}")
    top = fy - 4 * step
    c.rule(top - step)
    if rng.random() < 0.45:  # one centred block: the name, then where and how it is registered
        lines = [
            vendor,
            f"{regs[0]} - {phone}",
            " - ".join([*regs[1:], f"{_pick(rng, lang, 'taxid')} {_taxid(rng, lang)}"]),
        ]
        for i, text in enumerate(lines):
            c.text(W / 2, top + i * step, text, size, bold=i == 0 and rng.random() < 0.5,
                   align="center")  # fmt: skip
        return
    import textwrap

    regs = [p for r in regs for part in r.split(" - ") for p in textwrap.wrap(part, 38)]
    taxid = f"{_pick(rng, lang, 'taxid')} {_taxid(rng, lang)}"
    cols = [[vendor, *vaddr[:2], phone], [*regs, taxid], bank]
    if rng.random() < 0.3:
        cols = [cols[1], cols[0], cols[2]]
    for k, col in enumerate(cols):
        for i, text in enumerate(col[:5]):
            c.text(40 + k * (W - 80) / 3, top + i * step, text, size)
