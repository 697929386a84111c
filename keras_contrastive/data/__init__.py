"""Loaders of images (catalogued sets, folders, TFDS) and texts (corpora, files), and the batch pipelines: `make_views`, `make_pairs`."""

from keras_contrastive.data.catalog import DATASETS, DatasetInfo
from keras_contrastive.data.decode import IMAGE_EXTENSIONS, decode_image
from keras_contrastive.data.directory import from_directory
from keras_contrastive.data.files import from_files
from keras_contrastive.data.holdout import holdout_split
from keras_contrastive.data.index import index_directory
from keras_contrastive.data.load import load, load_numpy
from keras_contrastive.data.pairs import make_pairs
from keras_contrastive.data.text_file import text_file
from keras_contrastive.data.views import make_views
from keras_contrastive.data.food_reviews import food_review_classes, food_reviews
from keras_contrastive.data.fortunes import Fortune, fortune_quotes, fortunes
from keras_contrastive.data.load_text import TEXT_DATASETS, TextDatasetInfo, load_text
from keras_contrastive.data.word_similarity import word_similarity
from keras_contrastive.data.wordnet import ReverseDictionary, Synset, wordnet_pairs, wordnet_reverse_dictionary
from keras_contrastive.data.wordnet import wordnet_synsets
from keras_contrastive.data.caption_pairs import caption_pairs, read_captions
from keras_contrastive.data.emoji import EMOJI_GROUPS, Emoji, emoji_captions, emoji_glyphs, emoji_pairs
from keras_contrastive.data.load_pairs import PAIR_DATASETS, PairDatasetInfo, load_pairs, pair_class_names
from keras_contrastive.data.openclipart_pairs import ClipArt, ClipArtCollection, openclipart_captions
from keras_contrastive.data.openclipart_pairs import openclipart_collection, openclipart_pairs
from keras_contrastive.data.movielens import Interactions, ItemCatalogue, movielens, movielens_catalogue
from keras_contrastive.data.movielens import movielens_interactions
from keras_contrastive.data.load_interactions import INTERACTION_DATASETS, InteractionDatasetInfo
from keras_contrastive.data.load_interactions import interaction_catalogue, load_interactions, seen_items
from keras_contrastive.data.interaction_arrays import interaction_arrays
from keras_contrastive.data.item_histories import next_item_examples, user_histories

__all__ = [
    "DATASETS", "DatasetInfo", "IMAGE_EXTENSIONS", "decode_image", "from_directory", "from_files", "holdout_split",
    "index_directory", "load", "load_numpy", "make_pairs", "make_views", "text_file",
    "Fortune", "ReverseDictionary", "Synset", "TEXT_DATASETS", "TextDatasetInfo", "food_review_classes", "food_reviews",
    "fortune_quotes", "fortunes", "load_text", "word_similarity", "wordnet_pairs", "wordnet_reverse_dictionary",
    "wordnet_synsets",
    "ClipArt", "ClipArtCollection", "EMOJI_GROUPS", "Emoji", "PAIR_DATASETS", "PairDatasetInfo", "caption_pairs",
    "emoji_captions", "emoji_glyphs", "emoji_pairs", "load_pairs", "openclipart_captions", "openclipart_collection",
    "openclipart_pairs", "pair_class_names", "read_captions",
    "INTERACTION_DATASETS", "InteractionDatasetInfo", "Interactions", "ItemCatalogue", "interaction_catalogue",
    "interaction_arrays", "load_interactions", "movielens", "movielens_catalogue", "movielens_interactions",
    "next_item_examples", "seen_items", "user_histories",
]
