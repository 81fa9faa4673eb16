"""Ballast keeper: quant core (greeks, vol), market readers, allocator, executor, bot."""
