#!/bin/bash
# usage: run_evals.sh SELECTOR  -> fixture + pubmedqa reports under /tmp/jsel/runs/
set -x
cd /work/wt/jsel
export PYTHONPATH=$PWD RAG_HOME=/tmp/jsel/home RAG_EXTRACT_SELECTOR=$1
/work/main/.venv/bin/rag eval answers --qa tests/data/extract/qa.jsonl --docs tests/data/extract/docs --answer-mode extract --llm embedded --no-generated-relevance --out /tmp/jsel/runs/fixture-$1 --json > /tmp/jsel/runs/fixture-$1.json
/work/main/.venv/bin/rag eval answers --pubmedqa /work/shared/datasets/pubmedqa/ori_pqal.json --sample 40 --seed 1 --answer-mode extract --llm embedded --no-generated-relevance --out /tmp/jsel/runs/pubmedqa-$1 --json > /tmp/jsel/runs/pubmedqa-$1.json
