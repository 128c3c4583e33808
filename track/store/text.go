package store

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// # Text
//
// PostgreSQL's text holds neither NUL nor invalid UTF-8; SQLite's holds
// both. So that the backends agree, the rules keep such text out of every
// text column, once, here: a key, name, tag, note or content type holding
// NUL or invalid UTF-8 is refused (ErrBadRecord: the client is told, and
// does not retry), while a status message and a log record, which must
// never be lost for their bytes, are kept with U+FFFD in place of each NUL
// and invalid byte (CleanText). Values (params, metadata, results, memo
// params) are stored as their encoding in binary columns and keep any
// string, NUL included.

// checkNUL refuses a text holding NUL.
func checkNUL(what, s string) error {
	if strings.IndexByte(s, 0) >= 0 {
		return fmt.Errorf("%w: %s %q holds a NUL byte", ErrBadRecord, what, short(s))
	}
	return nil
}

// StorableText reports whether s can be stored as text (valid UTF-8,
// no NUL): a read naming other text finds nothing, as nothing was stored
// under it.
func StorableText(s string) bool {
	return strings.IndexByte(s, 0) < 0 && utf8.ValidString(s)
}

// CleanText returns s as text every backend stores: valid UTF-8 without
// NUL, U+FFFD in place of each NUL and each run of invalid bytes.
func CleanText(s string) string {
	if StorableText(s) {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// LogText returns a log record's message (cut to MaxValueSize, at a rune)
// and logger name as they are stored: cleaned (CleanText), never refused.
func LogText(l *LogEntry, lim Limits) (message, logger string) {
	return CleanText(TruncateText(l.Message, lim.MaxValueSize)), CleanText(l.Logger)
}
