"""Self-supervised methods: one file each, plugged into `ContrastiveModel`."""

from keras_contrastive.methods.barlow_twins import BarlowTwins
from keras_contrastive.methods.byol import BYOL
from keras_contrastive.methods.clip import CLIP
from keras_contrastive.methods.frequency_estimator import FrequencyEstimator
from keras_contrastive.methods.in_batch_softmax import InBatchSoftmax
from keras_contrastive.methods.method import Method
from keras_contrastive.methods.moco import MoCo
from keras_contrastive.methods.nnclr import NNCLR
from keras_contrastive.methods.pair_margin import PairMargin
from keras_contrastive.methods.simclr import SimCLR
from keras_contrastive.methods.simcse import SimCSE
from keras_contrastive.methods.simsiam import SimSiam
from keras_contrastive.methods.supcon import SupCon
from keras_contrastive.methods.triplet import Triplet
from keras_contrastive.methods.vicreg import VICReg

#: Methods by the name the command line knows them by.
METHODS = {
    "barlow_twins": BarlowTwins,
    "byol": BYOL,
    "clip": CLIP,
    "in_batch_softmax": InBatchSoftmax,
    "moco": MoCo,
    "nnclr": NNCLR,
    "pair_margin": PairMargin,
    "simclr": SimCLR,
    "simcse": SimCSE,
    "simsiam": SimSiam,
    "supcon": SupCon,
    "triplet": Triplet,
    "vicreg": VICReg,
}

__all__ = ["FrequencyEstimator", "METHODS", "Method", *sorted(cls.__name__ for cls in METHODS.values())]
