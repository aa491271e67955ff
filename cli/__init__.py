"""The `rag` command: the root and its registry of commands in cli/main.py, one module per command group.

Importing this package does nothing; `python -m cli` runs the command.
"""
