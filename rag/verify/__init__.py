"""The citation check: which answer sentences their sources support (check), its text and code rules."""
