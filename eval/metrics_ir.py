"""Information-retrieval metrics with BEIR's definitions (pytrec_eval / trec_eval for nDCG, Recall, P).

Inputs are plain dicts: a *run* {query_id: {doc_id: score}} and *qrels* {query_id: {doc_id: relevance}}.
  * A document is relevant when its qrels relevance is > 0; relevance 0 (or absent) is not relevant.
  * Ranking: by score, highest first; ties go to the larger doc id first, as trec_eval breaks them,
    so the same run always gives the same numbers.
  * nDCG@k: gain = relevance (trec_eval's `ndcg_cut`, not 2^rel - 1), discount 1/log2(rank + 1);
    the ideal DCG ranks the query's qrels by relevance.
  * Recall@k = relevant docs in the top k / all relevant docs of the query.
  * P@k = relevant docs in the top k / k (k, even when fewer docs were retrieved).
  * MRR@k = 1 / rank of the first relevant doc within the top k (0 when none), as BEIR's `mrr`.
  * hit@k = 1 when any relevant doc is in the top k.
Means are over the queries that have at least one relevant doc (a query without one has no
defined recall); a query with no retrieved docs scores 0.

Written ourselves: pytrec_eval is not installed here, and these are a few lines each. A test checks
them against sentence-transformers' InformationRetrievalEvaluator.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping

Run = Mapping[str, Mapping[str, float]]
Qrels = Mapping[str, Mapping[str, int]]

_NAME = re.compile(r"(ndcg|recall|p|mrr|hit)@(\d+)")
DEFAULT_METRICS = ("ndcg@10", "recall@10", "recall@100", "mrr@10", "p@1", "hit@10")


def ranked(scores: Mapping[str, float]) -> list[str]:
    """Doc ids best first: score descending, ties by doc id descending (trec_eval's order)."""
    return [d for d, _ in sorted(scores.items(), key=lambda kv: (kv[1], kv[0]), reverse=True)]


def _relevant(judged: Mapping[str, int]) -> dict[str, int]:
    return {d: r for d, r in judged.items() if r > 0}


def ndcg_at_k(ranking: list[str], judged: Mapping[str, int], k: int) -> float:
    """nDCG@k of one ranking (linear gain = relevance, log2 discount)."""
    rel = _relevant(judged)
    dcg = sum(rel.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranking[:k]))
    ideal = sum(r / math.log2(i + 2) for i, r in enumerate(sorted(rel.values(), reverse=True)[:k]))
    return dcg / ideal if ideal > 0 else 0.0


def recall_at_k(ranking: list[str], judged: Mapping[str, int], k: int) -> float:
    rel = _relevant(judged)
    return sum(1 for d in ranking[:k] if d in rel) / len(rel) if rel else 0.0


def precision_at_k(ranking: list[str], judged: Mapping[str, int], k: int) -> float:
    rel = _relevant(judged)
    return sum(1 for d in ranking[:k] if d in rel) / k


def mrr_at_k(ranking: list[str], judged: Mapping[str, int], k: int) -> float:
    rel = _relevant(judged)
    return next((1.0 / (i + 1) for i, d in enumerate(ranking[:k]) if d in rel), 0.0)


def hit_at_k(ranking: list[str], judged: Mapping[str, int], k: int) -> float:
    rel = _relevant(judged)
    return 1.0 if any(d in rel for d in ranking[:k]) else 0.0


_FUNCS = {"ndcg": ndcg_at_k, "recall": recall_at_k, "p": precision_at_k, "mrr": mrr_at_k, "hit": hit_at_k}


def parse_metric(name: str) -> tuple[str, int]:
    """ "ndcg@10" -> ("ndcg", 10); raises ValueError naming the known metrics."""
    m = _NAME.fullmatch(name.lower())
    if not m or int(m.group(2)) < 1:
        raise ValueError(f"unknown metric {name!r}: use ndcg@K, recall@K, p@K, mrr@K or hit@K with K >= 1")
    return m.group(1), int(m.group(2))


def query_metrics(scores: Mapping[str, float], judged: Mapping[str, int], names: Iterable[str] = DEFAULT_METRICS):
    """Every named metric for one query: {"ndcg@10": ..., ...}."""
    ranking = ranked(scores)
    out = {}
    for name in names:
        kind, k = parse_metric(name)
        out[name] = _FUNCS[kind](ranking, judged, k)
    return out


def evaluate(run: Run, qrels: Qrels, names: Iterable[str] = DEFAULT_METRICS) -> dict[str, float]:
    """Mean of each metric over the judged queries that have a relevant doc (missing runs score 0)."""
    names = list(names)
    per_query = [query_metrics(run.get(q, {}), judged, names) for q, judged in qrels.items() if _relevant(judged)]
    if not per_query:
        return {n: 0.0 for n in names}
    return {n: sum(m[n] for m in per_query) / len(per_query) for n in names}
