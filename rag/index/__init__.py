"""What is indexed and how to find it again: the Chroma store, the lexical (BM25) index, passages, versions."""
