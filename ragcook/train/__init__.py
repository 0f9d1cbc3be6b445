"""Training data and training: generated questions, cleaning, samples, hard negatives, fine-tuning.

Import the module you need: ``from ragcook.train import samples, negatives``.
"""
