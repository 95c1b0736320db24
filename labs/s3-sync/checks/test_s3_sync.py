"""What the S3 emulator actually received while the learner's tool synced a changing tree."""

import hashlib

BUCKET, PREFIX = "lab-sync", "backups"
BIG = "big/archive.bin"


def _key(relative):
    return f"{PREFIX}/{relative}"


def _digest(data):
    return hashlib.sha256(data).hexdigest()[:12]


def test_first_sync_uploads_every_file(story):
    """The first sync uploads every file, nested and oddly named ones included, byte for byte"""
    story.succeeded("first")
    from_disk = {path.relative_to(story.source).as_posix(): path.read_bytes() for path in story.source.rglob("*") if path.is_file()}
    first = story.step("first")
    expected = sorted(_key(name) for name in ("README.md", "docs/guide/intro.md", "docs/guide/setup.md", "data/empty.bin",
                                              "reports/q3 summary \u00fc.csv", BIG))
    uploaded = sorted(set(first.uploads()))
    assert uploaded == expected, f"first sync into an empty prefix: expected uploads of {expected}, the emulator received uploads of {uploaded}"
    objects = story.objects
    for relative, content in from_disk.items():
        if relative in ("docs/guide/setup.md", "README.md", "docs/new.txt"):
            continue  # changed or removed later in the story; checked by their own steps
        got = objects.get(_key(relative))
        assert got is not None, f"s3://{BUCKET}/{_key(relative)} is missing (local file {relative})"
        assert got == content, f"s3://{BUCKET}/{_key(relative)}: {len(got)} bytes (sha256 {_digest(got)}), local file has {len(content)} bytes (sha256 {_digest(content)})"


def test_large_file_uses_multipart(story):
    """A 20 MiB file is uploaded as a multipart upload (several UploadPart calls), not one PUT"""
    first = story.succeeded("first")
    parts = first.count("UploadPart", _key(BIG))
    puts = first.count("PutObject", _key(BIG))
    assert parts >= 2 and puts == 0, (
        f"{BIG} (20 MiB): expected a multipart upload (CreateMultipartUpload + >= 2 UploadPart), "
        f"the emulator saw {puts} PutObject and {parts} UploadPart for it"
    )


def test_unchanged_tree_uploads_nothing(story):
    """A second sync with no change uploads nothing"""
    step = story.succeeded("unchanged")
    assert not step.uploads(), f"nothing changed since the last sync, yet the emulator received uploads of {sorted(step.uploads())}"
    assert not step.deleted(), f"nothing changed, yet the emulator received deletes of {step.deleted()}"


def test_touched_files_are_not_reuploaded(story):
    """Touching files (new mtime, same content) uploads nothing: changes are judged by content"""
    step = story.succeeded("touched")
    assert not step.uploads(), (
        f"every file got a new mtime but the same content; the emulator received uploads of {sorted(step.uploads())[:4]} "
        f"({len(step.uploads())} in all): compare content (a hash), not timestamps"
    )


def test_changed_content_is_uploaded_once(story):
    """A file whose content changed (same size, old mtime) is the one and only upload"""
    step = story.succeeded("edited")
    target = _key("docs/guide/setup.md")
    assert step.uploads() == [target], (
        f"docs/guide/setup.md got new content of the same size, its mtime set back to 2020: expected exactly one upload "
        f"({target}), the emulator received uploads of {sorted(step.uploads()) or 'nothing'}"
    )
    assert story.objects.get(target) == (story.source / "docs/guide/setup.md").read_bytes(), f"s3://{BUCKET}/{target} does not hold the new content"


def test_new_file_is_the_only_upload(story):
    """Adding one file makes exactly one upload"""
    step = story.succeeded("added-and-removed")
    assert step.uploads() == [_key("docs/new.txt")], (
        f"one file (docs/new.txt) was added (and README.md removed): expected exactly one upload, the emulator received uploads of {sorted(step.uploads()) or 'nothing'}"
    )


def test_deletes_only_with_the_flag_and_only_under_the_prefix(story):
    """A removed file's object stays without --delete; with --delete exactly it goes, nothing outside the prefix"""
    without = story.succeeded("added-and-removed")
    assert not without.deleted(), (
        f"README.md was removed locally and the sync ran WITHOUT --delete: expected no deletes, the emulator "
        f"received deletes of {without.deleted()}"
    )
    with_flag = story.succeeded("removed-with-delete")
    assert with_flag.deleted() == [_key("README.md")], (
        f"sync --delete after README.md was removed: expected exactly one delete ({_key('README.md')}), "
        f"the emulator received deletes of {with_flag.deleted() or 'nothing'}"
    )
    assert not with_flag.uploads(), f"sync --delete uploaded {with_flag.uploads()} although no file changed"
    objects = story.objects
    for key in ("backups-old/keep.txt", "unrelated/keep.txt"):
        assert key in objects, f"s3://{BUCKET}/{key} is outside s3://{BUCKET}/{PREFIX}/ but was deleted"
    assert _key("README.md") not in objects, f"s3://{BUCKET}/{_key('README.md')} is still there after sync --delete"


def test_bad_arguments_fail_cleanly(story):
    """A missing source or a malformed destination: exit code non-zero, a one-line error, nothing deleted"""
    for name, what in (("missing-source", "a source directory that does not exist"), ("bad-destination", "a destination without s3://")):
        step = story.step(name)
        assert step.result.verdict == "ok" and step.result.exit_code not in (0, None), f"{what} (with --delete): expected a non-zero exit code, got {step.describe()}"
        stderr = step.result.stderr.strip()
        assert stderr and "Traceback" not in stderr, f"{what}: expected a one-line error on stderr, got {stderr[-300:] or 'nothing'}"
        assert not step.deleted() and not step.uploads(), (
            f"{what} with --delete must change nothing, the emulator received deletes of {step.deleted()[:4]} and uploads of {step.uploads()[:4]}"
        )
