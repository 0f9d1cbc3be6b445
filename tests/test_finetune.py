import pytest
import torch

from ragcook.errors import RagcookError
from ragcook.eval.finetune import subset
from ragcook.train import finetune as F
from ragcook.train.finetune_flag import flag_command, parse_trainer_log
from ragcook.train.finetune_st import finetune_st, last_checkpoint, read_log
from ragcook.train.samples import Sample, write_samples

SAMPLES = [
    Sample("how do I file a claim", ["call your agent and fill in the claim form"], ["premiums are paid monthly"]),
    Sample("what is a deductible", ["the amount you pay before insurance pays"], ["life insurance pays a death benefit"]),
    Sample("does home insurance cover floods", ["floods need a separate flood policy"], ["cars need auto insurance"]),
    Sample("can I cancel my policy", ["you can cancel at any time, in writing"], ["annuities pay an income"]),
    Sample("what is term life", ["term life covers a fixed number of years"], ["a deductible is paid first"]),
    Sample("who needs renters insurance", ["tenants who want their belongings covered"], ["medicare is for people over 65"]),
]


def test_tiny_finetune_writes_model_log_and_resumes(tmp_path):
    out = tmp_path / "ft"
    kw = dict(batch_size=3, lr=1e-4, max_seq_length=16, save_steps=1, keep_checkpoints=True, logging_steps=1)
    res = finetune_st(SAMPLES, out, max_steps=2, **kw)
    assert (out / "modules.json").is_file() and (out / "loss.png").is_file()
    assert res.resumed_from is None
    steps = [r["step"] for r in read_log(res.log_path) if "loss" in r]
    assert steps == [1, 2]
    assert last_checkpoint(out / "checkpoints").endswith("checkpoint-2")

    from ragcook.models import load_sentence_transformer

    m = load_sentence_transformer(out)
    assert m.encode(["a question"]).shape == (1, 384)
    assert m.max_seq_length == 256  # saved with the base model's length, not the training one

    # an "interrupted" run picks up from its checkpoint and keeps the earlier log
    res2 = finetune_st(SAMPLES, out, max_steps=3, **kw)
    assert res2.resumed_from.endswith("checkpoint-2")
    assert [r["step"] for r in read_log(res2.log_path) if "loss" in r] == [1, 2, 3]


def test_freeze_word_embeddings_trains_everything_but_the_vocabulary_matrix(tmp_path):
    from ragcook.models import load_sentence_transformer

    def weights(path):
        net = load_sentence_transformer(path)[0].auto_model
        return net.get_input_embeddings().weight.detach().clone(), net.encoder.layer[0].output.dense.weight.detach().clone()

    base_vocab, base_layer = weights("minilm")
    kw = dict(batch_size=3, lr=1e-3, max_seq_length=16, max_steps=2, logging_steps=1)
    for freeze in (True, False):
        vocab, layer = weights(finetune_st(SAMPLES, tmp_path / str(freeze), freeze_word_embeddings=freeze, **kw).path)
        assert not torch.equal(layer, base_layer)  # the transformer learned either way
        assert torch.equal(vocab, base_vocab) == freeze


def test_cli_finetune_bad_samples(tmp_path, capsys):
    from ragcook.cli import main

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"query": "q", "pos": []}\n')
    assert main(["finetune", "--samples", str(bad), "--out", str(tmp_path / "o")]) == 2
    assert "bad.jsonl:1" in capsys.readouterr().err


def test_finetune_rejects_bad_backend(tmp_path):
    path = write_samples(SAMPLES, tmp_path / "s.jsonl")
    with pytest.raises(RagcookError):
        F.finetune(path, "minilm", tmp_path / "o", backend="nope")
    with pytest.raises(RagcookError):
        finetune_st([], tmp_path / "o")


def test_flag_command_cpu_and_gpu(tmp_path):
    cpu = flag_command(tmp_path / "t.jsonl", tmp_path / "o", query_instruction="Q: ", temperature=0.02)
    assert cpu[1:3] == ["--nproc_per_node", "1"] and "--use_cpu" in cpu
    assert cpu[cpu.index("--temperature") + 1] == "0.02"
    assert cpu[cpu.index("--query_instruction_for_retrieval") + 1] == "Q: "
    gpu = flag_command(tmp_path / "t.jsonl", tmp_path / "o", gpu=True, nproc=4)
    assert "--fp16" in gpu and "--deepspeed" in gpu and "--use_cpu" not in gpu
    assert gpu[gpu.index("--nproc_per_node") + 1] == "4"


def test_parse_trainer_log():
    text = (
        "x\n{'loss': '0.52', 'grad_norm': '3.1', 'learning_rate': '1e-05', 'epoch': '0.1'}\n"
        "{'loss': 0.41, 'epoch': 0.2}\n{'train_runtime': '9.0'}"
    )
    rows = parse_trainer_log(text, logging_steps=2)
    assert [r["step"] for r in rows] == [2, 4]
    assert rows[0]["loss"] == pytest.approx(0.52) and rows[1]["loss"] == pytest.approx(0.41)
    # a run resumed from checkpoint-10 numbers its steps from there
    assert [r["step"] for r in parse_trainer_log(text, logging_steps=2, start=10)] == [12, 14]


def test_subset_keeps_positives():
    from ragcook.data import Dataset

    corpus = {f"a{i}": f"doc {i}" for i in range(50)}
    queries = {f"q{i}": f"query {i}" for i in range(20)}
    qrels = {f"q{i}": {f"a{i}": 1} for i in range(20)}
    small = subset(Dataset(corpus, queries, qrels, name="toy"), n_queries=5, n_docs=12)
    assert len(small.queries) == 5 and len(small.corpus) == 12
    assert all(d in small.corpus for q in small.queries for d in small.qrels[q])


def test_flag_pooling_comes_from_the_model(tmp_path):
    import shutil

    from ragcook.models import pooling_of, resolve, write_st_modules

    cmd = flag_command(tmp_path / "t.jsonl", tmp_path / "o")
    assert cmd[cmd.index("--sentence_pooling_method") + 1] == "mean"  # all-MiniLM-L6-v2 pools by the mean
    bge_like = tmp_path / "bge"
    bge_like.mkdir()
    shutil.copy(resolve("minilm") / "config.json", bge_like / "config.json")
    assert pooling_of(bge_like, default="cls") == "cls"  # no pooling config: FlagEmbedding's default
    write_st_modules(bge_like, "cls")
    assert pooling_of(bge_like) == "cls"
    cmd = flag_command(tmp_path / "t.jsonl", tmp_path / "o", base=bge_like)
    assert cmd[cmd.index("--sentence_pooling_method") + 1] == "cls"
