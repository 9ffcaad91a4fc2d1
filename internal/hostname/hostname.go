package hostname

// Valid reports whether h is a syntactically valid DNS name: letters,
// digits, '-', '_', dots; labels 1–63 bytes, total ≤ 253 bytes. It lets
// typos fail at validation, not at resolution.
func Valid(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	label := 0
	for i := 0; i < len(h); i++ {
		c := h[i]
		switch {
		case c == '.':
			if label == 0 {
				return false
			}
			label = 0
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_':
			label++
			if label > 63 {
				return false
			}
		default:
			return false
		}
	}
	return true
}
