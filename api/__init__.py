"""Thin edges for other tools over the same Engine: an OpenAI-compatible HTTP API and an MCP server.

Importing this package imports nothing heavy: FastAPI, uvicorn and the MCP SDK load inside the
functions that build the servers (`rag serve`, `rag mcp`).
"""
