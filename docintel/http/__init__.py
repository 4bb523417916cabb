"""The HTTP service: extraction, LaTeX and a Mathpix-compatible endpoint."""
