// Package linear checks that histories of operations on strong keys are
// linearizable, with anishathalye/porcupine: a model of a strong key (what
// each operation does to its value and answers), and Check, which splits a
// history by key and decides each part within a time limit.
//
// An operation whose outcome is unknown (a timeout, a lost answer) may
// have taken effect or not: it is given no return time (porcupine then may
// place it anywhere after its call, and placing it after every other
// operation is the same as its not taking effect), and its answer is not
// checked. An operation that failed with a definite error took no effect
// and is left out of the history.
package linear
