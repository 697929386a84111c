"""Text: the word-level tokenizer the text encoders take, trained on the user's corpus."""

from keras_contrastive.text.train_tokenizer import train_tokenizer

__all__ = ["train_tokenizer"]
