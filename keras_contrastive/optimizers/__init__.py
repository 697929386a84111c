"""Optimizers for contrastive pre-training.

The SimCLR recipe's warmup then cosine decay is Keras's own
`keras.optimizers.schedules.CosineDecay(0.0, total_steps - warmup_steps,
warmup_target=peak, warmup_steps=warmup_steps)`, so it is not duplicated here.
"""

from keras_contrastive.optimizers.lars import LARS
from keras_contrastive.optimizers.learning_rate_multipliers import apply_gradients_with_multipliers

__all__ = ["LARS", "apply_gradients_with_multipliers"]
