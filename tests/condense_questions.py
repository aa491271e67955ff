"""Questions for tests/test_retrieval_condense.py: standalone questions after unrelated history, and true follow-ups.

Written before the rules of rag/retrieval/condense.py were tuned. The *_HELD_OUT lists were written at the same
time and not run while tuning: they are the held-out check (reported, asserted only with margin).
"""

from __future__ import annotations

# (an unrelated earlier question, a short standalone question): searched exactly as written
STANDALONE = [
    ("How do I index a scanned PDF?", "Is my data private?"),
    ("How do I remove a file from the index?", "Can it read PDFs?"),
    ("What does error code ZX-4471 mean?", "Where is my data stored?"),
    ("How do I use Ollama instead?", "How do I remove a file?"),
    ("What is the maximum chunk size?", "What vector database does it use?"),
    ("Where is my data stored?", "Does it need internet?"),
    ("How do I skip drafts?", "Does it work offline?"),
    ("Can I run a GGUF model?", "How are answers checked?"),
    ("How many dimensions do the vectors have?", "What is hybrid search?"),
    ("Is my data private?", "How do I skip hidden files?"),
    ("How do I keep separate projects apart?", "What formats are supported?"),
    ("What is the default language model?", "How big can a file be?"),
    ("Why use hybrid search?", "What happens to deleted files?"),
    ("How do I start over from scratch?", "What does a flagged sentence mean?"),
    ("Can it read PDFs?", "How do I watch a folder?"),
    ("What exit code does ingest return?", "Which embedding model is used?"),
    ("How do I add my own folder?", "Is there a file size limit?"),
    ("How are answers checked?", "What if ingestion is interrupted?"),
    ("What does the ingestion report show?", "Why did it refuse to answer?"),
    ("How do I use a bigger model?", "Which files does it skip?"),
]

# (earlier question, follow-up, a word of the earlier subject the search must carry, the file that answers)
FOLLOW_UPS = [
    ("How do I add a folder?", "and how do I remove one?", "folder", "user-guide.md"),
    ("Where is my data stored?", "and on Linux?", "data", "faq.md"),
    ("Which formats are supported?", "what about scanned PDFs?", "formats", "user-guide.md"),
    ("What is hybrid search?", "why is it useful?", "hybrid", "architecture.md"),
    ("What is the default language model?", "can I change it?", "model", "faq.md"),
    ("How do I exclude drafts?", "and hidden files?", "exclude", "user-guide.md"),
    ("What embedding model is used?", "how many dimensions does it have?", "embedding", "architecture.md"),
    ("How do I rebuild a collection?", "why?", "rebuild", "faq.md"),
    ("Can I use Ollama?", "how do I start it?", "Ollama", "faq.md"),
    ("What is the maximum chunk size?", "and the overlap?", "chunk", "architecture.md"),
]

STANDALONE_HELD_OUT = [
    ("How do I add my own folder?", "Does it use the cloud?"),
    ("What is the default model?", "How do I exclude folders?"),
    ("Where is my data stored?", "What is a chunk?"),
    ("Can I use Ollama?", "How are PDFs handled?"),
    ("Why use hybrid search?", "Is an internet connection required?"),
    ("How do I skip drafts?", "Which model writes the answers?"),
    ("What happens if ingestion is interrupted?", "How do I check what's indexed?"),
    ("How many dimensions do vectors have?", "Can it index Word documents?"),
    ("How do I rebuild the index?", "Does ragspace send data anywhere?"),
    ("What does a flagged sentence mean?", "How do I use separate collections?"),
]

FOLLOW_UPS_HELD_OUT = [
    ("How do I watch a folder for changes?", "and stop watching it?", "watch", "user-guide.md"),
    ("Which formats are supported?", "what about Excel?", "formats", "user-guide.md"),
    ("Where is my data stored?", "how do I delete it?", "data", "faq.md"),
    ("What does rag status show?", "and rag remove?", "status", "user-guide.md"),
    ("What is the default language model?", "how big is it?", "model", "architecture.md"),
    ("How do I index a scanned PDF?", "which tool does that?", "scanned", "user-guide.md"),
    ("What happens if ingestion is interrupted?", "and if a file fails?", "ingestion", "user-guide.md"),
    ("How does retrieval work?", "and the answering?", "retrieval", "architecture.md"),
    ("Can I use a bigger language model?", "how?", "model", "faq.md"),
    ("How are answers checked?", "by what method?", "answers", "architecture.md"),
]
