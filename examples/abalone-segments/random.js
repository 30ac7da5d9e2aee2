'use strict';
/**
 * Seeded randomness, so that every step is repeatable: the same data and seed give the same split
 * (split), the same logistic regression (train) and the same standard deviations (evaluate).
 */

/** mulberry32: a small seeded PRNG returning numbers in [0, 1). */
function seededRandom(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fisher–Yates shuffle in place; returns `items`. */
function shuffle(items, random) {
  for (let i = items.length - 1; i > 0; i -= 1) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

module.exports = { seededRandom, shuffle };
