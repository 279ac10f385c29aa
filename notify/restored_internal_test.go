package notify

import "testing"

// TestRestoredYesMatchesWords: the restored phrases were found as substrings, so "the
// networks are down" held "WORKS" and "ya hayamos" held "YA HAY": they are matched as
// whole words now, as the still-down phrases are.
func TestRestoredYesMatchesWords(t *testing.T) {
	t.Parallel()
	for text, want := range map[string]bool{
		"1": true, "Sí": true, "ya tengo internet": true, "Ya regresó, gracias": true, "It works now": true,
		"it's back": true, "todo bien": true,
		"the networks are down": false, "regresaron los técnicos?": false, "ya hayamos": false, "hola": false,
	} {
		if got := restoredYes(Keyword(text)); got != want {
			t.Errorf("restoredYes(%q) = %v; want %v", text, got, want)
		}
	}
}
