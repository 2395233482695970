"""The operations commands, installed with the package (``setup.py``).

``sbkd-mix``
    Mixes clean speech and noise into a corpus (:mod:`.mix`).
``sbkd-score``
    Scores a folder of enhanced speech against clean speech (:mod:`.score`).
``sbkd-publish``
    Checks an exported hub folder and uploads it (:mod:`.publish`).
``sbkd-grid``
    Runs an experiment grid and summarises it (:mod:`.grid`).
``sbkd-score-returned``
    Scores a grid's runs trained elsewhere on more test sets
    (:mod:`.score_returned`).
``sbkd-bundle``
    Packs a corpus compactly for a GPU machine, or unpacks it
    (:mod:`.bundle`).

Each is also ``python -m speechbrain_kd.cli.<module>``.

Authors
 * speechbrain-kd contributors 2026
"""
