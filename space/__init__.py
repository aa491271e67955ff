"""The embedding space explorer: maps, topics, similarity, duplicates, health and compression of a collection."""
