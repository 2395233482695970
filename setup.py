"""Installs speechbrain-kd, a SpeechBrain plugin for distilling denoisers."""

from setuptools import find_packages, setup

setup(
    name="speechbrain_kd",
    version="0.1.0",
    description=(
        "Knowledge distillation of speech denoisers for SpeechBrain: "
        "cosine latent alignment through linear inverted bottlenecks"
    ),
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    # the recipes (train, distill, export, evaluate) and their
    # hyperparameters travel inside the package too, so that experiment
    # grids run from an installed wheel
    packages=[
        *find_packages(include=["speechbrain_kd", "speechbrain_kd.*"]),
        "speechbrain_kd.hparams",
        "speechbrain_kd.recipes",
    ],
    package_dir={
        "speechbrain_kd.hparams": "hparams",
        "speechbrain_kd.recipes": "recipes",
    },
    # model card, hyperparameters and reference-script templates of export
    package_data={
        "speechbrain_kd.export": ["templates/*"],
        "speechbrain_kd.hparams": ["*.yaml", "*/*.yaml", "*/*/*.yaml"],
        "speechbrain_kd.recipes": ["*.py"],
    },
    # the operations commands (speechbrain_kd/cli)
    entry_points={
        "console_scripts": [
            "sbkd-mix = speechbrain_kd.cli.mix:main",
            "sbkd-score = speechbrain_kd.cli.score:main",
            "sbkd-publish = speechbrain_kd.cli.publish:main",
            "sbkd-grid = speechbrain_kd.cli.grid:main",
            "sbkd-score-returned = speechbrain_kd.cli.score_returned:main",
            "sbkd-bundle = speechbrain_kd.cli.bundle:main",
        ]
    },
    python_requires=">=3.11",
    install_requires=[
        "torch",
        "torchaudio",
        "speechbrain>=1.1,<1.2",
        "hyperpyyaml",
        "ruamel.yaml",
        "pesq",
        "pystoi",
        "soundfile",
        "matplotlib",
        "tqdm",
        "onnx",
        "onnxruntime",
        "onnxscript",
        "huggingface_hub",
    ],
    # grids spread over the machines of a Ray cluster (executor: ray)
    extras_require={"cluster": ["ray>=2.9"]},
)
