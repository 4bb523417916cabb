"""Mathpix's own Python client (mpxpy) against a self-hosted docintel: only the URL changes.

    pip install mpxpy
    python examples/mathpix_client.py [ENGINE]

Starts the service in-process with an API key and sends a formula image to its Mathpix-
compatible ``POST /v3/text`` through ``MathpixClient(api_url=...)``, as a tool built for
Mathpix would. ENGINE defaults to "auto" (in-process vLLM on a GPU with Pixtral's weights, or
the server in DOCINTEL_SERVER_URL); "tiny" runs the real code path on the tiny random-weight
Pixtral docintel builds offline (its LaTeX is noise, the answer's shape is real). Against a
running ``docintel serve --api-key KEY``, point ``api_url`` at it and skip the server part.
"""

import sys
import tempfile
from pathlib import Path

from mpxpy.mathpix_client import MathpixClient
from PIL import Image, ImageDraw

import docintel
from docintel.http.app import create_app
from docintel.testing.server import running

engine = sys.argv[1] if len(sys.argv) > 1 else "auto"
options = {"api_keys": "my-key", "max_tokens": 512, "max_attempts": 2}
if engine == "tiny":
    from docintel.testing import tiny_pixtral

    options["model"] = str(tiny_pixtral.build(tiny_pixtral.default_path()))
    engine = "transformers"

image = Image.new("RGB", (360, 90), "white")
ImageDraw.Draw(image).text((20, 30), "E = m c^2", fill="black", font_size=32)
path = Path(tempfile.mkdtemp()) / "formula.png"
image.save(path)

app = create_app(docintel.get_settings(**options), engine=engine)
with running(app, timeout=600) as base:  # uvicorn on 127.0.0.1, once /readyz says ready
    client = MathpixClient(  # api_url: the one change from a Mathpix setup
        app_id="any", app_key="my-key", api_url=base, request_options={"timeout": 600}
    )
    result = client.image_new(
        file_path=str(path),
        formats=["text", "latex_styled", "data"],
        data_options={"include_latex": True},
        math_inline_delimiters=("$", "$"),
    ).result
    if "error" in result:
        print(result["error_info"])
    else:
        print("latex_styled:", result["latex_styled"][:120])  # the tiny model's: noise
        print("text:        ", result["text"][:120])
        print(
            "confidence:  ",
            result["confidence"],
            f"({result['image_width']}x"
            f"{result['image_height']} px, request {result['request_id']})",
        )

    try:  # a wrong key: 401, as Mathpix answers it (mpxpy raises)
        MathpixClient(app_id="any", app_key="wrong", api_url=base).image_new(file_path=str(path))
    except ValueError as exc:
        print("wrong key:", exc)
