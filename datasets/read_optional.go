package datasets

import (
	"net/url"
	"strings"
)

// The optional columns of the contract's second version: display names, mailboxes,
// launch URLs and alternative ids. An empty cell (or a missing column) is no value.

// optText reads an optional free-text field such as a display name.
func (r *row) optText(col int) string {
	if r.err != nil {
		return ""
	}
	s := strings.TrimSpace(r.raw(col))
	switch {
	case len(s) > r.f.lim.MaxFieldBytes:
		r.fail(col, "longer than %d bytes", r.f.lim.MaxFieldBytes)
	case hasControl(s, false):
		r.fail(col, "contains a control character")
	}
	return s
}

// mbox reads an optional mailbox, with or without its mailto: scheme, and returns it in
// the form xAPI uses (mailto:address).
func (r *row) mbox(col int) string {
	s := r.optText(col)
	if s == "" || r.err != nil {
		return ""
	}
	m, ok := NormalizeMbox(s)
	if !ok {
		r.fail(col, "%q is not a mailbox (name@domain)", truncate(s))
	}
	return m
}

// NormalizeMbox returns s as a mailto: IRI, or false when it is not one address.
func NormalizeMbox(s string) (string, bool) {
	addr := strings.TrimPrefix(strings.TrimSpace(s), "mailto:")
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 || at == len(addr)-1 || len(addr) > 254 || strings.ContainsAny(addr, " \t<>,;:\"") || hasControl(addr, false) {
		return "", false
	}
	return "mailto:" + addr, true
}

// launchURL reads an optional absolute http(s) URL.
func (r *row) launchURL(col int) string {
	s := r.optText(col)
	if s == "" || r.err != nil {
		return ""
	}
	u, err := url.Parse(s)
	switch {
	case len(s) > maxIRIBytes:
		r.fail(col, "longer than %d bytes", maxIRIBytes)
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		r.fail(col, "%q is not an absolute http(s) URL", truncate(s))
	case strings.ContainsAny(s, " \t"):
		r.fail(col, "contains a space")
	}
	return s
}

// altIDs reads the optional ListSep-separated other ids of a resource: IRIs or opaque
// ids, each at most maxIRIBytes, without spaces, none repeated.
func (r *row) altIDs(col int) []string {
	s := r.optText(col)
	if s == "" || r.err != nil {
		return nil
	}
	parts := strings.Split(s, ListSep)
	if len(parts) > r.f.lim.MaxListItems {
		r.fail(col, "more than %d items", r.f.lim.MaxListItems)
		return nil
	}
	out := make([]string, 0, len(parts))
	for i, x := range parts {
		x = strings.TrimSpace(x)
		switch {
		case x == "":
			r.fail(col, "item %d is empty", i+1)
		case len(x) > maxIRIBytes:
			r.fail(col, "item %d is longer than %d bytes", i+1, maxIRIBytes)
		case strings.ContainsAny(x, " \t"):
			r.fail(col, "item %d contains a space", i+1)
		}
		for _, y := range out {
			if y == x {
				r.fail(col, "item %q repeated", truncate(x))
			}
		}
		if r.err != nil {
			return nil
		}
		out = append(out, x)
	}
	return out
}
