"""Does the model's digit distribution carry any signal once its position bias is removed? And a yes/no per-sentence variant."""
import json, sys, time
import numpy as np
sys.path.insert(0, __import__("os").path.dirname(__file__))
from variants import m, DIG, fmt, probs, v_base, cut
from eval.metrics_answers import token_f1

def score_of(r, c):
    if r.get("key"):
        return [float(r["key"].lower() in t.lower()) for t in c]
    return [token_f1(t, r["reference"]) for t in c]

YES = m.tokenize(b"yes", add_bos=False)[0]; NO = m.tokenize(b"no", add_bos=False)[0]
YES2 = m.tokenize(b"Yes", add_bos=False)[0]; NO2 = m.tokenize(b"No", add_bos=False)[0]
def p_yes(q, t):
    msgs = [{"role": "system", "content": "Answer yes or no."}, {"role": "user", "content": f"Question: {q}\nSentence: {cut(t)}\nDoes the sentence answer the question?"}]
    toks = m.tokenize(fmt(msgs).encode(), add_bos=False, special=True)
    m.reset(); m.eval(toks)
    lg = np.ctypeslib.as_array(m._ctx.get_logits(), shape=(m._n_vocab,)).copy()
    y = np.logaddexp(lg[YES], lg[YES2]); n = np.logaddexp(lg[NO], lg[NO2])
    return float(y - n), len(toks)

path, N = sys.argv[1], int(sys.argv[2])
rows = [json.loads(l) for l in open(path)]
rows = [r for r in rows if r.get("texts") and r["answerable"] and len(r["texts"]) >= N]
P, S, Y, T = [], [], [], []
t0 = time.perf_counter()
for r in rows:
    c = r["texts"][:N]
    p, nt = probs(v_base(r["question"], c), N, allow_zero=False)
    P.append(np.log(p[1:] + 1e-9)); S.append(score_of(r, c))
    if "yes" in sys.argv[3:]:
        ys = [p_yes(r["question"], t) for t in c]; Y.append([y for y, _ in ys]); T.append(sum(n for _, n in ys))
P, S = np.array(P), np.array(S)
print(f"{path.split('/')[-1]} n={len(rows)} N={N} s/q={(time.perf_counter()-t0)/len(rows):.2f}")
idx = np.arange(len(rows))
print("heuristic(first)", S[:, 0].mean().round(3), "oracle", S.max(1).mean().round(3), "random", S.mean().round(3))
print("argmax", S[idx, P.argmax(1)].mean().round(3), "picks", np.bincount(P.argmax(1), minlength=N))
cal = P - P.mean(0)  # remove the average position preference (estimated on these questions: optimistic)
print("calibrated argmax", S[idx, cal.argmax(1)].mean().round(3), "picks", np.bincount(cal.argmax(1), minlength=N))
# leave-one-out calibration (honest): prior from the other questions
loo = np.array([P[i] - np.delete(P, i, 0).mean(0) for i in range(len(rows))])
print("loo-calibrated argmax", S[idx, loo.argmax(1)].mean().round(3))
if Y:
    Y = np.array(Y)
    print("yes/no argmax", S[idx, Y.argmax(1)].mean().round(3), "picks", np.bincount(Y.argmax(1), minlength=N), "tok/q", np.mean(T))
    # as a tie-breaker: heuristic order + small bonus
    for w in (0.1, 0.3, 1.0):
        comb = -np.arange(N)[None, :] * 0.5 + w * Y
        print(f"yes/no + rank w={w}", S[idx, comb.argmax(1)].mean().round(3))
