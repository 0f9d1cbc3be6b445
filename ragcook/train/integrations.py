"""The tuned model in the frameworks readers build RAG with: LlamaIndex and LangChain.

LlamaIndex's fine-tuning package (``llama-index-finetuning``) is deprecated upstream; the
course uses its engine once (notebook 10) and shows the supported path, training with
sentence-transformers and loading the folder with ``HuggingFaceEmbedding``.
"""

from __future__ import annotations

from pathlib import Path

from ragcook.models import resolve


def to_llamaindex_dataset(ds):
    """A LlamaIndex ``EmbeddingQAFinetuneDataset`` (queries, corpus, relevant_docs) from a ragcook Dataset.

    What ``generate_qa_embedding_pairs`` would produce from an LLM, built from human questions instead.
    """
    from llama_index.finetuning import EmbeddingQAFinetuneDataset

    rel = {q: [d for d, g in ds.qrels.get(q, {}).items() if g > 0] for q in ds.queries}
    rel = {q: docs for q, docs in rel.items() if docs}
    return EmbeddingQAFinetuneDataset(
        queries={q: t for q, t in ds.queries.items() if q in rel}, corpus=dict(ds.corpus), relevant_docs=rel
    )


def llamaindex_hit_rate(dataset, model_path: str | Path, top_k: int = 10, query_instruction: str | None = None) -> float:
    """LlamaIndex's fine-tuning guide evaluation: share of queries whose relevant node is in the top ``top_k``.

    Indexes ``dataset.corpus`` in a ``VectorStoreIndex`` with a ``HuggingFaceEmbedding`` of ``model_path``.
    """
    from llama_index.core import VectorStoreIndex
    from llama_index.core.schema import TextNode
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    embed = HuggingFaceEmbedding(
        model_name=str(resolve(model_path)), query_instruction=query_instruction, normalize=True, embed_batch_size=64
    )
    nodes = [TextNode(id_=i, text=t) for i, t in dataset.corpus.items()]
    index = VectorStoreIndex(nodes, embed_model=embed, show_progress=False)
    retriever = index.as_retriever(similarity_top_k=top_k)
    hits = []
    for qid, query in dataset.queries.items():
        got = {n.node.node_id for n in retriever.retrieve(query)}
        hits.append(bool(got & set(dataset.relevant_docs[qid])))
    return sum(hits) / len(hits)


def langchain_retriever(model_path: str | Path, texts: dict[str, str], instruction: str = "", k: int = 10):
    """A LangChain FAISS retriever over ``texts`` (id -> text) with a (fine-tuned) Hugging Face model.

    ``HuggingFaceEmbeddings`` with normalised vectors and ``instruction`` prepended to queries only
    (the replacement for the deprecated ``HuggingFaceBgeEmbeddings``).
    """
    from langchain_community.vectorstores import FAISS
    from langchain_community.vectorstores.utils import DistanceStrategy
    from langchain_core.documents import Document
    from langchain_huggingface import HuggingFaceEmbeddings

    emb = HuggingFaceEmbeddings(
        model_name=str(resolve(model_path)),
        encode_kwargs={"normalize_embeddings": True, "batch_size": 64},
        query_encode_kwargs={"normalize_embeddings": True, "prompt": instruction},
    )
    docs = [Document(page_content=t, metadata={"id": i}) for i, t in texts.items()]
    store = FAISS.from_documents(docs, emb, distance_strategy=DistanceStrategy.MAX_INNER_PRODUCT)
    return store.as_retriever(search_kwargs={"k": k})
