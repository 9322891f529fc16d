""".dockerignore patterns with docker's matching rules."""

from __future__ import annotations

import pytest

from tug.dockerfile.ignore import IgnoreMatcher, clean, is_excluded, may_contain_included, read_dockerignore
from tug.errors import Invalid

# (pattern, path, excluded?)
SINGLE = [
    ("**", "file", True), ("**", "file/", True), ("**/", "file", True), ("**", "dir/file", True),
    ("**/**", "dir/file", True), ("dir/**", "dir/file", True), ("dir/**", "dir/dir2/file", True),
    ("**/dir", "dir", True), ("**/dir", "dir/file", True), ("**/dir2/*", "dir/dir2/file", True),
    ("**/dir2/**", "dir/dir2/dir3/file", True), ("**file", "file", True), ("**file", "dir/file", True),
    ("**/file", "dir/file", True), ("**file", "dir/dir/file", True), ("**/file*", "dir/dir/file", True),
    ("**/file*", "dir/dir/file.txt", True), ("**/file*txt", "dir/dir/file.txt", True),
    ("**/file*.txt", "dir/dir/file.txt", True), ("**/file*.txt*", "dir/dir/file.txt", True),
    ("**/**/*.txt", "dir/dir/file.txt", True), ("**/**/*.txt2", "dir/dir/file.txt", False),
    ("**/*.txt", "file.txt", True), ("**/**/*.txt", "file.txt", True), ("a**/*.txt", "a/file.txt", True),
    ("a**/*.txt", "a/dir/file.txt", True), ("a**/*.txt", "a/dir/dir/file.txt", True),
    ("a/*.txt", "a/dir/file.txt", False), ("a/*.txt", "a/file.txt", True), ("a/*.txt**", "a/file.txt", True),
    ("a[b-d]e", "ae", False), ("a[b-d]e", "ace", True), ("a[b-d]e", "aae", False), ("a[^b-d]e", "aze", True),
    (".*", ".foo", True), (".*", "foo", False), ("abc.def", "abcdef", False), ("abc.def", "abc.def", True),
    ("abc.def", "abcZdef", False), ("abc?def", "abcZdef", True), ("abc?def", "abcdef", False),
    ("a\\\\", "a\\", True), ("**/foo/bar", "foo/bar", True), ("**/foo/bar", "dir/foo/bar", True),
    ("**/foo/bar", "dir/dir2/foo/bar", True), ("abc/**", "abc", False), ("abc/**", "abc/def", True),
    ("abc/**", "abc/def/ghi", True), ("**/.foo", ".foo", True), ("**/.foo", "bar.foo", False),
    ("a(b)c/def", "a(b)c/def", True), ("a(b)c/def", "a(b)c/xyz", False), ("a.|)$(}+{bc", "a.|)$(}+{bc", True),
    ("dist/*.whl", "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", True),
    ("a\\*b", "a*b", True), ("a\\*b", "ab", False),
    ("*", "fileutils.go", True), ("*.go", "fileutils.go", True), ("*.go", "pkg/fileutils.go", False),
    ("abc", "abc", True), ("*c", "abc", True), ("a*", "a", True), ("a*", "ab/c", True), ("a*/b", "abc/b", True),
    ("a*/b", "a/c/b", False), ("a*b*c*d*e*/f", "axbxcxdxe/f", True), ("a*b*c*d*e*/f", "axbxcxdxe/xxx/f", False),
    ("a*b?c*x", "abxbbxdbxebxczzx", True), ("a*b?c*x", "abxbbxdbxebxczzy", False), ("ab[c]", "abc", True),
    ("ab[^c]", "abc", False), ("ab[^e-g]", "abc", True), ("a?b", "a☺b", True), ("a???b", "a☺b", False),
    ("[a-ζ]*", "α", True), ("*[a-ζ]", "A", False), ("a?b", "a/b", False),
    ("docs", "docs/README.md", True), ("docs/", "docs/sub/x", True), ("node_modules", "node_modules", True),
    ("*/temp*", "somedir/temporary.txt", True), ("*/*/temp*", "somedir/subdir/temporary.txt", True),
    ("temp?", "tempa", True), ("temp?", "temp", False), ("/abs", "abs/x", True), ("./rel", "rel", True),
]


@pytest.mark.parametrize(("pattern", "path", "excluded"), SINGLE, ids=[f"{p}|{t}" for p, t, _ in SINGLE])
def test_single_pattern(pattern: str, path: str, excluded: bool) -> None:
    assert is_excluded(path, read_dockerignore(pattern)) is excluded


# (patterns, path, excluded?)
MULTI = [
    (["!fileutils.go", "*.go"], "fileutils.go", True),
    (["*.go", "!fileutils.go"], "fileutils.go", False),
    (["docs", "!docs/README.md"], "docs/README.md", False),
    (["docs/", "!docs/README.md"], "docs/README.md", False),
    (["docs/*", "!docs/README.md"], "docs/README.md", False),
    (["docs", "!docs/README.md"], "docs/other.md", True),
    (["**", "!util/docker/web"], "util/docker/web/foo", False),
    (["**", "!util/docker/web", "util/docker/web/foo"], "util/docker/web/foo", True),
    (["**", "!dist/*.whl"], "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", False),
    (["*.md", "!README*.md", "README-secret.md"], "README-secret.md", True),
    (["*.md", "!README*.md", "README-secret.md"], "README-public.md", False),
    (["*.go"], ".", False),
]


@pytest.mark.parametrize(("patterns", "path", "excluded"), MULTI)
def test_pattern_lists(patterns: list[str], path: str, excluded: bool) -> None:
    assert is_excluded(path, patterns) is excluded


def test_read_dockerignore_normalises() -> None:
    text = "\ufeff# comment\n  *.tmp  \n\n/abs/path\n./rel//x/../y/\n! keep.tmp\n!/root\n #not-a-comment\n/\n"
    assert read_dockerignore(text) == ["*.tmp", "abs/path", "rel/y", "!keep.tmp", "!root", "#not-a-comment", "/"]


@pytest.mark.parametrize(("path", "expected"), [
    ("a//b/./c/", "a/b/c"), ("../x", "../x"), ("/../x", "/x"), ("a/../..", ".."), ("", "."), ("./", "."),
])
def test_clean(path: str, expected: str) -> None:
    assert clean(path) == expected


# (patterns, directory, might hold re-included paths?)
DESCEND = [
    (["docs"], "docs", False),
    (["docs", "!docs/README.md"], "docs", True),
    (["docs", "!docs/README.md"], "other", False),
    (["**", "!src/**/*.py"], "src", True),
    (["**", "!src/**/*.py"], "src/a/b", True),
    (["**", "!src/*/keep"], "src/x", True),
    (["**", "!src/*/keep"], "lib/x", False),
    (["build", "!**/important"], "build/deep", True),
    (["vendor", "!vendor"], "vendor/x", True),
]


@pytest.mark.parametrize(("patterns", "directory", "expected"), DESCEND)
def test_may_contain_included(patterns: list[str], directory: str, expected: bool) -> None:
    assert may_contain_included(directory, patterns) is expected


@pytest.mark.parametrize("bad", ["!", "[", "a[b", "x\\"])
def test_bad_patterns(bad: str) -> None:
    with pytest.raises(Invalid):
        IgnoreMatcher([bad])
