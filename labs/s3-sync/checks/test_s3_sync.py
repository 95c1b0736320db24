"""What the S3 emulator actually received while the learner's tool synced a changing tree."""

import hashlib

BUCKET, PREFIX = "lab-sync", "backups"
ROOT_BUCKET, ROOT_STALE = "lab-sync-root", "stale/old.txt"
BIG = "big/archive.bin"
EXACT = "big/exactly-8mib.bin"
MiB = 1024 * 1024
PART = 8 * MiB


def _key(relative):
    return f"{PREFIX}/{relative}"


def _digest(data):
    return hashlib.sha256(data).hexdigest()[:12]


def test_first_sync_uploads_every_file(story):
    """The first sync uploads every file, nested and oddly named ones included, byte for byte"""
    story.succeeded("first")
    from_disk = story.local_files()
    first = story.step("first")
    expected = sorted(_key(name) for name in ("README.md", "docs/guide/intro.md", "docs/guide/setup.md", "data/empty.bin",
                                              "reports/q3 summary \u00fc.csv", BIG, EXACT))
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
    """Files of 8 MiB and more go up as one multipart upload in parts of 8 MiB (the last may be shorter)"""
    first = story.succeeded("first")
    for name, size in ((BIG, 20 * MiB), (EXACT, 8 * MiB)):
        key = _key(name)
        puts, creates, parts = first.count("PutObject", key), first.count("CreateMultipartUpload", key), first.part_sizes(key)
        assert puts == 0 and creates == 1 and parts, (
            f"{name} ({size // MiB} MiB): expected one multipart upload (CreateMultipartUpload + UploadPart), "
            f"the emulator saw {puts} PutObject, {creates} CreateMultipartUpload and {len(parts)} UploadPart for it"
        )
        whole = [PART] * (size // PART) + ([size % PART] if size % PART else [])
        assert parts == whole, (
            f"{name} ({size} bytes): expected parts of 8 MiB ({PART} bytes), the last one shorter: {whole}; "
            f"the emulator received parts of {parts} bytes"
        )


def test_symlinks_are_not_followed(story):
    """A symlink (to a file, to a directory, dangling) is skipped: nothing is uploaded under its name"""
    story.succeeded("first")
    through_links = sorted({key for step in story.steps.values() for key in step.uploads()
                            if key.startswith((f"{PREFIX}/links/", "links/"))})
    assert not through_links, (
        f"links/readme-link.md -> ../README.md, links/docs-link -> ../docs and links/dangling are symlinks; "
        f"the emulator received uploads of {through_links[:5]}: symlinks are not followed"
    )


def test_no_prefix_syncs_to_the_bucket_root(story):
    """s3://BUCKET with no prefix: every file's key is its relative path; --delete then covers the whole bucket"""
    first = story.succeeded("root-first")
    local = story.local_files()
    expected = sorted(local)
    uploaded = sorted(set(first.uploads()))
    assert uploaded == expected, (
        f"`s3sync.py /grader/src s3://{ROOT_BUCKET}` into a bucket holding only {ROOT_STALE}: expected uploads of "
        f"{expected}, the emulator received uploads of {uploaded}"
    )
    assert not first.deleted(), f"sync without --delete into s3://{ROOT_BUCKET}: the emulator received deletes of {first.deleted()}"
    again = story.succeeded("root-delete")
    assert not again.uploads(), f"a second sync to s3://{ROOT_BUCKET} (nothing changed) uploaded {sorted(again.uploads())[:4]}"
    assert again.deleted() == [ROOT_STALE], (
        f"sync --delete to s3://{ROOT_BUCKET} (no prefix: the whole bucket): expected exactly one delete ({ROOT_STALE}), "
        f"the emulator received deletes of {again.deleted() or 'nothing'}"
    )
    objects = story.read_bucket(ROOT_BUCKET)
    wrong = sorted(name for name, content in local.items() if objects.get(name) != content)
    assert not wrong, f"s3://{ROOT_BUCKET}: these objects are missing or differ from the local files: {wrong[:4]}"


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
        lines = [text for text in stderr.splitlines() if text.strip()]
        assert len(lines) == 1 and "Traceback" not in stderr, (
            f"{what}: expected a one-line error on stderr, got {len(lines)} lines: {stderr[-300:] or 'nothing'}"
        )
        assert not step.deleted() and not step.uploads(), (
            f"{what} with --delete must change nothing, the emulator received deletes of {step.deleted()[:4]} and uploads of {step.uploads()[:4]}"
        )
