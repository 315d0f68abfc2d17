"""Small data samples written for this package, used by the quickstart and demos."""

import os

SAMPLES_DIR = os.path.dirname(os.path.abspath(__file__))
SENTIMENT_TSV = os.path.join(SAMPLES_DIR, "sentiment.tsv")
PRETRAINING_CORPUS = os.path.join(SAMPLES_DIR, "pretraining_corpus.txt")
