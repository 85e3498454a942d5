"""Files the browser downloads (scorecards, cohort exports) and gradio's own file cache: private to this process's
user, and gone within the hour.

Gradio copies every file a handler returns into its cache, by default `/tmp/gradio`, readable by every local user
and never emptied; learners' transcripts and a cohort's results must not sit there. So the cache is a private
folder made per process (unless the operator set GRADIO_TEMP_DIR), the app deletes cached files after an hour,
and the files written here are swept after the same hour.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
import threading
import time
from pathlib import Path

from simulator.settings import quiet_library, settings

KEEP_SECONDS = 3600
CACHE_CLEANUP = (900, KEEP_SECONDS)  # gradio's delete_cache: every 15 minutes, files older than an hour
_lock = threading.Lock()
_root: Path | None = None


def private_gradio_cache() -> None:
    """Point gradio's file cache at a private folder of this process (0700), before any component is built."""
    if not (settings().gradio_temp_dir or "").strip():  # the operator's choice (a real one) wins
        folder = tempfile.mkdtemp(prefix="rapport-gradio-")
        quiet_library("GRADIO_TEMP_DIR", folder)  # gradio reads it from the environment
        atexit.register(shutil.rmtree, folder, ignore_errors=True)


def download_folder(prefix: str) -> Path:
    """A new private folder for one download's files; folders older than an hour are removed on the way."""
    global _root
    with _lock:
        if _root is None:
            _root = Path(tempfile.mkdtemp(prefix="rapport-downloads-"))
            atexit.register(shutil.rmtree, _root, ignore_errors=True)
        _root.mkdir(mode=0o700, parents=True, exist_ok=True)  # a /tmp cleaner may have taken it
        cutoff = time.time() - KEEP_SECONDS
        for old in _root.iterdir():
            try:
                if old.stat().st_mtime < cutoff:
                    shutil.rmtree(old, ignore_errors=True)
            except OSError:  # removed meanwhile
                continue
        return Path(tempfile.mkdtemp(prefix=prefix, dir=_root))
