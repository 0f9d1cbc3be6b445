"""Chunks in a real vector database: Milvus Lite, embedded in the Python process.

A chunk record carries what hybrid retrieval needs: ``id``, ``text``, a ``dense`` vector and a
``sparse`` vector (``{"indices": [...], "values": [...]}``, token ids and weights). Milvus Lite
keeps the collection in a local ``.db`` folder; the client is pymilvus's ``MilvusClient``, the same
API as a Milvus server or Zilliz Cloud, so moving to a cluster changes the URI and nothing else.

:class:`ChunkStore` creates the collection (dense FLAT index and sparse inverted index, both inner
product), inserts records, and searches dense, sparse, or both at once with the database's own
fusion (``RRFRanker`` or ``WeightedRanker``). :class:`MilvusHybrid` wraps it in the retriever
interface (``index(corpus).search(queries, k) -> Run``) over an :class:`~ragcook.encode.sparse.M3Encoder`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from ragcook.encode.sparse import SparseRecord, from_records, to_records
from ragcook.errors import RagcookError
from ragcook.types import Run


@dataclass
class Record:
    """One row of the collection: a chunk's id, its text and its two vectors."""

    id: str
    text: str
    dense: list[float] = field(repr=False)
    sparse: SparseRecord = field(repr=False)


def _milvus():
    try:
        import pymilvus
    except ImportError as e:
        raise RagcookError('the vector database needs Milvus Lite: pip install "pymilvus[milvus_lite]==3.0.2"') from e
    return pymilvus


def _as_dict(rec: SparseRecord) -> dict[int, float]:
    return {int(i): float(v) for i, v in zip(rec["indices"], rec["values"])}


def is_uri(target: str | Path) -> bool:
    """Whether ``target`` names a Milvus server (``http://host:19530``) rather than a Milvus Lite file."""
    return str(target).startswith(("http://", "https://", "tcp://", "unix:"))


class ChunkStore:
    """A Milvus collection of chunks with dense and sparse vectors.

    ``target`` is either a Milvus Lite database, a local path ending in ``.db`` that is created on
    first use and reopened, with its data, by any later ``ChunkStore(path)``; or the URI of a
    Milvus server or cluster (``http://localhost:19530``; ``token`` is ``"user:password"`` or an
    API key). The same code runs against both. Call :meth:`close` (or use ``with``) to flush and,
    for Milvus Lite, stop the embedded server.
    """

    def __init__(self, target: str | Path, collection: str = "chunks", token: str = ""):
        if is_uri(target):
            self.path, self.remote = str(target), True
            uri = str(target)
        else:
            path = Path(target)
            if path.suffix != ".db":
                raise RagcookError(f"{path}: a Milvus Lite database path must end in '.db' (or give a server URI)")
            if path.exists() and path.is_dir() and not any(path.iterdir()):
                raise RagcookError(f"{path}: an empty folder, not a Milvus Lite database; remove it")
            path.parent.mkdir(parents=True, exist_ok=True)
            self.path, self.remote = path, False
            uri = str(path)
        self.collection = collection
        self.client = _milvus().MilvusClient(uri, token=token) if token else _milvus().MilvusClient(uri)
        if self.exists():  # reopened from disk: a collection must be loaded before it is searched
            self.client.load_collection(self.collection)

    # ---------------------------------------------------------------- lifecycle
    def create(self, dim: int, overwrite: bool = False) -> ChunkStore:
        """Create the collection: id (primary key), text, dense (``dim`` floats), sparse."""
        from pymilvus import DataType

        if self.client.has_collection(self.collection):
            if not overwrite:
                raise RagcookError(f"{self.path}: collection {self.collection!r} exists; pass overwrite=True to replace it")
            self.client.drop_collection(self.collection)
        schema = self.client.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("id", DataType.VARCHAR, is_primary=True, max_length=256)
        schema.add_field("text", DataType.VARCHAR, max_length=65535)
        schema.add_field("dense", DataType.FLOAT_VECTOR, dim=int(dim))
        schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
        index = self.client.prepare_index_params()
        index.add_index("dense", index_type="FLAT", metric_type="IP")
        index.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="IP")
        self.client.create_collection(self.collection, schema=schema, index_params=index)
        return self

    def exists(self) -> bool:
        return bool(self.client.has_collection(self.collection))

    def close(self) -> None:
        """Close the client and stop the embedded server, so the next open reads from disk."""
        self.client.close()
        if self.remote:
            return
        try:
            from milvus_lite.server_manager import server_manager_instance

            server_manager_instance.release_server(str(self.path))
        except ImportError:  # pymilvus without milvus-lite: nothing embedded to stop
            pass

    def __enter__(self) -> ChunkStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __len__(self) -> int:
        if not self.exists():
            return 0
        res = self.client.query(self.collection, filter="", output_fields=["count(*)"])
        return int(res[0]["count(*)"])

    def summary(self) -> str:
        """One line saying what the store holds, e.g. after reopening one a killed run was filling."""
        if not self.exists():
            return f"{self.path}: no collection {self.collection!r}"
        return f"{self.path}: collection {self.collection!r} holds {len(self):,} records"

    # ---------------------------------------------------------------- data
    def insert(self, ids: list[str], texts: list[str], dense: np.ndarray, sparse: sp.spmatrix, batch_size: int = 500) -> int:
        """Insert one record per id; ``dense`` is (n x dim), ``sparse`` a (n x vocabulary) matrix."""
        if not self.exists():
            raise RagcookError(f"{self.path}: no collection {self.collection!r}; call create(dim) first")
        n = len(ids)
        if not (len(texts) == n == len(dense) == sparse.shape[0]):
            raise RagcookError(
                f"insert: {n} ids, {len(texts)} texts, {len(dense)} dense and {sparse.shape[0]} sparse rows; they must match"
            )
        records = to_records(sparse)
        for s in range(0, n, batch_size):
            rows = [
                {
                    "id": ids[i],
                    "text": texts[i],
                    "dense": np.asarray(dense[i], dtype=np.float32).tolist(),
                    "sparse": _as_dict(records[i]),
                }
                for i in range(s, min(n, s + batch_size))
            ]
            self.client.insert(self.collection, rows)
        return n

    def add(self, chunks: list[Record]) -> int:
        """Insert :class:`Record` rows."""
        if not chunks:
            return 0
        dim = max(max(r["indices"], default=0) for r in (c.sparse for c in chunks)) + 1
        return self.insert(
            [c.id for c in chunks],
            [c.text for c in chunks],
            np.asarray([c.dense for c in chunks]),
            from_records([c.sparse for c in chunks], dim),
        )

    def get(self, ids: list[str]) -> list[Record]:
        """The records with these ids (in the order asked; missing ids are skipped)."""
        rows = self.client.get(self.collection, ids=list(ids), output_fields=["id", "text", "dense", "sparse"])
        by_id = {r["id"]: r for r in rows}
        out = []
        for i in ids:
            if i in by_id:
                r = by_id[i]
                items = sorted((int(k), float(v)) for k, v in dict(r["sparse"]).items())
                out.append(
                    Record(
                        r["id"],
                        r["text"],
                        [float(x) for x in r["dense"]],
                        {"indices": [k for k, _ in items], "values": [v for _, v in items]},
                    )
                )
        return out

    # ---------------------------------------------------------------- search
    def search(
        self,
        dense: np.ndarray | None = None,
        sparse: sp.spmatrix | None = None,
        k: int = 10,
        depth: int = 100,
        fusion: str = "atan",
        rrf_k: int = 60,
        weights: tuple[float, float] = (0.7, 0.3),
        norm_score: bool = True,
    ) -> list[list[tuple[str, float]]]:
        """Top ``k`` (id, score) per query row: dense only, sparse only, or both fused in the database.

        With both, each side returns its top ``depth`` and Milvus fuses them: ``fusion="atan"``
        uses ``WeightedRanker(*weights, norm_score=norm_score)`` (weights = (dense, sparse); with
        ``norm_score`` each score becomes ``0.5 + atan(score) / pi``), ``"rrf"`` uses
        ``RRFRanker(rrf_k)`` (score = sum of 1 / (rrf_k + rank)).
        """
        from pymilvus import AnnSearchRequest, RRFRanker, WeightedRanker

        if dense is None and sparse is None:
            raise RagcookError("search: give dense vectors, sparse vectors or both")
        reqs = []
        if dense is not None:
            data = np.asarray(dense, dtype=np.float32)
            reqs.append(("dense", [row.tolist() for row in np.atleast_2d(data)]))
        if sparse is not None:
            reqs.append(("sparse", [_as_dict(r) for r in to_records(sparse)]))
        if len(reqs) == 2 and len(reqs[0][1]) != len(reqs[1][1]):
            raise RagcookError("search: dense and sparse queries must have the same number of rows")
        params = {"metric_type": "IP"}
        if len(reqs) == 1:
            field_name, data = reqs[0]
            res = self.client.search(
                self.collection, data=data, anns_field=field_name, limit=k, search_params=params, output_fields=["id"]
            )
        else:
            if fusion == "rrf":
                ranker = RRFRanker(rrf_k)
            elif fusion == "atan":
                ranker = WeightedRanker(*weights, norm_score=norm_score)
            else:
                raise RagcookError(f"search: unknown fusion {fusion!r}; use 'atan' (WeightedRanker) or 'rrf'")
            requests = [AnnSearchRequest(data=d, anns_field=f, param=params, limit=depth) for f, d in reqs]
            res = self.client.hybrid_search(self.collection, requests, ranker=ranker, limit=k, output_fields=["id"])
        return [[(hit["id"], float(hit["distance"])) for hit in hits] for hits in res]


class MilvusHybrid:
    """Database-backed dense + sparse retrieval: an :class:`~ragcook.encode.sparse.M3Encoder` and a :class:`ChunkStore`.

    ``index`` encodes the corpus once and (re)creates the collection; ``search`` encodes the queries
    and lets Milvus fuse the two searches. ``method`` and ``weight`` mean what they mean in
    :class:`~ragcook.retrieve.sparse.DenseSparse` (``"atan"`` = ``WeightedRanker(weight, 1 - weight)``,
    ``"rrf"`` = ``RRFRanker(rrf_k)``), so both rank the same way.
    """

    def __init__(
        self,
        encoder,
        path: str | Path,
        method: str = "atan",
        weight: float = 0.7,
        rrf_k: int = 60,
        depth: int = 100,
        name: str = "milvus dense+sparse",
    ):
        if method not in ("atan", "rrf"):
            raise RagcookError(f"MilvusHybrid: unknown method {method!r}; use 'atan' (WeightedRanker) or 'rrf'")
        self.encoder, self.method, self.weight = encoder, method, weight
        self.path = str(path) if is_uri(path) else Path(path)
        self.rrf_k, self.depth, self.name = rrf_k, depth, name
        self.store: ChunkStore | None = None

    def index(self, corpus: dict[str, str]) -> MilvusHybrid:
        dense, sparse = self.encoder.encode(list(corpus.values()))
        self.store = ChunkStore(self.path).create(dense.shape[1], overwrite=True)
        self.store.insert(list(corpus), list(corpus.values()), dense, sparse)
        return self

    def open(self) -> MilvusHybrid:
        """Use an existing database at ``path`` instead of indexing."""
        self.store = ChunkStore(self.path)
        if not self.store.exists():
            raise RagcookError(f"{self.path}: no collection to open; call index(corpus) first")
        return self

    def search(self, queries: dict[str, str], k: int = 100) -> Run:
        if self.store is None:
            raise RagcookError(f"{self.name}: call index(corpus) or open() before search()")
        dense, sparse = self.encoder.encode(list(queries.values()))
        hits = self.store.search(
            dense,
            sparse,
            k=k,
            depth=self.depth,
            fusion=self.method,
            rrf_k=self.rrf_k,
            weights=(self.weight, 1 - self.weight),
            norm_score=True,
        )
        return {q: dict(h) for q, h in zip(queries, hits)}

    def close(self) -> None:
        if self.store is not None:
            self.store.close()
            self.store = None


def same_top_k(a: dict[str, float], b: dict[str, float], k: int = 10, tol: float = 1e-6) -> bool:
    """Whether two rankings agree on the top ``k`` up to score ties.

    The scores in rank order must match, and every document scored strictly above the ``k``-th
    score must be in both, with the same score (documents tied at the cut-off may differ:
    either order is right).
    """
    x = sorted(a.items(), key=lambda t: -t[1])[:k]
    y = sorted(b.items(), key=lambda t: -t[1])[:k]
    if len(x) != len(y) or not np.allclose([s for _, s in x], [s for _, s in y], rtol=1e-5, atol=tol):
        return False
    if not y:
        return True
    cut = y[-1][1]
    above_x, above_y = {d: s for d, s in x if s > cut + tol}, {d: s for d, s in y if s > cut + tol}
    if set(above_x) != set(above_y):
        return False
    return all(abs(above_x[d] - above_y[d]) <= tol + 1e-5 * abs(above_y[d]) for d in above_x)


def agreement(a: Run, b: Run, k: int = 10) -> float:
    """Fraction of queries whose top ``k`` agree (up to ties) between two runs."""
    qs = set(a) | set(b)
    return sum(same_top_k(a.get(q, {}), b.get(q, {}), k) for q in qs) / max(len(qs), 1)
