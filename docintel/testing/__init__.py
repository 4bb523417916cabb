"""Helpers for tests and examples: real code paths on tiny, offline models.

``docintel.testing.tiny_pixtral`` builds a random-weight model in Pixtral 12B's exact layout
(real tokenizer, real processor), so engines can be exercised end to end without a model hub
or a GPU. Importing this package is cheap; the builder imports torch only when used.
"""
