"""Datasets: bundled corpora, readers for user files, validation with located errors, splits."""

from textclf.data.datasets import BUNDLED, TextDataset, load_dataset
from textclf.data.readers import Example
from textclf.data.splits import SPLITS, stratified_split
from textclf.errors import DataError, DataFileNotFoundError, Problem

__all__ = [
    "BUNDLED", "SPLITS", "DataError", "DataFileNotFoundError", "Example", "Problem",
    "TextDataset", "load_dataset", "stratified_split",
]
