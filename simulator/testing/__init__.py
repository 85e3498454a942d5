"""Test doubles for Rapport: a local OpenAI-compatible mock server (`simulator.testing.openai_server`)."""
