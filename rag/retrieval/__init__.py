"""From a question to ranked sources: the follow-up rewrite (condense), hybrid retrieval, image search."""
