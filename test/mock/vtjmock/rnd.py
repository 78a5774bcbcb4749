"""random.Random's choice/randrange, one Python frame each instead of two or
three: the same numbers from the same generator (CPython's getrandbits-based
_randbelow), for the hot paths of the generator (start-up renders a
million persons)."""


def below(rng, n):
    """rng.randrange(n) for an int n."""
    if n <= 0:
        raise ValueError("empty range for randrange()")
    k = n.bit_length()
    getrandbits = rng.getrandbits
    r = getrandbits(k)
    while r >= n:
        r = getrandbits(k)
    return r


def randrange(rng, start, stop=None):
    """rng.randrange(start[, stop]) for ints."""
    if stop is None:
        return below(rng, start)
    return start + below(rng, stop - start)


def choice(rng, seq):
    """rng.choice(seq)."""
    n = len(seq)
    if not n:
        raise IndexError("Cannot choose from an empty sequence")
    k = n.bit_length()
    getrandbits = rng.getrandbits
    r = getrandbits(k)
    while r >= n:
        r = getrandbits(k)
    return seq[r]
