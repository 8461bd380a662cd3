"""Text helpers shared by chunking, embedding and lexical search: one tokenizer for both
languages, language detection and heading slugs.

Chinese has no spaces, so a word tokenizer sees a whole sentence as one token. Overlapping
character bigrams are the standard dictionary-free answer for Chinese retrieval: "连接数"
becomes "连接", "接数", which matches "连接数过多" and "数据库连接" alike. English words are
split on camelCase too, so the rule names that head runbook sections
("MysqlTooManyConnections") match a responder's "too many connections".
"""

from __future__ import annotations

import re
from functools import lru_cache

import Stemmer

# CJK unified ideographs (with extension A) and compatibility ideographs
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK_RUN = re.compile(f"[{_CJK}]+")
_CJK_CHAR = re.compile(f"[{_CJK}]")
_LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_]*|[0-9]+(?:\.[0-9]+)?")
_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+(?:\.[0-9]+)?")
_TOKEN_OR_RUN = re.compile(f"[{_CJK}]+|[A-Za-z0-9_.]+")
_STEMMER = Stemmer.Stemmer("english")
_SLUG_DROP = re.compile(rf"[^\w\- {_CJK}]", re.UNICODE)

# Function words that carry no meaning for retrieval; BM25's IDF would mostly mute them,
# but short queries rank better without them.
_STOPWORDS = frozenset((
    "a", "an", "and", "are", "as", "at", "be", "by", "can", "do", "does", "for", "from",
    "has", "have", "how", "i", "if", "in", "is", "it", "its", "my", "of", "on", "or", "our",
    "so", "that", "the", "their", "then", "there", "these", "this", "to", "was", "we", "what",
    "when", "where", "which", "who", "why", "will", "with", "you", "your",
))  # fmt: skip


@lru_cache(maxsize=65_536)
def _stem(word: str) -> str:
    """Snowball's English stemmer, memoised: ops text repeats a small vocabulary."""
    return _STEMMER.stemWord(word)


def _latin_tokens(run: str) -> list[str]:
    run = run.strip("._")
    mixed = not run.isalpha() and not run.isdigit()  # p99, 5xx, mysql_connections
    parts = [run.lower()] if mixed else []
    parts += [p.lower() for p in _CAMEL.findall(run)]
    return [_stem(p) for p in dict.fromkeys(parts) if p not in _STOPWORDS]


def _cjk_tokens(run: str) -> list[str]:
    if len(run) == 1:
        return [run]
    return [run[i : i + 2] for i in range(len(run) - 1)]


def tokenize(text: str) -> list[str]:
    """Retrieval tokens: stemmed English words (camelCase and snake_case split, the whole
    identifier kept too) and Chinese character bigrams."""
    tokens: list[str] = []
    for run in _TOKEN_OR_RUN.findall(text):
        tokens += _cjk_tokens(run) if _CJK_CHAR.match(run) else _latin_tokens(run)
    return tokens


def detect_language(text: str) -> str:
    """``"zh"`` when Chinese characters outnumber Latin words, else ``"en"``: Chinese ops
    writing is full of English commands and metric names, so counting characters of each
    script would call most of it English."""
    cjk = sum(len(run) for run in _CJK_RUN.findall(text))
    latin = len(_LATIN_WORD.findall(text))
    return "zh" if cjk and cjk >= latin else "en"


def slugify(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces as dashes
    (Chinese characters kept), so links into runbooks work here and on a code host."""
    return _SLUG_DROP.sub("", heading.strip().lower()).replace(" ", "-")
