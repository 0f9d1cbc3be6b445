"""From text to vectors: poolings of a transformer, static word vectors, sparse weights, late chunking.

Import the module you need (each loads torch or gensim): ``from ragcook.encode import pooling``.
"""
