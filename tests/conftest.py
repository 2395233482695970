"""Shared fixtures: the real audio in ``../shared/data`` beside the repo."""

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(
    os.environ.get("SBKD_SHARED_DATA", REPO.parent / "shared" / "data")
)


@pytest.fixture(scope="session")
def shared_data():
    """Path to ``../shared/data``; the suite needs it (no download)."""
    if not (SHARED_DATA / "voicebank").is_dir():
        pytest.fail(
            f"Real audio not found at {SHARED_DATA}; clone the repo next to "
            "shared/ or set SBKD_SHARED_DATA."
        )
    return SHARED_DATA


@pytest.fixture(scope="session")
def voicebank(shared_data):
    """The real VoiceBank-DEMAND pairs in their own layout."""
    return shared_data / "voicebank"
