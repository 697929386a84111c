"""Contrastive losses: pure functions and serialisable `keras.losses.Loss` classes."""

from keras_contrastive.losses.nt_xent import NTXent, nt_xent, nt_xent_logits

__all__ = ["NTXent", "nt_xent", "nt_xent_logits"]
