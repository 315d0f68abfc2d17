"""jieba's default segmentation of many texts at once, vectorized with NumPy: the spans of its Chinese words."""

import math

import numpy as np

from keras_bert_zoo.data.pretraining_corpus import concatenate_ranges

# jieba's `re_han_default`: the characters of the blocks that its dictionary and HMM segment.
_BLOCK_ASCII = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+#&._%-"
# jieba's ideographs (its `re_han`), and its HMM's states.
_FIRST_IDEOGRAPH, _LAST_IDEOGRAPH = 0x4E00, 0x9FD5
_STATES = "BMES"
_B, _E, _S = (_STATES.index(state) for state in "BES")
# Bits of a code point in a trie key (parent node << 21 | code point).
_CODE_BITS = 21


class JiebaWordSpans:
    """The words of two or more ideographs that jieba's `Tokenizer.cut(text)` (its defaults) makes, as spans.

    jieba is pure Python: a prefix dictionary walked per character (its DAG),
    the route of highest probability through the dictionary's words (`calc`),
    and an HMM (Viterbi over B/M/E/S) for each run of single characters that
    the dictionary doesn't hold. This runs the same three over all texts at
    once, from a jieba `Tokenizer`'s own dictionary and jieba's HMM tables,
    in NumPy: the dictionary as a trie of sorted (parent, character) keys,
    the route and the Viterbi one position at a time across every block.
    Every score is the same float64 sum in jieba's order (its logs taken with
    Python's `math.log`), and ties break as jieba's `max` over tuples breaks
    them, so the words are jieba's (tests and the benchmark compare them with
    `cut` itself).

    Only what whole-word masking needs comes back: words of two or more of
    jieba's ideographs (U+4E00-U+9FD5). Its other words are single
    characters, or hold Latin letters, digits or symbols.

    Args:
        tokenizer: A `jieba.Tokenizer`; its dictionary is loaded here if it isn't yet.
    """

    def __init__(self, tokenizer):
        from jieba import finalseg

        tokenizer.check_initialized()
        frequencies = tokenizer.FREQ
        log_total = math.log(tokenizer.total)
        # A node per dictionary entry (a word, or a prefix of one with frequency 0), each after its parent.
        entries = sorted(frequencies, key=len)
        nodes = {"": 0}
        keys = np.zeros(len(entries), np.int64)
        self._weights = np.zeros(len(entries) + 1)
        self._is_word = np.zeros(len(entries) + 1, bool)
        for node, entry in enumerate(entries, 1):
            nodes[entry] = node
            keys[node - 1] = nodes[entry[:-1]] << _CODE_BITS | ord(entry[-1])
            if frequencies[entry]:
                self._is_word[node] = True
                self._weights[node] = math.log(frequencies[entry]) - log_total
        order = np.argsort(keys)
        self._keys, self._key_nodes = keys[order], order + 1
        # The first character's node by its code point (0: none), which saves the largest search.
        self._character_nodes = np.zeros(_LAST_IDEOGRAPH + 1, np.int64)
        characters = [entry for entry in entries[:np.searchsorted([len(entry) for entry in entries], 2)]
                      if ord(entry) <= _LAST_IDEOGRAPH]
        self._character_nodes[[ord(entry) for entry in characters]] = [nodes[entry] for entry in characters]
        # A position that starts no word is a word of its own with jieba's `FREQ.get(word) or 1`.
        self._lone_weight = math.log(1) - log_total
        self._in_block = np.zeros(_LAST_IDEOGRAPH + 1, bool)
        self._in_block[_FIRST_IDEOGRAPH:] = True
        self._in_block[[ord(char) for char in _BLOCK_ASCII]] = True
        never = finalseg.MIN_FLOAT
        self._start = np.array([finalseg.start_P.get(state, never) for state in _STATES])
        self._transitions = np.array([[finalseg.trans_P[before].get(state, never) for state in _STATES]
                                      for before in _STATES])
        self._emissions = np.full([_LAST_IDEOGRAPH + 1 - _FIRST_IDEOGRAPH, len(_STATES)], never)
        for column, state in enumerate(_STATES):
            for char, probability in finalseg.emit_P[state].items():
                if _FIRST_IDEOGRAPH <= ord(char) <= _LAST_IDEOGRAPH:
                    self._emissions[ord(char) - _FIRST_IDEOGRAPH, column] = probability
        # The two states each state may follow (finalseg's PrevStatus), the greater letter first: jieba's max
        # over (probability, state) tuples takes it on a tie.
        self._before = [[_STATES.index(state) for state in sorted(finalseg.PrevStatus[state], reverse=True)]
                        for state in _STATES]

    def spans(self, texts):
        """(starts, ends): int64 character offsets, in the texts joined, of their words of two or more ideographs.

        Args:
            texts: Strings, each cut on its own, as `cut(text)` would.
        """
        codes = np.frombuffer("".join(texts).encode("utf-32-le"), np.uint32).astype(np.int64)
        size = len(codes)
        in_block = np.zeros(size, bool)
        low = codes <= _LAST_IDEOGRAPH
        in_block[low] = self._in_block[codes[low]]
        # Blocks: runs of block characters inside one text.
        text_start = np.zeros(size + 1, bool)
        text_start[np.cumsum([0] + [len(text) for text in texts])] = True
        begins, block_starts, block_ends = _runs(in_block, text_start[:-1])
        positions = np.flatnonzero(in_block)
        if not len(positions):
            return positions, positions
        limits = block_ends[np.cumsum(begins)[positions] - 1]
        edges = self._dictionary_words(codes, positions, limits)
        route_ends = self._route(*edges, size)
        word_starts, word_ends = _walk(route_ends, block_starts, block_ends)
        run_starts, run_ends = _single_character_runs(word_starts, word_ends, begins)
        # jieba gives a run the HMM unless the run is itself a dictionary word: an edge of its block's DAG
        # (runs have two characters or more; only a lone character's edge isn't a word).
        starts_run = np.zeros(size, bool)
        starts_run[run_starts] = True
        from_runs = starts_run[edges[0]]
        unknown = ~np.isin(run_starts * (size + 1) + run_ends, edges[0][from_runs] * (size + 1) + edges[1][from_runs])
        is_ideograph = (codes >= _FIRST_IDEOGRAPH) & (codes <= _LAST_IDEOGRAPH)
        hmm_starts, hmm_ends = self._hmm_words(codes, is_ideograph, run_starts[unknown], run_ends[unknown])
        ideographs_before = np.concatenate([[0], np.cumsum(is_ideograph)])
        lengths = word_ends - word_starts
        words = (lengths > 1) & (ideographs_before[word_ends] - ideographs_before[word_starts] == lengths)
        starts = np.concatenate([word_starts[words], hmm_starts])
        order = np.argsort(starts, kind="stable")
        return starts[order], np.concatenate([word_ends[words], hmm_ends])[order]

    def _dictionary_words(self, codes, positions, limits):
        """The dictionary words at block positions (jieba's DAG): (starts, ends, weights, limits) of its edges.

        A word may not reach past its block's end (`limits`). A position that
        starts no word gets its own character.
        """
        none = np.zeros([0], np.int64)
        starts, ends, weights, edge_limits = [none], [none], [np.zeros([0])], [none]
        all_positions, all_limits = positions, limits
        nodes = self._character_nodes[codes[positions]]
        length = 1
        while True:
            # Positions whose characters so far are an entry go on; a word among those entries is an edge.
            hit = nodes > 0
            positions, limits, nodes = positions[hit], limits[hit], nodes[hit]
            if not len(positions):
                break
            word = self._is_word[nodes]
            starts.append(positions[word])
            ends.append(positions[word] + length)
            weights.append(self._weights[nodes[word]])
            edge_limits.append(limits[word])
            more = positions + length < limits
            positions, limits, nodes = positions[more], limits[more], nodes[more]
            nodes = self._children(nodes, codes[positions + length])
            length += 1
        has_word = np.zeros(len(codes), bool)
        has_word[np.concatenate(starts)] = True
        lone = ~has_word[all_positions]
        starts.append(all_positions[lone])
        ends.append(all_positions[lone] + 1)
        weights.append(np.full(lone.sum(), self._lone_weight))
        edge_limits.append(all_limits[lone])
        return tuple(np.concatenate(parts) for parts in (starts, ends, weights, edge_limits))

    def _children(self, nodes, codes):
        """The trie nodes of `nodes` followed by the characters `codes`: int64, 0 where that's no entry."""
        keys = nodes << _CODE_BITS | codes
        found = np.minimum(np.searchsorted(self._keys, keys), len(self._keys) - 1)
        return np.where(self._keys[found] == keys, self._key_nodes[found], 0)

    def _route(self, starts, ends, weights, limits, size):
        """The end of the word that jieba's route takes from each block position (`calc`): int64 [size].

        Positions go in order of their distance from their block's end, so
        each word's end has its score by then (0 at the block's end). jieba
        takes the highest (score, end) tuple: on equal scores, the later end.
        """
        distances = limits - starts
        order = np.lexsort((ends, starts, distances))
        starts, ends, weights, distances = starts[order], ends[order], weights[order], distances[order]
        at_limit = ends == limits[order]
        groups = np.flatnonzero(np.concatenate([[True], distances[1:] != distances[:-1], [True]]))
        scores = np.zeros(size + 1)
        route_ends = np.zeros(size, np.int64)
        for first, last in zip(groups[:-1], groups[1:]):
            group_starts, group_ends = starts[first:last], ends[first:last]
            values = weights[first:last] + np.where(at_limit[first:last], 0.0, scores[group_ends])
            heads = np.flatnonzero(np.concatenate([[True], group_starts[1:] != group_starts[:-1]]))
            best = np.maximum.reduceat(values, heads)
            is_best = values == np.repeat(best, np.diff(np.append(heads, len(values))))
            at = group_starts[heads]
            scores[at] = best
            route_ends[at] = np.maximum.reduceat(np.where(is_best, group_ends, -1), heads)
        return route_ends

    def _hmm_words(self, codes, is_ideograph, run_starts, run_ends):
        """(starts, ends) of the words of two or more characters that jieba's HMM makes of the runs (finalseg.cut).

        Each run's maximal stretches of ideographs go through Viterbi, all
        stretches a position at a time, the longest first. On equal
        probabilities the greater state letter wins, as in jieba.
        """
        taken = np.zeros(len(codes), bool)
        taken[concatenate_ranges(run_starts, run_ends)] = True
        taken &= is_ideograph
        run_start = np.zeros(len(codes), bool)
        run_start[run_starts] = True
        _, starts, ends = _runs(taken, run_start)
        lengths = ends - starts
        # A single ideograph is a word of its own (state S).
        order = np.argsort(-lengths, kind="stable")
        order = order[lengths[order] > 1]
        starts, lengths = starts[order], lengths[order]
        if not len(starts):
            return starts, starts
        # Stretch r's position t is row offsets[r] + t of the flat arrays.
        offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        characters = codes[concatenate_ranges(starts, starts + lengths)] - _FIRST_IDEOGRAPH
        probabilities = self._start + self._emissions[characters[offsets]]
        follows = np.zeros([len(characters), len(_STATES)], np.int8)  # The state each state follows.
        for t in range(1, lengths[0]):
            active = np.searchsorted(-lengths, -t)  # The stretches longer than t.
            rows = offsets[:active] + t
            emissions = self._emissions[characters[rows]]
            before = probabilities[:active].copy()
            for state, (first, second) in enumerate(self._before):
                first_value = before[:, first] + self._transitions[first, state] + emissions[:, state]
                second_value = before[:, second] + self._transitions[second, state] + emissions[:, state]
                takes_second = second_value > first_value
                probabilities[:active, state] = np.where(takes_second, second_value, first_value)
                follows[rows, state] = np.where(takes_second, second, first)
        # Each stretch's row holds its last position's probabilities; it ends in E or S, S on a tie.
        states = np.zeros(len(characters), np.int8)
        states[offsets + lengths - 1] = np.where(probabilities[:, _E] > probabilities[:, _S], _E, _S)
        for t in range(lengths[0] - 1, 0, -1):
            rows = offsets[:np.searchsorted(-lengths, -t)] + t
            states[rows - 1] = follows[rows, states[rows]]
        positions = concatenate_ranges(starts, starts + lengths)
        return np.sort(positions[states == _B]), np.sort(positions[states == _E]) + 1


def _runs(selected, breaks):
    """The maximal runs of selected positions that no break (a position that starts a text or a run) is inside.

    Returns:
        (bool [positions]: where a run begins, its int64 starts, its int64 ends).
    """
    begins = selected & (breaks | ~np.concatenate([[False], selected[:-1]]))
    starts = np.flatnonzero(begins)
    # A run ends at the next position that is not selected or begins a run.
    bounds = np.flatnonzero(np.concatenate([begins | ~selected, [True]]))
    return begins, starts, bounds[np.searchsorted(bounds, starts) + 1]


def _walk(route_ends, block_starts, block_ends):
    """(starts, ends) of the words of each block's route, from its start (jieba's `__cut_DAG` loop), in order."""
    starts, ends = [], []
    positions, limits = block_starts, block_ends
    while len(positions):
        nexts = route_ends[positions]
        starts.append(positions)
        ends.append(nexts)
        more = nexts < limits
        positions, limits = nexts[more], limits[more]
    starts, ends = np.concatenate(starts), np.concatenate(ends)
    order = np.argsort(starts)
    return starts[order], ends[order]


def _single_character_runs(word_starts, word_ends, begins):
    """(starts, ends) of the runs of two or more single-character route words, each inside its block."""
    single = word_ends - word_starts == 1
    # A run breaks where a word isn't single or begins a block.
    breaks = ~single | begins[word_starts]
    first = single & np.concatenate([[True], breaks[1:] | ~single[:-1]])
    last = single & np.concatenate([~single[1:] | begins[word_starts[1:]], [True]])
    starts, ends = word_starts[first], word_ends[last]
    return starts[ends - starts > 1], ends[ends - starts > 1]
