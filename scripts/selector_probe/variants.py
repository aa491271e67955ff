"""Score prompt variants offline: the model's argmax over the allowed digits (= greedy under the grammar)."""
import json, sys, time
import numpy as np
from eval.metrics_answers import token_f1
from rag.llm import resolve_llm
from rag.settings import Settings

llm = resolve_llm(Settings(llm="embedded"))
m = llm.loaded().llama
DIG = [m.tokenize(str(i).encode(), add_bos=False)[0] for i in range(10)]

def fmt(msgs):
    return "".join(f"<|im_start|>{x['role']}\n{x['content']}<|im_end|>\n" for x in msgs) + "<|im_start|>assistant\n"

def cut(t, n=40):
    w = " ".join(t.split()).split(" ")
    return " ".join(w[:n]) + (" ..." if len(w) > n else "")

SYS = "You choose which numbered sentence answers the question. Reply with the number of that sentence only, or 0 if none of them answers it."
def v_base(q, c):
    return [{"role": "system", "content": SYS}, {"role": "user", "content": f"Question: {q}\n\nSentences:\n" + "\n".join(f"{i}. {cut(t)}" for i, t in enumerate(c, 1)) + "\n\nNumber of the answering sentence:"}]
def v_qlast(q, c):
    return [{"role": "system", "content": SYS}, {"role": "user", "content": "Sentences:\n" + "\n".join(f"{i}. {cut(t)}" for i, t in enumerate(c, 1)) + f"\n\nQuestion: {q}\nWhich sentence answers the question? Number:"}]
def v_nosys(q, c):
    return [{"role": "user", "content": "Sentences:\n" + "\n".join(f"{i}. {cut(t)}" for i, t in enumerate(c, 1)) + f"\n\nWhich sentence answers \"{q}\"? Reply with its number."}]
SHOT = ("Sentences:\n1. The museum opens at 9 am.\n2. Tickets cost 12 euros for adults.\n3. The museum was founded in 1902.\n\n"
        "Question: How much is a ticket?\nNumber: 2\n\n")
def v_shot(q, c):
    return [{"role": "system", "content": SYS}, {"role": "user", "content": SHOT + "Sentences:\n" + "\n".join(f"{i}. {cut(t)}" for i, t in enumerate(c, 1)) + f"\n\nQuestion: {q}\nNumber:"}]
VARIANTS = {"base": v_base, "qlast": v_qlast, "nosys": v_nosys, "shot": v_shot}

def probs(msgs, k, allow_zero=True):
    toks = m.tokenize(fmt(msgs).encode(), add_bos=False, special=True)
    m.reset(); m.eval(toks)
    logits = np.ctypeslib.as_array(m._ctx.get_logits(), shape=(m._n_vocab,)).copy()
    d = logits[DIG[: k + 1]]
    if not allow_zero: d[0] = -1e9
    p = np.exp(d - d.max()); return p / p.sum(), len(toks)

def run(path, names, N):
    rows = [json.loads(l) for l in open(path)]
    rows = [r for r in rows if r.get("texts")]
    for name in names:
        res = {"heur": [], "llm": [], "oracle": [], "zero_ans": 0, "zero_un": 0, "picks": [], "toks": []}
        t0 = time.perf_counter()
        for r in rows:
            c = r["texts"][:N]
            p, nt = probs(VARIANTS[name](r["question"], c), len(c))
            pick = int(p.argmax()); res["picks"].append(pick); res["toks"].append(nt)
            if pick == 0:
                res["zero_ans" if r["answerable"] else "zero_un"] += 1
            if not r["answerable"]:
                continue
            idx = 0 if pick == 0 else pick - 1
            if r.get("key"):
                sc = [float(r["key"].lower() in t.lower()) for t in c]
            else:
                sc = [token_f1(t, r["reference"]) for t in c]
            res["heur"].append(sc[0]); res["llm"].append(sc[idx]); res["oracle"].append(max(sc))
        dt = (time.perf_counter() - t0) / len(rows)
        hist = np.bincount(res["picks"], minlength=N + 1).tolist()
        print(f"{path.split('/')[-1]} N={N} {name:6s} n_ans={len(res['heur'])} heur={np.mean(res['heur']):.3f} llm={np.mean(res['llm']):.3f} "
              f"oracle={np.mean(res['oracle']):.3f} zero(ans/unans)={res['zero_ans']}/{res['zero_un']} picks={hist} "
              f"tok_mean={np.mean(res['toks']):.0f} s/q={dt:.3f}", flush=True)

if __name__ == "__main__":
    path, N = sys.argv[1], int(sys.argv[2])
    run(path, sys.argv[3].split(","), N)
