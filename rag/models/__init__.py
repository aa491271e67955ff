"""Local models and their upkeep: text and image embedders, precision checks, bundled model files, threads."""
