"""The pipeline: requests built from a schema, the retry loop, extract and transcribe."""
