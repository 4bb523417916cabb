"""Generated receipts: shop headers, items, totals and OCR-like noise, with their truth."""

from __future__ import annotations

import random
import re
from datetime import date, timedelta

from docintel.testing.synth.canvas import _Canvas, _pick
from docintel.testing.synth.tables import (
    ITEMS,
    LANGUAGES,
    LEGAL,
    LOCALE,
    RECEIPT_LAYOUTS,
    SYLLABLES,
    SYMBOL,
    L,
)
from docintel.testing.synth.values import (
    Doc,
    _address,
    _date_text,
    _id,
    _money,
    _name,
    _person,
    _taxid,
)


def legal_form_at(words: list[str]) -> bool:
    """The words are a legal form of some country (the generator's own list)."""
    text = " ".join(words).upper()
    return any(text == form.upper() for forms in LEGAL.values() for form in forms)


def _noise(rng: random.Random, s: str, level: float) -> str:
    if rng.random() > level:
        return s
    out = []
    for ch in s:
        r = rng.random()
        if r < 0.02 and ch == "O":
            ch = "0"
        elif r < 0.02 and ch == "I":
            ch = "1"
        out.append(ch)
    return "".join(out)


def receipt(seed: int, layout: str | None = None, language: str | None = None) -> Doc:
    """One till receipt: a narrow monospace page, merchant block, items, totals, payment."""
    rng = random.Random(seed)
    lang = language or rng.choice((*LANGUAGES, "ms", "ms", "en"))
    layout = layout or rng.choice(RECEIPT_LAYOUTS)
    curs, styles, dstyles = LOCALE[lang]
    cur = rng.choice(curs)
    style = rng.choice(styles)
    dstyle = rng.choice(dstyles)
    upper = rng.random() < 0.6 or lang == "ms"
    U = (lambda s: s.upper()) if upper else (lambda s: s)
    font = rng.choice(["cour", "cour", "helv"])
    width = rng.choice([226.0, 240.0, 280.0])
    n_items = rng.randint(1, 10)
    items = []
    for _ in range(n_items):
        q = rng.choice([1, 1, 1, 2, 3])
        price = round(rng.uniform(0.5, 80), 2)
        items.append((U(rng.choice(ITEMS)), q, price, round(q * price, 2)))
    subtotal = round(sum(a for *_, a in items), 2)
    rate = rng.choice([0, 6, 6, 7, 8, 10, 19, 20, 25])
    tax = round(subtotal * rate / 100, 2)
    gross = round(subtotal + tax, 2)
    rounding = round(round(gross * 20) / 20 - gross, 2) if rng.random() < 0.5 else 0.0
    paid = round(gross + rounding, 2)
    cash = float(max(int(paid) + rng.choice([0, 1, 5, 10, 20, 50]), paid))
    height = 330 + 14 * n_items + 40 * rng.random()
    c = _Canvas(width, height + 120, font)
    W = width
    x0, x1 = 12.0, W - 12.0
    merchant = _name(rng, lang, legal=rng.random() < 0.8)
    if upper:
        merchant = merchant.upper()
    addr = [U(x) for x in _address(rng, lang)]
    if lang in ("en", "ms") and rng.random() < 0.25:  # a unit in a building or mall first
        place = "".join(rng.choice(SYLLABLES) for _ in range(2)).upper()
        addr.insert(0, U(rng.choice([
            f"UNIT G-{rng.randint(1, 40)}, GROUND FLOOR,",
            f"LOT {rng.randint(1, 3)}F-{rng.randint(1, 99):02d}, {rng.randint(1, 3)}ST FLR, {place} MALL,",
            f"LEVEL {rng.randint(1, 12)}, WISMA {place},",
        ])))  # fmt: skip
    if rng.random() < 0.3:  # lines that end in a comma, as printed
        addr = [a if a.endswith(",") or i == len(addr) - 1 else a + "," for i, a in enumerate(addr)]
    if rng.random() < 0.2 and not addr[-1].endswith("."):  # and the last in a stop
        addr[-1] += "."
    title = U(_pick(rng, lang, "receipt"))
    title_at = rng.choice(["top", "under", "apart", "apart", "apart", "apart"])
    y = 24.0
    size = rng.choice([7.0, 7.5, 8.0])
    center = rng.random() < 0.75
    ax = W / 2 if center else x0
    al = "center" if center else "left"
    if title_at == "top":  # the document's title above the shop's name
        c.text(W / 2, y, title, size + 1, bold=True, align="center")
        y += 14
    if layout == "brand":
        c.text(ax, y, U(merchant.split()[0]), size + 5, bold=True, align=al)
        y += 16
    if layout == "minimal" and rng.random() < 0.5:
        c.text(ax, y, U(_person(rng)), size, align=al)  # an owner's name above the company
        y += 11
    name_size = size + (1.5 if rng.random() < 0.5 else 0)
    bold = rng.random() < 0.5
    regno = f"{rng.randint(100000, 9999999)}{rng.choice(['-', ' '])}{rng.choice('AHKMPTUVWX')}"
    form = rng.random()  # bracketed, bracketed after its label, or bare; with its check letter
    regno = f"({regno})" if form < 0.55 else f"(CO. NO: {regno})" if form < 0.7 else regno
    words = merchant.split()
    where = rng.random()
    if len(words) >= 3 and where < 0.35:  # the name over two lines ("POPULAR BOOK" / "CO. SDN BHD")
        # anywhere, or before its legal form (the second line alone then reads like a name)
        legal = next((k for k in range(1, len(words)) if legal_form_at(words[k:])), None)
        cut = legal if legal is not None and rng.random() < 0.3 else rng.randint(1, len(words) - 1)
        c.text(ax, y, " ".join(words[:cut]), name_size + rng.choice([0, 0, 2]), bold=bold, align=al)
        y += 14
        c.text(ax, y, " ".join(words[cut:]), name_size, bold=bold, align=al)
        y += 11
    elif where < 0.4 and len(words) <= 6:  # the name's words spread across the line
        step = (x1 - x0) / len(words)
        for i, word in enumerate(words):
            c.text(x0 + step * (i + 0.5), y, word, name_size, bold=bold, align="center")
        y += 11
    elif where < 0.45:  # the registration number on the name's line
        glued = regno.startswith("(") and rng.random() < 0.3  # OCR drops the space
        c.text(ax, y, f"{merchant}{'' if glued else ' '}{regno}", name_size, bold=bold, align=al)
        y += 11
    else:
        c.text(ax, y, merchant, name_size, bold=bold, align=al)
        y += 11
    if where >= 0.45 and rng.random() < 0.5:
        c.text(ax, y, regno, size, align=al)
        y += 10
    d = date(2015, 1, 1) + timedelta(days=rng.randint(0, 3500))
    dtext = _date_text(rng, d, dstyle, lang)
    if rng.random() < 0.04 and dtext[:2].isdigit():  # OCR dropped the separators: "27032018"
        dtext = "".join(ch for ch in dtext if ch.isdigit()) if len(dtext) == 10 else dtext
    t = f"{rng.randint(7, 22):02d}:{rng.randint(0, 59):02d}" + (
        f":{rng.randint(0, 59):02d}" if rng.random() < 0.5 else ""
    )
    if rng.random() < 0.15:  # a branch or outlet between the name and the address
        branch = "".join(rng.choice(SYLLABLES) for _ in range(2)).upper()
        c.text(ax, y, rng.choice([f"{branch} BRANCH", f"{branch} MALL", f"({branch} OUTLET)",
                                  f"{merchant.split()[0]} {branch}"]), size, align=al)  # fmt: skip
        y += 10
    if rng.random() < 0.2:  # the date and time printed between the name and the address
        c.text(ax, y, f"{dtext} {t}", size, align=al)
        y += 10
    tel = ""
    if rng.random() < 0.8:
        tel = f"{U(_pick(rng, lang, 'tel'))}: 0{rng.randint(1, 9)}-{rng.randint(1000000, 9999999)}"
        if rng.random() < 0.3:  # the number alone
            tel = f"+60{rng.randint(1, 9)}-{rng.randint(1000, 9999)} {rng.randint(1000, 9999)}"
        if rng.random() < 0.4:
            tel += f"  {U(_pick(rng, lang, 'fax'))}: 0{rng.randint(1, 9)}-{rng.randint(1000000, 9999999)}"
    tel_inline = bool(tel) and tel[0] != "+" and rng.random() < 0.1  # after the last line's words
    for i, line in enumerate(addr):
        if tel_inline and i == len(addr) - 1:
            c.text(ax, y, f"{line} {tel}", size, align=al)
            y += 10
            continue
        parts = line.split(" ", 1)
        if not center and i == len(addr) - 1 and len(parts) == 2 and rng.random() < 0.3:
            # the last line's words spread apart ("53300    KL    Site 10"): several phrases
            c.text(ax, y, parts[0], size)
            c.text(ax + W * rng.uniform(0.3, 0.45), y, parts[1], size)
        else:
            c.text(ax, y, line, size, align=al)
        y += 10
    if rng.random() < 0.1:  # the branch or the mall printed under the address
        branch = "".join(rng.choice(SYLLABLES) for _ in range(2)).upper()
        c.text(ax, y, rng.choice([f"{branch} MALL", f"{branch} CENTRE",
                                  f"{merchant.split()[0]} {branch}"]), size, align=al)  # fmt: skip
        y += 10
    if title_at == "under":  # the title right under the address, no gap
        c.text(W / 2, y, title, size, bold=rng.random() < 0.5, align="center")
        y += 10
    elif rng.random() < 0.15:  # a registration number right under the address
        number = f"{rng.randint(100000, 9999999)}-{rng.choice('AHKMPTUVWX')}"
        c.text(ax, y, rng.choice([f"CO. NO: {number}", f"({number})", f"ROC NO.: {number}"]),
               size, align=al)  # fmt: skip
        y += 10
    if tel and not tel_inline:
        c.text(ax, y, tel, size, align=al)
        y += 10
    if rng.random() < 0.6:
        c.text(ax, y, f"{U(_pick(rng, lang, 'taxid'))}: {_taxid(rng, lang)}", size, align=al)
        y += 10
    if title_at == "apart":
        y += 8
        c.text(W / 2, y, title, size + 1, bold=True, align="center")
        y += 16
    else:
        y += 6
    docno = _id(rng)
    meta_style = rng.random()
    late = rng.random() < 0.2  # the date and time printed at the foot, under the payment
    if late:
        c.text(x0, y, f"{U(_pick(rng, lang, 'number'))}: {docno}", size)
        y += 10
    elif meta_style < 0.4:
        c.text(x0, y, f"{dtext} {t}", size)  # a bare date beside a time
        c.text(x1, y, f"#{rng.randint(1, 99):02d}", size, align="right")
        y += 10
        c.text(x0, y, f"{U(_pick(rng, lang, 'number'))}: {docno}", size)
        y += 10
    elif meta_style < 0.7:
        c.text(x0, y, f"{U(_pick(rng, lang, 'number'))}: {docno}", size)
        y += 10
        c.text(x0, y, f"{U(_pick(rng, lang, 'date'))}: {dtext}", size)
        c.text(x1, y, f"{U(_pick(rng, lang, 'time'))}: {t}", size, align="right")
        y += 10
    else:
        c.text(x0, y, f"{U(_pick(rng, lang, 'date'))}:{dtext}", size)  # glued
        y += 10
        c.text(
            x0,
            y,
            f"{U(_pick(rng, lang, 'time'))}: {t}   {U(_pick(rng, lang, 'number'))}: {docno}",
            size,
        )
        y += 10
    c.text(x0, y, f"{U(_pick(rng, lang, 'cashier'))}: {_person(rng).split()[0].upper()}", size)
    y += 14
    c.text(x0, y, U(_pick(rng, lang, "desc")), size)
    c.text(W * 0.6, y, U(_pick(rng, lang, "qty")), size, align="right")
    c.text(x1, y, U(_pick(rng, lang, "amount")), size, align="right")
    y += 4
    c.rule(y, x0, x1)
    y += 10
    for desc, q, _price, a in items:
        c.text(x0, y, desc[:22], size)
        c.text(W * 0.6, y, str(q), size, align="right")
        c.text(x1, y, _money(rng, a, style), size, align="right")
        y += 10
    c.rule(y - 4, x0, x1)
    y += 8
    sym = SYMBOL.get(cur, cur)
    rows: list[tuple[str, float]] = []
    if rng.random() < 0.5:
        rows.append((_pick(rng, lang, "items"), float(sum(q for _, q, _, _ in items))))
    if rate and rng.random() < 0.8:
        rows.append((_pick(rng, lang, "subtotal"), subtotal))
        rows.append((f"{_pick(rng, lang, 'tax')} {rate}%", tax))
    total_label = _pick(rng, lang, "total")
    if rng.random() < 0.3:
        total_label += f" ({sym})"
    if rate and rng.random() < 0.2:
        rows.append((f"{_pick(rng, lang, 'total')} incl. {_pick(rng, lang, 'tax')} {rate}%", paid))
    if rng.random() < 0.2:
        rows.append(
            (
                "Service Charge 10%" if lang in ("en", "ms") else _pick(rng, lang, "tax"),
                round(subtotal * 0.1, 2),
            )
        )
    if rounding:
        rows.append((total_label, gross))
        rows.append((_pick(rng, lang, "rounding"), rounding))
        # the amount after rounding, at times under a label that reads like the total too
        after = _pick(rng, lang, "total") if rng.random() < 0.4 else _pick(rng, lang, "paid")
        rows.append((after, paid))
    else:
        rows.append((total_label, paid))
    # the cash handed over, at times under a label that reads like the amount paid
    tender = _pick(rng, lang, "cash")
    if rng.random() < 0.35:
        tender = _pick(rng, lang, "paid") if lang != "en" else rng.choice(["TOTAL PAID", "PAID"])
    rows.append((tender, cash))
    rows.append((_pick(rng, lang, "change"), round(cash - paid, 2)))
    glue = rng.random() < 0.2
    garble = rng.random() < 0.3
    sym_column = not glue and rng.random() < 0.2  # the currency in a column of its own
    for k, v in rows:
        if garble and rng.random() < 0.3 and len(k) > 4:  # OCR drops or misreads letters
            k = rng.choice(
                [k[: rng.randint(3, len(k) - 1)], k.replace("l", "1").replace("O", "0"), k + " ,"]
            )
        text = f"{v:g}" if k in L[lang]["items"] else _money(rng, v, style)
        if rng.random() < 0.03 and re.fullmatch(r"\d+\.\d\d", text):
            text = text.replace(".", "-")  # OCR read the decimal point as a dash
        if sym_column and k not in L[lang]["items"]:
            c.text(W * 0.55, y, sym, size)
        elif rng.random() < 0.2 and k not in L[lang]["items"]:
            text = f"{sym}{text}" if len(sym) <= 2 else f"{sym} {text}"
        if glue and rng.random() < 0.5:
            c.text(x0, y, _noise(rng, U(f"{k}:{text}"), 0.5), size, bold=k == total_label)
        else:
            c.text(
                x0 + (40 if rng.random() < 0.2 else 0),
                y,
                _noise(rng, U(k), 0.5),
                size,
                bold=k == total_label,
            )
            c.text(x1, y, text, size, align="right")
        y += 11
    if (layout == "summary" or rng.random() < 0.3) and rate:
        y += 6
        c.text(x0, y, U("GST Summary" if lang in ("en", "ms") else _pick(rng, lang, "tax")), size)
        c.text(W * 0.55, y, U(_pick(rng, lang, "amount")), size, align="right")
        c.text(x1, y, U(_pick(rng, lang, "tax")), size, align="right")
        y += 10
        c.text(x0, y, f"SR @ {rate}%", size)
        c.text(W * 0.55, y, _money(rng, subtotal, style), size, align="right")
        c.text(x1, y, _money(rng, tax, style), size, align="right")
        y += 10
        if rng.random() < 0.7:  # the summary's own total row: net and tax, not the amount paid
            c.text(x0, y, U(_pick(rng, lang, "total")), size)
            c.text(W * 0.55, y, _money(rng, subtotal, style), size, align="right")
            c.text(x1, y, _money(rng, tax, style), size, align="right")
            y += 10
        y += 2
    if rng.random() < 0.4:
        y += 4
        c.text(
            W / 2,
            y,
            U(
                rng.choice(
                    [
                        "Goods sold are not returnable, thank you",
                        "Please come again",
                        "Keep this receipt for exchange",
                        "Prices include GST where applicable",
                    ]
                )
            ),
            size,
            align="center",
        )
        y += 10
    y += 10
    if rng.random() < 0.25:  # another date at the foot: not the receipt's
        later = d + timedelta(days=rng.randint(30, 1500))
        label = rng.choice(["CARD EXPIRY", "EXP DATE", "POINTS EXPIRY", "VALID UNTIL",
                            U(_pick(rng, lang, "due"))])  # fmt: skip
        text = (
            f"{later.month:02d}/{later.year % 100:02d}"
            if label.startswith(("CARD", "EXP"))
            else _date_text(rng, later, rng.choice(dstyles), lang)
        )
        if rng.random() < 0.7:
            c.text(x0, y, f"{label} : {text}", size)
        else:  # label and date apart, in columns
            c.text(x0, y, label, size)
            c.text(x1, y, text, size, align="right")
        y += 12
    if late:
        label = f"{U(_pick(rng, lang, 'date'))}: " if rng.random() < 0.4 else ""
        c.text(x0 if rng.random() < 0.5 else W / 2, y, f"{label}{dtext} {t}", size,
               align="left" if label else rng.choice(["left", "center"]))  # fmt: skip
        y += 12
    c.text(W / 2, y, U(_pick(rng, lang, "thanks")), size, align="center")
    truth = {
        "merchant": merchant,
        "address": " ".join(addr),
        "date": d.isoformat(),
        "total": paid,
        "time": t,
    }
    return Doc(c.bytes(), truth, "receipt", layout, lang, {"seed": seed})
