"""The HTTP API from a client's side: start the service, send a formula image, get LaTeX.

    python examples/latex_api.py [ENGINE]

ENGINE defaults to "auto" (in-process vLLM on a GPU with Pixtral's weights, or the server in
DOCINTEL_SERVER_URL). With "tiny", the service runs the real code path on the tiny
random-weight Pixtral that docintel builds offline: the LaTeX is noise (and usually invalid),
but every answer has the documented shape. In production, run `docintel serve` instead.
"""

import io
import sys

import httpx
from PIL import Image, ImageDraw

import docintel
from docintel.http.app import create_app
from docintel.testing.server import running

engine = sys.argv[1] if len(sys.argv) > 1 else "auto"
settings = docintel.get_settings(max_tokens=96, max_attempts=2)
if engine == "tiny":
    from docintel.testing import tiny_pixtral

    model = str(tiny_pixtral.build(tiny_pixtral.default_path()))
    settings = docintel.get_settings(model=model, max_tokens=96, max_attempts=2)
    engine = "transformers"

app = create_app(settings, engine=engine)
with running(app, timeout=600) as base:  # uvicorn on 127.0.0.1, once /readyz says ready
    image = Image.new("RGB", (360, 90), "white")
    ImageDraw.Draw(image).text((20, 30), "E = m c^2", fill="black", font_size=32)
    png = io.BytesIO()
    image.save(png, format="PNG")

    response = httpx.post(
        f"{base}/v1/latex", files={"file": ("formula.png", png.getvalue())}, timeout=600
    )
    print(response.status_code, response.headers["content-type"])
    for formula in response.json()["formulas"]:
        print(f"valid={formula['valid']} confidence={formula['confidence']}")
        print(f"  latex={formula['latex']!r}")
        print(f"  {formula['attempts']} attempt(s), errors: {formula['errors'][:2]}")

    problem = httpx.post(f"{base}/v1/latex", json={"url": "http://10.0.0.1/x.png"})
    print(problem.status_code, problem.json()["detail"])  # URL inputs are off by default
