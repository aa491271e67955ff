"""What the HTTP edges share: the Host check (hosts)."""
