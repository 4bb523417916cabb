"""Every way in: a path, bytes, a file object, base64, a data: URL; and the errors you get.

python examples/load_anything.py
"""

import base64
import io
from pathlib import Path

import docintel

pdf = Path(__file__).parents[1] / "fixtures/invoice-1.pdf"
data = pdf.read_bytes()
b64 = base64.b64encode(data).decode()

for source in (pdf, data, io.BytesIO(data), b64, f"data:application/pdf;base64,{b64}"):
    doc = docintel.load(source)
    print(f"{type(source).__name__:8} -> {doc.kind.value} {doc.sha256[:12]} {len(doc)} page(s)")

encrypted = Path(__file__).parents[1] / "fixtures/encrypted.pdf"
for attempt in (
    lambda: docintel.load(b""),
    lambda: docintel.load(encrypted),
    lambda: docintel.load("http://169.254.169.254/latest/meta-data/"),
    lambda: docintel.load(data, max_bytes=1024),
):
    try:
        attempt()
    except docintel.DocintelError as exc:
        print(f"{type(exc).__name__}: {exc}")
print(docintel.load(encrypted, password="secret"))
