"""Text columns as sparse TF-IDF blocks, and the sparse twin of the dense blocks beside them.

``TextTfidf`` turns one text column into word n-gram and ``char_wb`` n-gram TF-IDF columns
(``TextOptions``), side by side, as float32 CSR; with ``select_terms`` only the terms that
go most with the target. Missing text counts as empty text, at training and at prediction
time, so a loaded model takes the raw column the query returns.

``StoredZeros`` hands a dense block (numbers, category codes) on as CSR that stores *every*
value, zeros included. XGBoost reads an entry left out of a sparse matrix as missing: a
plain conversion would turn a length of 0, a false boolean or category code 0 into
"missing". Stored zeros keep 0 and missing (NaN) apart, as in the dense matrix."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.feature_selection import chi2

from retrain.domain.specs import TextOptions

TOKEN_PATTERN = r"(?u)\b\w\w+\b"  # scikit-learn's word tokens: two or more word characters


# The settings that decide which terms a text is cut into and how they are counted: two
# vectorizers that agree on them count a term alike, whatever vocabularies they learnt.
ANALYSIS = (
    "input",
    "encoding",
    "decode_error",
    "strip_accents",
    "lowercase",
    "preprocessor",
    "tokenizer",
    "stop_words",
    "token_pattern",
    "ngram_range",
    "analyzer",
    "binary",
    "dtype",
)

# select_terms' chi-squared: classes x columns per slice (each array 32 MB at most)
CHI2_CELLS = 4_000_000

# A text beyond this many characters is cut (training and prediction alike): one 10 MB cell
# made a default-options fit take 82 s and 2.2 GB; a description this long is not one.
MAX_CHARS = 10_000


def documents(values: Any) -> list[str]:
    """One string per row, at most MAX_CHARS characters; missing values become empty text."""
    series = values.iloc[:, 0] if isinstance(values, pd.DataFrame) else pd.Series(values)
    texts = series.astype(object).where(series.notna(), "").astype(str)
    return texts.str.slice(0, MAX_CHARS).tolist()


class TextTfidf(TransformerMixin, BaseEstimator):
    """Word and character n-gram TF-IDF of one text column (float32 CSR)."""

    # a model stored before the option has no such attribute: scikit-learn's get_params
    # (repr, clone) reads every constructor argument
    select_terms: int | None = None

    def __init__(
        self,
        word_ngrams: tuple[int, int] | None = (1, 2),
        char_ngrams: tuple[int, int] | None = (3, 5),
        min_df: int = 2,
        max_word_features: int | None = 20_000,
        max_char_features: int | None = 50_000,
        sublinear_tf: bool = True,
        lowercase: bool = True,
        select_terms: int | None = None,
    ) -> None:
        self.word_ngrams = word_ngrams
        self.char_ngrams = char_ngrams
        self.min_df = min_df
        self.max_word_features = max_word_features
        self.max_char_features = max_char_features
        self.sublinear_tf = sublinear_tf
        self.lowercase = lowercase
        self.select_terms = select_terms

    @classmethod
    def from_options(cls, options: TextOptions) -> TextTfidf:
        return cls(
            word_ngrams=options.word_ngrams,
            char_ngrams=options.char_ngrams,
            min_df=options.min_df,
            max_word_features=options.max_word_features,
            max_char_features=options.max_char_features,
            sublinear_tf=options.sublinear_tf,
            lowercase=options.lowercase,
            select_terms=options.select_terms,
        )

    def _vectorizers(self, rows: int) -> list[tuple[str, TfidfVectorizer]]:
        # min_df above the row count would leave no term at all (a tiny table): relax it
        common = {
            "min_df": min(self.min_df, max(rows // 2, 1)),
            "sublinear_tf": self.sublinear_tf,
            "lowercase": self.lowercase,
            "dtype": np.float32,
        }
        out = []
        if self.word_ngrams is not None:
            word = TfidfVectorizer(
                analyzer="word",
                token_pattern=TOKEN_PATTERN,
                ngram_range=tuple(self.word_ngrams),
                max_features=self.max_word_features,
                **common,
            )
            out.append(("w", word))
        if self.char_ngrams is not None:
            char = TfidfVectorizer(
                analyzer="char_wb",
                ngram_range=tuple(self.char_ngrams),
                max_features=self.max_char_features,
                **common,
            )
            out.append(("c", char))
        return out

    def analysers(self, rows: int) -> list[tuple[str, Callable[[str], list[str]]]]:
        """(block, its term analyser) for each block of a fit on ``rows`` rows: "w" words,
        "c" character n-grams (to size the fit beforehand: ``training/memory.py``)."""
        return [(prefix, v.build_analyzer()) for prefix, v in self._vectorizers(rows)]

    def fit(self, X: Any, y: Any = None) -> TextTfidf:
        self.fit_transform(X, y)
        return self

    def fit_transform(self, X: Any, y: Any = None, **fit_params: Any) -> sp.csr_matrix:
        docs = documents(X)
        self.vectorizers_ = []
        blocks = []
        for prefix, vectorizer in self._vectorizers(len(docs)):
            try:
                blocks.append(vectorizer.fit_transform(docs))
            except ValueError:  # every text empty, or no term frequent enough: no block
                continue
            # scikit-learn leaves NumPy integers as the term indices after min_df or
            # max_features; skops stores each as a file of its own in the artifact, and
            # naming a file scans all the earlier ones: 8,000 terms took 1.4 s to serialise,
            # the default caps' 70,000 per column many minutes. Python ints are one list.
            vectorizer.vocabulary_ = {t: int(i) for t, i in vectorizer.vocabulary_.items()}
            self.vectorizers_.append((prefix, vectorizer))
        matrix = self._stack(blocks, len(docs))
        self.kept_ = self._selected(matrix, y)
        return matrix if self.kept_ is None else matrix[:, self.kept_]

    def transform(self, X: Any) -> sp.csr_matrix:
        docs = documents(X)
        known = self.__dict__.get("_encoded")
        if known is not None:
            rows = [known[0].get(doc) for doc in docs]
            if None not in rows:
                return known[1](rows)
        return self._encode(docs)

    def _encode(self, docs: list[str]) -> sp.csr_matrix:
        return self._joined([v.transform(docs) for _, v in self.vectorizers_], len(docs))

    def _joined(self, blocks: list[Any], rows: int) -> sp.csr_matrix:
        matrix = self._stack(blocks, rows)
        kept = getattr(self, "kept_", None)  # models stored before select_terms: all terms
        return matrix if kept is None else matrix[:, kept]

    @contextlib.contextmanager
    def encoded_once(self, X: Any) -> Iterator[None]:
        """While open, ``transform`` of rows that hold only ``X``'s texts looks their rows
        up in ``X``'s encoding instead of tokenising them again (the permutation
        importances predict many shuffled copies of one sample). The same values: a row's
        TF-IDF depends on its text alone. Nothing of it stays in the model."""
        texts = documents(X)
        self._encoded = ({text: i for i, text in enumerate(texts)}, self._encode(texts).__getitem__)
        try:
            yield
        finally:
            del self._encoded

    @staticmethod
    @contextlib.contextmanager
    def encoded_together(steps: Sequence[TextTfidf], X: Any) -> Iterator[None]:
        """``encoded_once`` for several steps reading the same texts (the gate's candidate
        and champion predict the same test rows): the texts are tokenised once for all of
        them, each kind of analysis (word, character n-grams, their settings) counting every
        term any of the steps reads, and each step's TF-IDF is made from those counts. The
        same values as each step's own ``transform``. Only the counts are held (one matrix
        per kind of analysis, over the terms any of the steps reads): each step weights its
        rows of them when it predicts, as its own transform would. Where no analysis is
        shared, or a step cannot be read so (a champion stored by another scikit-learn),
        nothing is done ahead: each step encodes on its own, and fails there if it fails."""
        try:
            groups: dict[str, list[TfidfVectorizer]] = {}
            for step in steps:
                for _, vectorizer in step.vectorizers_:
                    groups.setdefault(_analysis(vectorizer), []).append(vectorizer)
            shared = any(len(members) > 1 for members in groups.values())
            texts = documents(X) if shared else []
            weigh = _counted_once(groups.values(), texts) if shared else {}
        except MemoryError:
            raise
        except Exception:
            shared = False
        if not shared:
            yield
            return
        index = {text: i for i, text in enumerate(texts)}
        try:
            for step in steps:
                own = [weigh[id(v)] for _, v in step.vectorizers_]
                step._encoded = (index, functools.partial(step._rows_of, own))
            yield
        finally:
            for step in steps:
                step.__dict__.pop("_encoded", None)

    def _rows_of(self, blocks: list[Callable[[list[int]], Any]], rows: list[int]) -> Any:
        return self._joined([block(rows) for block in blocks], len(rows))

    def _selected(self, matrix: sp.csr_matrix, y: Any) -> np.ndarray | None:
        """The columns, in order, of the ``select_terms`` terms whose TF-IDF values go most
        with ``y`` (chi-squared; on equal scores the earlier column), or None to keep all."""
        if self.select_terms is None or y is None or matrix.shape[1] <= self.select_terms:
            return None
        labels = np.asarray(y).astype(str)
        # chi2 holds classes x columns float64 arrays: a slice of columns at a time (each
        # column's score is its own) bounds them whatever the classes and the vocabulary
        step = max(1, CHI2_CELLS // max(len(np.unique(labels)), 2))
        scores = np.concatenate(
            [chi2(matrix[:, i : i + step], labels)[0] for i in range(0, matrix.shape[1], step)]
        )
        scores = np.nan_to_num(scores, nan=-1.0)
        best = np.argsort(-scores, kind="stable")[: self.select_terms]
        return np.sort(best).astype(np.int64)

    @staticmethod
    def _stack(blocks: list[Any], rows: int) -> sp.csr_matrix:
        if not blocks:  # no term at all: one column of zeros (scikit-learn refuses none)
            return sp.csr_matrix((rows, 1), dtype=np.float32)
        return sp.hstack(blocks, format="csr", dtype=np.float32)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """``column:w:term`` (word n-gram) and ``column:c:term`` (character n-gram)."""
        column = "text" if input_features is None else str(np.ravel(input_features)[0])
        if not self.vectorizers_:
            return np.asarray([f"{column}:empty"], dtype=object)
        names = np.asarray(
            [
                f"{column}:{prefix}:{term}"
                for prefix, vectorizer in self.vectorizers_
                for term in vectorizer.get_feature_names_out()
            ],
            dtype=object,
        )
        kept = getattr(self, "kept_", None)
        return names if kept is None else names[kept]

    @property
    def vocabulary_size(self) -> int:
        """Terms the model reads: the selected ones where ``select_terms`` chose."""
        kept = getattr(self, "kept_", None)
        if kept is not None:
            return len(kept)
        return self.terms_counted

    @property
    def terms_counted(self) -> int:
        """Terms of the vocabularies, before ``select_terms`` chose."""
        return sum(len(v.vocabulary_) for _, v in self.vectorizers_)


def _analysis(vectorizer: TfidfVectorizer) -> str:
    params = vectorizer.get_params(deep=False)
    return repr([params[name] for name in ANALYSIS])


def _counted_once(
    groups: Iterable[list[TfidfVectorizer]], texts: list[str]
) -> dict[int, Callable[[list[int]], sp.csr_matrix]]:
    """For each vectorizer (by ``id``), its ``transform`` of the given rows of ``texts``:
    the texts tokenised once per group of vectorizers that analyse them alike, one count
    over the terms of all their vocabularies; a vectorizer takes its columns of the rows'
    counts, in its own order, and weights them (the second half of
    ``TfidfVectorizer.transform``)."""
    out: dict[int, Callable[[list[int]], sp.csr_matrix]] = {}
    for members in groups:
        terms = sorted(set().union(*(v.vocabulary_ for v in members)))
        where = {term: i for i, term in enumerate(terms)}
        params = members[0].get_params(deep=False)
        counter = CountVectorizer(vocabulary=where, **{name: params[name] for name in ANALYSIS})
        counts = counter.transform(texts)
        for vectorizer in members:
            own = sorted(vectorizer.vocabulary_, key=vectorizer.vocabulary_.__getitem__)
            columns = np.asarray([where[term] for term in own], dtype=np.int64)
            out[id(vectorizer)] = functools.partial(_weighted, vectorizer, counts, columns)
    return out


def _weighted(
    vectorizer: TfidfVectorizer, counts: sp.csr_matrix, columns: np.ndarray, rows: list[int]
) -> sp.csr_matrix:
    every = len(rows) == counts.shape[0] and np.array_equal(rows, np.arange(len(rows)))
    mine = (counts if every else counts[rows])[:, columns]
    mine.sort_indices()
    return vectorizer._tfidf.transform(mine, copy=False)


class StoredZeros(TransformerMixin, BaseEstimator):
    """A dense block as CSR storing every value (zeros and NaN included)."""

    def fit(self, X: Any, y: Any = None) -> StoredZeros:
        self.n_features_in_ = np.asarray(X).shape[1]
        return self

    def transform(self, X: Any) -> sp.csr_matrix:
        dense = np.asarray(X, dtype=np.float32)
        rows, cols = dense.shape
        indptr = np.arange(0, rows * cols + 1, cols, dtype=np.int64)
        indices = np.tile(np.arange(cols, dtype=np.int32), rows)
        return sp.csr_matrix((dense.ravel(), indices, indptr), shape=(rows, cols))

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.asarray(input_features if input_features is not None else [], dtype=object)
