"""Synthetic invoices and receipts with their truth: training data for the CPU scorer, and
test documents for each kind of layout the CPU path must read.

``invoice(seed, ...)`` and ``receipt(seed, ...)`` typeset one document as a born-digital PDF
(bytes) and return it with the values it prints (``Doc.truth``, in the catalog ``Invoice`` /
``Receipt`` shape). Everything is drawn from seeded random choices: layouts (label beside or
above its value, several pairs on one line, meta tables, right-aligned totals, tax-summary
tables, footers), languages (labels in English, German, French, Dutch, Spanish, Italian,
Portuguese, Swedish, Polish, Malay), number formats (1,234.56 / 1.234,56 / 1'234.56 /
1 234,56), date formats, currencies, company names with the legal forms of many countries,
and OCR-like noise for receipts (capitals, glued labels, a bare date beside a time).
Nothing is copied from any real document.

``LAYOUTS`` and ``LANGUAGES`` can be held out: the training tool trains on some and measures
on the others.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

INVOICE_LAYOUTS = ("side", "above", "columns", "inline", "footer", "letter")
RECEIPT_LAYOUTS = ("classic", "minimal", "summary", "brand")
LANGUAGES = ("en", "de", "fr", "nl", "es", "it", "pt", "sv", "pl", "ms")

# fmt: off
L: dict[str, dict[str, list[str]]] = {
    "en": {
        "invoice": ["Invoice", "TAX INVOICE", "INVOICE"],
        "number": ["Invoice No.", "Invoice number", "Invoice #", "Inv. No.", "Bill No.",
                   "Document No.", "Booking reference", "Reference"],
        "date": ["Invoice date", "Date", "Issue date", "Date of issue", "Dated"],
        "due": ["Due date", "Payment due", "Pay by", "Due"],
        "order": ["Order No.", "PO number", "Purchase order", "Your order"],
        "custno": ["Customer No.", "Account No.", "Customer ID"],
        "orderdate": ["Order date", "Delivery date", "Date of supply"],
        "billto": ["Bill to", "Billed to", "Invoice to", "Customer", "Sold to"],
        "seller": ["Sold by", "Supplier", "From"],
        "subtotal": ["Subtotal", "Net amount", "Total excl. VAT", "Sub total", "Amount before tax"],
        "tax": ["VAT", "Tax", "GST", "Sales tax", "VAT amount"],
        "total": ["Total", "Grand total", "Total amount", "Invoice total", "Amount payable",
                  "Grand total incl. VAT", "Total to pay", "Total (incl. tax)"],
        "due_amount": ["Amount due", "Balance due", "Total due"],
        "paid": ["Amount paid", "Paid"],
        "cash": ["Cash", "Tendered", "Card"], "change": ["Change", "Change due"],
        "rounding": ["Rounding", "Rounding adj."], "qty": ["Qty", "Quantity"],
        "desc": ["Description", "Item"], "price": ["Unit price", "Price"], "amount": ["Amount"],
        "tel": ["Tel", "Phone"], "fax": ["Fax"], "taxid": ["VAT No.", "Tax ID", "GST Reg No."],
        "receipt": ["RECEIPT", "CASH RECEIPT", "TAX INVOICE", "SALES RECEIPT"],
        "cashier": ["Cashier", "Served by"], "thanks": ["THANK YOU", "Thank you, come again"],
        "terms": ["Payment terms: 30 days net", "Please pay within 14 days"],
        "page": ["Page"], "time": ["Time"], "items": ["Total items"],
    },
    "de": {
        "invoice": ["Rechnung", "RECHNUNG"],
        "number": ["Rechnungsnummer", "Rechnungs-Nr.", "Rechnung Nr.", "Beleg-Nr."],
        "date": ["Rechnungsdatum", "Datum"], "due": ["Fällig am", "Fälligkeitsdatum", "Zahlbar bis"],
        "order": ["Bestellnummer", "Ihre Bestellung"], "custno": ["Kundennummer", "Kunden-Nr."],
        "orderdate": ["Lieferdatum", "Leistungsdatum"],
        "billto": ["Rechnungsempfänger", "Kunde", "Rechnungsadresse"], "seller": ["Verkäufer"],
        "subtotal": ["Zwischensumme", "Nettobetrag", "Summe netto"],
        "tax": ["MwSt.", "USt.", "Umsatzsteuer"],
        "total": ["Gesamtbetrag", "Rechnungsbetrag", "Gesamt", "Summe", "Endbetrag"],
        "due_amount": ["Zu zahlen", "Zahlbetrag"], "paid": ["Bezahlt"],
        "cash": ["Bar", "Gegeben"], "change": ["Rückgeld"], "rounding": ["Rundung"],
        "qty": ["Menge", "Anzahl"], "desc": ["Beschreibung", "Artikel"],
        "price": ["Einzelpreis", "Preis"], "amount": ["Betrag"], "tel": ["Tel."], "fax": ["Fax"],
        "taxid": ["USt-IdNr.", "Steuernummer"], "receipt": ["KASSENBON", "QUITTUNG"],
        "cashier": ["Kassierer"], "thanks": ["VIELEN DANK"],
        "terms": ["Zahlbar innerhalb von 14 Tagen"], "page": ["Seite"], "time": ["Uhrzeit"],
        "items": ["Anzahl Artikel"],
    },
    "fr": {
        "invoice": ["Facture", "FACTURE"],
        "number": ["Facture n°", "Numéro de facture", "N° de facture"],
        "date": ["Date de facture", "Date"], "due": ["Date d'échéance", "Échéance"],
        "order": ["Bon de commande"], "custno": ["N° client"], "orderdate": ["Date de livraison"],
        "billto": ["Facturé à", "Client", "Adresse de facturation"], "seller": ["Vendeur"],
        "subtotal": ["Total HT", "Montant HT", "Sous-total"], "tax": ["TVA"],
        "total": ["Total TTC", "Montant total", "Net à payer"], "due_amount": ["Reste à payer"],
        "paid": ["Payé"], "cash": ["Espèces"], "change": ["Rendu"], "rounding": ["Arrondi"],
        "qty": ["Qté", "Quantité"], "desc": ["Désignation", "Description"],
        "price": ["Prix unitaire", "P.U."], "amount": ["Montant"], "tel": ["Tél."], "fax": ["Fax"],
        "taxid": ["N° TVA", "SIRET"], "receipt": ["TICKET", "REÇU"], "cashier": ["Caissier"],
        "thanks": ["MERCI"], "terms": ["Paiement à 30 jours"], "page": ["Page"],
        "time": ["Heure"], "items": ["Nombre d'articles"],
    },
    "nl": {
        "invoice": ["Factuur", "FACTUUR"], "number": ["Factuurnummer", "Factuur nr."],
        "date": ["Factuurdatum", "Datum"], "due": ["Vervaldatum"], "order": ["Ordernummer"],
        "custno": ["Klantnummer"], "orderdate": ["Leverdatum"],
        "billto": ["Factuuradres", "Klant"], "seller": ["Verkoper"],
        "subtotal": ["Subtotaal", "Totaal excl. BTW"], "tax": ["BTW"],
        "total": ["Totaal", "Totaal incl. BTW", "Te betalen"], "due_amount": ["Openstaand"],
        "paid": ["Betaald"], "cash": ["Contant"], "change": ["Wisselgeld"],
        "rounding": ["Afronding"], "qty": ["Aantal"], "desc": ["Omschrijving"],
        "price": ["Prijs"], "amount": ["Bedrag"], "tel": ["Tel."], "fax": ["Fax"],
        "taxid": ["BTW-nummer"], "receipt": ["KASSABON"], "cashier": ["Kassa"],
        "thanks": ["BEDANKT"], "terms": ["Betaling binnen 30 dagen"], "page": ["Pagina"],
        "time": ["Tijd"], "items": ["Aantal artikelen"],
    },
    "es": {
        "invoice": ["Factura", "FACTURA"], "number": ["Factura nº", "Número de factura"],
        "date": ["Fecha de factura", "Fecha"], "due": ["Fecha de vencimiento", "Vencimiento"],
        "order": ["Pedido nº"], "custno": ["Nº cliente"], "orderdate": ["Fecha de entrega"],
        "billto": ["Facturar a", "Cliente"], "seller": ["Vendedor"],
        "subtotal": ["Base imponible", "Subtotal"], "tax": ["IVA"],
        "total": ["Total", "Importe total", "Total a pagar"], "due_amount": ["Importe a pagar"],
        "paid": ["Pagado"], "cash": ["Efectivo"], "change": ["Cambio"], "rounding": ["Redondeo"],
        "qty": ["Cant.", "Cantidad"], "desc": ["Descripción", "Concepto"], "price": ["Precio"],
        "amount": ["Importe"], "tel": ["Tel."], "fax": ["Fax"], "taxid": ["NIF", "CIF"],
        "receipt": ["TICKET", "RECIBO"], "cashier": ["Cajero"], "thanks": ["GRACIAS"],
        "terms": ["Pago a 30 días"], "page": ["Página"], "time": ["Hora"],
        "items": ["Artículos"],
    },
    "it": {
        "invoice": ["Fattura", "FATTURA"], "number": ["Fattura n.", "Numero fattura"],
        "date": ["Data fattura", "Data"], "due": ["Scadenza", "Data di scadenza"],
        "order": ["Ordine n."], "custno": ["Codice cliente"], "orderdate": ["Data consegna"],
        "billto": ["Destinatario", "Cliente", "Spett.le"], "seller": ["Venditore"],
        "subtotal": ["Imponibile", "Totale imponibile"], "tax": ["IVA"],
        "total": ["Totale", "Totale documento", "Totale fattura"], "due_amount": ["Da pagare"],
        "paid": ["Pagato"], "cash": ["Contanti"], "change": ["Resto"],
        "rounding": ["Arrotondamento"], "qty": ["Q.tà", "Quantità"], "desc": ["Descrizione"],
        "price": ["Prezzo"], "amount": ["Importo"], "tel": ["Tel."], "fax": ["Fax"],
        "taxid": ["P. IVA"], "receipt": ["SCONTRINO"], "cashier": ["Cassiere"],
        "thanks": ["GRAZIE"], "terms": ["Pagamento a 30 giorni"], "page": ["Pagina"],
        "time": ["Ora"], "items": ["Articoli"],
    },
    "pt": {
        "invoice": ["Fatura", "FATURA"], "number": ["Fatura nº", "Número da fatura"],
        "date": ["Data da fatura", "Data de emissão", "Data"], "due": ["Vencimento"],
        "order": ["Pedido nº"], "custno": ["Nº cliente"], "orderdate": ["Data de entrega"],
        "billto": ["Cliente", "Faturar a"], "seller": ["Vendedor"],
        "subtotal": ["Subtotal", "Valor líquido"], "tax": ["IVA"],
        "total": ["Total", "Valor total", "Total a pagar"], "due_amount": ["Valor em dívida"],
        "paid": ["Pago"], "cash": ["Dinheiro"], "change": ["Troco"], "rounding": ["Arredondamento"],
        "qty": ["Qtd."], "desc": ["Descrição"], "price": ["Preço"], "amount": ["Valor"],
        "tel": ["Tel."], "fax": ["Fax"], "taxid": ["NIF"], "receipt": ["RECIBO"],
        "cashier": ["Operador"], "thanks": ["OBRIGADO"], "terms": ["Pagamento a 30 dias"],
        "page": ["Página"], "time": ["Hora"], "items": ["Artigos"],
    },
    "sv": {
        "invoice": ["Faktura", "FAKTURA"], "number": ["Fakturanummer", "Fakturanr"],
        "date": ["Fakturadatum", "Datum"], "due": ["Förfallodatum", "Förfallodag"],
        "order": ["Ordernummer"], "custno": ["Kundnummer"], "orderdate": ["Leveransdatum"],
        "billto": ["Kund", "Faktureras till"], "seller": ["Säljare"],
        "subtotal": ["Nettobelopp", "Summa exkl. moms"], "tax": ["Moms"],
        "total": ["Summa", "Att betala", "Totalt"], "due_amount": ["Kvar att betala"],
        "paid": ["Betalt"], "cash": ["Kontant"], "change": ["Växel"], "rounding": ["Öresavrundning"],
        "qty": ["Antal"], "desc": ["Beskrivning"], "price": ["Pris"], "amount": ["Belopp"],
        "tel": ["Tel"], "fax": ["Fax"], "taxid": ["Momsreg.nr"], "receipt": ["KVITTO"],
        "cashier": ["Kassör"], "thanks": ["TACK"], "terms": ["Betalningsvillkor 30 dagar"],
        "page": ["Sida"], "time": ["Tid"], "items": ["Antal artiklar"],
    },
    "pl": {
        "invoice": ["Faktura VAT", "FAKTURA"], "number": ["Faktura nr", "Numer faktury"],
        "date": ["Data wystawienia", "Data"], "due": ["Termin płatności"],
        "order": ["Zamówienie nr"], "custno": ["Nr klienta"], "orderdate": ["Data dostawy"],
        "billto": ["Nabywca"], "seller": ["Sprzedawca"], "subtotal": ["Wartość netto"],
        "tax": ["VAT", "Kwota VAT"], "total": ["Razem", "Do zapłaty", "Wartość brutto"],
        "due_amount": ["Pozostało do zapłaty"], "paid": ["Zapłacono"], "cash": ["Gotówka"],
        "change": ["Reszta"], "rounding": ["Zaokrąglenie"], "qty": ["Ilość"],
        "desc": ["Nazwa"], "price": ["Cena"], "amount": ["Wartość"], "tel": ["Tel."],
        "fax": ["Fax"], "taxid": ["NIP"], "receipt": ["PARAGON"], "cashier": ["Kasjer"],
        "thanks": ["DZIĘKUJEMY"], "terms": ["Płatność 14 dni"], "page": ["Strona"],
        "time": ["Godzina"], "items": ["Ilość pozycji"],
    },
    "ms": {
        "invoice": ["INVOIS", "TAX INVOICE", "INVOICE"],
        "number": ["No. Invois", "Invoice No", "Bill No", "Receipt No", "Doc No", "No. Resit"],
        "date": ["Tarikh", "Date"], "due": ["Tarikh Akhir"], "order": ["No. Pesanan"],
        "custno": ["Member No"], "orderdate": ["Print Date"],
        "billto": ["Kepada", "Customer"], "seller": ["Penjual"],
        "subtotal": ["Sub Total", "Total Sales (Excluding GST)", "Jumlah Kecil"],
        "tax": ["GST", "Total GST", "SST", "Cukai"],
        "total": ["TOTAL", "Total Amount", "Jumlah", "TOTAL (RM)", "Total Sales (Inclusive of GST)",
                  "NETT TOTAL", "Total Amt"],
        "due_amount": ["Amount Due"], "paid": ["Total Rounded", "Rounded Total (RM)", "Amount Paid"],
        "cash": ["CASH", "Tunai", "VISA", "CARD"], "change": ["CHANGE", "Baki"],
        "rounding": ["Rounding", "Rounding Adj"], "qty": ["Qty"], "desc": ["Description", "Item"],
        "price": ["Price", "U.Price"], "amount": ["Amount", "Amt (RM)"], "tel": ["TEL", "Tel No"],
        "fax": ["FAX"], "taxid": ["GST ID", "GST Reg No", "SST No"],
        "receipt": ["TAX INVOICE", "RECEIPT", "CASH BILL", "SIMPLIFIED TAX INVOICE", "RESIT"],
        "cashier": ["Cashier", "Juruwang"], "thanks": ["THANK YOU", "TERIMA KASIH"],
        "terms": ["Goods sold are not returnable"], "page": ["Page"], "time": ["Time", "Masa"],
        "items": ["Total Qty", "Item Count"],
    },
}

# language -> (currency choices, number style choices, date style choices)
LOCALE: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "en": (("USD", "GBP", "EUR", "AUD", "CAD", "INR", "SGD"), ("en", "en", "ch"),
           ("dmy/", "mdy/", "iso", "d mon y", "mon d, y", "dd-mon-yy")),
    "de": (("EUR", "CHF"), ("de", "ch", "fr"), ("dmy.", "d. mon y", "iso")),
    "fr": (("EUR", "CHF"), ("fr", "de"), ("dmy/", "d mon y")),
    "nl": (("EUR",), ("de", "en"), ("dmy-", "d mon y", "dmy/")),
    "es": (("EUR", "MXN"), ("de", "en"), ("dmy/", "d mon y")),
    "it": (("EUR",), ("de",), ("dmy/", "dmy.", "d mon y")),
    "pt": (("EUR", "BRL"), ("de", "fr"), ("dmy/", "d mon y")),
    "sv": (("SEK",), ("fr", "de"), ("iso", "d mon y")),
    "pl": (("PLN",), ("fr", "de"), ("dmy.", "iso")),
    "ms": (("MYR",), ("en",), ("dmy/", "dmy-", "d mon y", "dd-mon-yy", "dmy/yy")),
}
MONTHS = {
    "en": "January February March April May June July August September October November December",
    "de": "Januar Februar März April Mai Juni Juli August September Oktober November Dezember",
    "fr": "janvier février mars avril mai juin juillet août septembre octobre novembre décembre",
    "nl": "januari februari maart april mei juni juli augustus september oktober november december",
    "es": "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre",
    "it": "gennaio febbraio marzo aprile maggio giugno luglio agosto settembre ottobre novembre dicembre",
    "pt": "janeiro fevereiro março abril maio junho julho agosto setembro outubro novembro dezembro",
    "sv": "januari februari mars april maj juni juli augusti september oktober november december",
    "pl": "stycznia lutego marca kwietnia maja czerwca lipca sierpnia września października listopada grudnia",
    "ms": "Jan Feb Mac Apr Mei Jun Jul Ogos Sep Okt Nov Dis",
}
LEGAL = {
    "en": ["Ltd", "Limited", "Inc.", "LLC", "Corp.", "PLC", "Pty Ltd", "Pvt. Ltd.", "Pte Ltd",
           "Co., Ltd.", "K.K.", "LLP"],
    "de": ["GmbH", "AG", "GmbH & Co. KG", "KG", "UG"], "fr": ["SARL", "SAS", "S.A.", "EURL"],
    "nl": ["B.V.", "N.V.", "VOF"], "es": ["S.L.", "S.A.", "S.A. de C.V."],
    "it": ["S.p.A.", "S.r.l.", "S.a.s."], "pt": ["Lda.", "S.A.", "Ltda."],
    "sv": ["AB", "Oy", "ApS", "A/S", "AS"], "pl": ["Sp. z o.o.", "S.A."],
    "ms": ["SDN BHD", "SDN. BHD.", "S/B", "BHD", "ENTERPRISE", "TRADING", "PLT"],
}
SYLLABLES = ("nor lin ka ve ra to mi san del bor tek mar lo fen qua zi pe ru hal dan kor wes "
             "ost gra vin tal mek sol ber cam dor fal gen hor jus kel lum nex pra rio sta tur "
             "ul vox yar zen").split()
BUSINESS = ("Trading Systems Supplies Engineering Foods Hardware Stationery Logistics Consulting "
            "Restaurant Bakery Mart Electrical Studio Books Furniture Motors Pharmacy Cafe "
            "Industries Services Solutions Market Kitchen Deco Printing").split()
STREETS = {
    "en": ["{n} {name} Street", "{n} {name} Road", "Unit {n}, {name} Avenue", "{n} {name} Lane"],
    "de": ["{name}straße {n}", "{name}weg {n}", "Am {name}platz {n}"],
    "fr": ["{n} rue de {name}", "{n} avenue {name}", "{n}, boulevard {name}"],
    "nl": ["{name}straat {n}", "{name}laan {n}", "{name}gracht {n}"],
    "es": ["Calle {name} {n}", "Avenida de {name}, {n}"], "it": ["Via {name} {n}", "Corso {name}, {n}"],
    "pt": ["Rua {name}, {n}", "Avenida {name} {n}"], "sv": ["{name}gatan {n}", "{name}vägen {n}"],
    "pl": ["ul. {name} {n}", "al. {name} {n}"],
    "ms": ["NO. {n}, JALAN {name} {m}", "LOT {n}, JLN {name} {m}/{k}", "{n}, JALAN {name}",
           "NO: {n}, JALAN {name} {m}", "{n}-{m}, JALAN {name} {k}/{m}",
           "NO {n}-{m}, JALAN {name} {k}"],
}
CITIES = {
    "en": [("London", "EC1A {k}AB"), ("Leeds", "LS{k} 4AB"), ("Springfield, IL", "627{k}{k}"),
           ("Austin, TX", "787{k}{k}"), ("Toronto ON", "M5V {k}A{k}"), ("Mumbai", "4000{k}{k}")],
    "de": [("Hamburg", "20{k}{k}{k}"), ("Berlin", "10{k}{k}{k}"), ("München", "80{k}{k}{k}")],
    "fr": [("Paris", "750{k}{k}"), ("Lyon", "6900{k}"), ("Genève", "12{k}{k}")],
    "nl": [("Amsterdam", "10{k}{k} AB"), ("Utrecht", "35{k}{k} CD")],
    "es": [("Madrid", "280{k}{k}"), ("Sevilla", "410{k}{k}")],
    "it": [("Milano", "201{k}{k}"), ("Roma", "001{k}{k}")],
    "pt": [("Lisboa", "1000-{k}{k}{k}"), ("Porto", "4000-{k}{k}{k}")],
    "sv": [("Stockholm", "11{k} {k}{k}"), ("Göteborg", "41{k} {k}{k}")],
    "pl": [("Warszawa", "00-{k}{k}{k}"), ("Kraków", "30-{k}{k}{k}")],
    "ms": [("KUALA LUMPUR", "5{k}{k}00"), ("PETALING JAYA, SELANGOR", "47{k}00"),
           ("JOHOR BAHRU, JOHOR", "81{k}00"), ("SHAH ALAM SELANGOR", "40{k}{k}0")],
}
COUNTRIES = {"en": ["United Kingdom", "USA", ""], "de": ["Deutschland", ""], "fr": ["France", ""],
             "nl": ["Nederland", ""], "es": ["España", ""], "it": ["Italia", ""],
             "pt": ["Portugal", ""], "sv": ["Sverige", ""], "pl": ["Polska", ""],
             "ms": ["MALAYSIA", ""]}
ITEMS = ("Consulting hours|Widget A|Cable 2m|Service fee|Paper A4|Shipping|Licence|Repair work|"
         "Coffee|Bread|Milk 1L|Notebook|Pen blue|Battery AA|Soap|Rice 5kg|Noodles|Tea|Sugar|"
         "Chicken rice|Iced tea|Mineral water|Hosting plan|Domain renewal|Support|Travel|"
         "Cleaning|Screws M4|Paint 1L|Lamp").split("|")
# fmt: on

# A company's registration details and bank, as footers print them ({n}: a number, {city},
# {cap}: a share capital, {form}: the legal form).
REGISTRATION = {
    "en": [
        "Registered in England and Wales No. {n}",
        "Company No. {n}",
        "Registered office: {addr}",
        "Directors: {person}",
    ],
    "de": [
        "Registergericht {city} HRB {n}",
        "Sitz der Gesellschaft: {city}",
        "Geschäftsführer: {person}",
        "Vorstand: {person}",
        "Stammkapital {cap} EUR",
    ],
    "fr": [
        "{form} au capital de {cap} € - RCS {city} B {n}",
        "Siège social : {addr}",
        "SIRET {n}00017",
    ],
    "nl": ["KvK {n}", "Statutair gevestigd te {city}"],
    "es": ["Inscrita en el Registro Mercantil de {city}, hoja {n}", "CIF B{n}"],
    "it": ["Capitale sociale € {cap} i.v.", "REA {city} {n}", "Sede legale: {addr}"],
    "pt": ["Capital social {cap} €", "NIPC {n}", "Sede: {addr}"],
    "sv": ["Org.nr {n}", "Säte: {city}", "Styrelsens säte: {city}"],
    "pl": ["KRS {n}", "Kapitał zakładowy {cap} zł", "REGON {n}"],
    "ms": ["(Co. Reg. No. {n}-X)", "Company No. {n}", "Registered office: {addr}"],
}
BANK = {"en": ["Bank details", "Bank"], "de": ["Bankverbindung", "Bank"], "fr": ["Banque"],
        "nl": ["Bank"], "es": ["Banco"], "it": ["Banca"], "pt": ["Banco"], "sv": ["Bank"],
        "pl": ["Bank"], "ms": ["Bank"]}  # fmt: skip
ACCOUNT = {"en": ["Account No.", "Acct"], "de": ["Kto-Nr.", "Konto"], "fr": ["Compte"],
           "nl": ["Rekening"], "es": ["Cuenta"], "it": ["Conto"], "pt": ["Conta"],
           "sv": ["Bankgiro", "Konto"], "pl": ["Konto"], "ms": ["Account No."]}  # fmt: skip

SYMBOL = {"USD": "$", "GBP": "£", "EUR": "€", "AUD": "A$", "CAD": "C$", "INR": "Rs.",
          "SGD": "S$", "CHF": "CHF", "MXN": "$", "BRL": "R$", "SEK": "kr", "PLN": "zł",
          "MYR": "RM"}  # fmt: skip


@dataclass
class Doc:
    """A generated document: its PDF bytes, what it prints, and how it was made."""

    pdf: bytes
    truth: dict[str, Any]
    schema: str  # "invoice" | "receipt"
    layout: str
    language: str
    meta: dict[str, Any] = field(default_factory=dict)


# ---- values -----------------------------------------------------------------------------------


def _money(rng: random.Random, v: float, style: str) -> str:
    neg = v < 0
    s = f"{abs(v):,.2f}"
    if style == "de":
        s = s.replace(",", "X").replace(".", ",").replace("X", ".")
    elif style == "fr":
        s = s.replace(",", " ").replace(".", ",")
    elif style == "ch":
        s = s.replace(",", "'")
    if abs(v) < 1000 and rng.random() < 0.3:
        s = s.replace(".", "").replace(",", "").replace("'", "").replace(" ", "")
        s = s[:-2] + ("," if style in ("de", "fr") else ".") + s[-2:]
    return ("-" if neg else "") + s


def _amount_text(rng: random.Random, v: float, style: str, cur: str, mode: int) -> str:
    s = _money(rng, v, style)
    sym = SYMBOL.get(cur, cur)
    if mode == 0:
        return s
    if mode == 1:
        return f"{sym}{s}" if len(sym) <= 2 and sym not in ("kr", "zł") else f"{s} {sym}"
    if mode == 2:
        return f"{s} {cur}"
    return f"{cur} {s}"


def _date_text(rng: random.Random, d: date, style: str, lang: str) -> str:
    months = MONTHS[lang].split()
    mon = months[d.month - 1]
    if style == "dmy/":
        return f"{d.day:02d}/{d.month:02d}/{d.year}"
    if style == "dmy/yy":
        return f"{d.day:02d}/{d.month:02d}/{d.year % 100:02d}"
    if style == "mdy/":
        return f"{d.month:02d}/{d.day:02d}/{d.year}"
    if style == "dmy.":
        return f"{d.day:02d}.{d.month:02d}.{d.year}"
    if style == "dmy-":
        return f"{d.day:02d}-{d.month:02d}-{d.year}"
    if style == "iso":
        return d.isoformat()
    if style == "d mon y":
        short = lang in ("en", "ms", "de", "nl", "sv") and rng.random() < 0.5
        return f"{d.day} {mon[:3] if short else mon} {d.year}"
    if style == "d. mon y":
        return f"{d.day}. {mon} {d.year}"
    if style == "mon d, y":
        return f"{mon} {d.day}, {d.year}"
    if style == "dd-mon-yy":
        return f"{d.day:02d}-{mon[:3].upper()}-{d.year % 100:02d}"
    return d.isoformat()


def _name(rng: random.Random, lang: str, legal: bool = True) -> str:
    word = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()
    parts = [word]
    if rng.random() < 0.6:
        parts.append(rng.choice(BUSINESS))
    if rng.random() < 0.25:
        parts.insert(0, "".join(rng.choice(SYLLABLES) for _ in range(2)).capitalize())
    if rng.random() < 0.15:
        parts.insert(len(parts) - 1, "&")
        parts.insert(len(parts) - 1, rng.choice(SYLLABLES).capitalize() + "son")
    if legal:
        parts.append(rng.choice(LEGAL[lang] + (LEGAL["en"] if rng.random() < 0.2 else [])))
    name = " ".join(parts)
    return name.upper() if lang == "ms" or rng.random() < 0.15 else name


def _person(rng: random.Random) -> str:
    first = rng.choice(
        "Anna Ben Chen Dana Emil Farah Goh Hana Ivan Jun Kim Lea Mei Nur Omar".split()
    )
    last = "".join(rng.choice(SYLLABLES) for _ in range(2)).capitalize()
    return f"{first} {last}"


def _address(rng: random.Random, lang: str) -> list[str]:
    street_name = "".join(rng.choice(SYLLABLES) for _ in range(2)).capitalize()
    street = rng.choice(STREETS[lang]).format(
        n=rng.randint(1, 250), name=street_name if lang != "ms" else street_name.upper(),
        m=rng.randint(1, 20), k=rng.randint(1, 9),
    )  # fmt: skip
    city, code = rng.choice(CITIES[lang])
    code = code.format(k=rng.randint(1, 9))
    lines = [street]
    if rng.random() < 0.3:
        area = "".join(rng.choice(SYLLABLES) for _ in range(2)).capitalize()
        lines.append(("TAMAN " + area.upper()) if lang == "ms" else f"{area} District")
    lines.append(f"{code} {city}" if lang != "en" or rng.random() < 0.5 else f"{city} {code}")
    country = rng.choice(COUNTRIES[lang])
    if country:
        lines.append(country)
    return lines


def _id(rng: random.Random) -> str:
    shapes = [
        lambda: f"INV-{rng.randint(2019, 2026)}-{rng.randint(1, 99999):05d}",
        lambda: str(rng.randint(10000, 99999999)),
        lambda: str(rng.randint(100, 9999)),  # short numbers too
        lambda: f"{rng.choice('ABCDEFGHKMRS')}{rng.randint(100, 999999)}",
        lambda: f"{rng.randint(1, 999)}/{rng.randint(2019, 2026)}",
        lambda: (
            f"{rng.choice(['F', 'RE', 'FA', 'CS', 'TI'])}{rng.randint(10, 99)}-{rng.randint(1000, 99999)}"
        ),
        lambda: f"#{rng.randint(1000, 999999)}",
    ]
    return rng.choice(shapes)()


def _taxid(rng: random.Random, lang: str) -> str:
    prefix = {"de": "DE", "fr": "FR", "nl": "NL", "es": "ES", "it": "IT", "pt": "PT", "sv": "SE",
              "pl": "PL", "en": "GB", "ms": "000"}[lang]  # fmt: skip
    return f"{prefix}{rng.randint(100000000, 999999999)}"


# ---- drawing ----------------------------------------------------------------------------------


_UNICODE_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
_ASCII = str.maketrans(
    {
        "€": "EUR ",
        "₹": "Rs.",
        "ł": "l",
        "Ł": "L",
        "ę": "e",
        "ą": "a",
        "ó": "o",
        "ś": "s",
        "ż": "z",
        "ź": "z",
        "ć": "c",
        "ń": "n",
        "Ę": "E",
        "Ś": "S",
    }
)


class _Canvas:
    def __init__(self, width: float, height: float, font: str) -> None:
        import pymupdf

        self.pdf = pymupdf.open()
        self.page = self.pdf.new_page(width=width, height=height)
        self.font = font
        self.width, self.height = width, height

    def text(self, x: float, y: float, s: str, size: float = 9, bold: bool = False,
             align: str = "left") -> None:  # fmt: skip
        import pymupdf

        if not s:
            return
        font = {"helv": "hebo", "tiro": "tibo", "cour": "cobo"}[self.font] if bold else self.font
        kw: dict[str, Any] = {"fontname": font}
        if any(ord(ch) > 255 for ch in s):  # beyond Latin-1: a Unicode font, where there is one
            if _UNICODE_FONT.is_file():
                kw = {"fontname": "dejavu", "fontfile": str(_UNICODE_FONT)}
            else:
                s = s.translate(_ASCII)
        w = (
            pymupdf.Font(fontfile=str(_UNICODE_FONT)).text_length(s, fontsize=size)
            if "fontfile" in kw
            else pymupdf.get_text_length(s, fontname=font, fontsize=size)
        )
        if align == "right":
            x -= w
        elif align == "center":
            x -= w / 2
        self.page.insert_text((x, y), s, fontsize=size, **kw)

    def rule(self, y: float, x0: float = 40, x1: float | None = None) -> None:
        self.page.draw_line((x0, y), (x1 or self.width - 40, y), width=0.5)

    def bytes(self) -> bytes:
        data = self.pdf.tobytes()
        self.pdf.close()
        return data


def _pick(rng: random.Random, lang: str, key: str) -> str:
    return rng.choice(L[lang][key])


# ---- invoices ---------------------------------------------------------------------------------


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
        "invoice_number": number,
        "issue_date": issue.isoformat(),
        "due_date": due.isoformat() if any(k in L[lang]["due"] for k, _ in meta) else None,
        "purchase_order": order,
        "currency": cur,
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


# ---- receipts ---------------------------------------------------------------------------------


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
    y = 24.0
    size = rng.choice([7.0, 7.5, 8.0])
    center = rng.random() < 0.75
    ax = W / 2 if center else x0
    al = "center" if center else "left"
    if layout == "brand":
        c.text(ax, y, U(merchant.split()[0]), size + 5, bold=True, align=al)
        y += 16
    if layout == "minimal" and rng.random() < 0.5:
        c.text(ax, y, U(_person(rng)), size, align=al)  # an owner's name above the company
        y += 11
    name_size = size + (1.5 if rng.random() < 0.5 else 0)
    bold = rng.random() < 0.5
    regno = f"({rng.randint(100000, 9999999)}{rng.choice(['-', ' '])}{rng.choice('AHKMPTUVWX')})"
    words = merchant.split()
    where = rng.random()
    if len(words) >= 3 and where < 0.2:  # the name over two lines ("POPULAR BOOK" / "CO. SDN BHD")
        cut = rng.randint(1, len(words) - 1)
        c.text(ax, y, " ".join(words[:cut]), name_size + rng.choice([0, 2]), bold=bold, align=al)
        y += 14
        c.text(ax, y, " ".join(words[cut:]), name_size, bold=bold, align=al)
        y += 11
    elif where < 0.35:  # the registration number on the name's line
        c.text(ax, y, f"{merchant} {regno}", name_size, bold=bold, align=al)
        y += 11
    else:
        c.text(ax, y, merchant, name_size, bold=bold, align=al)
        y += 11
    if where >= 0.35 and rng.random() < 0.5:
        c.text(ax, y, regno, size, align=al)
        y += 10
    d = date(2015, 1, 1) + timedelta(days=rng.randint(0, 3500))
    dtext = _date_text(rng, d, dstyle, lang)
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
    for i, line in enumerate(addr):
        parts = line.split(" ", 1)
        if not center and i == len(addr) - 1 and len(parts) == 2 and rng.random() < 0.3:
            # the last line's words spread apart ("53300    KL    Site 10"): several phrases
            c.text(ax, y, parts[0], size)
            c.text(ax + W * rng.uniform(0.3, 0.45), y, parts[1], size)
        else:
            c.text(ax, y, line, size, align=al)
        y += 10
    if rng.random() < 0.8:
        tel = f"{U(_pick(rng, lang, 'tel'))}: 0{rng.randint(1, 9)}-{rng.randint(1000000, 9999999)}"
        if rng.random() < 0.3:  # the number alone
            tel = f"+60{rng.randint(1, 9)}-{rng.randint(1000, 9999)} {rng.randint(1000, 9999)}"
        if rng.random() < 0.4:
            tel += f"  {U(_pick(rng, lang, 'fax'))}: 0{rng.randint(1, 9)}-{rng.randint(1000000, 9999999)}"
        c.text(ax, y, tel, size, align=al)
        y += 10
    if rng.random() < 0.6:
        c.text(ax, y, f"{U(_pick(rng, lang, 'taxid'))}: {_taxid(rng, lang)}", size, align=al)
        y += 10
    y += 8
    c.text(W / 2, y, U(_pick(rng, lang, "receipt")), size + 1, bold=True, align="center")
    y += 16
    docno = _id(rng)
    meta_style = rng.random()
    if meta_style < 0.4:
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
        rows.append((_pick(rng, lang, "paid"), paid))
    else:
        rows.append((total_label, paid))
    rows.append((_pick(rng, lang, "cash"), cash))
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
    c.text(W / 2, y, U(_pick(rng, lang, "thanks")), size, align="center")
    truth = {
        "merchant": merchant,
        "address": " ".join(addr),
        "date": d.isoformat(),
        "total": paid,
        "time": t,
    }
    return Doc(c.bytes(), truth, "receipt", layout, lang, {"seed": seed})


def documents(
    n: int,
    *,
    seed: int = 0,
    kinds: tuple[str, ...] = ("invoice", "receipt"),
    layouts: tuple[str, ...] | None = None,
    languages: tuple[str, ...] | None = None,
) -> list[Doc]:
    """``n`` documents alternating over ``kinds``, layouts and languages drawn from the lists."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        kind = kinds[i % len(kinds)]
        pool = INVOICE_LAYOUTS if kind == "invoice" else RECEIPT_LAYOUTS
        lay = rng.choice([x for x in pool if layouts is None or x in layouts] or list(pool))
        lang = rng.choice(list(languages or LANGUAGES))
        make = invoice if kind == "invoice" else receipt
        out.append(make(seed * 100003 + i, lay, lang))
    return out
