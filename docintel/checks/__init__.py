"""Checks on model output: schema and semantic checks, grounding, LaTeX validity."""
