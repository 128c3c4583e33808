package pyon

// The text decoder's Limits.MaxDepth and Limits.MaxDecodedSize, checked on
// the decoded value (the msgpack decoder checks them as it reads). Text
// is decoded by encoding/json first, whose own nesting bound (10000) and
// memory (a fixed multiple of the text) hold while it reads; these checks
// give the caller the same contract as msgpack: no value deeper than
// MaxDepth, none larger than MaxDecodedSize (SizeOf).

// checkTextLimits returns an error wrapping ErrLimit when v, decoded from
// text, breaks lim's depth or decoded-size bound.
func checkTextLimits(v any, lim Limits) error {
	if !withinDepth(v, 0, lim.MaxDepth) {
		return limitErr("nested deeper than %d", lim.MaxDepth)
	}
	if lim.MaxDecodedSize > 0 {
		if n := SizeOf(v); n > lim.MaxDecodedSize {
			return limitErr("decoded size %d bytes, over %d", n, lim.MaxDecodedSize)
		}
	}
	return nil
}

// withinDepth reports whether v and every value in it sit at most max
// levels deep: v at depth, the elements, keys and values of a list,
// tuple, set, map, dict or slice one deeper (the decoded value's nesting;
// the msgpack decoder counts the same for lists and maps, and one level
// more for an extension's payload). It stops at the first value too deep.
func withinDepth(v any, depth, max int) bool {
	if depth > max {
		return false
	}
	each := func(l []any) bool {
		for _, e := range l {
			if !withinDepth(e, depth+1, max) {
				return false
			}
		}
		return true
	}
	pairs := func(l []Item) bool {
		for _, it := range l {
			if !withinDepth(it.Key, depth+1, max) || !withinDepth(it.Value, depth+1, max) {
				return false
			}
		}
		return true
	}
	switch x := v.(type) {
	case []any:
		return each(x)
	case Tuple:
		return each(x)
	case Set:
		return each(x.Items)
	case map[string]any:
		for _, e := range x {
			if !withinDepth(e, depth+1, max) {
				return false
			}
		}
	case Dict:
		return pairs(x)
	case OrderedDict:
		return pairs(x)
	case Slice:
		return withinDepth(x.Start, depth+1, max) && withinDepth(x.Stop, depth+1, max) && withinDepth(x.Step, depth+1, max)
	}
	return true
}
