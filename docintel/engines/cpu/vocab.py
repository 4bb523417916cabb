"""The words documents print for common fields, in several languages."""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

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
        "factuur", "facture", "numero fattura", "numero de factura", "nota fiscal",
        "fakturanummer", "fakturanr", "laskun numero", "faktura nr", "numer faktury", "bill",
    ),
    "issue_date": (
        "invoice date", "issue date", "date of issue", "date issued", "billing date",
        "rechnungsdatum", "factuurdatum", "date de facture", "date facture", "fecha de factura",
        "data fattura", "data da fatura", "fakturadatum", "laskun paivays", "data wystawienia",
        "tarikh", "datum", "date", "fecha", "data", "dated",
    ),
    "due_date": (
        "due date", "payment due date", "payment due", "date due", "pay by", "faelligkeitsdatum",
        "falligkeitsdatum", "fallig am", "zahlungsziel", "vervaldatum", "date d echeance",
        "echeance", "fecha de vencimiento", "scadenza", "data di scadenza", "vencimento",
        "forfallodato", "forfallsdatum", "erapaiva", "termin platnosci", "due",
    ),
    "purchase_order": (
        "purchase order", "po number", "po no", "p o number", "p o no", "purchase order number",
        "order number", "bestellnummer", "po", "your order", "ihre bestellung", "bon de commande",
        "ordine", "pedido",
    ),
    "total": (
        "grand total", "total ttc", "invoice total", "total amount", "amount total", "total incl",
        "total eur", "total usd", "gesamtbetrag", "rechnungsbetrag", "endbetrag", "montant total",
        "importe total", "totale", "totaal", "gesamt", "summe", "total", "total to pay",
        "amount paid", "total paid", "total payable", "net total", "nett total", "total rm",
        "total rounded", "rounded total", "jumlah", "jumlah bayaran", "yhteensa", "summa",
        "totalt", "att betala", "razem", "valor total", "total a pagar", "totale documento",
        "totale fattura", "to pay",
    ),
    "subtotal": (
        "subtotal", "sub total", "net amount", "total net", "total ht", "total excl", "montant ht",
        "sous total", "zwischensumme", "nettobetrag", "summe netto", "subtotaal", "exclusief btw",
        "totaal excl", "netto", "imponibile", "base imponible", "subtotale", "valor liquido",
        "total before tax", "total excluding tax", "amount before tax", "nettosumma",
    ),
    "tax": (
        "tax", "vat", "sales tax", "tax amount", "vat amount", "total tax", "total vat", "gst",
        "tva", "mwst", "ust", "umsatzsteuer", "mehrwertsteuer", "btw", "iva", "sst", "moms",
        "alv", "vat total", "gst amount", "total gst", "service tax",
    ),
    "tax_rate": (
        "tax rate", "vat rate", "tax %", "vat %", "tax", "vat", "sales tax", "gst", "tva", "mwst",
        "ust", "btw", "iva",
    ),
    "amount_due": (
        "amount due", "balance due", "total due", "total amount due", "amount payable", "balance",
        "zu zahlen", "zahlbetrag", "te betalen", "net a payer", "reste a payer", "saldo",
        "importe a pagar", "da pagare", "amount to pay", "please pay",
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
    "time": ("time", "uhrzeit", "heure", "tijd", "masa", "ora", "hora"),
    # Values that look like a field's but are something else: they teach the scorer what a
    # label is not (never a field of their own unless a schema names them).
    "cash": (
        "cash", "tendered", "cash tendered", "amount tendered", "received", "paid by", "card",
        "credit card", "visa", "mastercard", "payment", "bar", "gegeben", "especes", "efectivo",
        "contanti", "tunai",
    ),
    "change": ("change", "change due", "cash change", "ruckgeld", "wechselgeld", "rendu", "cambio",
               "baki"),
    "rounding": ("rounding", "rounding adj", "rounding adjustment", "round off", "rundung",
                 "arrondi", "adj"),
    "quantity": ("qty", "quantity", "items", "total qty", "total items", "no of items", "menge",
                 "anzahl", "count"),
    "phone": ("tel", "phone", "telephone", "fax", "mobile", "hp", "telefon", "tlf", "ph"),
    "order_date": ("order date", "delivery date", "date of supply", "service date", "ship date",
                   "shipping date", "lieferdatum", "bestelldatum", "leistungsdatum",
                   "date de livraison", "period", "printed", "print date", "valid until",
                   "expiry", "exp"),
    "customer_number": ("customer no", "customer number", "customer id", "account no",
                        "account number", "client no", "kundennummer", "kunden nr", "member",
                        "member no", "card no", "membership"),
    "document_id": ("document no", "document number", "doc no", "booking", "booking no",
                    "booking reference", "reference", "ref", "ref no", "order no", "order id",
                    "receipt no", "receipt number", "bill no", "transaction", "trans no",
                    "txn", "slip no", "cheque no", "check no", "ticket", "belegnummer",
                    "beleg nr", "bon nr", "no resit", "resit", "folio", "id"),
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
    "se", "cv", "vof", "bvba", "sprl", "lda", "bhd", "sdnbhd", "sb", "pteltd", "pvtltd",
    "ptyltd", "coltd", "ltda", "sro", "spzoo", "doo", "kft", "oyj", "asa", "snc", "sapa",
    "sagl", "kgaa", "pllc", "incorporated", "tbk", "gk", "yk", "sae", "sal", "sad", "ooo",
    "zao", "ou", "uab", "sia", "lc", "pc", "cokg", "gmbhcokg", "berhad", "sendirian",
    "kabushikikaisha", "aktiengesellschaft", "aktiebolag", "osakeyhtio",
}  # fmt: skip
# Words frequent in business names (not legal forms): a hint that a phrase names a business.
_BUSINESS = {
    "enterprise", "enterprises", "trading", "traders", "restaurant", "restoran", "store",
    "stores", "shop", "mart", "market", "supermarket", "minimarket", "cafe", "bakery",
    "hardware", "stationery", "pharmacy", "hotel", "services", "service", "solutions",
    "industries", "holdings", "group", "international", "marketing", "supplies", "supply",
    "electrical", "engineering", "studio", "gallery", "boutique", "kitchen", "food", "foods",
    "bistro", "bar", "pub", "station", "motors", "auto", "systems", "technologies", "tech",
    "consulting", "design", "media", "logistics", "transport", "books", "book", "printing",
    "furniture", "deco", "florist", "salon", "clinic", "center", "centre", "house", "express",
    "global", "retail", "wholesale", "import", "export", "handel", "werkstatt", "laden",
    "boulangerie", "librairie", "tienda", "negozio", "kedai", "perniagaan", "syarikat",
}  # fmt: skip


# Words of a company's registration details (a footer's "registered office", "share capital",
# "register court HRB 123", "RCS Paris B 530...", "Company No."): what follows a legal name.
_REGISTRATION = {
    "capital", "rcs", "siret", "siren", "hrb", "hra", "registergericht", "amtsgericht",
    "handelsregister", "registered", "regd", "registration", "register", "registro", "kvk",
    "krs", "regon", "cin", "uen", "roc", "crn", "sitz", "siege", "social", "sociale",
    "geschaftsfuhrer", "vorstand", "aufsichtsrat", "rea", "cif", "nipc", "orgnr", "ust",
    "ustid", "vat", "tva", "iva", "btw", "abn", "acn", "kapital", "stammkapital", "kapitał",
    "zakladowy", "inscrita", "mercantil", "statutair", "gevestigd", "sate",
}  # fmt: skip


# Document titles: not a vendor name, and no part of an address.
_TITLES = {
    "invoice", "invoices", "tax", "bill", "rechnung", "factuur", "facture", "fattura",
    "factura", "receipt", "quittung", "credit", "note", "gutschrift", "statement", "original",
    "copy", "proforma", "pro", "forma", "commercial", "kassenbon", "bon", "recu", "simplified",
    "cash", "sales", "official", "duplicate", "reprint", "customer", "merchant", "order",
    "quotation", "delivery", "ticket", "fatura", "faktura", "lasku", "resit",
    "rasmi", "cukai", "quittance", "scontrino", "ricevuta", "kvitto", "kuitti", "recibo",
    "talao", "paragon", "fiskalny", "rachunek", "kassabon", "bonnetje", "kvittering", "boleta",
}  # fmt: skip


@lru_cache(maxsize=8192)
def _title_token(tok: str) -> bool:
    return tok in _TITLES or any(
        tok[:i] in _TITLES and _title_token(tok[i:]) for i in range(2, len(tok) - 1)
    )


def titled(toks: Iterable[str]) -> bool:
    """Tokens that only spell a document title, words apart or glued ("tax invoice",
    "taxinvoice", "CASHSALES"): a title, not a name and not part of an address."""
    toks = tuple(toks)
    return bool(toks) and all(_title_token(t) for t in toks)


_NUMBER_WORDS = {"no", "nr", "n", "num", "number", "nummer", "numero", "nro", "nos"}


_ID_WORDS = {"number", "no", "nr", "num", "id", "code", "ref", "reference", "order"}
