package spec

import "testing"

func TestEnumListQuotesPunctuation(t *testing.T) {
	if got := enumList([]string{"utf-8", "windows-1252"}); got != "utf-8, windows-1252" {
		t.Errorf("words: %s", got)
	}
	if got := enumList([]string{"", ".", ",", " ", "'"}); got != `"", ".", ",", " ", "'"` {
		t.Errorf("separators: %s", got)
	}
}
