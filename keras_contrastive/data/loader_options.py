"""The check every by-name loader (`load_text`, `load_pairs`, `load_interactions`) makes of its keyword options."""

from __future__ import annotations

import inspect
from typing import Callable


def check_loader_options(loader: Callable, options: dict, caller: str, name: str, fixed: tuple[str, ...]) -> None:
    """Raises TypeError naming any option `loader` does not take, and the ones it does.

    Args:
        loader: The function the options go to.
        options: The keyword options the user gave.
        caller: The public function's name, for the message (`"load_text"`).
        name: The dataset's name, for the message.
        fixed: The loader's parameters the caller passes itself (`split`, ...), not options.

    Example:
    >>> check_loader_options(wordnet_pairs, {"pairs": "lemma"}, "load_text", "wordnet", ("split",))
    """
    accepted = [parameter for parameter in inspect.signature(loader).parameters if parameter not in fixed]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise TypeError(
            f"{caller}({name!r}) got the unknown option(s) {', '.join(unknown)}; it takes "
            f"{', '.join(accepted) if accepted else 'none'}."
        )
