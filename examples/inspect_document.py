"""Load a document, look at its pages and layout regions, and crop a table at high resolution.

python examples/inspect_document.py [FILE]
"""

import sys
from pathlib import Path

import docintel
from docintel.pages.overlay import draw_regions

default = Path(__file__).parents[1] / "fixtures/invoice-1.pdf"
path = Path(sys.argv[1]) if len(sys.argv) > 1 else default
doc = docintel.load(path)
print(doc)
for page in doc:
    print(f"page {page.index + 1}: {page.kind.value}, {len(page.words)} words, {page.tokens()} tok")
    for region in page.regions:
        print(f"  {region.kind.value:12} {[round(v) for v in region.bbox.as_tuple()]}")
    for i, table in enumerate(page.regions_of("table")):
        crop = page.crop(table, longest_side=1024)  # sharper than the table inside the full page
        crop.save(f"table-{page.index + 1}-{i + 1}.png")
    draw_regions(page).save(f"overlay-{page.index + 1}.png")
