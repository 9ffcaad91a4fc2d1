package chronyfmt

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestJSONKeysDocumented: every --json key is listed in docs/operations.md.
func TestJSONKeysDocumented(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "operations.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	for _, v := range []any{JSONTracking{}, JSONSource{}, JSONSourceStats{}, JSONSelectData{}, JSONNTPData{},
		JSONServerStats{}, JSONClient{}, JSONActivity{}, JSONStatus{}} {
		ty := reflect.TypeOf(v)
		for i := 0; i < ty.NumField(); i++ {
			key := strings.Split(ty.Field(i).Tag.Get("json"), ",")[0]
			if !strings.Contains(doc, "`"+key+"`") {
				t.Errorf("%s.%s: key %q is not in docs/operations.md", ty.Name(), ty.Field(i).Name, key)
			}
		}
	}
}
