//! Rate-based rule state: requests counted per aggregation key over a sliding evaluation
//! window, with a hard bound on memory.
