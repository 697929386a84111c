"""Contrastive losses: pure functions and serialisable `keras.losses.Loss` classes."""

from keras_contrastive.losses.barlow_twins import BarlowTwinsLoss, barlow_twins
from keras_contrastive.losses.in_batch_softmax import (
    InBatchSoftmaxLoss,
    in_batch_softmax,
    in_batch_softmax_and_accuracy,
    in_batch_softmax_logits,
    in_batch_softmax_per_query,
)
from keras_contrastive.losses.info_nce import (
    InfoNCE,
    info_nce,
    info_nce_and_accuracy,
    info_nce_logits,
)
from keras_contrastive.losses.multiple_negatives_ranking import (
    MultipleNegativesRankingLoss,
    multiple_negatives_ranking,
    multiple_negatives_ranking_and_accuracy,
)
from keras_contrastive.losses.negative_cosine import NegativeCosine, negative_cosine
from keras_contrastive.losses.normalized_mse import NormalizedMSE, normalized_mse
from keras_contrastive.losses.nt_xent import NTXent, nt_xent, nt_xent_logits
from keras_contrastive.losses.pair_loss import PairLoss
from keras_contrastive.losses.pair_margin import PairMarginLoss, pair_margin
from keras_contrastive.losses.supcon import SupConLoss, supcon
from keras_contrastive.losses.symmetric_info_nce import (
    SymmetricInfoNCE,
    symmetric_info_nce,
    symmetric_info_nce_and_accuracy,
)
from keras_contrastive.losses.triplet import (
    MINING_STRATEGIES,
    TripletMarginLoss,
    triplet_margin,
)
from keras_contrastive.losses.vicreg import VICRegLoss, vicreg, vicreg_terms

__all__ = [
    "MINING_STRATEGIES",
    "BarlowTwinsLoss",
    "InBatchSoftmaxLoss",
    "InfoNCE",
    "MultipleNegativesRankingLoss",
    "NTXent",
    "NegativeCosine",
    "NormalizedMSE",
    "PairLoss",
    "PairMarginLoss",
    "SupConLoss",
    "SymmetricInfoNCE",
    "TripletMarginLoss",
    "VICRegLoss",
    "barlow_twins",
    "in_batch_softmax",
    "in_batch_softmax_and_accuracy",
    "in_batch_softmax_logits",
    "in_batch_softmax_per_query",
    "info_nce",
    "info_nce_and_accuracy",
    "info_nce_logits",
    "multiple_negatives_ranking",
    "multiple_negatives_ranking_and_accuracy",
    "negative_cosine",
    "normalized_mse",
    "nt_xent",
    "nt_xent_logits",
    "pair_margin",
    "supcon",
    "symmetric_info_nce",
    "symmetric_info_nce_and_accuracy",
    "triplet_margin",
    "vicreg",
    "vicreg_terms",
]
