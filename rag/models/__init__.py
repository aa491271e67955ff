"""Local models and their upkeep: text and image embedders, precision, bundled models, sentence vectors."""
