"""Write notebooks/11_the_recipe.ipynb (unexecuted); run scripts/execute_notebooks.py on it afterwards."""

import nbformat as nbf

md, code = nbf.v4.new_markdown_cell, nbf.v4.new_code_cell
cells = [
    md("""# 11 · The source's recipe, proven: from documents without questions to a better retriever

The source material is about a reader who has **documents but no labelled questions**. Its recipe:

1. chunk the documents;
2. have an LLM write questions for each chunk (its first prompt) ...
3. ... and then one best question from them (its second prompt);
4. clean the questions;
5. for each question, rank every chunk with the base model and draw **7 negatives at random from ranks 10–100**;
6. fine-tune.

It also makes three claims: question → document (Q-D) samples are the right kind; question → answer (Q-A) samples can make a
model *worse* when the answers differ from the documents retrieved; question → question (Q-Q) samples suit an FAQ bank.

This notebook runs the recipe end to end on InsuranceQA and tests those claims **on real, held-out questions**: the 500
human test questions, which no LLM and no training step ever saw.

**What you will learn**
- what a 0.5B-parameter LLM writes with the source's two prompts, and what cleaning removes;
- whether LLM-written questions alone lift a retriever, measured with paired tests against the base model;
- which negatives help, and how often each way of mining them picks a "negative" that is in fact a right answer;
- why scoring on synthetic questions (as LlamaIndex's fine-tuning guide does) flatters a model;
- whether tuning on insurance makes the model forget another domain (the Python FAQ);
- how to run the whole recipe on your own documents with one command.

Before this: notebooks 06 (samples, cleaning, hard negatives) and 08 (fine-tuning with sentence-transformers)."""),
    md("""## 1. The prompts, verbatim

The source writes its first prompt as a Python string with line-continuation backslashes; `ragcook.train.generate` keeps
its words, and a unit test compares them with the source's text. The second prompt shows the first pass's questions as
examples and asks for one question."""),
    code("""# NBVAL_CHECK_OUTPUT
from ragcook.train.generate import SOURCE_BEST_QUESTION_PROMPT, SOURCE_QUESTIONS_PROMPT

print(SOURCE_QUESTIONS_PROMPT)
print("\\n--- second pass ---\\n")
print(SOURCE_BEST_QUESTION_PROMPT)"""),
    md("""## 2. The documents and the questions

The documents are the 2,000 InsuranceQA answers of the course's test split: what a deployment would index. The local
LLM (Qwen2.5-Coder-0.5B-Instruct, the course's optional `llm` extra) wrote questions for them, one CPU thread, greedy
decoding. That takes hours on a laptop, so the rows ship in `data/recipe/` with their provenance; the answers were
taken in a seeded random order, so the answers that have questions are a random sample of the corpus."""),
    code("""import pandas as pd

from ragcook.data import load_insuranceqa
from ragcook.train.recipe import load_recipe_rows

test = load_insuranceqa("test")
rows = load_recipe_rows()
prov, secs = rows[0]["provenance"], pd.DataFrame([r["seconds"] for r in rows])
assert all(r["provenance"] == prov for r in rows), "every row was made by the same model, prompts and settings"
print(f"{len(rows):,} of {len(test.corpus):,} answers have questions ({sum(1 for r in rows if r.get('error'))} failed)")
print(f"model: {prov['model']} (sha256 {prov['model_sha256'][:16]}...), {prov['backend']}; prompts {prov['prompts']}")
print(f"sampling: {prov['sampling']}")
print(f"seconds per answer: first pass median {secs['first'].median():.1f}, second pass {secs['second'].median():.1f}; "
      f"{secs['total'].sum() / 3600:.1f} hours in all")
with_q = {r["doc_id"] for r in rows}
reach = sum(any(d in with_q for d in test.qrels[q]) for q in test.queries) / len(test.queries)
print(f"test questions with at least one relevant answer among them: {reach:.0%}")"""),
    code("""for r in rows[:2]:
    print(f"[{r['doc_id']}] {r['chunk'][:160]}...")
    for q in r["questions"]:
        print("   first pass:", q)
    print("   second pass:", r["best"], "\\n")"""),
    md("""## 3. Cleaning

A small model writes plenty that should not become training data: empty lines, questions longer than the 20 words
asked for, statements, refusals, copies of the chunk, near-duplicates. `clean_generated` applies the course's rules
(notebook 06) to every first-pass question and every second-pass question, and counts what each rule removed."""),
    code("""from ragcook.train.clean import clean_generated

kept, report = clean_generated([r for r in rows if not r.get("error")])
pd.Series(report.as_dict()).to_frame("questions").T"""),
    md("""## 4. The experiments

Every recipe below fine-tunes all-MiniLM-L6-v2 with the **same** step budget, batch, learning rate and seed
(sentence-transformers' MultipleNegativesRankingLoss); only the training set changes. Each tuned model is scored per
query on the 500 human test questions, and compared with the base model by a paired randomisation test (`p_value`:
how often a difference this large would appear by chance if the two models were equally good).

Training and scoring ten models takes one to two hours on 2 cores, so `python -m ragcook.eval.recipe` did it once
and saved the per-query scores; the tables and tests below are computed from those scores. The cell checks that the
saved scores belong to exactly the recipes this notebook asks about."""),
    code("""from ragcook.eval import recipe as R

results = R.load_experiments()
asked = {r.key for runs in R.GRID.values() for _, r in runs}
assert asked <= set(results["recipes"]), "experiments.json lacks recipes: run python -m ragcook.eval.recipe"
assert results["data"] == R.data_fingerprint(), "experiments.json was made from other questions than data/recipe"
print(f"{len(asked)} models, each scored on {', '.join(results['recipes'][next(iter(asked))]['scores'])}")"""),
    md("""### 4a. Which questions?

Human train questions (InsuranceQA's own, with their answers from the train split), the LLM's first-pass questions,
its second-pass question alone, inverse-cloze pseudo-queries (a sentence of each answer, no LLM at all), and the LLM's
questions plus the human ones."""),
    code("""questions = R.table(results, "questions")
for line in R.verdicts(questions):
    print("-", line)
questions.round(3)"""),
    md("""### 4b. Which negatives?

The same LLM first-pass questions, with negatives chosen four ways: none but the batch's; the source's rule (7 at
random from ranks 10–100 of the base model); the hardest (ranks 1–10); and sentence-transformers'
`mine_hard_negatives` with a relative margin (a candidate is kept only if it scores at least 5% below the positive:
the false-negative filter the NV-Retriever paper recommends). A fifth way, 7 negatives drawn at random from the whole
corpus, appears only in the false-negative table: each recipe with 7 negatives per sample takes about 25 minutes to
train on one core, and the experiments' time ran out before that one.

First, how often each miner draws a false negative. Only human questions can tell: many InsuranceQA train questions have
several correct answers, so a sample keeps one as its positive and any other drawn as a "negative" is a false one."""),
    code("""fn = pd.Series(results["false_negatives"]).rename("false-negative rate").to_frame()
fn.index.name = "miner"
fn.round(4)"""),
    code("""negatives = R.table(results, "negatives")
for line in R.verdicts(negatives):
    print("-", line)
negatives.round(3)"""),
    md("""### 4c. Which kind of sample?

The three pairings the source names, as far as this data separates them. **Q-Q**: InsuranceQA train questions that
share an answer, paired with each other. **Q-A**: train questions with their answers. **Q-D**: the LLM's questions with the
indexed document each was written from.

Said plainly: in InsuranceQA the answers *are* the documents, so "Q-A" and "Q-D" cannot differ in form here. What
separates them is *which* texts the questions point to: the train split's answers (outside the index the test questions
search) or the indexed documents themselves. That is the source's situation, answers that differ from the documents
retrieved, but not a clean test of its claim."""),
    code("""kinds = R.table(results, "kind")
for line in R.verdicts(kinds):
    print("-", line)
kinds.round(3)"""),
    md("""## 5. Does tuning on insurance make the model forget, and how much do synthetic questions flatter?

Two more columns for every model: the change of nDCG@10 on the Python FAQ's 178 human questions (another domain, never
trained on), and the change on the LLM's own *second-pass* questions over the same 2,000 answers: the kind of
evaluation LlamaIndex's fine-tuning guide reports (+9.6 nDCG@10 there). A model trained on first-pass questions about
the very documents it is scored on has seen questions much like these."""),
    code("""splits = {"test": "human test questions", "pyfaq": "Python FAQ (other domain)", "synthetic": "LLM's own questions"}
lift = pd.DataFrame({name: pd.concat([R.table(results, e, split)["vs base"] for e in results["grid"]])
                     for split, name in splits.items()}).dropna()
lift[~lift.index.duplicated()].round(3)"""),
    code("""import matplotlib.pyplot as plt

R.plot_lift(results, "questions")
plt.show()"""),
    md("""### What the numbers say, and why

The cell reads the verdict off the tables above, so it changes if the numbers do."""),
    code("""q = R.table(results, "questions")
syn = R.table(results, "questions", "synthetic")
llm, human = "LLM first pass (3 per document)", "human train questions"
d, p, ds = q.loc[llm, "vs base"], q.loc[llm, "p_value"], syn.loc[llm, "vs base"]
word = "lifts" if d > 0 and p < 0.05 else "lowers" if d < 0 and p < 0.05 else "does not measurably change"
print(f"- Tuning on the LLM's questions alone {word} nDCG@10 on the human test questions ({d:+.3f}, p = {p:.4f}),")
print(f"  while on the LLM's own questions the same model changes by {ds:+.3f}: scored on synthetic questions, "
      f"it would look {'better' if ds > 0 else 'worse'}.")
print(f"- Human train questions: {q.loc[human, 'vs base']:+.3f} on test (p = {q.loc[human, 'p_value']:.4f}).")"""),
    md("""Two possible causes, measured. **Copying:** does the LLM borrow its text's words more than people do? **Coverage:**
only the documents that got questions were trained on; does the tuned model lose on test questions whose answers
got none?"""),
    code("""llm_copy = [R.copied_words(x, r["chunk"]) for r in kept for x in r["questions"]]
hum_copy = [R.copied_words(test.queries[x], test.corpus[min(test.qrels[x])]) for x in test.queries]
print(f"words a question shares with its text: LLM questions {sum(llm_copy) / len(llm_copy):.0%}, "
      f"human test questions {sum(hum_copy) / len(hum_copy):.0%}")
base = results["recipes"][R.Recipe("none").key]["scores"]["test"]["ndcg@10"]
tuned = results["recipes"][R.Recipe("llm-first").key]["scores"]["test"]["ndcg@10"]
inside = {x for x in test.queries if any(doc in with_q for doc in test.qrels[x])}
for name, group in (("had questions", inside), ("had none", set(test.queries) - inside)):
    diff = [tuned[x] - base[x] for x in group]
    print(f"test questions whose answer {name}: {len(group)}, mean change {sum(diff) / len(diff):+.3f}")"""),
    md("""Read the two lines above before any story. If the shares of copied words are close, the LLM does not copy its
text more than people do, and copying is not the cause. If the questions whose answers had no training questions lose
more, part of the loss is coverage: the encoder learned to pull a thousand documents towards questions and pushed the
others away, and generating questions for the whole corpus would help. If neither line shows a difference, what is
left, and not measured here, is the kind of question: section 2's examples show a 0.5B coder model asking about details
of the text ("what is the deductible amount for a gold plan"), while people ask about their situation. The synthetic column shows why a model scored on its generator's questions looks better than it is.
With a small local LLM, human questions (even from another split) are the better training data here, and `ragcook run`
picks them when the validation split says so."""),
    md("""## 6. The recipe `ragcook run` uses

`ragcook run` fine-tunes with the recipe that scores best on the **validation** split (300 other InsuranceQA questions
over their own 2,000 answers), never on test. Here is that choice, and its test score for the record."""),
    code("""label, recipe, valid_ndcg = R.winner(results)
test_ndcg = sum(results["recipes"][recipe.key]["scores"]["test"]["ndcg@10"].values()) / len(test.queries)
print(f"winner on validation: {label} (questions {recipe.questions!r}, negatives {recipe.negatives!r}): "
      f"valid nDCG@10 {valid_ndcg:.3f}, test nDCG@10 {test_ndcg:.3f}")"""),
    md("""## 7. The recipe on your own documents

One command runs every step on any folder of documents (a BEIR folder, its `corpus.jsonl`, or `.txt`/`.md`/`.rst`
files), with the local GGUF model, any OpenAI-compatible endpoint (`--generator openai` and `RAGCOOK_LLM_BASE_URL`), or
no LLM at all (`--generator ict`). It is resumable: run it again after an interruption.

```bash
ragcook recipe --corpus path/to/beir_folder --out my_run --generator local
ragcook eval --data path/to/beir_folder --retriever dense --model my_run/model   # if the folder has queries and qrels
```

`tests/test_recipe.py` runs this chain on a BEIR folder the course never uses elsewhere."""),
    md("""## Recap

- The source's two prompts are in `ragcook.train.generate`, verbatim; a 0.5B model follows them well enough that most of
  its questions survive cleaning, and the rows record the model's hash, the prompts and the settings.
- Whether LLM-written questions lift the retriever is read off the paired tests of section 4a, on human questions the
  model never saw; the synthetic column of section 5 shows how much larger the same lift looks on the LLM's own questions.
- Negatives: the false-negative rates show why the source skips the top ranks, and the table of 4b whether that pays off
  within a small training budget.
- Tuning on one domain can cost another: the Python FAQ column says how much, here.

## Exercises"""),
    md("""**Exercise 11.1.** Write `draw_negatives(ranked, positives, lo, hi, n, seed)`: from `ranked` (passages, best first),
drop the positives, then draw `n` at random (with `random.Random(seed)`) from ranks `lo` to `hi` (1-based, inclusive).
This is the source's rule."""),
    code("""from ragcook.exercises import check


def draw_negatives(ranked, positives, lo, hi, n, seed):
    raise NotImplementedError  # your code here


check("11.1", draw_negatives)"""),
    md("""**Exercise 11.2.** Write `false_negative_share(negatives, relevant)`: `negatives[i]` is the list drawn for query
`i` and `relevant[i]` the set of its correct texts; return the share of all drawn negatives that are correct."""),
    code("""def false_negative_share(negatives, relevant):
    raise NotImplementedError  # your code here


check("11.2", false_negative_share)"""),
    md("""**Exercise 11.3.** Write `lift(base, tuned)`: two dicts query id → score; return `(mean difference, share of
queries that improved, share that got worse)` over the queries both have."""),
    code("""def lift(base, tuned):
    raise NotImplementedError  # your code here


check("11.3", lift)"""),
    md("""**Next:** [12 · Late chunking](12_late_chunking.ipynb): embed the whole document, then cut it into chunks."""),
]
nb = nbf.v4.new_notebook(
    cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
)
nbf.write(nb, "notebooks/11_the_recipe.ipynb")
print("wrote notebooks/11_the_recipe.ipynb")
