"""speechbrain-kd: knowledge distillation of speech denoisers for SpeechBrain.

A frozen teacher UNet guides a compact student UNet by aligning their
bottleneck latents through a linear inverted bottleneck adapter and the
cosine distance (Luong et al., AES 2025, arXiv:2505.03442).
"""

__version__ = "0.1.0"
