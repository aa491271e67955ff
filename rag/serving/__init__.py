"""What the chat UI and the HTTP/MCP API share when they serve: the engine pool (and, later, hosts)."""
