"""Pages: rendering, image preprocessing, layout regions, OCR and overlays."""
