package httpclient

import "testing"

func FuzzRetryAfter(f *testing.F) {
	for _, s := range []string{"5", "Wed, 21 Oct 2015 07:28:00 GMT", "-1", "99999999999999999999", "", " 7 "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, ok := retryAfter(s, t0)
		if d < 0 || (!ok && d != 0) {
			t.Fatalf("retryAfter(%q) = %v, %v", s, d, ok)
		}
	})
}
