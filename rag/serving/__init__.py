"""What the chat UI and the HTTP/MCP API share when they serve: the engine pool (pool) and the Host check (hosts)."""
