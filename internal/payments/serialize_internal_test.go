package payments

import (
	"net/url"
	"testing"
)

// phpSerialize must match PHP's serialize() byte for byte; the expected
// strings are what PHP 8 prints for the same ksort-ed arrays.
func TestPHPSerialize(t *testing.T) {
	tests := []struct {
		form url.Values
		want string
	}{
		{url.Values{}, `a:0:{}`},
		{url.Values{"p_signature": {"x"}}, `a:0:{}`},
		{url.Values{"b": {"2"}, "a": {"1"}, "p_signature": {"sig"}}, `a:2:{s:1:"a";s:1:"1";s:1:"b";s:1:"2";}`},
		{url.Values{"name": {"Zoë"}}, `a:1:{s:4:"name";s:4:"Zoë";}`},
		{url.Values{"quote": {`say "hi";`}}, `a:1:{s:5:"quote";s:9:"say "hi";";}`},
		{url.Values{"empty": {""}}, `a:1:{s:5:"empty";s:0:"";}`},
		// Byte-wise order: upper case before lower case, "_" between.
		{url.Values{"a": {""}, "B": {""}, "_": {""}}, `a:3:{s:1:"B";s:0:"";s:1:"_";s:0:"";s:1:"a";s:0:"";}`},
	}
	for _, tt := range tests {
		if got := string(phpSerialize(tt.form)); got != tt.want {
			t.Errorf("phpSerialize(%v) = %s, want %s", tt.form, got, tt.want)
		}
	}
}
