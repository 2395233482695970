"""How a mixed corpus lies on disk: what its readers and its builder share.

The corpus builder (:mod:`speechbrain_kd.data.mixing`) writes this layout
and the read side (:mod:`~speechbrain_kd.data.datasets`,
:mod:`~speechbrain_kd.data.pairs`,
:mod:`~speechbrain_kd.data.dynamic_mixing`) reads it; both take the names
from here, so reading a corpus never imports the tool that builds one.

Example
-------
>>> CLEAN_FOLDER in TRAIN_FOLDERS and NOISY_FOLDER in TRAIN_FOLDERS
True
>>> ".wav" in AUDIO_EXTENSIONS
True

Authors
 * speechbrain-kd contributors 2026
"""

# Audio files the readers take, by extension (lower case)
AUDIO_EXTENSIONS = (".wav", ".flac")
# VoiceBank-DEMAND's trainset folders, which a mixed corpus reuses
CLEAN_FOLDER = "clean_trainset_28spk_wav_16k"
NOISY_FOLDER = "noisy_trainset_28spk_wav_16k"
TRAIN_FOLDERS = (CLEAN_FOLDER, NOISY_FOLDER)
# VoiceBank-DEMAND's testset folders (clean first)
TEST_FOLDERS = ("clean_testset_wav_16k", "noisy_testset_wav_16k")
# A corpus' test set of clean/ and noisy/ pairs (a link, or a folder)
TEST_PAIRS_LINK = "test"
# The corpus' description: seed, splits, validation speakers and noises
INFO_FILE = "corpus_info.json"
# One row per mixture: speech file, noise file, SNR, gain
MIXTURES_FILE = "mixtures.csv"
# Every mixture (and its clean target) is scaled to peak at most this
MAX_PEAK = 0.99
